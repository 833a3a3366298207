"""GRPO rules: num_generations, reward sets from tags, custom dependencies, reporting, options SFT ignores."""

from __future__ import annotations

import pytest

from trl_support import model_facts
from podsmith_core.errors import PlanError
from podsmith_core.models import RunSpec
from podsmith_trl.plugin import sft
from podsmith_trl.rules import (
    DEFAULT_NUM_GENERATIONS,
    check_report_to,
    resolve_num_generations,
    select_rewards,
    validate_dependencies,
)

THINK = ("<think>", "</think>")
NO_ANSWER = (None, None)
ANSWER = ("<answer>", "</answer>")


def test_num_generations_unset_fits_default():
    assert resolve_num_generations(None, 4, 1, 4) == (DEFAULT_NUM_GENERATIONS, None)


def test_num_generations_unset_adjusted_with_notice():
    generations, notice = resolve_num_generations(None, 1, 1, 4)
    assert generations == 4
    assert notice is not None
    assert "adjusted from 16 to 4" in notice
    assert "generation batch of 4" in notice


@pytest.mark.parametrize(
    ("batch", "processes", "accumulation", "expected"),
    [(1, 1, 6, 6), (1, 3, 4, 12), (3, 1, 5, 15), (1, 1, 2, 2), (2, 8, 2, 16), (1, 1, 17, None)],
)
def test_num_generations_largest_divisor(batch, processes, accumulation, expected):
    if expected is None:
        with pytest.raises(PlanError):
            resolve_num_generations(None, batch, processes, accumulation)
        return
    generations, _notice = resolve_num_generations(None, batch, processes, accumulation)
    assert generations == expected
    assert (batch * processes * accumulation) % generations == 0


def test_num_generations_batch_one_raises_with_fix():
    with pytest.raises(PlanError) as caught:
        resolve_num_generations(None, 1, 1, 1)
    error = caught.value
    assert "generation batch of 1" in error.message
    assert "per-device batch 1" in error.message
    assert "gradient accumulation 1" in error.message
    assert error.fix == "Set --gradient-accumulation-steps 2."


def test_num_generations_prime_batch_fix():
    with pytest.raises(PlanError) as caught:
        resolve_num_generations(None, 1, 1, 17)
    assert caught.value.fix == "Set --gradient-accumulation-steps 18."


def test_num_generations_explicit_kept():
    assert resolve_num_generations(4, 1, 1, 4) == (4, None)


def test_num_generations_explicit_never_changed():
    with pytest.raises(PlanError) as caught:
        resolve_num_generations(16, 1, 1, 4)
    error = caught.value
    assert "--num-generations 16" in error.message
    assert "generation batch of 4" in error.message
    assert "--gradient-accumulation-steps 16" in error.fix
    assert "--num-generations 4" in error.fix


def test_num_generations_explicit_below_two():
    with pytest.raises(PlanError) as caught:
        resolve_num_generations(1, 1, 1, 4)
    assert "--num-generations 1" in caught.value.message
    assert "2 or more" in caught.value.fix


def test_num_generations_invalid_batch():
    with pytest.raises(PlanError) as caught:
        resolve_num_generations(None, 0, 1, 4)
    assert "--per-device-train-batch-size 0" in caught.value.message


def test_rewards_default_accuracy_only():
    rewards = select_rewards(THINK, NO_ANSWER)
    assert rewards.funcs == ["podsmith_rewards.accuracy_reward"]
    assert rewards.short_names == ["accuracy_reward"]
    assert rewards.notices == []
    assert rewards.needs_math_verify


def test_rewards_answer_tags_add_format():
    rewards = select_rewards(THINK, ANSWER)
    assert rewards.funcs == [
        "podsmith_rewards.accuracy_reward",
        "podsmith_rewards.format_reward",
        "podsmith_rewards.tag_count_reward",
    ]


@pytest.mark.parametrize(
    ("reasoning", "answer"),
    [(("<reason>", "</reason>"), NO_ANSWER), (THINK, ("<final>", "</final>")), (("[r]", "[/r]"), ANSWER)],
)
def test_rewards_custom_tags_fall_back(reasoning, answer):
    rewards = select_rewards(reasoning, answer)
    assert rewards.funcs == ["podsmith_rewards.accuracy_reward"]
    assert len(rewards.notices) == 1
    assert "tag-independent" in rewards.notices[0]


def test_rewards_requested_names_resolved():
    rewards = select_rewards(THINK, NO_ANSWER, ["format", "think_format_reward", "my_pkg.rewards.score"], [1.0, 0.5, 2.0])
    assert rewards.funcs == ["podsmith_rewards.format_reward", "think_format_reward", "my_pkg.rewards.score"]
    assert rewards.weights == [1.0, 0.5, 2.0]
    assert not rewards.needs_math_verify


def test_rewards_unknown_name():
    with pytest.raises(PlanError) as caught:
        select_rewards(THINK, NO_ANSWER, ["acuracy"])
    assert "'acuracy'" in caught.value.message
    assert "accuracy" in caught.value.fix


def test_rewards_weights_length_mismatch():
    with pytest.raises(PlanError) as caught:
        select_rewards(THINK, ANSWER, None, [1.0])
    assert "1 values" in caught.value.message
    assert "3 reward functions" in caught.value.message
    assert caught.value.fix == "Pass 3 weights, one per reward function."


def test_rewards_half_answer_pair():
    with pytest.raises(PlanError) as caught:
        select_rewards(THINK, ("<answer>", None))
    assert "--answer-end-tag" in caught.value.fix


def test_dependencies_valid_quoted():
    assert validate_dependencies(["liger-kernel>=0.5", "flash-attn==2.7.4.post1", "numpy<3; python_version>'3.8'"]) == [
        "'liger-kernel>=0.5'",
        "flash-attn==2.7.4.post1",
        "'numpy<3; python_version > \"3.8\"'",
    ]


@pytest.mark.parametrize("text", ["foo; rm -rf /", "$(id)", "`id`", "foo && curl x", "pkg @ https://example.com/x.whl", "-e ."])
def test_dependencies_injection_rejected(text):
    with pytest.raises(PlanError) as caught:
        validate_dependencies([text])
    assert repr(text) in caught.value.message


def test_report_to_wandb_without_key():
    with pytest.raises(PlanError) as caught:
        check_report_to("wandb", None)
    assert "--report-to wandb" in caught.value.message
    assert "WANDB_API_KEY" in caught.value.fix


def test_report_to_wandb_with_key():
    assert check_report_to("wandb", "key") == ["WANDB_API_KEY"]
    assert check_report_to("none", None) == []


def explicit_defaults_spec(**overrides):
    """Return an SFT spec with every field set, as the CLI builds it, defaults included."""
    values = {name: field.get_default(call_default_factory=True) for name, field in RunSpec.model_fields.items()}
    values.update(repo_id="org/tiny-model", trainer="trl-sft", gpu_count=1, dataset_name="org/chat",
                  hub_model_id="someone/tiny-sft")
    values.update(overrides)
    return RunSpec(**values)


def grpo_notices(plan):
    return [notice for notice in plan.notices if "only GRPO uses" in notice]


def test_sft_defaults_no_grpo_notice(settings):
    plan = sft.prepare_run(spec=explicit_defaults_spec(), facts=model_facts(), settings=settings)
    assert grpo_notices(plan) == []


def test_sft_lists_changed_grpo_options(settings):
    spec = explicit_defaults_spec(num_generations=4, vllm_mode="server", use_vllm=False, dataset_fraction=0.5)
    plan = sft.prepare_run(spec=spec, facts=model_facts(), settings=settings)
    assert grpo_notices(plan) == [
        "trl-sft ignores these options, which only GRPO uses: --num-generations, --no-vllm, --vllm-mode, "
        "--dataset-fraction."
    ]


def test_sft_default_value_given_again(settings):
    spec = explicit_defaults_spec(vllm_mode="colocate", reasoning_tag="<think>", beta=0.0)
    plan = sft.prepare_run(spec=spec, facts=model_facts(), settings=settings)
    assert grpo_notices(plan) == []
