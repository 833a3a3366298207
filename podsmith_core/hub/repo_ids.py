"""Model ids as users type them, and the Hub repository that receives the trained model.

Accepted forms of `--repo-id`: `org/name`, `org/name@revision`, a Hub URL (`https://huggingface.co/org/name`,
optionally `/tree/<revision>`), and an existing local directory that contains `config.json`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit

from podsmith_core.errors import UsageError

HUB_HOSTS = frozenset({"huggingface.co", "www.huggingface.co", "hf.co"})

# Repository names on the Hub: letters, digits, `-`, `_` and `.`, at most 96 characters, no `--` or `..`,
# and no leading or trailing `-` or `.` (the rule huggingface_hub's `validate_repo_id` applies).
_NAME = r"[A-Za-z0-9_](?:[A-Za-z0-9_.\-]*[A-Za-z0-9_])?"
NAME_RE = re.compile(rf"^{_NAME}$")
REPO_ID_RE = re.compile(rf"^{_NAME}/{_NAME}$")
MAX_REPO_ID_LENGTH = 96

ACCEPTED_FORMS = (
    "org/name, org/name@revision, https://huggingface.co/org/name[/tree/<revision>], "
    "or a local directory that contains config.json"
)


@dataclass(frozen=True)
class ModelRef:
    """A parsed model id: a Hub repository (with an optional revision) or a local directory."""

    repo_id: str
    revision: str | None = None
    local_path: Path | None = None

    @property
    def is_local(self) -> bool:
        return self.local_path is not None

    @property
    def name(self) -> str:
        """Return the last part of the id, used to name the trained model."""
        if self.local_path is not None:
            return self.local_path.name
        return self.repo_id.split("/")[-1]


def is_valid_repo_id(value: str) -> bool:
    if len(value) > MAX_REPO_ID_LENGTH or "--" in value or ".." in value:
        return False
    return REPO_ID_RE.match(value) is not None


def _invalid(value: str, reason: str) -> UsageError:
    return UsageError(f"Invalid model id {value!r}: {reason}.", f"Use one of: {ACCEPTED_FORMS}.")


def _looks_like_path(value: str) -> bool:
    return value.startswith(("/", "./", "../", "~", ".\\", "..\\")) or (len(value) > 2 and value[1] == ":")


def _parse_local(value: str) -> ModelRef | None:
    path = Path(value).expanduser()
    if not path.is_dir():
        if _looks_like_path(value):
            raise UsageError(
                f"Model directory {value!r} not found.",
                f"Pass an existing directory that contains config.json, or a Hub id ({ACCEPTED_FORMS}).",
            )
        return None
    if not (path / "config.json").is_file():
        raise UsageError(
            f"Model directory {value!r} contains no config.json.",
            "Pass the directory that holds the model's config.json and weights (save_pretrained output).",
        )
    resolved = path.resolve()
    return ModelRef(repo_id=str(resolved), local_path=resolved)


def _parse_url(value: str, extra_hosts: frozenset[str]) -> ModelRef:
    parts = urlsplit(value)
    if parts.netloc.lower() not in HUB_HOSTS | extra_hosts:
        raise _invalid(value, f"{parts.netloc!r} is not a Hugging Face Hub address")
    segments = [unquote(segment) for segment in parts.path.split("/") if segment]
    if segments and segments[0] in ("datasets", "spaces"):
        raise _invalid(value, f"this URL points to a {segments[0][:-1]}, not a model")
    revision = None
    if len(segments) >= 4 and segments[2] in ("tree", "blob", "resolve"):
        revision = segments[3]
        segments = segments[:2]
    if len(segments) != 2:
        raise _invalid(value, "the URL path is not /org/name or /org/name/tree/<revision>")
    repo_id = "/".join(segments)
    if not is_valid_repo_id(repo_id):
        raise _invalid(value, f"{repo_id!r} is not a valid repository id")
    return ModelRef(repo_id=repo_id, revision=revision)


def parse_model_id(value: str, revision: str | None = None, endpoint: str | None = None) -> ModelRef:
    """Parse what the user typed as the model id; raise UsageError naming the value and the accepted forms.

    `revision` is the separate `--revision` option: it must agree with a revision inside the id.
    `endpoint` (HF_ENDPOINT) adds its host to the hosts accepted in URLs.
    """
    text = value.strip()
    if not text:
        raise _invalid(value, "the value is empty")

    extra_hosts = frozenset({urlsplit(endpoint).netloc.lower()}) if endpoint else frozenset()
    if re.match(r"^[a-zA-Z][a-zA-Z0-9+.\-]*://", text):
        ref = _parse_url(text, extra_hosts)
    else:
        local = _parse_local(text)
        if local is not None:
            if revision:
                raise UsageError(
                    f"--revision {revision!r} was given for the local directory {text!r}.",
                    "Drop --revision: a local directory has no revisions.",
                )
            return local
        repo_id, at, rev = text.partition("@")
        if at and not rev:
            raise _invalid(value, "nothing follows '@'; write org/name@<branch, tag or commit>")
        if "/" not in repo_id and NAME_RE.match(repo_id):
            raise _invalid(value, "the organization or user part is missing (write org/name)")
        if not is_valid_repo_id(repo_id):
            raise _invalid(value, f"{repo_id!r} is not a valid repository id")
        ref = ModelRef(repo_id=repo_id, revision=rev or None)

    if revision and ref.revision and revision != ref.revision:
        raise UsageError(
            f"Model id {value!r} names revision {ref.revision!r} but --revision is {revision!r}.",
            "Give the revision once, either in the id or with --revision.",
        )
    if revision and not ref.revision:
        ref = ModelRef(repo_id=ref.repo_id, revision=revision)
    return ref


def method_of(trainer: str) -> str:
    """Return the training method named by a trainer (`openr1-grpo` → `grpo`, `trl-sft` → `sft`)."""
    lowered = trainer.lower()
    for method in ("grpo", "sft"):
        if lowered.endswith(method):
            return method
    return lowered.rsplit("-", 1)[-1]


def resolve_hub_model_id(hub_model_id: str | None, token_owner: str | None, model_name: str, trainer: str) -> str:
    """Return the target repository `namespace/name` for the trained model.

    A bare name goes under the token owner's namespace, as the Hub does when a Trainer pushes. When unset,
    the name is `<model name>-<method>`. Raise UsageError when the id is invalid or the owner is unknown.
    """
    target = (hub_model_id or "").strip() or f"{model_name}-{method_of(trainer)}"
    if "/" not in target:
        if not token_owner:
            raise UsageError(
                f"Target repository {target!r} has no namespace and no HF_TOKEN is set to supply one.",
                "Set HF_TOKEN, or pass --hub-model-id namespace/name.",
            )
        target = f"{token_owner}/{target}"
    if not is_valid_repo_id(target):
        raise UsageError(
            f"Invalid target repository {target!r}: use namespace/name with letters, digits, '-', '_' or '.', "
            f"at most {MAX_REPO_ID_LENGTH} characters, no '--' or '..'.",
            "Pass a valid --hub-model-id.",
        )
    return target


def merged_repo_id(hub_model_id: str) -> str:
    """Return the repository that receives the merged (LoRA folded in) model."""
    return f"{hub_model_id}-merged"
