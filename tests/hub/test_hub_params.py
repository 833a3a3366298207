"""Parameter counting of packed quantized checkpoints, one linear layer at a time."""

from __future__ import annotations

import struct
from pathlib import Path

import pytest

from emulators.hub.synth import linear_tensors
from podsmith_core.hub.params import SafetensorsHeaderError, count_parameters, read_local_header

OUT, IN = 4096, 1024


@pytest.mark.parametrize(
    ("quant", "kind"),
    [
        ({"quant_method": "gptq", "bits": 4, "group_size": 128}, "INT4"),
        ({"quant_method": "gptq", "bits": 8, "group_size": 128}, "INT8"),
        ({"quant_method": "awq", "bits": 4, "group_size": 128}, "INT4"),
        ({"quant_method": "bitsandbytes", "load_in_4bit": True, "bnb_4bit_use_double_quant": True}, "NF4"),
        ({"quant_method": "bitsandbytes", "load_in_4bit": True, "bnb_4bit_quant_type": "fp4"}, "FP4"),
    ],
)
def test_linear_unpacked(quant: dict, kind: str) -> None:
    tensors = linear_tensors("layer.proj", OUT, IN, bias=True, dtype="BF16", quant=quant)
    counts = count_parameters(tensors, quant)
    assert counts[kind] == OUT * IN
    assert sum(counts.values()) == OUT * IN + OUT  # weight and bias, no bookkeeping tensors


def test_bnb_float_storage() -> None:
    quant = {"quant_method": "bitsandbytes", "load_in_4bit": True, "bnb_4bit_quant_storage": "bfloat16"}
    tensors = {
        "proj.weight": ("BF16", [OUT * IN // 4, 1]),  # two bytes of storage hold four 4-bit values
        "proj.weight.absmax": ("F32", [OUT * IN // 64]),
        "norm.weight": ("BF16", [OUT]),
    }
    assert count_parameters(tensors, quant) == {"NF4": OUT * IN, "BF16": OUT}


def test_bnb_8bit() -> None:
    quant = {"quant_method": "bitsandbytes", "load_in_8bit": True}
    tensors = {"proj.weight": ("I8", [OUT, IN]), "proj.SCB": ("F32", [OUT]), "proj.weight_format": ("U8", [1])}
    assert count_parameters(tensors, quant) == {"INT8": OUT * IN}


def test_fp8_scales_skipped() -> None:
    tensors = {"proj.weight": ("F8_E4M3", [OUT, IN]), "proj.weight_scale": ("F32", [1]), "proj.input_scale": ("F32", [1])}
    assert count_parameters(tensors, {"quant_method": "fp8"}) == {"F8_E4M3": OUT * IN}


def test_unquantized_plain() -> None:
    tensors = {"a.weight": ("BF16", [3, 4]), "b.absmax": ("F32", [5])}
    assert count_parameters(tensors, None) == {"BF16": 12, "F32": 5}


def test_header_errors(tmp_path: Path) -> None:
    short = tmp_path / "short.safetensors"
    short.write_bytes(b"\x01\x02")
    with pytest.raises(SafetensorsHeaderError, match="short.safetensors"):
        read_local_header(short)
    huge = tmp_path / "huge.safetensors"
    huge.write_bytes(struct.pack("<Q", 1 << 40) + b"{}")
    with pytest.raises(SafetensorsHeaderError, match="implausible"):
        read_local_header(huge)
    broken = tmp_path / "broken.safetensors"
    broken.write_bytes(struct.pack("<Q", 4) + b"{no}")
    with pytest.raises(SafetensorsHeaderError, match="not valid JSON"):
        read_local_header(broken)
