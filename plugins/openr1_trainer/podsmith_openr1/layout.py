"""Which GPUs train and which serve vLLM, and the checks that make a layout workable before a Pod exists."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from podsmith_core.errors import PlanError
from podsmith_core.models import RunSpec

GenerationBackend = Literal["colocate", "server", "transformers"]


@dataclass(frozen=True)
class GpuLayout:
    """GPU indices of the training processes and of the vLLM server (empty unless server mode)."""

    gpu_count: int
    backend: GenerationBackend
    train_gpus: tuple[int, ...]
    server_gpus: tuple[int, ...] = ()
    tensor_parallel_size: int = 1

    @property
    def num_processes(self) -> int:
        return len(self.train_gpus)

    @property
    def data_parallel_size(self) -> int:
        """Return the number of vLLM server replicas (server mode only)."""
        return len(self.server_gpus) // self.tensor_parallel_size if self.server_gpus else 0

    @property
    def use_vllm(self) -> bool:
        return self.backend != "transformers"

    def describe(self) -> str:
        if self.backend == "server":
            return (
                f"vLLM server on GPU {_indices(self.server_gpus)}, training on GPU {_indices(self.train_gpus)} "
                f"({self.num_processes} process{'es' if self.num_processes != 1 else ''})"
            )
        generation = "vLLM colocated with training" if self.backend == "colocate" else "transformers generation"
        if self.backend == "transformers" and self.gpu_count == 0:
            return "training without GPUs"
        return f"{self.num_processes} training process{'es' if self.num_processes != 1 else ''}, {generation}"


def _indices(gpus: tuple[int, ...]) -> str:
    return ",".join(str(gpu) for gpu in gpus)


def plan_layout(spec: RunSpec, gpu_count: int, is_grpo: bool) -> GpuLayout:
    """Return the GPU layout for `gpu_count` GPUs, raising PlanError for a layout that cannot run."""
    if gpu_count < 1:
        raise PlanError(f"--gpu-count {gpu_count} is invalid for Open R1 training.", "Pass --gpu-count 1 or more.")
    if spec.tensor_parallel_size < 1:
        raise PlanError(
            f"--tensor-parallel-size {spec.tensor_parallel_size} is invalid.", "Pass --tensor-parallel-size 1 or more."
        )
    all_gpus = tuple(range(gpu_count))

    if not is_grpo or not spec.use_vllm:
        return GpuLayout(gpu_count=gpu_count, backend="transformers", train_gpus=all_gpus)

    if not 0 < spec.vllm_gpu_memory_utilization <= 1:
        raise PlanError(
            f"--vllm-gpu-memory-utilization {spec.vllm_gpu_memory_utilization} is outside (0, 1].",
            "Pass a fraction such as 0.3 (colocate) or 0.9 (server).",
        )

    if spec.vllm_mode == "colocate":
        if gpu_count % spec.tensor_parallel_size != 0:
            raise PlanError(
                f"--tensor-parallel-size {spec.tensor_parallel_size} does not divide the {gpu_count} training "
                "processes: in colocate mode each vLLM engine spans a group of training GPUs.",
                f"Pass a --tensor-parallel-size that divides {gpu_count} (1 always works).",
            )
        return GpuLayout(
            gpu_count=gpu_count,
            backend="colocate",
            train_gpus=all_gpus,
            tensor_parallel_size=spec.tensor_parallel_size,
        )

    if gpu_count < 2:
        raise PlanError(
            f"--vllm-mode server needs at least 2 GPUs (the vLLM server and training each need their own), "
            f"but the Pod has {gpu_count}.",
            "Pass --vllm-mode colocate or --no-vllm, or --gpu-count 2.",
        )
    server_gpus = spec.vllm_server_gpus
    if not 1 <= server_gpus < gpu_count:
        raise PlanError(
            f"--vllm-server-gpus {server_gpus} leaves no GPU for training on a {gpu_count}-GPU Pod.",
            f"Pass --vllm-server-gpus between 1 and {gpu_count - 1}.",
        )
    if server_gpus % spec.tensor_parallel_size != 0:
        raise PlanError(
            f"--tensor-parallel-size {spec.tensor_parallel_size} does not divide --vllm-server-gpus {server_gpus}.",
            f"Pass a --tensor-parallel-size that divides {server_gpus}, or change --vllm-server-gpus.",
        )
    return GpuLayout(
        gpu_count=gpu_count,
        backend="server",
        train_gpus=all_gpus[server_gpus:],
        server_gpus=all_gpus[:server_gpus],
        tensor_parallel_size=spec.tensor_parallel_size,
    )
