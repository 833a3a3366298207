"""Secrets travel to the Pod as files: `<workspace>/secrets/<NAME>`, mode 0600 inside a 0700 directory.

Job scripts read them with `cat`; no secret is ever part of a command line or a command's environment.
"""

from __future__ import annotations

import posixpath
import re
from typing import Mapping

from podsmith_core.errors import UsageError
from podsmith_core.transport.base import Transport

SECRET_NAME = re.compile(r"^[A-Z][A-Z0-9_]*$")


def secrets_dir(workspace: str) -> str:
    return posixpath.join(workspace, "secrets")


def upload_secrets(transport: Transport, workspace: str, secrets: Mapping[str, str]) -> list[str]:
    """Write each secret to its own 0600 file and return the remote paths."""
    directory = secrets_dir(workspace)
    transport.run_checked(["mkdir", "-p", "-m", "700", directory])
    transport.run_checked(["chmod", "700", directory])
    paths = []
    for name, value in secrets.items():
        if not SECRET_NAME.match(name):
            raise UsageError(f"Invalid secret name {name!r}.", "Use upper-case letters, digits and underscores.")
        path = posixpath.join(directory, name)
        transport.upload(value.encode(), path, mode=0o600)
        paths.append(path)
    return paths


def remove_secrets(transport: Transport, workspace: str) -> None:
    """Delete the secrets directory; nothing happens when it is already gone."""
    transport.run(["rm", "-rf", "--", secrets_dir(workspace)])
