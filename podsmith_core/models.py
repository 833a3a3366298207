"""Typed records that flow through a run: created once, passed along, never re-parsed."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

GIB = 1024**3
GB = 1000**3


class Record(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=False, defer_build=True)


class RunSpec(Record):
    """Everything the user asked for, validated at the edge (the CLI or a caller of the pipeline)."""

    repo_id: str
    revision: str | None = None
    trainer: str = "openr1-grpo"
    provider: str = "runpod"
    project: str = "podsmith"

    # GPU choice
    gpu_count: int | None = None
    gpu_type: str | None = None
    gpu_policy: Literal["prefer", "cheapest"] = "prefer"
    cloud_type: Literal["ALL", "SECURE", "COMMUNITY"] = "ALL"
    max_price_per_hour: float | None = None

    # Pod
    image: str | None = None
    skip_setup: bool = False
    volume_gb: int = 300
    container_disk_gb: int = 50
    ssh_timeout_min: float = 20.0
    host: str | None = None
    keep_pod: bool = False

    # Training method
    method: Literal["full", "lora", "qlora"] | None = None
    deepspeed_stage: Literal[0, 2, 3] | None = None
    # Full fine-tuning with parameters sharded over the GPUs (ZeRO-3), instead of SFT's QLoRA default.
    shard_model: bool = False
    gradient_checkpointing: bool = True
    attn_implementation: str = "sdpa"
    torch_dtype: str = "bfloat16"
    lora_r: int = 16
    lora_alpha: int = 32
    lora_dropout: float = 0.05
    lora_target_modules: list[str] | None = None
    beta: float = 0.0
    optimizer: str = "adamw_torch"

    # Data and hyperparameters
    dataset_name: str | None = None
    dataset_config: str | None = None
    dataset_train_split: str = "train"
    dataset_prompt_column: str = "prompt"
    dataset_fraction: float = 1.0
    dataset_seed: int = 42
    num_train_epochs: float = 1.0
    max_steps: int = -1
    per_device_train_batch_size: int = 1
    gradient_accumulation_steps: int = 4
    learning_rate: float = 1e-6
    max_prompt_length: int = 512
    max_completion_length: int = 1024
    num_generations: int | None = None
    seed: int = 42
    save_steps: int = 500
    logging_steps: int = 1

    # GRPO generation and rewards
    use_vllm: bool = True
    vllm_mode: Literal["colocate", "server"] = "colocate"
    vllm_gpu_memory_utilization: float = 0.3
    vllm_server_gpus: int = 1
    # vLLM tensor parallel size. Colocate: GPUs per vLLM engine among the training processes. Server mode:
    # GPUs per server replica, with one data-parallel replica per group of server GPUs.
    tensor_parallel_size: int = 1
    nccl_p2p_disable: bool = False
    nccl_ib_disable: bool = False
    reasoning_tag: str = "<think>"
    reasoning_end_tag: str = "</think>"
    answer_tag: str | None = None
    answer_end_tag: str | None = None
    reward_funcs: list[str] | None = None
    reward_weights: list[float] | None = None
    system_prompt: str | None = None

    # Chat template, setup and output
    chat_template: str | None = None
    custom_dependencies: list[str] = Field(default_factory=list)
    transformers_version: str | None = None
    report_to: str = "none"
    hub_model_id: str | None = None
    push_to_hub: bool = True
    public: bool = False
    merge_model: bool = False
    output_dir: str | None = None
    trust_remote_code: bool = False
    debug_remote: bool = False

    # Free-form options for third-party plugins: `--opt key=value`.
    options: dict[str, str] = Field(default_factory=dict)

    @property
    def is_grpo(self) -> bool:
        return self.trainer.endswith("grpo")


class ModelFacts(Record):
    """Facts about the base model read from the Hub (or a local directory) without downloading weights."""

    repo_id: str
    revision: str | None = None
    sha: str | None = None
    local_path: str | None = None
    private: bool = False
    gated: str | bool = False
    license: str | None = None
    config: dict[str, Any] = Field(default_factory=dict)
    parameters_by_dtype: dict[str, int] = Field(default_factory=dict)
    parameter_count: int = 0
    weight_bytes: int = 0
    has_chat_template: bool = False
    chat_template: str | None = None
    eos_token: str | None = None
    transformers_version: str | None = None
    files: list[str] = Field(default_factory=list)
    hub_model_id: str | None = None
    token_user: str | None = None

    def config_value(self, *names: str, default: Any = None) -> Any:
        """Return the first config field present among `names`, looking into `text_config` too."""
        for source in (self.config, self.config.get("text_config") or {}):
            for name in names:
                if source.get(name) is not None:
                    return source[name]
        return default


class MemoryTerm(Record):
    name: str
    bytes: int
    note: str = ""


class MemoryEstimate(Record):
    """Peak GPU memory per training GPU, with the terms that add up to it."""

    method: str
    gpu_count: int
    per_gpu_bytes: int
    terms: list[MemoryTerm] = Field(default_factory=list)
    training_gpus: int | None = None
    vllm_gpus: int = 0
    vllm_per_gpu_bytes: int = 0
    reserved_fraction: float = 0.0
    notes: list[str] = Field(default_factory=list)
    # Card memory the colocated vLLM reservation was computed for; None when `per_gpu_bytes` leaves
    # the reservation out and `reserved_fraction` of each card's memory must be added per card.
    card_bytes: int | None = None
    deepspeed_stage: int = 0

    @property
    def per_gpu_gib(self) -> float:
        return self.per_gpu_bytes / GIB


class GpuOffer(Record):
    """One GPU type a provider can rent, as the provider reports it."""

    gpu_type_id: str
    display_name: str
    memory_gb: float
    cloud_type: str = "ALL"
    price_per_gpu_hour: float | None = None
    stock: str | None = None
    max_count: int = 8
    counts: list[int] = Field(default_factory=lambda: [1, 2, 4, 6, 8])
    source: str = "live"
    price_date: str | None = None


class GpuCandidate(Record):
    """A GPU type and count with its price and whether the estimate fits it; candidates are ranked."""

    gpu_type_id: str
    display_name: str
    gpu_count: int
    memory_gb: float
    usable_bytes: int
    cloud_type: str = "ALL"
    price_per_hour: float | None = None
    stock: str | None = None
    needed_bytes: int = 0
    fits: bool = True
    reason: str = ""
    estimated_cost: float | None = None
    source: str = "live"


class SshAddress(Record):
    host: str
    port: int = 22
    user: str = "root"


class PodHandle(Record):
    """A running machine the trainer can reach: id, SSH address (none for the local provider), workspace."""

    pod_id: str
    name: str
    provider: str
    gpu_type_id: str = "cpu"
    gpu_count: int = 0
    cloud_type: str | None = None
    price_per_hour: float | None = None
    ssh: SshAddress | None = None
    workspace: str
    host_key: str | None = None
    data: dict[str, Any] = Field(default_factory=dict)


class PodRecord(Record):
    """A Pod as a provider lists it, for reconciliation and orphan detection."""

    pod_id: str
    name: str
    status: str
    gpu_type_id: str | None = None
    price_per_hour: float | None = None


class PlannedFile(Record):
    path: str
    content: str
    mode: int = 0o644


class TrainerPlan(Record):
    """A trainer's work on the Pod: the files it writes, the scripts it runs, and its decisions."""

    trainer: str
    files: list[PlannedFile] = Field(default_factory=list)
    setup_script: str | None = None
    launch_script: str
    notices: list[str] = Field(default_factory=list)
    summary: dict[str, Any] = Field(default_factory=dict)
    secrets: list[str] = Field(default_factory=list)


class RunResult(Record):
    exit_status: int
    output_dir: str | None = None
    hub_repo: str | None = None
    hub_url: str | None = None
    steps: int | None = None
    final_loss: float | None = None
    duration_s: float | None = None
    log_path: str | None = None


class Finding(Record):
    """One result of a pre-flight check. Any error stops the run before a Pod exists."""

    level: Literal["error", "warning", "info"]
    code: str
    message: str
    fix: str = ""
    source: str = ""


def utc_now() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")


class Event(Record):
    """A progress event. The first six fields are the original tool's webhook payload."""

    event: str
    message: str
    timestamp: str = Field(default_factory=utc_now)
    stage: str | None = None
    project: str | None = None
    repo_id: str | None = None
    run_id: str | None = None
    level: Literal["info", "warning", "error"] = "info"
    tail: list[str] = Field(default_factory=list)
    data: dict[str, Any] = Field(default_factory=dict)

    def payload(self) -> dict[str, Any]:
        """Return the JSON body sent to webhooks, original fields first."""
        return self.model_dump(mode="json")
