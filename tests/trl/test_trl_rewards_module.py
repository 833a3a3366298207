"""The reward module shipped to the Pod, imported from a workspace with its job.json."""

from __future__ import annotations

import importlib.util
import json

import pytest

from podsmith_trl.render import source


@pytest.fixture
def load_rewards(tmp_path):
    def load(reasoning=("<think>", "</think>"), answer=(None, None)):
        (tmp_path / "config").mkdir(exist_ok=True)
        (tmp_path / "config" / "job.json").write_text(json.dumps({"rewards": {"reasoning": list(reasoning), "answer": list(answer)}}))
        path = tmp_path / "podsmith_rewards.py"
        path.write_text(source("trl/podsmith_rewards.py"))
        spec = importlib.util.spec_from_file_location("podsmith_rewards_under_test", path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        module.tags.cache_clear()
        return module

    return load


def chat(text: str) -> list[dict]:
    return [{"role": "assistant", "content": text}]


def test_accuracy_tag_independent(load_rewards):
    rewards = load_rewards()
    completions = [chat("<think>\n3 + 4 = 7\n</think>\n7"), chat("I think it is 8"), chat("\\boxed{7} done"), "7"]
    assert rewards.accuracy_reward(completions, solution=["7", "7", "7", "7"]) == [1.0, 0.0, 1.0, 1.0]


def test_accuracy_no_answer(load_rewards):
    rewards = load_rewards()
    assert rewards.accuracy_reward([chat("no idea")], solution=["7"]) == [0.0]


def test_reasoning_accuracy_custom_tag(load_rewards):
    rewards = load_rewards(reasoning=("<r>", "</r>"))
    completions = [chat("<r>\n7 maybe\n</r>\n8"), chat("<r>\nhm\n</r>\n7"), chat("7")]
    assert rewards.reasoning_accuracy_reward(completions, solution=["7", "7", "7"]) == [0.0, 1.0, 0.0]


def test_format_default_answer_tags(load_rewards):
    rewards = load_rewards(answer=("<answer>", "</answer>"))
    good = chat("<think>\nsteps\n</think>\n<answer>\n7\n</answer>")
    bad = chat("<think>\nsteps\n</think>\n7")
    assert rewards.format_reward([good, bad]) == [1.0, 0.0]


def test_format_custom_tags(load_rewards):
    rewards = load_rewards(reasoning=("[why]", "[/why]"), answer=("[ans]", "[/ans]"))
    good = chat("[why]\nsteps\n[/why]\n[ans]\n7\n[/ans]")
    default = chat("<think>\nsteps\n</think>\n<answer>\n7\n</answer>")
    assert rewards.format_reward([good, default]) == [1.0, 0.0]


def test_tag_count_partial(load_rewards):
    rewards = load_rewards(answer=("<answer>", "</answer>"))
    assert rewards.tag_count_reward([chat("<think>\nx\n</think>\n7"), chat("<think><think>")]) == [0.5, 0.0]
