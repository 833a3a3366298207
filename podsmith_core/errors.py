"""Domain errors. The CLI turns each into one line: what failed, on which value, what to do."""

from __future__ import annotations


class PodsmithError(Exception):
    """An error the user can act on; `fix` is the next step to take."""

    def __init__(self, message: str, fix: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.fix = fix

    def __str__(self) -> str:
        if not self.fix:
            return self.message
        separator = " " if self.message.rstrip().endswith((".", "!", "?", ":")) else ". "
        return f"{self.message.rstrip()}{separator}{self.fix}"


class UsageError(PodsmithError):
    """Invalid input detected before anything was spent."""


class PluginError(PodsmithError):
    """An unknown plugin name, or a plugin that does not implement a required hook."""


class PlanError(PodsmithError):
    """Settings that cannot work together, found while planning (before any Pod exists)."""


class CheckFailed(PodsmithError):
    """One or more pre-flight checks returned errors; `all_findings` adds the warnings and notices."""

    def __init__(self, findings: list, all_findings: list | None = None) -> None:
        self.findings = findings
        self.all_findings = all_findings if all_findings is not None else findings
        lines = [f"{f.message}" + (f" {f.fix}" if f.fix else "") for f in findings]
        super().__init__("Pre-flight checks failed:\n  - " + "\n  - ".join(lines))


class ProviderError(PodsmithError):
    """A provider request failed."""


class AuthError(ProviderError):
    """The provider rejected the credentials: fatal, no failover."""


class CapacityError(ProviderError):
    """The chosen GPU type has no capacity right now: try the next candidate."""


class PodStartError(ProviderError):
    """The Pod was created but never became reachable; it has been terminated. Try the next candidate."""


class TransportError(PodsmithError):
    """Running a command or moving a file on the Pod failed."""


class RemoteJobFailed(PodsmithError):
    """The training job on the Pod exited with a non-zero status."""

    def __init__(self, message: str, exit_status: int, tail: list[str] | None = None) -> None:
        super().__init__(message)
        self.exit_status = exit_status
        self.tail = tail or []
