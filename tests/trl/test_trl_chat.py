"""Chat template decision: the model's own, a user file, or the fallback proven to end turns with EOS."""

from __future__ import annotations

import pytest

from podsmith_core.errors import PlanError
from podsmith_trl.chat import SAMPLE_CONVERSATION, assistant_turns_end_with_eos, choose_chat_template, render_chat_template
from podsmith_trl.render import source

FALLBACK = source("chat/fallback.jinja")


def test_fallback_renders_eos_after_assistant():
    rendered = render_chat_template(FALLBACK, "<eos>", SAMPLE_CONVERSATION, add_generation_prompt=False)
    assert rendered.endswith("4 * 5 = 20<eos>\n\n")
    assert "2 + 3 = 5<eos>" in rendered
    assert rendered.count("<eos>") == 2
    assert rendered.startswith("System: You are a helpful assistant.")


def test_fallback_generation_prompt():
    rendered = render_chat_template(FALLBACK, "<eos>", [{"role": "user", "content": "Hi"}], add_generation_prompt=True)
    assert rendered == "User: Hi\n\nAssistant:"


def test_fallback_chosen_without_template():
    choice = choose_chat_template(None, False, "<|endoftext|>", FALLBACK)
    assert choice.source == "fallback"
    assert choice.text == FALLBACK
    assert "Fallback chat template injected" in choice.notices[0]
    assert "'<|endoftext|>'" in choice.notices[0]


def test_fallback_without_eos_raises():
    with pytest.raises(PlanError) as caught:
        choose_chat_template(None, False, None, FALLBACK)
    assert "eos_token is None" in caught.value.message
    assert "--chat-template FILE" in caught.value.fix


def test_fallback_missing_eos_detected():
    template = "{% for m in messages %}{{ m['content'] }}{% endfor %}"
    assert not assistant_turns_end_with_eos(template, "</s>")
    with pytest.raises(PlanError):
        choose_chat_template(None, False, "</s>", template)


def test_model_template_kept():
    choice = choose_chat_template(None, True, "</s>", FALLBACK)
    assert choice.source == "model"
    assert choice.text is None
    assert choice.notices == []


def test_template_file_missing(tmp_path):
    missing = tmp_path / "tmpl.jinja"
    with pytest.raises(PlanError) as caught:
        choose_chat_template(str(missing), True, "</s>", FALLBACK)
    assert caught.value.message == f"chat template file not found: {missing}"


def test_template_path_text_never_used(tmp_path):
    # A path that happens to be valid Jinja text must still be read as a path.
    with pytest.raises(PlanError) as caught:
        choose_chat_template("./tmpl.jinja", False, "</s>", FALLBACK)
    assert "not found: ./tmpl.jinja" in caught.value.message


def test_template_file_used(tmp_path):
    path = tmp_path / "chat.jinja"
    path.write_text("{% for m in messages %}{{ m['role'] }}: {{ m['content'] }}{{ eos_token }}\n{% endfor %}")
    choice = choose_chat_template(str(path), False, "</s>", FALLBACK)
    assert choice.source == "file"
    assert choice.text == path.read_text()
    assert len(choice.notices) == 1


def test_template_file_without_eos_warns(tmp_path):
    path = tmp_path / "chat.jinja"
    path.write_text("{% for m in messages %}{{ m['content'] }}\n{% endfor %}")
    choice = choose_chat_template(str(path), True, "</s>", FALLBACK)
    assert choice.source == "file"
    assert "does not end assistant turns" in choice.notices[1]


def test_template_file_broken(tmp_path):
    path = tmp_path / "chat.jinja"
    path.write_text("{% for m in messages %}{{ m['content'] }")
    with pytest.raises(PlanError) as caught:
        choose_chat_template(str(path), True, "</s>", FALLBACK)
    assert "failed to render" in caught.value.message
