"""GRPO reward functions from Open R1's registry and the system prompt that asks for the tagged layout."""

from __future__ import annotations

from dataclasses import dataclass, field

from podsmith_core.errors import PlanError
from podsmith_core.models import RunSpec
from podsmith_trl.rules import DEFAULT_ANSWER_TAGS, DEFAULT_REASONING_TAGS, PODSMITH_REWARDS, select_rewards

from podsmith_openr1.keys import OPENR1_REWARDS

# podsmith_trl names the functions of its shipped reward module, but Open R1's registry uses the short names.
SHORT_REWARD_NAMES = {function: short for short, function in PODSMITH_REWARDS.items()}

# Open R1 hard-codes `<think>\n...\n</think>\n<answer>\n...\n</answer>` in these rewards.
TAG_DEPENDENT_REWARDS = frozenset({"format", "tag_count", "code_format"})


@dataclass
class RewardPlan:
    funcs: list[str]
    weights: list[float] | None = None
    notices: list[str] = field(default_factory=list)

    @property
    def uses_tags(self) -> bool:
        return any(name in TAG_DEPENDENT_REWARDS for name in self.funcs)


def _tags(spec: RunSpec) -> tuple[tuple[str, str], tuple[str | None, str | None]]:
    return (spec.reasoning_tag, spec.reasoning_end_tag), (spec.answer_tag, spec.answer_end_tag)


def plan_rewards(spec: RunSpec) -> RewardPlan:
    """Return the reward set: the user's names checked against Open R1's registry, or the set the tags imply."""
    reasoning, answer = _tags(spec)
    # Validates the tag pairs and picks the default set: accuracy only, or accuracy + format + tag_count
    # when both tag pairs are Open R1's defaults.
    implied = select_rewards(reasoning, answer)
    default_tags = reasoning == DEFAULT_REASONING_TAGS and answer in ((None, None), DEFAULT_ANSWER_TAGS)
    notices: list[str] = []

    if spec.reward_funcs:
        unknown = [name for name in spec.reward_funcs if name not in OPENR1_REWARDS]
        if unknown:
            raise PlanError(
                f"--reward-funcs {','.join(unknown)}: not in Open R1's reward registry.",
                f"Use names from: {', '.join(sorted(OPENR1_REWARDS))}.",
            )
        tagged = [name for name in spec.reward_funcs if name in TAG_DEPENDENT_REWARDS]
        if tagged and not default_tags:
            raise PlanError(
                f"--reward-funcs {','.join(tagged)} checks Open R1's fixed <think>/<answer> layout, which the custom "
                "reasoning or answer tags do not produce, so it would score every completion 0.",
                "Drop these rewards, or use the default tags.",
            )
        if tagged and answer == (None, None):
            raise PlanError(
                f"--reward-funcs {','.join(tagged)} needs answer tags in the completion, but none are requested.",
                "Pass --answer-tag '<answer>' --answer-end-tag '</answer>', or drop these rewards.",
            )
        funcs = list(spec.reward_funcs)
    else:
        funcs = [SHORT_REWARD_NAMES.get(name, name) for name in implied.short_names]
        if not default_tags:
            notices.append(
                "Custom reasoning or answer tags: only the accuracy reward is used, because Open R1's format "
                "rewards check the default <think>/<answer> tags."
            )

    weights = list(spec.reward_weights) if spec.reward_weights is not None else None
    if weights is not None and len(weights) != len(funcs):
        raise PlanError(
            f"--reward-weights has {len(weights)} values but there are {len(funcs)} reward functions "
            f"({', '.join(funcs)}).",
            f"Pass {len(funcs)} weights, one per reward function.",
        )
    if "accuracy" in funcs:
        notices.append("The accuracy reward compares completions with the dataset's `solution` column.")
    return RewardPlan(funcs=funcs, weights=weights, notices=notices)


def system_prompt(spec: RunSpec) -> str:
    """Return the system prompt that asks for the tagged reasoning layout (or the user's own prompt)."""
    if spec.system_prompt:
        return spec.system_prompt
    think_open, think_close = spec.reasoning_tag, spec.reasoning_end_tag
    if spec.answer_tag and spec.answer_end_tag:
        return (
            "You are a careful assistant. For each question, reason step by step first and then answer. "
            f"Write the reasoning between {think_open} and {think_close} and the final answer between "
            f"{spec.answer_tag} and {spec.answer_end_tag}, in this layout:\n"
            f"{think_open}\n...\n{think_close}\n{spec.answer_tag}\n...\n{spec.answer_end_tag}"
        )
    return (
        "You are a careful assistant. For each question, reason step by step first and then answer. "
        f"Write the reasoning between {think_open} and {think_close}, then give the final answer after "
        f"{think_close}."
    )


def sample_completion(spec: RunSpec) -> str:
    """Return a completion in the requested layout, used to render the chat template once."""
    reasoning = f"{spec.reasoning_tag}\n2 plus 3 is 5.\n{spec.reasoning_end_tag}\n"
    if spec.answer_tag and spec.answer_end_tag:
        return f"{reasoning}{spec.answer_tag}\n5\n{spec.answer_end_tag}"
    return f"{reasoning}5"
