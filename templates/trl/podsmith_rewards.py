"""GRPO reward functions podsmith ships to the Pod; TRL's grpo script imports them by dotted path.

The tags come from `config/job.json` next to this file (key `rewards`), so the format rewards score the
tags the user configured. Each function takes TRL's reward arguments (`completions` plus dataset columns
as keyword arguments) and returns one float per completion.
"""

from __future__ import annotations

import json
import os
import re
from functools import lru_cache

DEFAULT_TAGS = {"reasoning": ["<think>", "</think>"], "answer": [None, None]}
NUMBER = re.compile(r"-?\d+(?:,\d{3})*(?:\.\d+)?")
BOXED = re.compile(r"\\boxed\{([^{}]*)\}")


@lru_cache(maxsize=1)
def tags() -> dict:
    """Return the reasoning and answer tags from config/job.json, or the defaults when it is absent."""
    path = os.environ.get("PODSMITH_JOB_CONFIG") or os.path.join(os.path.dirname(__file__), "config", "job.json")
    if not os.path.isfile(path):
        return DEFAULT_TAGS
    with open(path, encoding="utf-8") as handle:
        return json.load(handle).get("rewards", DEFAULT_TAGS)


def _text(completion) -> str:
    if isinstance(completion, str):
        return completion
    return completion[-1]["content"] if completion else ""


def _final_answer(text: str) -> str | None:
    """Return the last boxed expression, else the last number, in `text`."""
    boxed = BOXED.findall(text)
    if boxed:
        return boxed[-1].strip()
    numbers = NUMBER.findall(text)
    return numbers[-1].replace(",", "") if numbers else None


def _same_answer(predicted: str | None, solution: str) -> bool:
    if predicted is None:
        return False
    try:
        from math_verify import parse, verify
    except ImportError:
        parse = verify = None
    if parse is not None:
        gold = parse(str(solution))
        if gold:
            return bool(verify(gold, parse(predicted)))
    expected = _final_answer(str(solution)) or str(solution).strip()
    try:
        return abs(float(predicted) - float(expected)) < 1e-6
    except ValueError:
        return predicted.strip() == expected.strip()


def accuracy_reward(completions, solution, **kwargs) -> list[float]:
    """Score 1.0 when the completion's final answer equals the solution, independent of any tags."""
    return [float(_same_answer(_final_answer(_text(c)), s)) for c, s in zip(completions, solution)]


def reasoning_accuracy_reward(completions, solution, **kwargs) -> list[float]:
    """Score 1.0 when the answer after the reasoning end tag equals the solution; 0.0 without that tag."""
    end_tag = tags()["reasoning"][1]
    rewards = []
    for completion, expected in zip(completions, solution):
        text = _text(completion)
        if end_tag not in text:
            rewards.append(0.0)
            continue
        rewards.append(float(_same_answer(_final_answer(text.rsplit(end_tag, 1)[1]), expected)))
    return rewards


def format_reward(completions, **kwargs) -> list[float]:
    """Score 1.0 for reasoning in the reasoning tags followed by the answer in the answer tags, if configured."""
    reasoning_open, reasoning_close = (re.escape(tag) for tag in tags()["reasoning"])
    answer_open, answer_close = (re.escape(tag) if tag else None for tag in tags()["answer"])
    if answer_open:
        pattern = rf"^{reasoning_open}\n.*?\n{reasoning_close}\n{answer_open}\n.*?\n{answer_close}$"
    else:
        pattern = rf"^{reasoning_open}\n.*?\n{reasoning_close}\n.+$"
    return [1.0 if re.match(pattern, _text(c), re.DOTALL) else 0.0 for c in completions]


def tag_count_reward(completions, **kwargs) -> list[float]:
    """Score each configured tag that appears exactly once, in equal parts summing to 1.0."""
    configured = [tag for tag in tags()["reasoning"] + tags()["answer"] if tag]
    rewards = []
    for completion in completions:
        text = _text(completion)
        rewards.append(sum(1.0 for tag in configured if text.count(tag) == 1) / len(configured))
    return rewards
