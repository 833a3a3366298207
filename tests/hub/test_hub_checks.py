"""Each pre-flight finding of the Hugging Face plugin, driven through its hooks against the Hub emulator."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Callable

import pytest

from hub_support import READ_TOKEN, WRITE_TOKEN
from emulators.hub.server import HubEmulator
from podsmith_core.hub.plugin import plugin
from podsmith_core.models import Finding, RunSpec
from podsmith_core.settings import Settings

SettingsFactory = Callable[..., Settings]


def run_checks(spec: RunSpec, settings: Settings) -> list[Finding]:
    facts = plugin.model_facts(spec=spec, settings=settings)
    return plugin.gate_check(spec=spec, facts=facts, settings=settings)


def only(findings: list[Finding], code: str) -> Finding:
    matches = [finding for finding in findings if finding.code == code]
    assert len(matches) == 1, f"expected one {code!r} finding, got {[f.code for f in findings]}"
    return matches[0]


def codes(findings: list[Finding], level: str = "error") -> list[str]:
    return [finding.code for finding in findings if finding.level == level]


@pytest.fixture
def alice(hub_emulator: HubEmulator) -> None:
    hub_emulator.add_token(WRITE_TOKEN, "alice", role="write", orgs={"acme": "write", "readers": "read"})
    hub_emulator.add_token(READ_TOKEN, "alice", role="read")


def test_clean_run(hub_emulator: HubEmulator, hub_settings: SettingsFactory, alice: None) -> None:
    spec = RunSpec(repo_id="Qwen/Qwen2.5-1.5B-Instruct", dataset_name="AI-MO/NuminaMath-TIR")
    findings = run_checks(spec, hub_settings(WRITE_TOKEN))
    assert codes(findings) == []
    assert codes(findings, "warning") == []
    target = only(findings, "hub-model-id")
    assert target.level == "info"
    assert "alice/Qwen2.5-1.5B-Instruct-grpo" in target.message
    assert "(private)" in target.message


def test_model_not_found(hub_settings: SettingsFactory, alice: None) -> None:
    finding = only(run_checks(RunSpec(repo_id="nobody/no-such-model"), hub_settings(WRITE_TOKEN)), "model-not-found")
    assert finding.level == "error"
    assert "nobody/no-such-model" in finding.message
    assert "token for alice" in finding.message
    assert "/nobody/no-such-model" in finding.fix


def test_private_without_access(hub_emulator: HubEmulator, hub_settings: SettingsFactory, alice: None) -> None:
    hub_emulator.add_repo("bob/secret", {"config.json": "{}"}, private=True)
    finding = only(run_checks(RunSpec(repo_id="bob/secret"), hub_settings(WRITE_TOKEN)), "model-not-found")
    assert "bob/secret" in finding.message
    assert "private" in finding.message
    assert "HF_TOKEN" in finding.fix


def test_private_with_access(hub_emulator: HubEmulator, hub_settings: SettingsFactory, alice: None) -> None:
    hub_emulator.add_repo("acme/internal", {"config.json": "{}"}, private=True)
    findings = run_checks(RunSpec(repo_id="acme/internal"), hub_settings(WRITE_TOKEN))
    assert "model-not-found" not in codes(findings)
    assert only(findings, "model-private").level == "info"


def test_gated_without_access(hub_emulator: HubEmulator, hub_settings: SettingsFactory, alice: None) -> None:
    findings = run_checks(RunSpec(repo_id="meta-llama/Llama-3.1-8B"), hub_settings(WRITE_TOKEN))
    finding = only(findings, "model-gated")
    assert finding.level == "error"
    assert "meta-llama/Llama-3.1-8B is gated" in finding.message
    assert "config.json" in finding.message
    assert f"{hub_emulator.url}/meta-llama/Llama-3.1-8B" in finding.fix


def test_gated_anonymous(hub_emulator: HubEmulator, hub_settings: SettingsFactory) -> None:
    spec = RunSpec(repo_id="meta-llama/Llama-3.1-8B", push_to_hub=False)
    finding = only(run_checks(spec, hub_settings()), "model-gated")
    assert "HF_TOKEN is not set" in finding.message
    assert f"{hub_emulator.url}/meta-llama/Llama-3.1-8B" in finding.fix


def test_gated_with_access(hub_emulator: HubEmulator, hub_settings: SettingsFactory, alice: None) -> None:
    hub_emulator.grant("meta-llama/Llama-3.1-8B", "alice")
    findings = run_checks(RunSpec(repo_id="meta-llama/Llama-3.1-8B"), hub_settings(WRITE_TOKEN))
    assert codes(findings) == []
    finding = only(findings, "model-gated-readable")
    assert finding.level == "info"
    assert "meta-llama/Llama-3.1-8B" in finding.message
    assert "token for alice" in finding.message


def test_gated_fine_grained(hub_emulator: HubEmulator, hub_settings: SettingsFactory) -> None:
    # A fine-grained token of an approved user still needs the gated-read permission.
    hub_emulator.add_token("hf_fine", "alice", fine_grained={"alice": ["repo.write"]}, can_read_gated=False)
    hub_emulator.grant("meta-llama/Llama-3.1-8B", "alice")
    finding = only(run_checks(RunSpec(repo_id="meta-llama/Llama-3.1-8B"), hub_settings("hf_fine")), "model-gated")
    assert "fine-grained" in finding.fix


def test_revision_not_found(hub_emulator: HubEmulator, hub_settings: SettingsFactory, alice: None) -> None:
    finding = only(run_checks(RunSpec(repo_id="Qwen/Qwen2.5-7B@v9.9"), hub_settings(WRITE_TOKEN)), "revision-not-found")
    assert finding.level == "error"
    assert "'v9.9'" in finding.message
    assert "Qwen/Qwen2.5-7B" in finding.message
    assert f"{hub_emulator.url}/Qwen/Qwen2.5-7B/tree/main" in finding.fix


def test_invalid_model_id(hub_settings: SettingsFactory, alice: None) -> None:
    findings = run_checks(RunSpec(repo_id="gemma-2b"), hub_settings(WRITE_TOKEN))
    finding = only(findings, "model-id")
    assert finding.level == "error"
    assert "'gemma-2b'" in finding.message
    assert "org/name" in finding.fix


def test_token_missing(hub_settings: SettingsFactory) -> None:
    finding = only(run_checks(RunSpec(repo_id="unsloth/gemma-2b"), hub_settings()), "token-missing")
    assert finding.level == "error"
    assert "HF_TOKEN is not set" in finding.message
    assert "/settings/tokens" in finding.fix


def test_token_missing_no_push(hub_settings: SettingsFactory) -> None:
    findings = run_checks(RunSpec(repo_id="Qwen/Qwen2.5-1.5B-Instruct", push_to_hub=False), hub_settings())
    assert codes(findings) == []


def test_token_invalid(hub_emulator: HubEmulator, hub_settings: SettingsFactory) -> None:
    findings = run_checks(RunSpec(repo_id="unsloth/gemma-2b"), hub_settings("hf_revokedTOKEN000000000"))
    finding = only(findings, "token-invalid")
    assert finding.level == "error"
    assert "401" in finding.message
    assert f"{hub_emulator.url}/settings/tokens" in finding.fix
    # The model request failed with the same 401; it is reported once, as the token problem.
    assert codes(findings) == ["token-invalid"]


def _local_model(directory: Path) -> Path:
    directory.mkdir()
    (directory / "config.json").write_text(json.dumps({"model_type": "llama"}))
    (directory / "tokenizer_config.json").write_text(json.dumps({"eos_token": "</s>"}))
    return directory


@pytest.mark.parametrize("dataset", [None, "data"])
def test_token_unused_not_checked(
    hub_emulator: HubEmulator, hub_settings: SettingsFactory, tmp_path: Path, dataset: str | None
) -> None:
    # No push, a local model and a local or absent dataset: the run never talks to the Hub.
    model = _local_model(tmp_path / "tiny")
    if dataset is not None:
        (tmp_path / dataset).mkdir()
        dataset = str(tmp_path / dataset)
    spec = RunSpec(repo_id=str(model), dataset_name=dataset, provider="local", push_to_hub=False)
    findings = run_checks(spec, hub_settings("hf_revokedTOKEN000000000"))
    assert codes(findings) == []
    assert codes(findings, "warning") == []
    assert hub_emulator.requests == []


@pytest.mark.parametrize(
    ("repo_id", "dataset", "push"),
    [
        ("local", "hub", False),
        ("hub", None, False),
        ("local", None, True),
    ],
)
def test_token_used_checked(
    hub_emulator: HubEmulator, hub_settings: SettingsFactory, tmp_path: Path, repo_id: str, dataset: str | None, push: bool
) -> None:
    # Any model, dataset or push on the Hub keeps the token check.
    model = str(_local_model(tmp_path / "tiny")) if repo_id == "local" else "Qwen/Qwen2.5-1.5B-Instruct"
    dataset_name = "AI-MO/NuminaMath-TIR" if dataset == "hub" else None
    spec = RunSpec(repo_id=model, dataset_name=dataset_name, provider="local", push_to_hub=push)
    findings = run_checks(spec, hub_settings("hf_revokedTOKEN000000000"))
    assert codes(findings) == ["token-invalid"]
    assert len(hub_emulator.requests_to("/api/whoami-v2")) == 1


def test_read_token(hub_emulator: HubEmulator, hub_settings: SettingsFactory, alice: None) -> None:
    finding = only(run_checks(RunSpec(repo_id="unsloth/gemma-2b"), hub_settings(READ_TOKEN)), "token-cannot-write")
    assert finding.level == "error"
    assert "token for alice can't write to alice" in finding.message
    assert "read token" in finding.message
    assert f"create a write token at {hub_emulator.url}/settings/tokens" in finding.fix.lower()


def test_read_token_no_push(hub_settings: SettingsFactory, alice: None) -> None:
    spec = RunSpec(repo_id="Qwen/Qwen2.5-1.5B-Instruct", push_to_hub=False)
    assert codes(run_checks(spec, hub_settings(READ_TOKEN))) == []


@pytest.mark.parametrize(
    ("hub_model_id", "reason"),
    [
        ("outsiders/run", "alice is not a member of outsiders"),
        ("readers/run", "alice has the 'read' role in readers"),
    ],
)
def test_org_write_refused(hub_settings: SettingsFactory, alice: None, hub_model_id: str, reason: str) -> None:
    spec = RunSpec(repo_id="unsloth/gemma-2b", hub_model_id=hub_model_id)
    finding = only(run_checks(spec, hub_settings(WRITE_TOKEN)), "token-cannot-write")
    namespace = hub_model_id.split("/")[0]
    assert f"token for alice can't write to {namespace}" in finding.message
    assert reason in finding.message


def test_org_write_allowed(hub_settings: SettingsFactory, alice: None) -> None:
    spec = RunSpec(repo_id="unsloth/gemma-2b", hub_model_id="acme/gemma-run", public=True)
    findings = run_checks(spec, hub_settings(WRITE_TOKEN))
    assert "token-cannot-write" not in codes(findings)
    assert "acme/gemma-run (public)" in only(findings, "hub-model-id").message


def test_fine_grained_scopes(hub_emulator: HubEmulator, hub_settings: SettingsFactory) -> None:
    hub_emulator.add_token(
        "hf_scoped", "alice", fine_grained={"alice": ["repo.content.read"], "acme": ["repo.write"]}, orgs={"acme": "write"}
    )
    settings = hub_settings("hf_scoped")
    rejected = only(run_checks(RunSpec(repo_id="unsloth/gemma-2b"), settings), "token-cannot-write")
    assert "token for alice can't write to alice" in rejected.message
    assert "repo.write" in rejected.message
    assert "fine-grained token with repo.write for alice" in rejected.fix
    allowed = run_checks(RunSpec(repo_id="unsloth/gemma-2b", hub_model_id="acme/run"), settings)
    assert "token-cannot-write" not in codes(allowed)


def test_bare_target_name(hub_settings: SettingsFactory, alice: None) -> None:
    spec = RunSpec(repo_id="unsloth/gemma-2b", hub_model_id="my-gemma", trainer="trl-sft")
    assert "alice/my-gemma" in only(run_checks(spec, hub_settings(WRITE_TOKEN)), "hub-model-id").message


def test_dataset_not_found(hub_settings: SettingsFactory, alice: None) -> None:
    spec = RunSpec(repo_id="Qwen/Qwen2.5-1.5B-Instruct", dataset_name="nobody/no-data")
    finding = only(run_checks(spec, hub_settings(WRITE_TOKEN)), "dataset-not-found")
    assert finding.level == "error"
    assert "nobody/no-data" in finding.message
    assert "/datasets/nobody/no-data" in finding.fix


def test_dataset_gated(hub_emulator: HubEmulator, hub_settings: SettingsFactory, alice: None) -> None:
    hub_emulator.add_repo("lab/closed", {"README.md": "# data\n", "train.jsonl": "{}\n"}, repo_type="dataset", gated="auto")
    spec = RunSpec(repo_id="Qwen/Qwen2.5-1.5B-Instruct", dataset_name="lab/closed")
    finding = only(run_checks(spec, hub_settings(WRITE_TOKEN)), "dataset-gated")
    assert finding.level == "error"
    assert "lab/closed" in finding.message
    assert f"{hub_emulator.url}/datasets/lab/closed" in finding.fix
    hub_emulator.grant("lab/closed", "alice", repo_type="dataset")
    findings = run_checks(spec, hub_settings(WRITE_TOKEN))
    assert codes(findings) == []
    assert only(findings, "dataset-gated-readable").level == "info"


def test_dataset_local_no_request(
    hub_emulator: HubEmulator, hub_settings: SettingsFactory, alice: None, tmp_path: Path
) -> None:
    data = tmp_path / "math"
    data.mkdir()
    (data / "train.jsonl").write_text('{"prompt": "1+1"}\n')
    for name in (str(data), str(data / "train.jsonl")):
        spec = RunSpec(repo_id="Qwen/Qwen2.5-1.5B-Instruct", dataset_name=name, provider="local")
        findings = run_checks(spec, hub_settings(WRITE_TOKEN))
        assert codes(findings) == [], name
        assert codes(findings, "warning") == [], name
    assert hub_emulator.requests_to("/api/datasets/") == []


def test_dataset_bare_dir_name(
    hub_emulator: HubEmulator, hub_settings: SettingsFactory, alice: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A bare name of an existing directory is a path, not a legacy Hub dataset id.
    monkeypatch.chdir(tmp_path)
    (tmp_path / "mydata").mkdir()
    spec = RunSpec(repo_id="Qwen/Qwen2.5-1.5B-Instruct", dataset_name="mydata", provider="runpod")
    finding = only(run_checks(spec, hub_settings(WRITE_TOKEN)), "local-dataset-remote-provider")
    assert "'mydata'" in finding.message
    assert hub_emulator.requests_to("/api/datasets/") == []


@pytest.mark.parametrize("name", ["./data/train.jsonl", "~/no-such-datasets/math", "/no/such/dir", ".cache-data"])
def test_dataset_path_missing(hub_emulator: HubEmulator, hub_settings: SettingsFactory, alice: None, name: str) -> None:
    spec = RunSpec(repo_id="Qwen/Qwen2.5-1.5B-Instruct", dataset_name=name, provider="local")
    findings = run_checks(spec, hub_settings(WRITE_TOKEN))
    finding = only(findings, "dataset-path-not-found")
    assert finding.level == "error"
    assert repr(name) in finding.message
    assert "not found" in finding.message
    assert "existing directory" in finding.fix
    assert "Hub dataset id" in finding.fix
    assert codes(findings) == ["dataset-path-not-found"]
    assert hub_emulator.requests_to("/api/datasets/") == []


def test_dataset_path_remote_provider(hub_settings: SettingsFactory, alice: None, tmp_path: Path) -> None:
    data = tmp_path / "math"
    data.mkdir()
    spec = RunSpec(repo_id="Qwen/Qwen2.5-1.5B-Instruct", dataset_name=str(data), provider="runpod")
    findings = run_checks(spec, hub_settings(WRITE_TOKEN))
    finding = only(findings, "local-dataset-remote-provider")
    assert finding.level == "error"
    assert f"Dataset {str(data)!r} is local, but provider 'runpod' trains on a Pod that can't read it." == finding.message
    assert "hf upload --repo-type dataset" in finding.fix
    assert "--provider local or ssh" in finding.fix
    assert codes(findings) == ["local-dataset-remote-provider"]


def test_dataset_path_missing_remote(hub_settings: SettingsFactory, alice: None) -> None:
    spec = RunSpec(repo_id="Qwen/Qwen2.5-1.5B-Instruct", dataset_name="./no-such-data", provider="runpod")
    findings = run_checks(spec, hub_settings(WRITE_TOKEN))
    assert codes(findings) == ["dataset-path-not-found", "local-dataset-remote-provider"]


def test_dataset_path_ssh(hub_emulator: HubEmulator, hub_settings: SettingsFactory, alice: None, tmp_path: Path) -> None:
    data = tmp_path / "math"
    data.mkdir()
    for name, here in ((str(data), True), ("/no/such/dir", False)):
        spec = RunSpec(repo_id="Qwen/Qwen2.5-1.5B-Instruct", dataset_name=name, provider="ssh")
        findings = run_checks(spec, hub_settings(WRITE_TOKEN))
        assert codes(findings) == [], name
        finding = only(findings, "local-dataset-ssh")
        assert finding.level == "warning"
        assert repr(name) in finding.message
        assert "must exist at that path on the host" in finding.message
        assert ("not found on this machine" in finding.message) is not here
    assert hub_emulator.requests_to("/api/datasets/") == []


def test_trainer_findings_left_out(hub_settings: SettingsFactory, alice: None, tmp_path: Path) -> None:
    # The trainer plugins report these, so the Hub plugin must not repeat them in its own words.
    typo = str(tmp_path / "tmpl.jnija")
    template = tmp_path / "tmpl.jinja"
    template.write_text("{% for m in messages %}{{ m['content'] }}{{ eos_token }}{% endfor %}")
    settings = hub_settings(WRITE_TOKEN)
    for chat_template in (None, typo, str(template)):
        # unsloth/gemma-2b has no chat template of its own.
        spec = RunSpec(repo_id="unsloth/gemma-2b", report_to="wandb", chat_template=chat_template)
        findings = run_checks(spec, settings)
        assert [finding.code for finding in findings] == ["hub-model-id"], chat_template
        text = " ".join(f"{finding.message} {finding.fix}" for finding in findings).lower()
        assert "chat template" not in text
        assert "wandb" not in text


def test_facts_keep_chat_template(hub_settings: SettingsFactory, alice: None) -> None:
    facts = plugin.model_facts(spec=RunSpec(repo_id="unsloth/gemma-2b"), settings=hub_settings(WRITE_TOKEN))
    assert facts is not None
    assert facts.has_chat_template is False
    assert facts.chat_template is None
    assert facts.eos_token == "<eos>"


def test_model_without_config(hub_emulator: HubEmulator, hub_settings: SettingsFactory, alice: None) -> None:
    hub_emulator.add_repo("alice/weights-only", {"model.safetensors": b"\0" * 16})
    finding = only(run_checks(RunSpec(repo_id="alice/weights-only"), hub_settings(WRITE_TOKEN)), "model-config-missing")
    assert finding.level == "error"
    assert "alice/weights-only" in finding.message


def test_hub_server_error(hub_emulator: HubEmulator, hub_settings: SettingsFactory, alice: None) -> None:
    hub_emulator.fail("/api/models/unsloth/gemma-2b", 503)
    finding = only(run_checks(RunSpec(repo_id="unsloth/gemma-2b"), hub_settings(WRITE_TOKEN)), "hub-error")
    assert finding.level == "error"
    assert "unsloth/gemma-2b" in finding.message
    assert "503" in finding.message


def test_hub_unreachable(hub_emulator: HubEmulator, hub_settings: SettingsFactory, alice: None) -> None:
    settings = hub_settings(WRITE_TOKEN)
    url = hub_emulator.url
    hub_emulator.stop()
    findings = run_checks(RunSpec(repo_id="unsloth/gemma-2b", dataset_name="AI-MO/NuminaMath-TIR"), settings)
    unreachable = only(findings, "hub-unreachable")
    assert url in unreachable.message
    assert "HF_ENDPOINT" in unreachable.fix
    assert "token-unverified" in codes(findings)
    assert "dataset-unverified" in codes(findings)


def test_local_model(hub_settings: SettingsFactory, alice: None, tmp_path: Path) -> None:
    model = tmp_path / "tiny"
    model.mkdir()
    (model / "config.json").write_text(json.dumps({"model_type": "llama"}))
    (model / "tokenizer_config.json").write_text(json.dumps({"eos_token": "</s>"}))
    local = run_checks(RunSpec(repo_id=str(model), provider="local"), hub_settings(WRITE_TOKEN))
    assert codes(local) == []
    assert "alice/tiny-grpo" in only(local, "hub-model-id").message
    assert [finding.code for finding in local] == ["hub-model-id"]
    remote = run_checks(RunSpec(repo_id=str(model), provider="runpod"), hub_settings(WRITE_TOKEN))
    finding = only(remote, "local-model-remote-provider")
    assert str(model.resolve()) in finding.message
    assert "runpod" in finding.message


def test_no_secret_in_findings(hub_emulator: HubEmulator, hub_settings: SettingsFactory, alice: None) -> None:
    spec = RunSpec(repo_id="meta-llama/Llama-3.1-8B", dataset_name="nobody/no-data", report_to="wandb")
    for token in (WRITE_TOKEN, READ_TOKEN, "hf_revokedTOKEN000000000"):
        text = " ".join(f"{f.message} {f.fix}" for f in run_checks(spec, hub_settings(token)))
        assert token not in text
    assert WRITE_TOKEN not in hub_emulator.request_log_text()
    assert READ_TOKEN not in hub_emulator.request_log_text()


def test_local_model_target_namespace(hub_settings: SettingsFactory, alice: None, tmp_path: Path) -> None:
    model = tmp_path / "tiny"
    model.mkdir()
    (model / "config.json").write_text(json.dumps({"model_type": "llama"}))
    settings = hub_settings(WRITE_TOKEN)
    for requested, expected in ((None, "alice/tiny-sft"), ("tiny-result", "alice/tiny-result")):
        spec = RunSpec(repo_id=str(model), provider="local", trainer="trl-sft", hub_model_id=requested)
        facts = plugin.model_facts(spec=spec, settings=settings)
        assert facts.token_user == "alice"
        assert facts.hub_model_id == expected
