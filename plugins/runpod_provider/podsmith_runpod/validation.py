"""Checks on every string that reaches the runpod SDK, and lookup of the user's SSH public key.

runpod-python 1.12 interpolates names, image names, env keys and values into its GraphQL text without
escaping, so a double quote, backslash or line break would break the request or inject fields into it.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Mapping

from podsmith_core.errors import UsageError
from podsmith_core.settings import Settings

_UNSAFE = re.compile(r'["\\\x00-\x1f\x7f]')
_ENV_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_KEY_TYPES = ("ssh-ed25519", "ssh-rsa", "ecdsa-sha2-", "sk-ssh-ed25519@openssh.com", "sk-ecdsa-sha2-")


def describe_char(char: str) -> str:
    names = {'"': "a double quote", "\\": "a backslash", "\n": "a line break", "\r": "a carriage return"}
    return names.get(char, f"the control character {char!r}")


def check_sdk_string(field: str, value: str, *, secret: bool = False) -> None:
    """Raise UsageError when `value` contains a character the SDK would put into GraphQL unescaped."""
    match = _UNSAFE.search(value)
    if match is None:
        return
    shown = "" if secret else f" {value!r}"
    raise UsageError(
        f"Invalid {field}{shown}: it contains {describe_char(match.group())}, which the runpod SDK sends "
        "unescaped inside its GraphQL request.",
        f"Remove the character from {field}.",
    )


def check_env(env: Mapping[str, str]) -> None:
    """Check env names and values for the SDK; values are treated as secrets and never shown."""
    for key, value in env.items():
        if not _ENV_KEY.match(key):
            raise UsageError(
                f"Invalid Pod env name {key!r}: use letters, digits and underscores, not starting with a digit.",
                "Rename the variable.",
            )
        check_sdk_string(f"the value of Pod env {key}", value, secret=True)


def find_public_key(settings: Settings) -> str:
    """Return the SSH public key for the Pod's `PUBLIC_KEY` env, raising UsageError when none is found.

    Sources, first found wins: SSH_PUBLIC_KEY, RUNPOD_SSH_PUBLIC_KEY (key text or a path to a `.pub`
    file), then the `.pub` file next to SSH_PRIVATE_KEY_PATH.
    """
    for key in ("SSH_PUBLIC_KEY", "RUNPOD_SSH_PUBLIC_KEY"):
        value = settings.get(key)
        if value:
            return _read_key(value.strip(), key)

    private_path = settings.get("SSH_PRIVATE_KEY_PATH", "~/.ssh/id_ed25519") or "~/.ssh/id_ed25519"
    public_path = Path(private_path + ".pub").expanduser()
    if public_path.is_file():
        return _read_key(str(public_path), "SSH_PRIVATE_KEY_PATH")
    raise UsageError(
        f"No SSH public key found: SSH_PUBLIC_KEY and RUNPOD_SSH_PUBLIC_KEY are not set and {public_path} "
        "does not exist.",
        "Set SSH_PUBLIC_KEY to your public key, or SSH_PRIVATE_KEY_PATH to a private key with a .pub file "
        "next to it (create one with `ssh-keygen -t ed25519`).",
    )


def _read_key(value: str, source: str) -> str:
    text = value
    if not value.startswith(_KEY_TYPES):
        path = Path(value).expanduser()
        if not path.is_file():
            raise UsageError(
                f"Invalid {source}: it is neither an SSH public key nor an existing file ({value!r}).",
                "Give the key text (starting with ssh-ed25519, ssh-rsa or ecdsa-sha2-) or a path to a .pub file.",
            )
        text = path.read_text(encoding="utf-8").strip()

    lines = [line for line in text.splitlines() if line.strip()]
    if len(lines) != 1 or not lines[0].startswith(_KEY_TYPES):
        raise UsageError(
            f"Invalid SSH public key from {source}: expected one line starting with ssh-ed25519, ssh-rsa or "
            "ecdsa-sha2-.",
            "Point it at the .pub file that `ssh-keygen` wrote.",
        )
    key = lines[0].strip()
    check_sdk_string(f"the SSH public key from {source}", key)
    return key
