"""Chat template decision: the model's own, a user file, or the fallback that ends assistant turns with EOS."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from podsmith_core.errors import PlanError

FALLBACK_TEMPLATE = "chat/fallback.jinja"

SAMPLE_CONVERSATION = [
    {"role": "system", "content": "You are a helpful assistant."},
    {"role": "user", "content": "What is 2 + 3?"},
    {"role": "assistant", "content": "2 + 3 = 5"},
    {"role": "user", "content": "And 4 * 5?"},
    {"role": "assistant", "content": "4 * 5 = 20"},
]


@dataclass
class ChatTemplateChoice:
    """The template to ship (None keeps the model's own), where it came from, and notices for the user."""

    source: str
    text: str | None = None
    notices: list[str] = field(default_factory=list)


def render_chat_template(
    template: str, eos_token: str | None, messages: list[dict], add_generation_prompt: bool
) -> str:
    """Render a chat template the way transformers does: sandboxed Jinja2 with trimmed blocks."""
    import jinja2
    from jinja2.sandbox import ImmutableSandboxedEnvironment

    def raise_exception(message: str) -> None:
        raise jinja2.TemplateError(message)

    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True, extensions=["jinja2.ext.loopcontrols"])
    env.globals["raise_exception"] = raise_exception
    compiled = env.from_string(template)
    return compiled.render(
        messages=messages,
        eos_token=eos_token or "",
        bos_token="",
        add_generation_prompt=add_generation_prompt,
    )


def assistant_turns_end_with_eos(template: str, eos_token: str | None) -> bool:
    """Return whether every assistant message of a sample conversation is followed directly by `eos_token`."""
    if not eos_token:
        return False
    rendered = render_chat_template(template, eos_token, SAMPLE_CONVERSATION, add_generation_prompt=False)
    assistant_texts = [message["content"] for message in SAMPLE_CONVERSATION if message["role"] == "assistant"]
    return all(text + eos_token in rendered for text in assistant_texts)


def _read_template_file(template_file: str) -> str:
    path = Path(template_file).expanduser()
    if not path.is_file():
        raise PlanError(
            f"chat template file not found: {template_file}",
            "Pass the path of an existing Jinja2 file to --chat-template.",
        )
    return path.read_text(encoding="utf-8")


def _template_render_error(template_file: str, exc: Exception) -> PlanError:
    return PlanError(
        f"Chat template {template_file} failed to render a sample conversation: {exc}",
        "Fix the template so it renders system, user and assistant messages.",
    )


def choose_chat_template(
    template_file: str | None,
    has_chat_template: bool,
    eos_token: str | None,
    fallback_text: str,
    model_known: bool = True,
) -> ChatTemplateChoice:
    """Decide which chat template the run uses, rendering the shipped one once on a sample conversation.

    `template_file` is always a path: its text becomes the template, and a missing file raises PlanError
    rather than turning the path itself into a template.

    `model_known` False means the model could not be read, so its template and EOS token are unknown. Then the
    model's own template is kept unless a file is given, and the fallback and EOS checks neither raise nor add
    notices.
    """
    import jinja2

    if template_file is not None:
        text = _read_template_file(template_file)
        notices = [f"Chat template from {template_file} replaces the tokenizer's."]
        if not model_known:
            try:
                render_chat_template(text, None, SAMPLE_CONVERSATION, add_generation_prompt=False)
            except jinja2.TemplateError as exc:
                raise _template_render_error(template_file, exc) from exc
            return ChatTemplateChoice(source="file", text=text, notices=notices)
        try:
            ends_with_eos = assistant_turns_end_with_eos(text, eos_token)
        except jinja2.TemplateError as exc:
            raise _template_render_error(template_file, exc) from exc
        if not ends_with_eos:
            notices.append(
                f"Chat template {template_file} does not end assistant turns with the EOS token "
                f"{eos_token!r}, so the model may not learn to stop."
            )
        return ChatTemplateChoice(source="file", text=text, notices=notices)

    if has_chat_template or not model_known:
        return ChatTemplateChoice(source="model")

    try:
        ends_with_eos = assistant_turns_end_with_eos(fallback_text, eos_token)
    except jinja2.TemplateError as exc:
        raise PlanError(
            f"The fallback chat template failed to render a sample conversation: {exc}",
            "Pass a working template with --chat-template FILE.",
        ) from exc
    if not ends_with_eos:
        raise PlanError(
            f"The model's tokenizer has no chat template, and the fallback template cannot end assistant turns "
            f"with an EOS token (eos_token is {eos_token!r}).",
            "Pass a template with --chat-template FILE.",
        )
    return ChatTemplateChoice(
        source="fallback",
        text=fallback_text,
        notices=[
            f"Fallback chat template injected because the tokenizer has none; assistant turns end with "
            f"{eos_token!r}. Pass --chat-template FILE to use another."
        ],
    )
