"""Fixture repositories: JSON files that describe real Hub models, expanded into files and safetensors headers.

A fixture holds the repository's metadata, its config.json and tokenizer files, and a weight layout: tensors
outside the decoder blocks, the tensors of one block (repeated `count` times), and the linear layers as
[out_features, in_features]. Linear layers are written the way the checkpoint's quantizer writes them
(plain, bitsandbytes 4-bit, GPTQ or AWQ), following `quantization_config` in the config.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from .repos import DTYPE_BYTES, Repo, StoredFile, SyntheticSafetensors

FIXTURES_DIR = Path(__file__).parent / "fixtures"

# Length of the serialized bitsandbytes quant state tensor (`quant_state.bitsandbytes__nf4`).
# NOTE: an approximate value; real files vary by a few bytes with the JSON the tensor encodes.
BNB_QUANT_STATE_BYTES = 108


def linear_tensors(
    name: str, out_features: int, in_features: int, bias: bool, dtype: str, quant: dict[str, Any] | None
) -> dict[str, tuple[str, list[int]]]:
    """Return the tensors a checkpoint stores for one linear layer, packed as its quantizer packs them."""
    method = (quant or {}).get("quant_method")
    tensors: dict[str, tuple[str, list[int]]] = {}
    if method in ("gptq", "awq"):
        bits = int(quant.get("bits") or quant.get("w_bit") or 4)
        group = int(quant.get("group_size") or quant.get("q_group_size") or 128)
        pack = 32 // bits
        if method == "gptq":
            tensors[f"{name}.qweight"] = ("I32", [in_features // pack, out_features])
            tensors[f"{name}.g_idx"] = ("I32", [in_features])
        else:
            tensors[f"{name}.qweight"] = ("I32", [in_features, out_features // pack])
        tensors[f"{name}.qzeros"] = ("I32", [in_features // group, out_features // pack])
        tensors[f"{name}.scales"] = ("F16", [in_features // group, out_features])
        if bias:
            tensors[f"{name}.bias"] = ("F16", [out_features])
        return tensors
    if method == "bitsandbytes":
        elements = out_features * in_features
        blocks = math.ceil(elements / 64)
        double = bool(quant.get("bnb_4bit_use_double_quant"))
        tensors[f"{name}.weight"] = ("U8", [elements // 2, 1])
        tensors[f"{name}.weight.absmax"] = ("U8" if double else "F32", [blocks])
        tensors[f"{name}.weight.quant_map"] = ("F32", [16])
        if double:
            tensors[f"{name}.weight.nested_absmax"] = ("F32", [math.ceil(blocks / 256)])
            tensors[f"{name}.weight.nested_quant_map"] = ("F32", [256])
        quant_type = str(quant.get("bnb_4bit_quant_type", "nf4"))
        tensors[f"{name}.weight.quant_state.bitsandbytes__{quant_type}"] = ("U8", [BNB_QUANT_STATE_BYTES])
        if bias:
            tensors[f"{name}.bias"] = (dtype, [out_features])
        return tensors
    tensors[f"{name}.weight"] = (dtype, [out_features, in_features])
    if bias:
        tensors[f"{name}.bias"] = (dtype, [out_features])
    return tensors


def expand_layout(weights: dict[str, Any], quant: dict[str, Any] | None) -> dict[str, tuple[str, list[int]]]:
    """Return every tensor of a checkpoint, in file order, from a fixture's weight layout."""
    dtype = weights["dtype"]
    tensors: dict[str, tuple[str, list[int]]] = {}
    for name, (tensor_dtype, shape) in weights.get("head", {}).items():
        tensors[name] = (tensor_dtype, list(shape))
    layers = weights["layers"]
    biased = set(layers.get("bias", []))
    for index in range(layers["count"]):
        prefix = layers["prefix"].format(i=index)
        for name, (out_features, in_features) in layers.get("linear", {}).items():
            tensors.update(linear_tensors(prefix + name, out_features, in_features, name in biased, dtype, quant))
        for name, (tensor_dtype, shape) in layers.get("tensors", {}).items():
            tensors[prefix + name] = (tensor_dtype, list(shape))
    for name, (tensor_dtype, shape) in weights.get("tail", {}).items():
        tensors[name] = (tensor_dtype, list(shape))
    return tensors


def shard(tensors: dict[str, tuple[str, list[int]]], count: int) -> list[dict[str, tuple[str, list[int]]]]:
    """Split tensors into `count` files of about equal size, keeping their order."""
    sizes = {name: DTYPE_BYTES[dtype] * math.prod(shape) for name, (dtype, shape) in tensors.items()}
    target = sum(sizes.values()) / count
    shards: list[dict[str, tuple[str, list[int]]]] = [{}]
    filled = 0
    for name, spec in tensors.items():
        if filled >= target and len(shards) < count:
            shards.append({})
            filled = 0
        shards[-1][name] = spec
        filled += sizes[name]
    return shards


def weight_files(weights: dict[str, Any], quant: dict[str, Any] | None) -> dict[str, StoredFile]:
    """Return the synthesized safetensors files and, for sharded checkpoints, the index file."""
    tensors = expand_layout(weights, quant)
    count = int(weights.get("files", 1))
    if count == 1:
        return {"model.safetensors": StoredFile("model.safetensors", synthetic=SyntheticSafetensors(tensors))}
    files: dict[str, StoredFile] = {}
    weight_map: dict[str, str] = {}
    total = 0
    for number, part in enumerate(shard(tensors, count), start=1):
        name = f"model-{number:05d}-of-{count:05d}.safetensors"
        synthetic = SyntheticSafetensors(part)
        files[name] = StoredFile(name, synthetic=synthetic)
        total += synthetic.data_bytes
        weight_map.update({tensor: name for tensor in part})
    index = {"metadata": {"total_size": total}, "weight_map": weight_map}
    files["model.safetensors.index.json"] = StoredFile(
        "model.safetensors.index.json", data=json.dumps(index, indent=2).encode()
    )
    return files


def _json_file(path: str, value: Any) -> StoredFile:
    return StoredFile(path, data=(json.dumps(value, indent=2) + "\n").encode())


def repo_from_fixture(fixture: dict[str, Any]) -> Repo:
    """Build a repository from a fixture dictionary."""
    config = fixture.get("config")
    files: dict[str, StoredFile] = {".gitattributes": StoredFile(".gitattributes", data=b"*.safetensors filter=lfs\n")}
    if config is not None:
        files["config.json"] = _json_file("config.json", config)
    for name in ("tokenizer_config", "generation_config", "special_tokens_map"):
        if name in fixture:
            files[f"{name}.json"] = _json_file(f"{name}.json", fixture[name])
    if "chat_template_jinja" in fixture:
        files["chat_template.jinja"] = StoredFile("chat_template.jinja", data=fixture["chat_template_jinja"].encode())
    for path, text in fixture.get("text_files", {}).items():
        files[path] = StoredFile(path, data=text.encode())
    if "weights" in fixture:
        files.update(weight_files(fixture["weights"], (config or {}).get("quantization_config")))

    repo = Repo(
        repo_id=fixture["repo_id"],
        repo_type=fixture.get("repo_type", "model"),
        private=fixture.get("private", False),
        gated=fixture.get("gated", False),
        card_data=fixture.get("card_data", {}),
        tags=fixture.get("tags", []),
        info_extra=fixture.get("info_extra", {}),
    )
    repo.commit(files, "Upload fixture", sha=fixture.get("sha"))
    return repo


def load_fixtures(directory: Path = FIXTURES_DIR) -> list[Repo]:
    return [repo_from_fixture(json.loads(path.read_text())) for path in sorted(directory.glob("*.json"))]
