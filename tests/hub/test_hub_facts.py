"""ModelFacts read through huggingface_hub from the emulator, and from local directories."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Callable

import numpy as np
import pytest
from safetensors.numpy import save_file

from emulators.hub.server import HubEmulator
from podsmith_core.hub.client import HubAccess
from podsmith_core.hub.facts import GATED_NO_ACCESS, OK, read_hub_facts, read_local_facts
from podsmith_core.hub.params import count_parameters, select_weight_files
from podsmith_core.hub.plugin import plugin
from podsmith_core.hub.repo_ids import parse_model_id
from podsmith_core.models import RunSpec
from podsmith_core.settings import Settings

# Totals shown on each model's Hub page ("Model size" from its safetensors files).
PUBLISHED_TOTALS = {
    "unsloth/gemma-2b": 2_506_172_416,
    "Qwen/Qwen2.5-1.5B-Instruct": 1_543_714_304,
    "meta-llama/Llama-3.1-8B": 8_030_261_248,
    "Qwen/Qwen2.5-7B": 7_615_616_512,
}
# Packed quantized checkpoints of the same architectures: unpacked, they hold the base model's parameters.
UNPACKED_TOTALS = {
    "Qwen/Qwen2.5-7B-Instruct-GPTQ-Int4": 7_615_616_512,
    "unsloth/llama-3-8b-bnb-4bit": 8_030_261_248,
}


def _facts(emulator: HubEmulator, repo_id: str, token: str | None = None):
    return read_hub_facts(parse_model_id(repo_id), HubAccess(emulator.url, token))


@pytest.mark.parametrize(("repo_id", "total"), PUBLISHED_TOTALS.items())
def test_published_totals(hub_emulator: HubEmulator, repo_id: str, total: int) -> None:
    hub_emulator.add_token("hf_granted", "alice", role="read")
    hub_emulator.grant("meta-llama/Llama-3.1-8B", "alice")
    facts, probe = _facts(hub_emulator, repo_id, "hf_granted")
    assert probe.status == OK
    assert facts.parameter_count == total
    assert sum(facts.parameters_by_dtype.values()) == total
    assert set(facts.parameters_by_dtype) == {"BF16"}
    # bf16 weights: two bytes per parameter plus the safetensors headers.
    assert 2 * total < facts.weight_bytes < 2 * total + 1_000_000


@pytest.mark.parametrize(("repo_id", "total"), {**PUBLISHED_TOTALS, **UNPACKED_TOTALS}.items())
def test_header_counts(hub_emulator: HubEmulator, repo_id: str, total: int) -> None:
    # Parse every safetensors header through huggingface_hub's Range requests, as for quantized repos.
    from huggingface_hub import HfApi

    api = HfApi(endpoint=hub_emulator.url, token=False)
    if repo_id == "meta-llama/Llama-3.1-8B":
        hub_emulator.add_token("hf_granted", "alice", role="read")
        hub_emulator.grant(repo_id, "alice")
        api = HfApi(endpoint=hub_emulator.url, token="hf_granted")
    metadata = api.get_safetensors_metadata(repo_id)
    tensors = {
        name: (info.dtype, info.shape)
        for file_metadata in metadata.files_metadata.values()
        for name, info in file_metadata.tensors.items()
    }
    config = json.loads(hub_emulator.repo_file(repo_id, "config.json"))
    assert sum(count_parameters(tensors, config.get("quantization_config")).values()) == total


def test_gptq_unpacked(hub_emulator: HubEmulator) -> None:
    facts, probe = _facts(hub_emulator, "Qwen/Qwen2.5-7B-Instruct-GPTQ-Int4")
    assert probe.status == OK
    assert facts.parameter_count == UNPACKED_TOTALS["Qwen/Qwen2.5-7B-Instruct-GPTQ-Int4"]
    assert set(facts.parameters_by_dtype) == {"F16", "INT4"}
    # The Hub's own count stays packed (I32 elements), far below the real total.
    from huggingface_hub import HfApi

    info = HfApi(endpoint=hub_emulator.url, token=False).model_info("Qwen/Qwen2.5-7B-Instruct-GPTQ-Int4")
    assert info.safetensors.total == 1_964_472_832
    ranges = [entry.range for entry in hub_emulator.requests_to(".safetensors")]
    assert ranges == ["bytes=0-100000", "bytes=0-100000"]
    assert facts.config["quantization_config"]["bits"] == 4


def test_bnb_unpacked(hub_emulator: HubEmulator) -> None:
    facts, probe = _facts(hub_emulator, "unsloth/llama-3-8b-bnb-4bit")
    assert probe.status == OK
    assert facts.parameter_count == UNPACKED_TOTALS["unsloth/llama-3-8b-bnb-4bit"]
    assert facts.parameters_by_dtype["NF4"] == 6_979_321_856
    assert facts.parameters_by_dtype["BF16"] == 1_050_939_392
    assert "U8" not in facts.parameters_by_dtype


def test_hub_facts_fields(hub_emulator: HubEmulator) -> None:
    facts, probe = _facts(hub_emulator, "Qwen/Qwen2.5-1.5B-Instruct")
    assert probe.status == OK
    assert facts.sha == hub_emulator.repo("Qwen/Qwen2.5-1.5B-Instruct").sha
    assert facts.license == "apache-2.0"
    assert facts.private is False
    assert facts.gated is False
    assert facts.has_chat_template is True
    assert "<|im_start|>" in (facts.chat_template or "")
    assert facts.eos_token == "<|im_end|>"
    assert facts.transformers_version == "4.43.1"
    assert facts.config_value("num_key_value_heads") == 2
    assert "model.safetensors" in facts.files
    # Unquantized repos use the Hub's counts: no weight file is read.
    assert hub_emulator.requests_to(".safetensors") == []


def test_gemma_no_template(hub_emulator: HubEmulator) -> None:
    facts, _ = _facts(hub_emulator, "unsloth/gemma-2b")
    assert facts.has_chat_template is False
    assert facts.chat_template is None
    assert facts.eos_token == "<eos>"


def test_gated_without_access(hub_emulator: HubEmulator) -> None:
    facts, probe = _facts(hub_emulator, "meta-llama/Llama-3.1-8B")
    assert probe.status == GATED_NO_ACCESS
    assert probe.gated_readable is False
    assert facts.gated == "manual"
    assert facts.license == "llama3.1"
    # Public metadata still gives the parameter count.
    assert facts.parameter_count == PUBLISHED_TOTALS["meta-llama/Llama-3.1-8B"]


def test_revision_facts(hub_emulator: HubEmulator) -> None:
    sha = hub_emulator.add_branch("Qwen/Qwen2.5-7B", "dev")
    facts, probe = _facts(hub_emulator, "Qwen/Qwen2.5-7B@dev")
    assert probe.status == OK
    assert facts.revision == "dev"
    assert facts.sha == sha
    assert hub_emulator.requests_to("/api/models/Qwen/Qwen2.5-7B/revision/dev")


def test_chat_template_file(hub_emulator: HubEmulator) -> None:
    hub_emulator.add_repo(
        "alice/jinja-template",
        {
            "config.json": json.dumps({"model_type": "llama"}),
            "tokenizer_config.json": json.dumps({"eos_token": {"content": "</s>", "lstrip": False}}),
            "chat_template.jinja": "{% for m in messages %}{{ m['content'] }}{{ eos_token }}{% endfor %}",
        },
    )
    facts, _ = _facts(hub_emulator, "alice/jinja-template")
    assert facts.has_chat_template is True
    assert facts.chat_template.startswith("{% for m in messages %}")
    assert facts.eos_token == "</s>"


def test_no_double_count() -> None:
    files = ["model.safetensors", "pytorch_model.bin", "original/consolidated.00.pth", "consolidated.safetensors"]
    assert select_weight_files(files) == ("safetensors", ["model.safetensors"])
    assert select_weight_files(["pytorch_model-00001-of-00002.bin", "pytorch_model-00002-of-00002.bin", "training_args.bin"]) == (
        "pytorch",
        ["pytorch_model-00001-of-00002.bin", "pytorch_model-00002-of-00002.bin"],
    )


def _write_local_model(directory: Path) -> None:
    directory.mkdir()
    (directory / "config.json").write_text(json.dumps({"model_type": "llama", "transformers_version": "5.0.0"}))
    (directory / "tokenizer_config.json").write_text(json.dumps({"eos_token": "<|eot|>", "chat_template": "{{ x }}"}))
    save_file(
        {"embed.weight": np.zeros((10, 4), dtype=np.float32), "norm.weight": np.zeros((4,), dtype=np.float16)},
        str(directory / "model.safetensors"),
    )
    # A duplicate in the PyTorch format must not be counted.
    (directory / "pytorch_model.bin").write_bytes(b"\0" * 4096)


def test_local_facts(tmp_path: Path) -> None:
    model = tmp_path / "tiny"
    _write_local_model(model)
    facts = read_local_facts(parse_model_id(str(model)))
    assert facts.local_path == str(model.resolve())
    assert facts.parameters_by_dtype == {"F32": 40, "F16": 4}
    assert facts.parameter_count == 44
    assert facts.weight_bytes == (model / "model.safetensors").stat().st_size
    assert facts.eos_token == "<|eot|>"
    assert facts.has_chat_template is True
    assert facts.transformers_version == "5.0.0"


def test_local_repo_served(hub_emulator: HubEmulator, tmp_path: Path) -> None:
    model = tmp_path / "tiny"
    _write_local_model(model)
    hub_emulator.add_local_repo("alice/tiny", model)
    facts, probe = _facts(hub_emulator, "alice/tiny")
    assert probe.status == OK
    assert facts.parameter_count == 44
    assert facts.weight_bytes == (model / "model.safetensors").stat().st_size


def test_plugin_model_facts(hub_emulator: HubEmulator, hub_settings: Callable[..., Settings]) -> None:
    hub_emulator.add_token("hf_alice", "alice")
    facts = plugin.model_facts(spec=RunSpec(repo_id="unsloth/gemma-2b"), settings=hub_settings("hf_alice"))
    assert facts is not None
    assert facts.parameter_count == PUBLISHED_TOTALS["unsloth/gemma-2b"]
    assert facts.token_user == "alice"
    assert facts.hub_model_id == "alice/gemma-2b-grpo"
    findings = plugin.gate_check(spec=RunSpec(repo_id="unsloth/gemma-2b"), facts=facts, settings=hub_settings("hf_alice"))
    assert [finding.code for finding in findings] == ["hub-model-id"]
    # gate_check reused the model_facts results: one model_info and one whoami request in all.
    assert len(hub_emulator.requests_to("/api/models/unsloth/gemma-2b")) == 1
    assert len(hub_emulator.requests_to("/api/whoami-v2")) == 1


def test_plugin_missing_model(hub_emulator: HubEmulator, hub_settings: Callable[..., Settings]) -> None:
    facts = plugin.model_facts(spec=RunSpec(repo_id="nobody/missing"), settings=hub_settings())
    assert facts is not None
    assert facts.repo_id == "nobody/missing"
    assert facts.parameter_count == 0
