"""run_remote with the local transport and real detached jobs, using stand-in scripts that finish at once."""

from __future__ import annotations

import json
import os
import stat

import pytest
import yaml

from trl_support import HF_TOKEN_VALUE, grpo_spec, model_facts
from podsmith_core.errors import PlanError
from podsmith_core.models import PodHandle
from podsmith_core.transport.local import LocalTransport
from podsmith_trl.plugin import grpo
from podsmith_trl.remote import files_for_pod

# Stands in for training: records what the job sees, then writes the result file the real launch script writes.
FAKE_LAUNCH = r"""#!/usr/bin/env bash
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
stat -c '%a' secrets/HF_TOKEN > seen-mode
[ "$(cat secrets/HF_TOKEN)" = "$EXPECTED_TOKEN" ] && echo match > seen-token
printf 'step 1\rstep 2\n'
mkdir -p results
echo '{"steps": 3, "final_loss": 0.5, "output_dir": "/w/out", "hub_model_id": "someone/tiny-grpo"}' > results/result.json
rm -rf secrets
"""


def pod(workspace, gpu_count=1, name="podsmith-ab12cd34"):
    return PodHandle(pod_id=name, name=name, provider="local", gpu_count=gpu_count, workspace=str(workspace),
                     data={"python": "/usr/bin/python3"})


def test_files_adapt_to_pod_gpus(settings, tmp_path):
    spec = grpo_spec(gpu_count=None, gradient_accumulation_steps=16)
    plan = grpo.prepare_run(spec=spec, facts=model_facts(), settings=settings)
    files, notices = files_for_pod(spec, plan, pod(tmp_path, gpu_count=4))
    by_path = {item.path: item for item in files}
    accelerate = yaml.safe_load(by_path["config/accelerate.yaml"].content)
    assert accelerate["num_processes"] == 4
    assert accelerate["distributed_type"] == "DEEPSPEED"
    assert by_path["config/pod.env"].content == "PODSMITH_NUM_PROCESSES=4\nPODSMITH_PYTHON=/usr/bin/python3\n"
    assert notices == ["Pod podsmith-ab12cd34 has 4 GPU(s); training uses 4 process(es)."]
    assert by_path["scripts/launch.sh"].mode == 0o755
    assert "@@PODSMITH_RUN_ID@@" not in by_path["config/model_card.md"].content
    assert "ab12cd34" in by_path["config/model_card.md"].content


def test_gpu_plan_on_cpu_pod(settings, tmp_path):
    spec = grpo_spec(gpu_count=1)
    plan = grpo.prepare_run(spec=spec, facts=model_facts(), settings=settings)
    with pytest.raises(PlanError) as caught:
        files_for_pod(spec, plan, pod(tmp_path, gpu_count=0))
    assert "has none" in caught.value.message


def test_run_remote_flow(settings, tmp_path, monkeypatch):
    monkeypatch.setenv("EXPECTED_TOKEN", HF_TOKEN_VALUE)
    spec = grpo_spec(gpu_count=0, gradient_accumulation_steps=4)
    plan = grpo.prepare_run(spec=spec, facts=model_facts(), settings=settings)
    plan = plan.model_copy(update={"setup_script": "#!/usr/bin/env bash\necho setting up\n", "launch_script": FAKE_LAUNCH})
    events = []
    result = grpo.run_remote(spec=spec, plan=plan, pod=pod(tmp_path, gpu_count=0), transport=LocalTransport(),
                             emit=events.append, settings=settings)

    assert result.exit_status == 0
    assert result.steps == 3
    assert result.final_loss == 0.5
    assert result.hub_repo == "someone/tiny-grpo"
    assert result.hub_url == "http://127.0.0.1:9/someone/tiny-grpo"
    assert (tmp_path / "seen-mode").read_text().strip() == "600"
    assert (tmp_path / "seen-token").read_text().strip() == "match"
    assert not (tmp_path / "secrets").exists()
    logs = [(event.stage, event.message) for event in events if event.event == "log"]
    assert ("setup", "setting up") in logs
    assert ("train", "step 1") in logs
    assert ("train", "step 2") in logs
    assert stat.S_IMODE(os.stat(tmp_path / "config" / "recipe.yaml").st_mode) == 0o644
    assert json.loads((tmp_path / "config" / "job.json").read_text())["result_file"] == "results/result.json"
    for event in events:
        assert HF_TOKEN_VALUE not in event.message


def test_run_remote_setup_failure(settings, tmp_path):
    spec = grpo_spec(gpu_count=0, gradient_accumulation_steps=4)
    plan = grpo.prepare_run(spec=spec, facts=model_facts(), settings=settings)
    plan = plan.model_copy(update={"setup_script": "#!/usr/bin/env bash\necho broken >&2\nexit 3\n"})
    events = []
    result = grpo.run_remote(spec=spec, plan=plan, pod=pod(tmp_path, gpu_count=0), transport=LocalTransport(),
                             emit=events.append, settings=settings)
    assert result.exit_status == 3
    assert result.log_path == str(tmp_path / "logs" / "setup.log")
    assert ("setup", "broken") in [(event.stage, event.message) for event in events if event.event == "log"]
    assert not (tmp_path / "secrets").exists()
    assert not (tmp_path / "logs" / "train.log").exists()
