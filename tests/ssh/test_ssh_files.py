"""SshTransport commands and SFTP file operations against a real sshd; the Pod is a directory here."""

from __future__ import annotations

import json
import os
import re
import stat

import pytest

from podsmith_core.errors import TransportError


def test_run_quotes_arguments(ssh_pod):
    tricky = ["a b", "it's", "$(id)", "`id`", "; rm -rf /", "*", "line\nbreak", ""]

    with ssh_pod.transport() as transport:
        result = transport.run(["python3", "-c", "import json, sys; print(json.dumps(sys.argv[1:]))", *tricky])

    assert result.exit_status == 0
    assert result.stdout.strip() == json.dumps(tricky)


def test_run_status_and_stderr(ssh_pod):
    with ssh_pod.transport() as transport:
        result = transport.run(["sh", "-c", "echo out; echo err >&2; exit 7"])

    assert result.exit_status == 7
    assert result.stdout == "out\n"
    assert result.stderr == "err\n"


def test_run_streams_output(ssh_pod):
    chunks: list[str] = []

    with ssh_pod.transport() as transport:
        result = transport.run(
            ["sh", "-c", 'for i in 1 2 3; do echo "line $i"; sleep 0.2; done'], on_output=chunks.append
        )

    assert "".join(chunks) == "line 1\nline 2\nline 3\n"
    assert len(chunks) >= 2
    assert result.stdout == "line 1\nline 2\nline 3\n"


def test_run_timeout(ssh_pod):
    with ssh_pod.transport() as transport:
        with pytest.raises(TransportError) as caught:
            transport.run(["sleep", "5"], timeout=0.5)

    assert "timed out after 0.5 s" in caught.value.message


def test_run_checked_failure(ssh_pod):
    with ssh_pod.transport() as transport:
        with pytest.raises(TransportError) as caught:
            transport.run_checked(["ls", "/no/such/dir"])

    assert "exit status 2" in caught.value.message


def test_upload_secret_mode(ssh_pod, tmp_path):
    target = tmp_path / "workspace" / "secrets" / "HF_TOKEN"

    with ssh_pod.transport() as transport:
        transport.upload(b"hf_secret_value", str(target), mode=0o600)

    assert target.read_bytes() == b"hf_secret_value"
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert sorted(os.listdir(target.parent)) == ["HF_TOKEN"]

    # The server's SFTP log shows the file created with 0600 in the OPEN request itself, and no other
    # mode ever set on it before the rename to its final name.
    log = ssh_pod.server.sftp_log()
    temporary = re.search(r'open "([^"]*/secrets/\.HF_TOKEN\.podsmith-[0-9a-f]+)" flags WRITE,CREATE,EXCL mode (\d+)', log)
    assert temporary is not None, log
    assert temporary.group(2) == "0600"
    modes = re.findall(rf'"{re.escape(temporary.group(1))}".* mode (\d+)', log)
    assert set(modes) == {"0600"}
    assert f'posix-rename old "{temporary.group(1)}" new "{target}"' in log


def test_upload_replaces_wider_file(ssh_pod, tmp_path):
    target = tmp_path / "token"
    target.write_text("old")
    target.chmod(0o644)

    with ssh_pod.transport() as transport:
        transport.upload(b"new", str(target), mode=0o600)

    assert target.read_text() == "new"
    assert stat.S_IMODE(target.stat().st_mode) == 0o600


def test_upload_default_mode(ssh_pod, tmp_path):
    script = tmp_path / "run.sh"

    with ssh_pod.transport() as transport:
        transport.upload(b"echo hi\n", str(script), mode=0o755)

    assert stat.S_IMODE(script.stat().st_mode) == 0o755


def test_download_and_range(ssh_pod, tmp_path):
    path = tmp_path / "train.log"
    path.write_bytes(b"0123456789")

    with ssh_pod.transport() as transport:
        assert transport.download(str(path)) == b"0123456789"
        assert transport.read_range(str(path), 3, 4) == b"3456"
        assert transport.read_range(str(path), 8, 100) == b"89"
        assert transport.read_range(str(path), 10, 100) == b""
        assert transport.read_range(str(tmp_path / "absent.log"), 0, 100) == b""


def test_exists(ssh_pod, tmp_path):
    (tmp_path / "here").write_text("x")

    with ssh_pod.transport() as transport:
        assert transport.exists(str(tmp_path / "here"))
        assert transport.exists(str(tmp_path))
        assert not transport.exists(str(tmp_path / "gone"))


def test_download_missing(ssh_pod, tmp_path):
    missing = tmp_path / "nothing.status"

    with ssh_pod.transport() as transport:
        with pytest.raises(TransportError) as caught:
            transport.download(str(missing))

    assert f"File {missing} not found" in caught.value.message


def test_upload_refused_directory(ssh_pod, tmp_path):
    blocker = tmp_path / "blocker"
    blocker.write_text("a file where a directory is expected")

    with ssh_pod.transport() as transport:
        with pytest.raises(TransportError) as caught:
            transport.upload(b"x", str(blocker / "child.txt"))
        assert transport.run(["true"]).exit_status == 0

    assert f"uploading {blocker}/child.txt" in caught.value.message
