import os
import stat
import subprocess
import time

from podsmith_core.transport.jobs import RemoteJob
from podsmith_core.transport.local import LocalTransport
from podsmith_core.transport.secrets import remove_secrets, upload_secrets

SECRET = "hf_TopSecretValue_0123456789"


def test_secret_file_modes(tmp_path):
    transport = LocalTransport()
    (path,) = upload_secrets(transport, str(tmp_path), {"HF_TOKEN": SECRET})
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(tmp_path / "secrets").st_mode) == 0o700
    assert open(path).read() == SECRET
    remove_secrets(transport, str(tmp_path))
    assert not (tmp_path / "secrets").exists()


def test_secret_absent_from_process_list(tmp_path):
    transport = LocalTransport()
    upload_secrets(transport, str(tmp_path), {"HF_TOKEN": SECRET})
    script = tmp_path / "job.sh"
    script.write_text(
        'HF_TOKEN="$(cat "$PWD/secrets/HF_TOKEN")"\nexport HF_TOKEN\n'
        'python3 -c "import os, time; assert os.environ[\'HF_TOKEN\']; time.sleep(2)"\necho finished\n'
    )
    job = RemoteJob(transport, str(tmp_path), "train")
    job.launch(str(script))
    time.sleep(0.5)
    processes = subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True).stdout
    lines = []
    assert job.follow(lines.append, poll_interval=0.05) == 0
    assert "python3 -c import os" in processes
    assert SECRET not in processes
    assert lines == ["finished"]
    assert SECRET not in (tmp_path / "logs" / "train.log").read_text()
