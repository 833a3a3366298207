"""Client keys for SSH: where the key file is, and how to load it (ed25519, RSA, ECDSA, with a passphrase).

Local paths go through pathlib, so a Windows path such as `C:\\Users\\me\\.ssh\\id_ed25519` keeps its meaning
on Windows; remote paths never pass through here.
"""

from __future__ import annotations

import getpass
import sys
from pathlib import Path, PurePath
from typing import TYPE_CHECKING

from podsmith_core.errors import UsageError

if TYPE_CHECKING:
    import paramiko

PROMPT_ATTEMPTS = 3


def key_path(text: str, flavour: type[PurePath] = Path) -> PurePath:
    """Parse a key path setting with the rules of `flavour` (the running system's by default); expand `~`."""
    path = flavour(text)
    if isinstance(path, Path):
        return path.expanduser()
    return path


def public_key_path(private_key: PurePath) -> PurePath:
    """Return the path ssh-keygen writes the public half to: the private key's name plus `.pub`."""
    return private_key.with_name(private_key.name + ".pub")


def load_private_key(
    path: Path,
    passphrase: str | None = None,
    *,
    prompt: bool | None = None,
) -> "paramiko.PKey":
    """Load an OpenSSH or PEM private key; ask for the passphrase on a terminal when none was given.

    `prompt` defaults to whether stdin is a terminal. Raises UsageError naming the file and the fix.
    """
    import paramiko

    if not path.is_file():
        raise UsageError(
            f"SSH private key {path} not found.",
            "Set SSH_PRIVATE_KEY_PATH to an existing key file, or create one with `ssh-keygen -t ed25519`.",
        )

    # cryptography (which paramiko uses to read keys) raises TypeError when a password is missing or not
    # needed, and ValueError for a wrong password or a file that is no private key.
    try:
        return paramiko.PKey.from_path(path)
    except TypeError:
        pass
    except (ValueError, paramiko.SSHException) as exc:
        raise UsageError(
            f"SSH private key {path} could not be read: {exc}",
            "Point SSH_PRIVATE_KEY_PATH at an ed25519, RSA or ECDSA private key (not the .pub file).",
        ) from exc

    if passphrase is not None:
        return _decrypt(path, passphrase, "the passphrase from SSH_KEY_PASSPHRASE")

    if prompt is None:
        prompt = sys.stdin is not None and sys.stdin.isatty()
    if not prompt:
        raise UsageError(
            f"SSH private key {path} is protected by a passphrase.",
            "Set SSH_KEY_PASSPHRASE in .env or the environment, or run podsmith in a terminal to be asked.",
        )
    for attempt in range(PROMPT_ATTEMPTS):
        typed = getpass.getpass(f"Passphrase for {path}: ")
        try:
            return _decrypt(path, typed, "the passphrase typed")
        except UsageError:
            if attempt == PROMPT_ATTEMPTS - 1:
                raise
    raise AssertionError("unreachable")


def _decrypt(path: Path, passphrase: str, origin: str) -> "paramiko.PKey":
    import paramiko

    try:
        return paramiko.PKey.from_path(path, passphrase.encode())
    except (TypeError, ValueError, paramiko.SSHException) as exc:
        raise UsageError(
            f"SSH private key {path} could not be decrypted with {origin}: wrong passphrase.",
            "Correct SSH_KEY_PASSPHRASE, or use `ssh-keygen -p -f KEY` to set a new passphrase.",
        ) from exc


def public_key_line(private_key: "paramiko.PKey") -> str:
    """Return the authorized_keys line (`type base64`) for a loaded private key."""
    return f"{private_key.get_name()} {private_key.get_base64()}"
