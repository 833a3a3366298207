"""Model id forms accepted and rejected, and the target repository of the trained model."""

from __future__ import annotations

from pathlib import Path

import pytest

from podsmith_core.errors import UsageError
from podsmith_core.hub.repo_ids import merged_repo_id, method_of, parse_model_id, resolve_hub_model_id


@pytest.mark.parametrize(
    ("value", "repo_id", "revision"),
    [
        ("unsloth/gemma-2b", "unsloth/gemma-2b", None),
        ("Qwen/Qwen2.5-1.5B-Instruct", "Qwen/Qwen2.5-1.5B-Instruct", None),
        ("Qwen/Qwen2.5-7B@v1.0", "Qwen/Qwen2.5-7B", "v1.0"),
        ("meta-llama/Llama-3.1-8B@0123456789abcdef0123456789abcdef01234567", "meta-llama/Llama-3.1-8B",
         "0123456789abcdef0123456789abcdef01234567"),
        ("https://huggingface.co/unsloth/gemma-2b", "unsloth/gemma-2b", None),
        ("https://huggingface.co/unsloth/gemma-2b/", "unsloth/gemma-2b", None),
        ("https://hf.co/Qwen/Qwen2.5-7B/tree/dev", "Qwen/Qwen2.5-7B", "dev"),
        ("https://huggingface.co/Qwen/Qwen2.5-7B/tree/refs%2Fpr%2F3", "Qwen/Qwen2.5-7B", "refs/pr/3"),
        ("  unsloth/gemma-2b  ", "unsloth/gemma-2b", None),
    ],
)
def test_parse_accepts(value: str, repo_id: str, revision: str | None) -> None:
    ref = parse_model_id(value)
    assert ref.repo_id == repo_id
    assert ref.revision == revision
    assert not ref.is_local


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("gemma-2b", "organization or user part is missing"),
        ("unsloth/gemma-2b@", "nothing follows '@'"),
        ("unsloth/gemma 2b", "not a valid repository id"),
        ("a/b/c", "not a valid repository id"),
        ("unsloth/gemma--2b", "not a valid repository id"),
        ("https://example.com/unsloth/gemma-2b", "not a Hugging Face Hub address"),
        ("https://huggingface.co/datasets/AI-MO/NuminaMath-TIR", "points to a dataset"),
        ("https://huggingface.co/unsloth", "is not /org/name"),
        ("", "empty"),
    ],
)
def test_parse_rejects(value: str, reason: str) -> None:
    with pytest.raises(UsageError) as caught:
        parse_model_id(value)
    assert reason in caught.value.message
    assert repr(value) in caught.value.message
    assert "org/name@revision" in caught.value.fix
    assert "local directory" in caught.value.fix


def test_parse_endpoint_host() -> None:
    ref = parse_model_id("http://127.0.0.1:8080/unsloth/gemma-2b", endpoint="http://127.0.0.1:8080")
    assert ref.repo_id == "unsloth/gemma-2b"


def test_parse_revision_conflict() -> None:
    assert parse_model_id("Qwen/Qwen2.5-7B", revision="dev").revision == "dev"
    assert parse_model_id("Qwen/Qwen2.5-7B@dev", revision="dev").revision == "dev"
    with pytest.raises(UsageError) as caught:
        parse_model_id("Qwen/Qwen2.5-7B@dev", revision="main")
    assert "'dev'" in caught.value.message
    assert "'main'" in caught.value.message


def test_parse_local_directory(tmp_path: Path) -> None:
    model = tmp_path / "tiny"
    model.mkdir()
    (model / "config.json").write_text("{}")
    ref = parse_model_id(str(model))
    assert ref.is_local
    assert ref.local_path == model.resolve()
    assert ref.name == "tiny"


def test_parse_local_without_config(tmp_path: Path) -> None:
    with pytest.raises(UsageError) as caught:
        parse_model_id(str(tmp_path))
    assert "contains no config.json" in caught.value.message
    assert str(tmp_path) in caught.value.message


def test_parse_missing_directory(tmp_path: Path) -> None:
    missing = str(tmp_path / "nope")
    with pytest.raises(UsageError) as caught:
        parse_model_id(missing)
    assert "not found" in caught.value.message
    assert missing in caught.value.message


def test_parse_local_rejects_revision(tmp_path: Path) -> None:
    (tmp_path / "config.json").write_text("{}")
    with pytest.raises(UsageError, match="no revisions|local directory"):
        parse_model_id(str(tmp_path), revision="main")


@pytest.mark.parametrize(
    ("hub_model_id", "trainer", "expected"),
    [
        (None, "openr1-grpo", "alice/gemma-2b-grpo"),
        (None, "trl-sft", "alice/gemma-2b-sft"),
        ("my-run", "openr1-grpo", "alice/my-run"),
        ("acme/shared", "openr1-grpo", "acme/shared"),
        ("  ", "trl-grpo", "alice/gemma-2b-grpo"),
    ],
)
def test_target_resolution(hub_model_id: str | None, trainer: str, expected: str) -> None:
    assert resolve_hub_model_id(hub_model_id, "alice", "gemma-2b", trainer) == expected


def test_target_without_owner() -> None:
    with pytest.raises(UsageError) as caught:
        resolve_hub_model_id("my-run", None, "gemma-2b", "trl-sft")
    assert "'my-run'" in caught.value.message
    assert "HF_TOKEN" in caught.value.fix


def test_target_invalid() -> None:
    with pytest.raises(UsageError) as caught:
        resolve_hub_model_id("acme/bad name", "alice", "gemma-2b", "trl-sft")
    assert "'acme/bad name'" in caught.value.message


def test_method_and_merged_names() -> None:
    assert method_of("openr1-grpo") == "grpo"
    assert method_of("trl-sft") == "sft"
    assert merged_repo_id("alice/gemma-2b-sft") == "alice/gemma-2b-sft-merged"
