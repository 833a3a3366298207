"""Usable memory of a GPU card, from the nominal size a provider lists.

Providers list memory in "GB" that are binary: an "80 GB" A100 or H100 carries 80 GiB of HBM, and
nvidia-smi shows 81,920 MiB (A100) or 81,559 MiB (H100). Reading the figure as decimal gigabytes would
under-state every card by 7%. What a process can allocate is less: the driver and ECC keep a share, and
PyTorch reports the rest as the device's total capacity (79.1 GiB on 80 GB cards, 44.4 GiB on the
48 GB L40S with ECC on).

Rule: known GPU ids use the capacity CUDA reports for them (table below); any other card gets its
nominal size in GiB minus 1.5% (80 GB → 78.8 GiB). The CUDA context is not subtracted here: the estimate
carries it as its own term.
"""

from __future__ import annotations

GIB = 1024**3
RESERVE_FRACTION = 0.015

# Total capacity as PyTorch reports it (`torch.cuda.get_device_properties(0).total_memory`), in GiB.
# NOTE: values from public reports of each card with ECC at its default; a given host can differ by a
# few hundred MiB.
CUDA_CAPACITY_GIB = {
    "NVIDIA L40S": 44.4,
    "NVIDIA A40": 44.4,
    "NVIDIA A100-SXM4-80GB": 79.1,
    "NVIDIA A100 80GB PCIe": 79.1,
    "NVIDIA A100-SXM4-40GB": 39.4,
    "NVIDIA H100 80GB HBM3": 79.1,
    "NVIDIA H100 PCIe": 79.1,
    "NVIDIA H100 NVL": 93.1,
    "NVIDIA H200": 139.8,
    "NVIDIA B200": 178.3,
    "NVIDIA RTX A6000": 47.4,
    "NVIDIA RTX 6000 Ada Generation": 47.4,
    "NVIDIA GeForce RTX 4090": 23.6,
    "NVIDIA L4": 22.0,
}


def usable_bytes(gpu_type_id: str, memory_gb: float) -> int:
    """Bytes one process can allocate on the card (before the CUDA context)."""
    known = CUDA_CAPACITY_GIB.get(gpu_type_id)
    if known is not None:
        return int(known * GIB)
    return int(memory_gb * GIB * (1 - RESERVE_FRACTION))
