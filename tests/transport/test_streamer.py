import os
import signal
import subprocess
import sys
import textwrap
import time

from podsmith_core.transport.jobs import RemoteJob
from podsmith_core.transport.local import LocalTransport
from podsmith_core.transport.streamer import MAX_LINE_BYTES, LineSplitter


def split_all(chunks: list[bytes]) -> list[str]:
    splitter = LineSplitter()
    lines = []
    for chunk in chunks:
        lines += splitter.feed(chunk)
    return lines + splitter.flush()


def test_carriage_return_ends_line():
    data = b"step 1/3\rstep 2/3\rstep 3/3\nTraceback (most recent call last):\n  File x\nValueError: bad\n"
    assert split_all([data]) == [
        "step 1/3", "step 2/3", "step 3/3", "Traceback (most recent call last):", "  File x", "ValueError: bad",
    ]


def test_crlf_split_across_chunks_is_one_end():
    assert split_all([b"alpha\r", b"\nbeta\r\n"]) == ["alpha", "beta"]


def test_invalid_utf8_replaced():
    assert split_all([b"ok \xff\xfe bytes\n"]) == ["ok \ufffd\ufffd bytes"]


def test_multibyte_char_split_across_chunks():
    encoded = "héllo\n".encode()
    assert split_all([encoded[:2], encoded[2:]]) == ["héllo"]


def test_last_line_without_newline_flushed():
    assert split_all([b"first\nlast words"]) == ["first", "last words"]


def test_long_line_emitted_in_pieces():
    line = b"x" * (MAX_LINE_BYTES * 2 + 10) + b"\n"
    pieces = split_all([line[i : i + 65536] for i in range(0, len(line), 65536)])
    assert [len(piece) for piece in pieces] == [MAX_LINE_BYTES, MAX_LINE_BYTES, 10]


def test_offset_counts_only_complete_lines():
    splitter = LineSplitter()
    splitter.feed(b"one\ntw")
    assert splitter.consumed == 4


def launch(tmp_path, body: str) -> RemoteJob:
    workspace = tmp_path / "pod"
    workspace.mkdir(exist_ok=True)
    script = workspace / "job.sh"
    script.write_text(body)
    job = RemoteJob(LocalTransport(), str(workspace), "train")
    job.launch(str(script))
    return job


def test_follow_reads_buffered_output_after_exit(tmp_path):
    body = textwrap.dedent(
        """
        python3 - <<'PY'
        import sys, time
        for i in range(3):
            sys.stdout.write(f"progress {i}\\r")
        sys.stdout.write("Traceback (most recent call last):\\nRuntimeError: out of memory\\n")
        sys.stdout.write("final line without newline")
        PY
        exit 7
        """
    )
    job = launch(tmp_path, body)
    lines = []
    status = job.follow(lines.append, poll_interval=0.05)
    assert status == 7
    assert lines == [
        "progress 0", "progress 1", "progress 2",
        "Traceback (most recent call last):", "RuntimeError: out of memory", "final line without newline",
    ]


FOLLOWER = textwrap.dedent(
    """
    import sys
    from podsmith_core.transport.jobs import RemoteJob
    from podsmith_core.transport.local import LocalTransport
    from podsmith_core.transport.streamer import LogFollower

    workspace, offset, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    job = RemoteJob(LocalTransport(), workspace, "train")
    follower = LogFollower(LocalTransport(), job.log_path, offset=offset, poll_interval=0.02)

    def on_line(line):
        # The line and the offset after it are written together, as a resuming caller would store them.
        with open(out, "a") as handle:
            handle.write(f"{follower.offset}\\t{line}\\n")

    follower.follow(on_line, lambda: job.exit_status() is not None)
    """
)


def test_resume_after_follower_killed(tmp_path):
    job = launch(tmp_path, 'for i in $(seq 1 400); do echo "line $i"; sleep 0.005; done\n')
    out = tmp_path / "seen.tsv"
    first = subprocess.Popen([sys.executable, "-c", FOLLOWER, job.workspace, "0", str(out)])
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and (not out.exists() or len(out.read_text().splitlines()) < 50):
        time.sleep(0.02)
    first.send_signal(signal.SIGKILL)
    first.wait()

    rows = [row.split("\t", 1) for row in out.read_text().splitlines()]
    resume_offset = int(rows[-1][0]) if rows else 0
    assert 0 < resume_offset
    subprocess.run([sys.executable, "-c", FOLLOWER, job.workspace, str(resume_offset), str(out)], check=True, timeout=60)

    lines = [row.split("\t", 1)[1] for row in out.read_text().splitlines()]
    assert lines == [f"line {i}" for i in range(1, 401)]


def test_job_survives_launcher_killed(tmp_path):
    workspace = tmp_path / "pod"
    workspace.mkdir()
    (workspace / "job.sh").write_text("sleep 1; echo survived\n")
    launcher = textwrap.dedent(
        f"""
        import time
        from podsmith_core.transport.jobs import RemoteJob
        from podsmith_core.transport.local import LocalTransport
        RemoteJob(LocalTransport(), {str(workspace)!r}, "train").launch({str(workspace / 'job.sh')!r})
        print("launched", flush=True)
        time.sleep(60)
        """
    )
    process = subprocess.Popen([sys.executable, "-c", launcher], stdout=subprocess.PIPE, text=True, start_new_session=True)
    assert process.stdout.readline().strip() == "launched"
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()

    job = RemoteJob(LocalTransport(), str(workspace), "train")
    lines = []
    assert job.follow(lines.append, poll_interval=0.05) == 0
    assert lines == ["survived"]


def test_stop_kills_process_group(tmp_path):
    job = launch(tmp_path, "sleep 300 & sleep 300\n")
    time.sleep(0.3)
    assert job.is_running()
    job.stop(grace_s=2)
    assert not job.is_running()
    lines = []
    assert job.follow(lines.append, poll_interval=0.05) != 0
