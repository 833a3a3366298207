"""SFTP operations paramiko lacks: create a file with its mode in the OPEN request, atomic replace, mkdir -p.

Paths are POSIX paths on the server.
"""

from __future__ import annotations

import posixpath
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import paramiko


def makedirs(sftp: "paramiko.SFTPClient", directory: str) -> None:
    """Create `directory` and its missing parents."""
    if directory in ("", "/"):
        return
    try:
        sftp.stat(directory)
        return
    except FileNotFoundError:
        pass
    makedirs(sftp, posixpath.dirname(directory))
    try:
        sftp.mkdir(directory)
    except OSError:
        # A concurrent writer may have created it. Any other failure raises from this stat.
        sftp.stat(directory)


def create_exclusive(sftp: "paramiko.SFTPClient", path: str, mode: int) -> "paramiko.SFTPFile":
    """Open a new file for writing with `mode` sent in the SFTP OPEN request itself.

    `SFTPClient.open` sends no attributes, so the server would create the file with 0666 minus its umask
    and a reader could open it before a later chmod.
    """
    from paramiko.sftp import CMD_HANDLE, CMD_OPEN, SFTP_FLAG_CREATE, SFTP_FLAG_EXCL, SFTP_FLAG_WRITE, SFTPError
    from paramiko.sftp_attr import SFTPAttributes
    from paramiko.sftp_file import SFTPFile

    attributes = SFTPAttributes()
    attributes.st_mode = mode
    flags = SFTP_FLAG_WRITE | SFTP_FLAG_CREATE | SFTP_FLAG_EXCL
    # NOTE: paramiko 5.1 has no public way to pass attributes on OPEN, so this mirrors SFTPClient.open.
    kind, message = sftp._request(CMD_OPEN, sftp._adjust_cwd(path), flags, attributes)
    if kind != CMD_HANDLE:
        raise SFTPError("Expected handle")
    return SFTPFile(sftp, message.get_binary(), "wb", -1)


def rename_over(sftp: "paramiko.SFTPClient", source: str, target: str) -> None:
    """Rename `source` over `target`, atomically where the server has the posix-rename extension."""
    try:
        sftp.posix_rename(source, target)
        return
    except OSError as exc:
        if "unsupported" not in str(exc).lower():
            raise
    try:
        sftp.remove(target)
    except FileNotFoundError:
        pass
    sftp.rename(source, target)
