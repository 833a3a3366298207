"""Parameter counts from safetensors headers, with packed quantized weights unpacked.

A safetensors file starts with an 8-byte little-endian header length and a JSON header that maps each
tensor name to its dtype, shape and byte offsets, so counts need no weight data. Quantized checkpoints store
several parameters per element and add bookkeeping tensors (scales, zero points, absmax):
- bitsandbytes 4-bit: the `.weight` tensor holds 2 parameters per byte of its storage dtype (U8 by default);
  `absmax`, `quant_map`, `nested_*` and `quant_state.*` tensors are bookkeeping.
- bitsandbytes 8-bit: one parameter per I8 element; `SCB` and `weight_format` are bookkeeping.
- GPTQ and AWQ: `qweight` (I32) holds 32 / bits parameters per element; `qzeros`, `scales` and `g_idx` are
  bookkeeping.
- FP8 checkpoints: one parameter per element; `*_scale` and `*_scale_inv` tensors are bookkeeping.
"""

from __future__ import annotations

import json
import math
import re
import struct
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

# Bytes per element of each safetensors dtype.
DTYPE_BYTES = {
    "F64": 8, "I64": 8, "U64": 8,
    "F32": 4, "I32": 4, "U32": 4,
    "F16": 2, "BF16": 2, "I16": 2, "U16": 2,
    "F8_E4M3": 1, "F8_E5M2": 1, "I8": 1, "U8": 1, "BOOL": 1,
}  # fmt: skip

# The header length prefix is a u64; anything above this is a corrupt or foreign file.
MAX_HEADER_BYTES = 100 * 1024 * 1024

TensorShapes = Mapping[str, tuple[str, Sequence[int]]]

_BNB_BOOKKEEPING = re.compile(r"\.(absmax|quant_map|nested_absmax|nested_quant_map|SCB|weight_format)$|\.quant_state\.")
_GPTQ_BOOKKEEPING = re.compile(r"\.(qzeros|scales|g_idx|scales_and_zeros)$")
_FP8_BOOKKEEPING = re.compile(r"_scale(_inv)?$")


_STORAGE_DTYPES = {"uint8": "U8", "int8": "I8", "bfloat16": "BF16", "float16": "F16", "float32": "F32"}


def _is_bnb4_packed(dtype: str, shape: Sequence[int], storage: str) -> bool:
    # bitsandbytes stores a packed 4-bit weight as a column vector of its storage dtype. With U8 storage
    # every U8 `.weight` is packed. With a float storage dtype, the (n, 1) shape separates it from
    # unquantized weights.
    if dtype != storage:
        return False
    return dtype == "U8" or (len(shape) == 2 and shape[1] == 1)


class SafetensorsHeaderError(ValueError):
    """A file does not start with a valid safetensors header."""


def parse_header(header: bytes, name: str) -> dict[str, tuple[str, list[int]]]:
    """Parse a JSON header into {tensor name: (dtype, shape)}; `__metadata__` is left out."""
    try:
        data = json.loads(header.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise SafetensorsHeaderError(f"{name}: the safetensors header is not valid JSON ({exc}).") from exc
    if not isinstance(data, dict):
        raise SafetensorsHeaderError(f"{name}: the safetensors header is not a JSON object.")
    tensors: dict[str, tuple[str, list[int]]] = {}
    for tensor, info in data.items():
        if tensor == "__metadata__":
            continue
        if not isinstance(info, dict) or "dtype" not in info or "shape" not in info:
            raise SafetensorsHeaderError(f"{name}: tensor {tensor!r} has no dtype or shape.")
        tensors[tensor] = (str(info["dtype"]), [int(size) for size in info["shape"]])
    return tensors


def header_length(prefix: bytes, name: str) -> int:
    if len(prefix) < 8:
        raise SafetensorsHeaderError(f"{name}: the file is shorter than the 8-byte safetensors header length.")
    (length,) = struct.unpack("<Q", prefix[:8])
    if length > MAX_HEADER_BYTES:
        raise SafetensorsHeaderError(f"{name}: header length {length} is implausible for a safetensors file.")
    return length


def read_local_header(path: Path) -> dict[str, tuple[str, list[int]]]:
    """Read the tensor table of a local safetensors file without reading its data."""
    with path.open("rb") as handle:
        prefix = handle.read(8)
        length = header_length(prefix, path.name)
        header = handle.read(length)
    if len(header) != length:
        raise SafetensorsHeaderError(f"{path.name}: the file ends inside its safetensors header.")
    return parse_header(header, path.name)


def quantization_scheme(quantization_config: Mapping[str, Any] | None) -> tuple[str | None, int]:
    """Return (method, bits) of a `quantization_config`: method is bnb4, bnb8, packed-int, fp8 or None."""
    if not quantization_config:
        return None, 16
    method = str(quantization_config.get("quant_method", "")).lower()
    if method == "bitsandbytes":
        if quantization_config.get("load_in_4bit") or quantization_config.get("_load_in_4bit"):
            return "bnb4", 4
        return "bnb8", 8
    if method in ("gptq", "awq"):
        return "packed-int", int(quantization_config.get("bits") or quantization_config.get("w_bit") or 4)
    if method in ("fp8", "compressed-tensors", "fbgemm_fp8"):
        return "fp8", 8
    return method or None, 16


def count_parameters(
    tensors: TensorShapes, quantization_config: Mapping[str, Any] | None = None
) -> dict[str, int]:
    """Return parameters by dtype, with packed quantized weights unpacked to their real count.

    Unpacked weights are reported under the quantized type (`NF4`, `FP4`, `INT8`, `INT4`, ...), other
    tensors under their storage dtype. Bookkeeping tensors of the quantization method are not parameters.
    """
    scheme, bits = quantization_scheme(quantization_config)
    bnb_type = str((quantization_config or {}).get("bnb_4bit_quant_type", "nf4")).upper()
    storage = _STORAGE_DTYPES.get(str((quantization_config or {}).get("bnb_4bit_quant_storage", "uint8")), "U8")
    counts: dict[str, int] = {}

    def add(dtype: str, amount: int) -> None:
        counts[dtype] = counts.get(dtype, 0) + amount

    for name, (dtype, shape) in tensors.items():
        elements = math.prod(shape)
        if scheme in ("bnb4", "bnb8") and _BNB_BOOKKEEPING.search(name):
            continue
        if scheme == "packed-int" and _GPTQ_BOOKKEEPING.search(name):
            continue
        if scheme == "fp8" and _FP8_BOOKKEEPING.search(name):
            continue
        if scheme == "bnb4" and name.endswith(".weight") and _is_bnb4_packed(dtype, shape, storage):
            add(bnb_type, elements * DTYPE_BYTES[dtype] * 2)
            continue
        if scheme == "bnb8" and dtype == "I8" and name.endswith(".weight"):
            add("INT8", elements)
            continue
        if scheme == "packed-int" and name.endswith(".qweight"):
            add(f"INT{bits}", elements * (DTYPE_BYTES.get(dtype, 4) * 8 // bits))
            continue
        add(dtype, elements)
    return counts


def hub_parameter_counts(tensors: TensorShapes) -> dict[str, int]:
    """Return element counts by storage dtype, the way the Hub reports a repository's `safetensors` field."""
    counts: dict[str, int] = {}
    for dtype, shape in tensors.values():
        counts[dtype] = counts.get(dtype, 0) + math.prod(shape)
    return counts


def select_weight_files(files: Iterable[str]) -> tuple[str, list[str]]:
    """Return (format, files) for the weight files of one format, so no weight is counted twice.

    Safetensors wins over PyTorch `.bin` files. Only top-level files count, so copies under folders such as
    `original/` are ignored. A Mistral-style `consolidated.safetensors` is ignored when `model*.safetensors`
    files exist next to it.
    """
    top_level = sorted(name for name in files if "/" not in name)
    safetensors = [name for name in top_level if name.endswith(".safetensors")]
    if safetensors:
        standard = [name for name in safetensors if name.startswith("model")]
        return "safetensors", standard or safetensors
    binaries = [
        name
        for name in top_level
        if name.endswith(".bin") and name.startswith(("pytorch_model", "model")) and "training_args" not in name
    ]
    if binaries:
        return "pytorch", binaries
    others = [name for name in top_level if name.endswith((".pt", ".pth", ".ckpt"))]
    return ("pytorch", others) if others else ("none", [])
