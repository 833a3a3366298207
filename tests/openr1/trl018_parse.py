"""Parse generated recipes with TRL 0.18's own TrlParser; run with the Python of the TRL 0.18 venv.

Open R1 cannot be installed here, so its script and config dataclasses are declared below with the field
names and types of `src/open_r1/configs.py` at the pinned commit. Usage:

    python trl018_parse.py JOBS.json

JOBS.json holds a list of {"kind": "grpo" or "sft", "path": recipe file, "world_size": training processes}.
Prints a JSON list with, per job, the keys TrlParser did not consume ("remaining") and a few parsed values.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass, field
from typing import Any, Optional

import trl
from trl import ModelConfig, TrlParser

WORLD_SIZE = 1


@dataclass
class ScriptArguments(trl.ScriptArguments):
    dataset_name: Optional[str] = None
    dataset_mixture: Optional[dict[str, Any]] = None


@dataclass
class GRPOScriptArguments(ScriptArguments):
    reward_funcs: list[str] = field(default_factory=lambda: ["accuracy", "format", "tag_count"])
    cosine_min_value_wrong: float = 0.0
    cosine_max_value_wrong: float = -0.5
    cosine_min_value_correct: float = 0.5
    cosine_max_value_correct: float = 1.0
    cosine_max_len: int = 1000
    repetition_n_grams: int = 3
    repetition_max_penalty: float = -1.0
    code_language: str = "python"
    code_eval_test_batch_size: int = 1
    parallel_code_exec_per_proc: int = 2
    dataset_prompt_column: str = "prompt"
    e2b_router_url: Optional[str] = None
    morph_router_url: Optional[str] = None
    code_provider: Optional[str] = "e2b"
    ioi_provider: Optional[str] = "piston"
    max_completion_len: int = 16384
    soft_punish_cache: int = 4096


class FixedWorldSize:
    """Reports the planned number of training processes, so TRL's batch checks see the Pod's layout."""

    @property
    def world_size(self) -> int:
        return WORLD_SIZE


@dataclass
class GRPOConfig(FixedWorldSize, trl.GRPOConfig):
    benchmarks: list[str] = field(default_factory=list)
    callbacks: list[str] = field(default_factory=list)
    chat_template: Optional[str] = None
    system_prompt: Optional[str] = None
    hub_model_revision: Optional[str] = "main"
    overwrite_hub_revision: bool = False
    push_to_hub_revision: bool = False
    wandb_entity: Optional[str] = None
    wandb_project: Optional[str] = None
    wandb_run_group: Optional[str] = None


@dataclass
class SFTConfig(FixedWorldSize, trl.SFTConfig):
    benchmarks: list[str] = field(default_factory=list)
    callbacks: list[str] = field(default_factory=list)
    chat_template: Optional[str] = None
    system_prompt: Optional[str] = None
    hub_model_revision: Optional[str] = "main"
    overwrite_hub_revision: bool = False
    push_to_hub_revision: bool = False
    wandb_entity: Optional[str] = None
    wandb_run_group: Optional[str] = None


def parse(kind: str, path: str) -> dict[str, Any]:
    classes = (GRPOScriptArguments, GRPOConfig, ModelConfig) if kind == "grpo" else (ScriptArguments, SFTConfig, ModelConfig)
    # `--use_cpu` only lets the bf16 check pass on a machine without a GPU; every other value is the recipe's.
    script_args, training_args, model_args, remaining = TrlParser(classes).parse_args_and_config(
        ["--config", path, "--use_cpu", "true"], return_remaining_strings=True
    )
    values = {
        "remaining": remaining,
        "trl_version": trl.__version__,
        "model_name_or_path": model_args.model_name_or_path,
        "load_in_4bit": model_args.load_in_4bit,
        "use_peft": model_args.use_peft,
        "output_dir": training_args.output_dir,
        "hub_model_id": training_args.hub_model_id,
        "chat_template": training_args.chat_template,
        "dataset_mixture": script_args.dataset_mixture,
    }
    if kind == "grpo":
        values.update(
            num_generations=training_args.num_generations,
            vllm_mode=training_args.vllm_mode,
            use_vllm=training_args.use_vllm,
            reward_funcs=script_args.reward_funcs,
            system_prompt=training_args.system_prompt,
            generation_batch_size=training_args.generation_batch_size,
        )
    else:
        values.update(max_length=training_args.max_length)
    return values


def main() -> None:
    global WORLD_SIZE
    with open(sys.argv[1]) as handle:
        jobs = json.load(handle)
    results = []
    for job in jobs:
        WORLD_SIZE = job["world_size"]
        results.append(parse(job["kind"], job["path"]))
    print(json.dumps(results))


if __name__ == "__main__":
    main()
