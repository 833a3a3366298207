"""Settings from four sources, highest first: command line, `.env`, process environment, defaults.

`.env` beats the process environment, as in the original tool, so a project's file is what runs.
Every value remembers its source, and secret values are only ever shown masked.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping

SECRET_KEYS = frozenset(
    {
        "RUNPOD_API_KEY",
        "HF_TOKEN",
        "HUGGINGFACE_HUB_TOKEN",
        "WANDB_API_KEY",
        "PROGRESS_WEBHOOK_URL",
        "DISCORD_WEBHOOK_URL",
        "SSH_KEY_PASSPHRASE",
    }
)

# Settings podsmith reads, with their defaults and a short description for `podsmith check`.
KNOWN_SETTINGS: dict[str, tuple[str | None, str]] = {
    "RUNPOD_API_KEY": (None, "Runpod API key"),
    "HF_TOKEN": (None, "Hugging Face token with write access"),
    "HUGGINGFACE_HUB_TOKEN": (None, "alternative name for HF_TOKEN"),
    "HF_ENDPOINT": ("https://huggingface.co", "Hugging Face Hub address"),
    "WANDB_API_KEY": (None, "Weights & Biases key, needed with --report-to wandb"),
    "PROGRESS_WEBHOOK_URL": (None, "URL that receives JSON progress events"),
    "DISCORD_WEBHOOK_URL": (None, "Discord webhook URL for progress messages"),
    "SSH_PUBLIC_KEY": (None, "SSH public key put on the Pod"),
    "RUNPOD_SSH_PUBLIC_KEY": (None, "alternative name for SSH_PUBLIC_KEY"),
    "SSH_PRIVATE_KEY_PATH": ("~/.ssh/id_ed25519", "SSH private key used to reach the Pod"),
    "SSH_KEY_PASSPHRASE": (None, "passphrase of the SSH private key"),
    "PODSMITH_HOME": (None, "directory for podsmith's state database and run logs"),
    "PODSMITH_TEMPLATES_DIR": (None, "directory whose templates override the shipped ones"),
    "PODSMITH_SSH_HOST": (None, "ssh provider: default host as user@host[:port]"),
    "PODSMITH_SSH_WORKSPACE_ROOT": ("podsmith", "ssh provider: workspace root on the host, relative to home"),
    "PODSMITH_SSH_CONNECT_TIMEOUT_S": ("15", "seconds to keep retrying an SSH connection that is refused"),
    "PODSMITH_RUNPOD_POLL_INTERVAL_S": ("5", "runpod provider: first interval between Pod status polls"),
    "PODSMITH_RUNPOD_WATCHDOG_MIN": ("15", "runpod provider: minutes without a client heartbeat before a Pod ends itself"),
    "PODSMITH_NOTIFY_LOG_INTERVAL": (None, "minimum seconds between two webhook or Discord log messages"),
}

SOURCE_CLI = "command line"
SOURCE_ENV = "environment"
SOURCE_DEFAULT = "default"


@dataclass(frozen=True)
class Setting:
    key: str
    value: str | None
    source: str

    @property
    def is_secret(self) -> bool:
        return self.key in SECRET_KEYS

    def display(self) -> str:
        if self.value is None:
            return "(not set)"
        if self.is_secret:
            return mask(self.value)
        return self.value


def mask(value: str) -> str:
    """Return a masked form that shows the length class and nothing of the secret itself."""
    return "****" if value else "(empty)"


def read_env_file(path: Path) -> dict[str, str]:
    """Parse a `.env` file; a line that is not `KEY=value` raises UsageError naming the file and line."""
    from dotenv.main import DotEnv
    from dotenv.parser import parse_stream

    from podsmith_core.errors import UsageError

    with open(path, encoding="utf-8") as handle:
        bad = [str(binding.original.line) for binding in parse_stream(handle) if binding.error]
    if bad:
        lines = f"line {bad[0]}" if len(bad) == 1 else f"lines {', '.join(bad)}"
        raise UsageError(
            f"Invalid {lines} in {path}: not KEY=value, or a quote that is never closed.",
            "Fix or remove those lines; quote values that contain spaces or '#'.",
        )
    values = DotEnv(path, interpolate=True).dict()
    return {key: value for key, value in values.items() if value is not None}


class Settings:
    """Resolved settings; look values up with `get`, their origin with `source`."""

    def __init__(self, values: Mapping[str, Setting], env_file: Path | None = None) -> None:
        self._values = dict(values)
        self.env_file = env_file

    @classmethod
    def load(
        cls,
        cli: Mapping[str, str | None] | None = None,
        env_file: Path | str | None = None,
        environ: Mapping[str, str] | None = None,
        project_dir: Path | None = None,
    ) -> "Settings":
        """Resolve settings; `env_file` defaults to `.env` in `project_dir` (the working directory)."""
        from podsmith_core.errors import UsageError

        environ = os.environ if environ is None else environ
        if env_file is not None:
            env_path: Path | None = Path(env_file).expanduser()
            if not env_path.is_file():
                raise UsageError(f"Env file {str(env_file)!r} not found.", "Pass an existing file to --env-file.")
        else:
            candidate = (project_dir or Path.cwd()) / ".env"
            env_path = candidate if candidate.is_file() else None
        file_values = read_env_file(env_path) if env_path else {}

        values: dict[str, Setting] = {}
        for key, (default, _description) in KNOWN_SETTINGS.items():
            values[key] = Setting(key, default, SOURCE_DEFAULT)
        for key, value in environ.items():
            if key in KNOWN_SETTINGS or key.startswith("PODSMITH_"):
                values[key] = Setting(key, value, SOURCE_ENV)
        for key, value in file_values.items():
            values[key] = Setting(key, value, f".env ({env_path})")
        for key, value in (cli or {}).items():
            if value is not None:
                values[key] = Setting(key, value, SOURCE_CLI)
        settings = cls(values, env_path)

        from podsmith_core.log_setup import add_log_secrets

        # Log records of every library are redacted from here on (a no-op unless the CLI set up logging).
        add_log_secrets(settings.secret_values())
        return settings

    def get(self, key: str, default: str | None = None) -> str | None:
        setting = self._values.get(key)
        if setting is None or setting.value in (None, ""):
            return default
        return setting.value

    def source(self, key: str) -> str:
        setting = self._values.get(key)
        return setting.source if setting else SOURCE_DEFAULT

    def setting(self, key: str) -> Setting:
        return self._values.get(key) or Setting(key, None, SOURCE_DEFAULT)

    def with_values(self, **overrides: str | None) -> "Settings":
        """Return a copy with `overrides` set as if given on the command line."""
        values = dict(self._values)
        for key, value in overrides.items():
            if value is not None:
                values[key] = Setting(key, value, SOURCE_CLI)
        return Settings(values, self.env_file)

    @property
    def hf_token(self) -> str | None:
        return self.get("HF_TOKEN") or self.get("HUGGINGFACE_HUB_TOKEN")

    def secret_values(self) -> list[str]:
        """Return every secret value, for redaction of outgoing text."""
        found = []
        for setting in self._values.values():
            if setting.is_secret and setting.value:
                found.append(setting.value)
        return found

    def rows(self) -> list[Setting]:
        """Return the known settings and podsmith's own, sorted by key, for display."""
        return [self._values[key] for key in sorted(self._values)]
