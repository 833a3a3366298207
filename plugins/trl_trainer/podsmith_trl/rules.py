"""GRPO and recipe rules checked before any Pod exists: num_generations, reward sets, dependencies, reporting.

These rules hold for any trainer built on TRL (the Open R1 trainer imports them too), so they take plain
values and raise `PlanError` with the flag, the value and the smallest change that works.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, field

from podsmith_core.errors import PlanError

DEFAULT_NUM_GENERATIONS = 16

DEFAULT_REASONING_TAGS = ("<think>", "</think>")
DEFAULT_ANSWER_TAGS = ("<answer>", "</answer>")

# Module name of the reward file shipped to the Pod; TRL's grpo script imports dotted paths from its
# working directory, which is the Pod workspace.
REWARD_MODULE = "podsmith_rewards"

# Short reward names users type, mapped to functions of the shipped reward module.
PODSMITH_REWARDS = {
    "accuracy": "accuracy_reward",
    "reasoning_accuracy": "reasoning_accuracy_reward",
    "format": "format_reward",
    "tag_count": "tag_count_reward",
}

# Names in the registry of TRL 1.16's `trl grpo` script (trl/scripts/grpo.py).
TRL_REGISTRY_REWARDS = frozenset(
    {"accuracy_reward", "reasoning_accuracy_reward", "think_format_reward", "get_soft_overlong_punishment"}
)
# Rewards that compare answers with math_verify on the Pod: TRL's accuracy rewards need it, the shipped module
# uses it when importable and a numeric comparison otherwise.
MATH_VERIFY_REWARDS = frozenset(
    {
        "accuracy_reward",
        "reasoning_accuracy_reward",
        f"{REWARD_MODULE}.accuracy_reward",
        f"{REWARD_MODULE}.reasoning_accuracy_reward",
    }
)

# Rewards whose functions take the dataset's `solution` column as a keyword argument.
SOLUTION_REWARDS = frozenset(
    {
        "accuracy_reward",
        "reasoning_accuracy_reward",
        f"{REWARD_MODULE}.accuracy_reward",
        f"{REWARD_MODULE}.reasoning_accuracy_reward",
    }
)

DOTTED_PATH = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)+$")


def _generation_batch(per_device_batch: int, num_processes: int, grad_accum: int) -> int:
    return per_device_batch * num_processes * grad_accum


def _largest_divisor(total: int, upper: int) -> int | None:
    """Return the largest divisor of `total` in [2, upper], or None."""
    for candidate in range(min(total, upper), 1, -1):
        if total % candidate == 0:
            return candidate
    return None


def _smallest_accumulation(per_device_batch: int, num_processes: int, grad_accum: int, fits) -> int:
    """Return the smallest gradient accumulation ≥ `grad_accum` whose generation batch satisfies `fits`."""
    steps = grad_accum
    while not fits(_generation_batch(per_device_batch, num_processes, steps)):
        steps += 1
    return steps


def resolve_num_generations(
    requested: int | None, per_device_batch: int, num_processes: int, grad_accum: int
) -> tuple[int, str | None]:
    """Return (num_generations, notice) following TRL's rule that G ≥ 2 divides the generation batch.

    The generation batch is per_device_batch × num_processes × grad_accum (TRL 1.16 `GRPOConfig`). An explicit
    `requested` value is never changed: it either fits or raises. An unset value starts at 16 and shrinks to
    the largest divisor of the generation batch that is at least 2, with a notice.
    """
    for flag, value in (
        ("--per-device-train-batch-size", per_device_batch),
        ("--gradient-accumulation-steps", grad_accum),
    ):
        if value < 1:
            raise PlanError(f"{flag} {value} is invalid.", f"Set {flag} to 1 or more.")
    if num_processes < 1:
        raise PlanError(f"{num_processes} training processes is invalid.", "Use at least one training GPU.")

    total = _generation_batch(per_device_batch, num_processes, grad_accum)
    parts = (
        f"per-device batch {per_device_batch} × {num_processes} training process"
        f"{'es' if num_processes != 1 else ''} × gradient accumulation {grad_accum}"
    )

    if requested is not None:
        if requested < 2:
            raise PlanError(
                f"--num-generations {requested} is invalid: GRPO compares at least 2 completions per prompt.",
                "Set --num-generations 2 or more.",
            )
        if total % requested == 0:
            return requested, None
        steps = _smallest_accumulation(per_device_batch, num_processes, grad_accum, lambda n: n % requested == 0)
        fallback = _largest_divisor(total, requested)
        alternative = f", or --num-generations {fallback}" if fallback else ""
        raise PlanError(
            f"--num-generations {requested} does not divide the generation batch of {total} ({parts}).",
            f"Set --gradient-accumulation-steps {steps}{alternative}.",
        )

    if total % DEFAULT_NUM_GENERATIONS == 0:
        return DEFAULT_NUM_GENERATIONS, None
    adjusted = _largest_divisor(total, DEFAULT_NUM_GENERATIONS)
    if adjusted is None:
        steps = _smallest_accumulation(
            per_device_batch, num_processes, grad_accum, lambda n: _largest_divisor(n, DEFAULT_NUM_GENERATIONS)
        )
        raise PlanError(
            f"No valid num_generations for a generation batch of {total} ({parts}): GRPO needs at least 2 "
            "completions per prompt and their number must divide the generation batch.",
            f"Set --gradient-accumulation-steps {steps}.",
        )
    notice = (
        f"num_generations adjusted from {DEFAULT_NUM_GENERATIONS} to {adjusted} because it must divide the "
        f"generation batch of {total} ({parts}); set --num-generations to choose another divisor."
    )
    return adjusted, notice


@dataclass
class RewardSet:
    """Reward functions for the recipe (names as TRL's grpo script takes them) and why they were chosen."""

    funcs: list[str]
    weights: list[float] | None = None
    notices: list[str] = field(default_factory=list)
    needs_math_verify: bool = False

    @property
    def short_names(self) -> list[str]:
        prefix = REWARD_MODULE + "."
        return [name.removeprefix(prefix) for name in self.funcs]


def _reward_path(name: str) -> str:
    """Return the name TRL's grpo script resolves for a user-supplied reward `name`."""
    if name in PODSMITH_REWARDS:
        return f"{REWARD_MODULE}.{PODSMITH_REWARDS[name]}"
    if name in TRL_REGISTRY_REWARDS or DOTTED_PATH.match(name):
        return name
    known = sorted(PODSMITH_REWARDS) + sorted(TRL_REGISTRY_REWARDS)
    raise PlanError(
        f"Unknown reward function {name!r} in --reward-funcs.",
        f"Use one of {', '.join(known)}, or a dotted import path such as my_module.my_reward.",
    )


def select_rewards(
    reasoning_tags: tuple[str, str],
    answer_tags: tuple[str | None, str | None],
    requested: list[str] | None = None,
    weights: list[float] | None = None,
) -> RewardSet:
    """Choose the reward functions from the tags unless the user named them.

    Default reasoning tags without answer tags → accuracy only. Default reasoning and answer tags → accuracy,
    format and tag_count. Any custom tag → tag-independent accuracy only, because format rewards written for
    the default tags would score every completion 0.
    """
    reasoning_open, reasoning_close = reasoning_tags
    answer_open, answer_close = answer_tags
    if not reasoning_open or not reasoning_close:
        raise PlanError("Reasoning tags must not be empty.", "Pass --reasoning-tag and --reasoning-end-tag.")
    if (answer_open is None) != (answer_close is None):
        missing = "--answer-end-tag" if answer_close is None else "--answer-tag"
        raise PlanError("Answer tags must be given as a pair.", f"Pass {missing} too, or neither.")

    notices: list[str] = []
    if requested:
        funcs = [_reward_path(name) for name in requested]
    else:
        default_reasoning = tuple(reasoning_tags) == DEFAULT_REASONING_TAGS
        has_answer = answer_open is not None
        default_answer = (answer_open, answer_close) == DEFAULT_ANSWER_TAGS
        if default_reasoning and not has_answer:
            names = ["accuracy"]
        elif default_reasoning and default_answer:
            names = ["accuracy", "format", "tag_count"]
        else:
            names = ["accuracy"]
            notices.append(
                "Custom reasoning or answer tags: only the tag-independent accuracy reward is used. "
                "Pass --reward-funcs accuracy,format,tag_count to score the custom tags too."
            )
        funcs = [_reward_path(name) for name in names]

    if weights is not None and len(weights) != len(funcs):
        raise PlanError(
            f"--reward-weights has {len(weights)} values but there are {len(funcs)} reward functions "
            f"({', '.join(funcs)}).",
            f"Pass {len(funcs)} weights, one per reward function.",
        )
    return RewardSet(
        funcs=funcs,
        weights=weights,
        notices=notices,
        needs_math_verify=any(name in MATH_VERIFY_REWARDS for name in funcs),
    )


def validate_dependencies(requirements: list[str]) -> list[str]:
    """Return each requirement shell-quoted, raising PlanError for anything that is not a PEP 508 specifier."""
    from packaging.requirements import InvalidRequirement, Requirement

    quoted = []
    for text in requirements:
        try:
            parsed = Requirement(text)
        except InvalidRequirement as exc:
            raise PlanError(
                f"--custom-dependencies {text!r} is not a valid requirement specifier ({exc}).",
                "Pass one requirement per value, such as 'liger-kernel>=0.5' or 'flash-attn==2.7.4.post1'.",
            ) from exc
        if parsed.url:
            raise PlanError(
                f"--custom-dependencies {text!r} installs from a URL.",
                "Pass a package name with a version specifier; install from URLs in a custom image.",
            )
        quoted.append(shlex.quote(str(parsed)))
    return quoted


def check_report_to(report_to: str, wandb_key: str | None) -> list[str]:
    """Return the secrets reporting needs, raising PlanError when wandb is requested without its key."""
    targets = {item.strip() for item in report_to.split(",") if item.strip()}
    if "wandb" in targets or "all" in targets:
        if not wandb_key:
            raise PlanError(
                f"--report-to {report_to} needs WANDB_API_KEY, which is not set.",
                "Set WANDB_API_KEY in .env or the environment, or pass --report-to none.",
            )
        return ["WANDB_API_KEY"]
    return []
