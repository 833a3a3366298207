"""Discord message text: a header line, the message, and recent output in a code block, within 2,000 characters.

Discord rejects a webhook message whose `content` is longer than 2,000 characters. Lengths here are
counted in UTF-16 code units, which is never less than the count of code points, so the limit is met
whichever of the two Discord counts. Output lines are kept from the end, because the last lines
carry the error, and a line too long to fit keeps its end.
"""

from __future__ import annotations

import re
from typing import Callable

CONTENT_LIMIT = 2000
ZERO_WIDTH_SPACE = "\u200b"
ELLIPSIS = "…"
FENCE_OPEN = "```text\n"
FENCE_CLOSE = "\n```"

# Share of the limit a message may take when output lines follow it.
MESSAGE_SHARE_WITH_OUTPUT = 0.35

_BACKTICK_RUN = re.compile(r"`{3,}")


def discord_length(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def neutralise_fences(text: str) -> str:
    """Break every run of three or more backticks with zero-width spaces, so it cannot open or close a code block."""
    return _BACKTICK_RUN.sub(lambda match: ZERO_WIDTH_SPACE.join(match.group()), text)


def keep_end(text: str, limit: int) -> str:
    """Return `text`, or its last characters after an ellipsis when it is longer than `limit`."""
    if discord_length(text) <= limit:
        return text
    if limit <= 1:
        return ""
    end = text[-(limit - 1) :]
    while discord_length(end) > limit - 1:
        end = end[1:]
    return ELLIPSIS + end


def shorten_middle(text: str, limit: int) -> str:
    """Return `text`, or its first third and last two thirds around an ellipsis when it is longer than `limit`."""
    if discord_length(text) <= limit:
        return text
    head_budget = (limit - 1) // 3
    head = text[:head_budget]
    while discord_length(head) > head_budget:
        head = head[:-1]
    tail = keep_end(text[len(head) :], limit - discord_length(head))
    if tail.startswith(ELLIPSIS):
        return head + tail
    return head + ELLIPSIS + tail[1:]


def fit_lines(lines: list[str], budget: int) -> list[str]:
    """Return the last lines that fit into `budget` units with a newline between them (at least the last one, shortened)."""
    kept: list[str] = []
    used = 0
    for line in reversed(lines):
        cost = discord_length(line) + (1 if kept else 0)
        if used + cost > budget:
            if not kept:
                kept.append(keep_end(line, budget))
            break
        kept.append(line)
        used += cost
    kept.reverse()
    return kept


def compose(
    header: str, message: str, lines: list[str], total_lines: int, label_for: Callable[[int, int], str]
) -> str:
    """Return the message content: header, message, then the last `lines` in a code block, within the limit.

    `total_lines` is how many lines the output had. `label_for(shown, total)` returns the line above the
    code block, for example "Last 12 of 200 output lines:".
    """
    header = neutralise_fences(header)
    message = neutralise_fences(message)
    lines = [neutralise_fences(line) for line in lines]

    if not lines:
        text = f"{header}\n{message}" if message else header
        return shorten_middle(text, CONTENT_LIMIT)

    header = shorten_middle(header, CONTENT_LIMIT // 4)
    message_limit = int(CONTENT_LIMIT * MESSAGE_SHARE_WITH_OUTPUT)
    head = f"{header}\n{shorten_middle(message, message_limit)}" if message else header

    budget = CONTENT_LIMIT - discord_length(head) - 2 - len(FENCE_OPEN) - len(FENCE_CLOSE)
    label = label_for(total_lines, total_lines)
    while True:
        shown = fit_lines(lines, budget - discord_length(label))
        fitted_label = label_for(len(shown), total_lines)
        if discord_length(fitted_label) <= discord_length(label):
            break
        # The label grew once fewer lines fit ("Last 9 of 200 ..."): fit again with the longer label.
        label = fitted_label

    block = FENCE_OPEN + "\n".join(shown) + FENCE_CLOSE
    return f"{head}\n{fitted_label}\n{block}"
