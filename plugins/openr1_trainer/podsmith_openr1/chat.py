"""Chat template choice: the model's own, a file from --chat-template, or podsmith's fallback.

GRPO in Open R1 has no fallback of its own: a tokenizer without a chat template fails at the first batch.
The fallback ends every assistant turn with the EOS token, or the model never learns to stop. Whatever is
chosen is rendered once on a sample conversation here, before any Pod exists.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import jinja2

from podsmith_core.errors import PlanError
from podsmith_core.models import ModelFacts, RunSpec

FALLBACK_TEMPLATE = "chat/fallback.jinja"
# Placeholder for the EOS token when the model facts do not name one. On the Pod the tokenizer supplies it.
PLACEHOLDER_EOS = "<eos-token>"

SAMPLE_USER = "What is 2 + 3?"


@dataclass
class ChatTemplateChoice:
    """The template text for the recipe (None keeps the tokenizer's own) and the sample it rendered."""

    source: Literal["model", "fallback", "file", "unknown"]
    template: str | None = None
    sample: str | None = None
    notices: list[str] = field(default_factory=list)
    # The generation prompt already opens the reasoning tag (as DeepSeek-R1-Distill templates do).
    prefills_reasoning: bool = False


def render_sample(template: str, messages: list[dict[str, str]], eos_token: str, add_generation_prompt: bool) -> str:
    """Render `template` the way transformers does (the TRL trainer's renderer, shared by both trainers)."""
    from podsmith_trl.chat import render_chat_template

    return render_chat_template(template, eos_token, messages, add_generation_prompt)


def sample_messages(system_prompt: str | None, completion: str) -> list[dict[str, str]]:
    messages = [{"role": "system", "content": system_prompt}] if system_prompt else []
    messages.append({"role": "user", "content": SAMPLE_USER})
    messages.append({"role": "assistant", "content": completion})
    return messages


def fallback_source() -> str:
    """Return the fallback template text, from the user's template directory when it overrides it."""
    from podsmith_core.templates import environment

    env = environment(os.environ.get("PODSMITH_TEMPLATES_DIR"))
    assert env.loader is not None
    source, _filename, _uptodate = env.loader.get_source(env, FALLBACK_TEMPLATE)
    return source


def _read_template_file(path_text: str) -> str:
    path = Path(path_text).expanduser()
    if not path.is_file():
        raise PlanError(
            f"--chat-template {path_text!r}: file not found.",
            "Pass the path of an existing Jinja chat template file.",
        )
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise PlanError(f"--chat-template {path_text!r} could not be read: {exc}.", "Pass a UTF-8 text file.") from exc


def resolve_chat_template(
    spec: RunSpec, facts: ModelFacts | None, system_prompt: str | None, completion: str
) -> ChatTemplateChoice:
    """Choose the chat template and render it once on a sample, raising PlanError when it cannot render."""
    eos_token = (facts.eos_token if facts else None) or PLACEHOLDER_EOS
    messages = sample_messages(system_prompt, completion)

    if spec.chat_template:
        template = _read_template_file(spec.chat_template)
        choice = ChatTemplateChoice(source="file", template=template)
        label = f"--chat-template {spec.chat_template}"
    elif facts is not None and not facts.has_chat_template:
        template = fallback_source()
        choice = ChatTemplateChoice(source="fallback", template=template)
        label = "the fallback chat template"
        choice.notices.append(
            f"{spec.repo_id} has no chat template: podsmith's fallback template is injected; it ends "
            f"assistant turns with the EOS token {eos_token!r}. Pass --chat-template FILE to use your own."
        )
    elif facts is not None and facts.chat_template:
        template = facts.chat_template
        choice = ChatTemplateChoice(source="model", template=None)
        label = f"the chat template of {spec.repo_id}"
    else:
        return ChatTemplateChoice(
            source="unknown" if facts is None else "model",
            notices=["The model's chat template was not checked (no model facts)."] if facts is None else [],
        )

    try:
        choice.sample = render_sample(template, messages, eos_token, add_generation_prompt=False)
        generation_prompt = render_sample(template, messages[:-1], eos_token, add_generation_prompt=True)
    except jinja2.TemplateError as exc:
        if choice.source == "model":
            choice.notices.append(f"The model's chat template could not be rendered here ({exc}); it is used as is.")
            return choice
        raise PlanError(
            f"{label} fails to render a sample conversation: {exc}.",
            "Fix the template so it renders `messages` with roles system, user and assistant.",
        ) from exc

    ends_with_eos = completion + eos_token in choice.sample
    if not ends_with_eos:
        if choice.source == "fallback":
            raise PlanError(
                "The fallback chat template does not end assistant turns with the EOS token.",
                f"Restore {FALLBACK_TEMPLATE} or pass --chat-template FILE.",
            )
        if choice.source == "file":
            choice.notices.append(
                f"{label} does not put the EOS token {eos_token!r} right after the assistant's reply; the model "
                "may not learn to stop."
            )

    if spec.reasoning_tag and generation_prompt.rstrip().endswith(spec.reasoning_tag):
        choice.prefills_reasoning = True
    return choice
