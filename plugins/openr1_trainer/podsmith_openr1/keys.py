"""Keys a generated recipe may contain, and the check that every key is one of them.

TRL 0.18's `TrlParser` drops YAML keys that match no dataclass field without a warning, so a misspelt key
would silently fall back to its default on the Pod. The TRL field sets come from `data/trl_keys.json`,
written by `tools/dump_trl_keys.py` from TRL 0.18.0 itself; Open R1's additions are transcribed below from
`src/open_r1/configs.py` at the pinned commit (see `pins.OPENR1_COMMIT`).
"""

from __future__ import annotations

import functools
import json
from importlib import resources
from typing import Literal

from podsmith_core.errors import PlanError

RecipeKind = Literal["grpo", "sft"]

# `ScriptArguments` in open_r1/configs.py (base of both scripts' arguments).
OPENR1_SCRIPT_FIELDS = frozenset({"dataset_mixture"})

# `GRPOScriptArguments` in open_r1/configs.py.
OPENR1_GRPO_SCRIPT_FIELDS = frozenset(
    {
        "reward_funcs",
        "cosine_min_value_wrong",
        "cosine_max_value_wrong",
        "cosine_min_value_correct",
        "cosine_max_value_correct",
        "cosine_max_len",
        "repetition_n_grams",
        "repetition_max_penalty",
        "code_language",
        "code_eval_test_batch_size",
        "parallel_code_exec_per_proc",
        "dataset_prompt_column",
        "e2b_router_url",
        "morph_router_url",
        "code_provider",
        "ioi_provider",
        "max_completion_len",
        "soft_punish_cache",
    }
)

# Fields Open R1's `GRPOConfig` adds to TRL's.
OPENR1_GRPO_CONFIG_FIELDS = frozenset(
    {
        "benchmarks",
        "callbacks",
        "chat_template",
        "system_prompt",
        "hub_model_revision",
        "overwrite_hub_revision",
        "push_to_hub_revision",
        "wandb_entity",
        "wandb_project",
        "wandb_run_group",
    }
)

# Fields Open R1's `SFTConfig` adds to TRL's: the same, except that at the pinned commit it has no
# `wandb_project`.
OPENR1_SFT_CONFIG_FIELDS = OPENR1_GRPO_CONFIG_FIELDS - {"wandb_project"}

# Keys of one entry of `dataset_mixture.datasets` and of `dataset_mixture` itself.
MIXTURE_KEYS = frozenset({"datasets", "seed", "test_split_size"})
MIXTURE_DATASET_KEYS = frozenset({"id", "config", "split", "columns", "weight"})

# Names in Open R1's reward registry (`open_r1.rewards.get_reward_funcs`) at the pinned commit.
OPENR1_REWARDS = frozenset(
    {
        "accuracy",
        "format",
        "reasoning_steps",
        "cosine",
        "repetition_penalty",
        "length",
        "code",
        "binary_code",
        "ioi_code",
        "code_format",
        "tag_count",
        "soft_overlong_punishment",
    }
)


@functools.lru_cache(maxsize=1)
def trl_fields() -> dict[str, object]:
    """Return the parsed `data/trl_keys.json`: TRL and transformers versions and field names per class."""
    text = resources.files("podsmith_openr1").joinpath("data/trl_keys.json").read_text()
    return json.loads(text)


def trl_class_fields(name: str) -> frozenset[str]:
    classes = trl_fields()["classes"]
    assert isinstance(classes, dict)
    return frozenset(classes[name])


def allowed_keys(kind: RecipeKind) -> frozenset[str]:
    """Return every key the Open R1 script of `kind` parses from its YAML config."""
    common = trl_class_fields("ModelConfig") | trl_class_fields("ScriptArguments") | OPENR1_SCRIPT_FIELDS
    if kind == "grpo":
        return common | trl_class_fields("GRPOConfig") | OPENR1_GRPO_CONFIG_FIELDS | OPENR1_GRPO_SCRIPT_FIELDS
    return common | trl_class_fields("SFTConfig") | OPENR1_SFT_CONFIG_FIELDS


def vllm_serve_keys() -> frozenset[str]:
    """Return the options `trl vllm-serve` accepts in TRL 0.18."""
    return trl_class_fields("VllmServeArguments")


def unknown_keys(recipe: dict[str, object], kind: RecipeKind) -> list[str]:
    """Return the keys of `recipe` (including dataset mixture entries) that the pinned scripts would drop."""
    allowed = allowed_keys(kind)
    unknown = sorted(key for key in recipe if key not in allowed)

    mixture = recipe.get("dataset_mixture")
    if isinstance(mixture, dict):
        unknown += sorted(f"dataset_mixture.{key}" for key in mixture if key not in MIXTURE_KEYS)
        for index, entry in enumerate(mixture.get("datasets") or []):
            unknown += sorted(
                f"dataset_mixture.datasets[{index}].{key}" for key in entry if key not in MIXTURE_DATASET_KEYS
            )
    return unknown


def check_recipe_keys(recipe: dict[str, object], kind: RecipeKind) -> None:
    """Raise PlanError when `recipe` has a key that TRL 0.18 or Open R1 would ignore."""
    unknown = unknown_keys(recipe, kind)
    if unknown:
        version = trl_fields()["trl_version"]
        raise PlanError(
            f"The generated {kind.upper()} recipe has keys that TRL {version} and Open R1 do not define: "
            f"{', '.join(unknown)}.",
            "Remove them (a template override under PODSMITH_TEMPLATES_DIR may have added them).",
        )


def check_vllm_serve_options(options: dict[str, object]) -> None:
    """Raise PlanError when a `trl vllm-serve` option is not one TRL 0.18 accepts."""
    unknown = sorted(set(options) - vllm_serve_keys())
    if unknown:
        raise PlanError(
            f"`trl vllm-serve` in TRL {trl_fields()['trl_version']} has no option {', '.join(unknown)}.",
            "Remove the option from the server settings.",
        )
