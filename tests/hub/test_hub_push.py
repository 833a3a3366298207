"""Pushing to the emulator with the real huggingface_hub, the emulator's wire behaviour, and the model card."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from hub_support import READ_TOKEN, WRITE_TOKEN
from emulators.hub.server import HubEmulator
from podsmith_core.hub.card import merged_repo_id, render_model_card
from podsmith_core.hub.client import HubAccess
from podsmith_core.hub.push import push_folder
from podsmith_core.models import ModelFacts, RunSpec


def _model_folder(root: Path) -> Path:
    folder = root / "out"
    folder.mkdir()
    (folder / "config.json").write_text(json.dumps({"model_type": "llama"}))
    (folder / "model.safetensors").write_bytes(b"\x08\0\0\0\0\0\0\0{}      " + bytes(range(256)) * 64)
    (folder / "README.md").write_text("---\nlicense: apache-2.0\n---\n# model\n")
    return folder


def test_push_private_default(hub_emulator: HubEmulator, tmp_path: Path) -> None:
    hub_emulator.add_token(WRITE_TOKEN, "alice")
    folder = _model_folder(tmp_path)
    url = push_folder(folder, "alice/tiny-sft", HubAccess(hub_emulator.url, WRITE_TOKEN))
    assert url.startswith(f"{hub_emulator.url}/alice/tiny-sft/commit/")
    assert hub_emulator.repo_private("alice/tiny-sft") is True
    assert hub_emulator.created[-1]["payload"]["visibility"] == "private"
    files = hub_emulator.repo_files("alice/tiny-sft")
    for name in ("config.json", "model.safetensors", "README.md"):
        assert files[name] == (folder / name).read_bytes()
    assert [entry.method for entry in hub_emulator.requests_to("/api/models/alice/tiny-sft/commit/main")] == ["POST"]
    assert WRITE_TOKEN not in hub_emulator.request_log_text()


def test_push_public(hub_emulator: HubEmulator, tmp_path: Path) -> None:
    hub_emulator.add_token(WRITE_TOKEN, "alice")
    push_folder(_model_folder(tmp_path), "alice/open", HubAccess(hub_emulator.url, WRITE_TOKEN), private=False)
    assert hub_emulator.repo_private("alice/open") is False


def test_push_twice_skips_unchanged(hub_emulator: HubEmulator, tmp_path: Path) -> None:
    hub_emulator.add_token(WRITE_TOKEN, "alice")
    folder = _model_folder(tmp_path)
    hub = HubAccess(hub_emulator.url, WRITE_TOKEN)
    push_folder(folder, "alice/again", hub)
    (folder / "config.json").write_text(json.dumps({"model_type": "qwen2"}))
    push_folder(folder, "alice/again", hub)
    assert json.loads(hub_emulator.repo_files("alice/again")["config.json"]) == {"model_type": "qwen2"}
    commits = hub_emulator.repo("alice/again").commits
    assert len(commits) == 3  # the initial commit and two uploads
    assert commits[1]["paths"] == ["README.md", "config.json", "model.safetensors"]
    assert commits[2]["paths"] == ["config.json"]


def test_push_read_token_refused(hub_emulator: HubEmulator, tmp_path: Path) -> None:
    from huggingface_hub.errors import HfHubHTTPError

    hub_emulator.add_token(READ_TOKEN, "alice", role="read")
    with pytest.raises(HfHubHTTPError) as caught:
        push_folder(_model_folder(tmp_path), "alice/nope", HubAccess(hub_emulator.url, READ_TOKEN))
    assert caught.value.response.status_code == 403
    assert not hub_emulator.has_repo("alice/nope")


def test_resolve_range(hub_emulator: HubEmulator) -> None:
    import httpx

    url = f"{hub_emulator.url}/unsloth/gemma-2b/resolve/main/model.safetensors"
    head = httpx.head(url)
    assert head.status_code == 200
    assert int(head.headers["X-Linked-Size"]) == 5_012_363_856
    assert head.headers["X-Repo-Commit"] == hub_emulator.repo("unsloth/gemma-2b").sha
    assert head.headers["ETag"].strip('"')
    part = httpx.get(url, headers={"Range": "bytes=0-7"})
    assert part.status_code == 206
    assert part.headers["Content-Range"] == "bytes 0-7/5012363856"
    header_length = int.from_bytes(part.content, "little")
    header = json.loads(httpx.get(url, headers={"Range": f"bytes=8-{7 + header_length}"}).content)
    assert header["model.embed_tokens.weight"]["shape"] == [256000, 2048]
    assert header["model.embed_tokens.weight"]["dtype"] == "BF16"


def test_emulator_error_headers(hub_emulator: HubEmulator) -> None:
    import httpx

    missing = httpx.get(f"{hub_emulator.url}/api/models/nobody/nothing")
    assert (missing.status_code, missing.headers["X-Error-Code"]) == (401, "RepoNotFound")
    gated = httpx.head(f"{hub_emulator.url}/meta-llama/Llama-3.1-8B/resolve/main/config.json")
    assert (gated.status_code, gated.headers["X-Error-Code"]) == (401, "GatedRepo")
    revision = httpx.get(f"{hub_emulator.url}/api/models/Qwen/Qwen2.5-7B/revision/nope")
    assert (revision.status_code, revision.headers["X-Error-Code"]) == (404, "RevisionNotFound")
    entry = httpx.head(f"{hub_emulator.url}/Qwen/Qwen2.5-7B/resolve/main/nope.txt")
    assert (entry.status_code, entry.headers["X-Error-Code"]) == (404, "EntryNotFound")
    expanded = httpx.get(f"{hub_emulator.url}/api/models/Qwen/Qwen2.5-7B", params={"expand": ["safetensors", "gated"]})
    assert set(expanded.json()) == {"_id", "id", "safetensors", "gated"}


def test_whoami_shapes(hub_emulator: HubEmulator) -> None:
    from huggingface_hub import HfApi

    hub_emulator.add_token("hf_scoped", "alice", fine_grained={"acme": ["repo.write"]}, orgs={"acme": "write"})
    data = HfApi(endpoint=hub_emulator.url).whoami(token="hf_scoped")
    assert data["name"] == "alice"
    assert data["orgs"][0] == {"type": "org", "id": "id-acme", "name": "acme", "fullname": "Acme", "roleInOrg": "write"}
    scoped = data["auth"]["accessToken"]["fineGrained"]["scoped"]
    assert scoped[0]["entity"]["name"] == "acme"
    assert scoped[0]["permissions"] == ["repo.write"]


def _front_matter(card: str) -> dict:
    assert card.startswith("---\n")
    return yaml.safe_load(card.split("---\n")[1])


def test_card_fields() -> None:
    spec = RunSpec(
        repo_id="unsloth/gemma-2b",
        trainer="openr1-grpo",
        dataset_name="AI-MO/NuminaMath-TIR",
        learning_rate=3e-6,
        num_generations=8,
        method="lora",
        lora_r=32,
    )
    facts = ModelFacts(repo_id="unsloth/gemma-2b", license="apache-2.0")
    card = render_model_card(spec, facts, run_id="r-1234", hub_model_id="alice/gemma-2b-grpo")
    meta = _front_matter(card)
    assert meta["base_model"] == "unsloth/gemma-2b"
    assert meta["library_name"] == "peft"
    assert meta["license"] == "apache-2.0"
    assert meta["datasets"] == ["AI-MO/NuminaMath-TIR"]
    assert {"podsmith", "podsmith/grpo", "lora"} <= set(meta["tags"])
    assert "# alice/gemma-2b-grpo" in card
    assert "[unsloth/gemma-2b](https://huggingface.co/unsloth/gemma-2b)" in card
    assert "GRPO" in card
    assert "| learning rate | 3e-06 |" in card
    assert "| generations per prompt | 8 |" in card
    assert "| LoRA rank | 32 |" in card
    assert "run `r-1234`" in card
    assert "PeftModel.from_pretrained" in card


def test_card_merged() -> None:
    spec = RunSpec(repo_id="Qwen/Qwen2.5-1.5B-Instruct", trainer="trl-sft", method="lora", merge_model=True)
    facts = ModelFacts(repo_id="Qwen/Qwen2.5-1.5B-Instruct")
    card = render_model_card(spec, facts, "r-9", "alice/qwen-sft", merged=True)
    meta = _front_matter(card)
    assert meta["library_name"] == "transformers"
    assert "podsmith/sft" in meta["tags"]
    assert "datasets" not in meta
    assert f"# {merged_repo_id('alice/qwen-sft')}" in card
    assert "[alice/qwen-sft](https://huggingface.co/alice/qwen-sft)" in card
    assert "PeftModel" not in card


def test_card_local_base(tmp_path: Path) -> None:
    spec = RunSpec(repo_id=str(tmp_path), trainer="trl-sft", dataset_name=str(tmp_path / "train.jsonl"))
    facts = ModelFacts(repo_id=str(tmp_path), local_path=str(tmp_path))
    card = render_model_card(spec, facts, "r-2", "alice/tiny-sft")
    meta = _front_matter(card)
    assert "base_model" not in meta
    assert "datasets" not in meta
    assert "local model directory" in card
    assert "(a local dataset)" in card


def test_card_pushed(hub_emulator: HubEmulator, tmp_path: Path) -> None:
    hub_emulator.add_token(WRITE_TOKEN, "alice")
    folder = _model_folder(tmp_path)
    spec = RunSpec(repo_id="unsloth/gemma-2b", trainer="trl-sft")
    card = render_model_card(spec, ModelFacts(repo_id="unsloth/gemma-2b"), "r-3", "alice/card", endpoint=hub_emulator.url)
    (folder / "README.md").write_text(card)
    push_folder(folder, "alice/card", HubAccess(hub_emulator.url, WRITE_TOKEN))
    assert hub_emulator.repo_files("alice/card")["README.md"].decode() == card
    # huggingface_hub validates the card's YAML with the Hub before committing.
    assert hub_emulator.requests_to("/api/validate-yaml", "POST")
