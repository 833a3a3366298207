"""prepare_run for a model the Hub plugin could not read: the chat template decision adds no error of its own."""

from __future__ import annotations

import pytest
import yaml

from trl_support import grpo_spec, model_facts, sft_spec
from podsmith_core.errors import PlanError
from podsmith_core.models import ModelFacts
from podsmith_trl.chat import choose_chat_template
from podsmith_trl.plugin import grpo, sft
from podsmith_trl.render import source

FALLBACK = source("chat/fallback.jinja")

UNKNOWN_FACTS = {
    "none": None,
    "empty-config": ModelFacts(repo_id="./nomodel"),
}


def prepare(spec, facts, settings):
    plugin = grpo if spec.trainer == "trl-grpo" else sft
    return plugin.prepare_run(spec=spec, facts=facts, settings=settings)


def file_paths(plan) -> list[str]:
    return [item.path for item in plan.files]


@pytest.mark.parametrize("facts", UNKNOWN_FACTS.values(), ids=UNKNOWN_FACTS.keys())
@pytest.mark.parametrize("make_spec", [grpo_spec, sft_spec], ids=["grpo", "sft"])
def test_unknown_model_keeps_own_template(make_spec, facts, settings):
    spec = make_spec(repo_id="./nomodel", gpu_count=0)
    plan = prepare(spec, facts, settings)

    assert plan.summary["chat_template"] == "model"
    assert "chat_template.jinja" not in file_paths(plan)
    assert not [notice for notice in plan.notices if "chat template" in notice.lower()]
    assert "prepare-model" not in plan.launch_script
    [recipe_text] = [item.content for item in plan.files if item.path == "config/recipe.yaml"]
    recipe = yaml.safe_load(recipe_text)
    assert recipe["model_name_or_path"] == "./nomodel"
    assert recipe.get("chat_template_path") is None


def test_unknown_model_template_file_shipped(settings, tmp_path):
    path = tmp_path / "chat.jinja"
    path.write_text("{% for m in messages %}{{ m['role'] }}: {{ m['content'] }}\n{% endfor %}")
    plan = prepare(grpo_spec(repo_id="./nomodel", chat_template=str(path)), ModelFacts(repo_id="./nomodel"), settings)

    assert plan.summary["chat_template"] == "file"
    [shipped] = [item.content for item in plan.files if item.path == "chat_template.jinja"]
    assert shipped == path.read_text()
    template_notices = [notice for notice in plan.notices if "Chat template" in notice]
    assert template_notices == [f"Chat template from {path} replaces the tokenizer's."]


def test_unknown_model_template_file_missing(settings, tmp_path):
    missing = tmp_path / "absent.jinja"
    with pytest.raises(PlanError) as caught:
        prepare(grpo_spec(repo_id="./nomodel", chat_template=str(missing)), ModelFacts(repo_id="./nomodel"), settings)
    assert caught.value.message == f"chat template file not found: {missing}"


def test_unknown_model_template_file_broken(tmp_path):
    path = tmp_path / "chat.jinja"
    path.write_text("{% for m in messages %}{{ m['content'] }")
    with pytest.raises(PlanError) as caught:
        choose_chat_template(str(path), False, None, FALLBACK, model_known=False)
    assert "failed to render" in caught.value.message


def test_known_model_without_eos_raises(settings):
    facts = model_facts(has_chat_template=False, chat_template=None, eos_token=None)
    with pytest.raises(PlanError) as caught:
        prepare(grpo_spec(), facts, settings)
    assert "eos_token is None" in caught.value.message
    assert "--chat-template FILE" in caught.value.fix


def test_unknown_model_choice_unit():
    choice = choose_chat_template(None, False, None, FALLBACK, model_known=False)
    assert choice.source == "model"
    assert choice.text is None
    assert choice.notices == []
