"""ModelFacts from the Hub or a local directory, read without downloading weights.

From the Hub: `model_info` (gated, private, sha, license, file sizes and the Hub's safetensors parameter
counts), then `config.json`, the tokenizer config and chat template files, and for quantized checkpoints the
safetensors headers (two Range requests per file at most) so packed weights can be unpacked.
Failures never raise: they are recorded in a `ModelProbe` that `gate_check` turns into findings.
"""

from __future__ import annotations

import json
import logging
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from podsmith_core.hub.client import REQUEST_TIMEOUT_S, HubAccess, network_errors, short_error, status_of
from podsmith_core.hub.params import (
    SafetensorsHeaderError,
    count_parameters,
    quantization_scheme,
    read_local_header,
    select_weight_files,
)
from podsmith_core.hub.repo_ids import ModelRef
from podsmith_core.models import ModelFacts

log = logging.getLogger("podsmith.hub")

# Model access outcomes recorded by `read_hub_facts`.
OK = "ok"
NOT_FOUND = "not-found"
REVISION_NOT_FOUND = "revision-not-found"
GATED_NO_ACCESS = "gated-no-access"
TOKEN_REJECTED = "token-rejected"
UNREACHABLE = "unreachable"
HTTP_ERROR = "http-error"

TOKENIZER_FILES = ("tokenizer_config.json", "chat_template.jinja", "chat_template.json")


@dataclass
class ModelProbe:
    """Outcome of reading the model from the Hub; `detail` is the library's error text, which has no secrets."""

    status: str = OK
    detail: str = ""
    config_found: bool = True
    gated_readable: bool | None = None
    notes: list[str] = field(default_factory=list)


def chat_template_from(tokenizer_config: dict[str, Any]) -> str | None:
    """Return the default chat template of a tokenizer config (a string, or a list of named templates)."""
    template = tokenizer_config.get("chat_template")
    if isinstance(template, list):
        named = {entry.get("name"): entry.get("template") for entry in template if isinstance(entry, dict)}
        template = named.get("default") or next(iter(named.values()), None)
    return template if isinstance(template, str) and template.strip() else None


def token_text(value: Any) -> str | None:
    """Return a special token's text, given as a string or as an AddedToken dict with `content`."""
    if isinstance(value, dict):
        value = value.get("content")
    return value if isinstance(value, str) else None


def apply_tokenizer_files(facts: ModelFacts, texts: dict[str, str]) -> None:
    """Fill chat template and EOS facts from the contents of the tokenizer files that exist."""
    tokenizer_config: dict[str, Any] = {}
    if "tokenizer_config.json" in texts:
        try:
            tokenizer_config = json.loads(texts["tokenizer_config.json"])
        except json.JSONDecodeError:
            log.warning("tokenizer_config.json of %s is not valid JSON", facts.repo_id)
    template = None
    if texts.get("chat_template.jinja", "").strip():
        template = texts["chat_template.jinja"]
    elif "chat_template.json" in texts:
        try:
            template = chat_template_from(json.loads(texts["chat_template.json"]))
        except json.JSONDecodeError:
            log.warning("chat_template.json of %s is not valid JSON", facts.repo_id)
    template = template or chat_template_from(tokenizer_config)
    facts.chat_template = template
    facts.has_chat_template = template is not None
    facts.eos_token = token_text(tokenizer_config.get("eos_token"))


def apply_config(facts: ModelFacts, config: dict[str, Any]) -> None:
    facts.config = config
    version = config.get("transformers_version")
    facts.transformers_version = str(version) if version else None


def _set_counts(facts: ModelFacts, counts: dict[str, int]) -> None:
    facts.parameters_by_dtype = dict(sorted(counts.items()))
    facts.parameter_count = sum(counts.values())


def read_local_facts(ref: ModelRef) -> ModelFacts:
    """Read facts from a local model directory: config, tokenizer files, safetensors headers, file sizes."""
    assert ref.local_path is not None
    root = ref.local_path
    files = sorted(str(path.relative_to(root)) for path in root.rglob("*") if path.is_file())
    facts = ModelFacts(repo_id=ref.repo_id, local_path=str(root), files=files)
    apply_config(facts, json.loads((root / "config.json").read_text(encoding="utf-8")))
    texts = {name: (root / name).read_text(encoding="utf-8") for name in TOKENIZER_FILES if (root / name).is_file()}
    apply_tokenizer_files(facts, texts)

    weight_format, weight_files = select_weight_files(files)
    facts.weight_bytes = sum((root / name).stat().st_size for name in weight_files)
    if weight_format == "safetensors":
        tensors: dict[str, tuple[str, list[int]]] = {}
        for name in weight_files:
            tensors.update(read_local_header(root / name))
        _set_counts(facts, count_parameters(tensors, facts.config.get("quantization_config")))
    return facts


def _download_text(hub: HubAccess, ref: ModelRef, filename: str, cache_dir: str) -> str:
    from huggingface_hub import hf_hub_download

    path = hf_hub_download(
        ref.repo_id,
        filename,
        revision=ref.revision,
        endpoint=hub.endpoint,
        token=hub.request_token,
        cache_dir=cache_dir,
        etag_timeout=REQUEST_TIMEOUT_S,
    )
    return Path(path).read_text(encoding="utf-8")


def _read_headers(hub: HubAccess, ref: ModelRef, weight_files: list[str]) -> dict[str, tuple[str, list[int]]]:
    api = hub.api()
    tensors: dict[str, tuple[str, list[int]]] = {}
    for name in weight_files:
        metadata = api.parse_safetensors_file_metadata(
            ref.repo_id, name, revision=ref.revision, token=hub.request_token, timeout=REQUEST_TIMEOUT_S
        )
        for tensor, info in metadata.tensors.items():
            tensors[tensor] = (info.dtype, list(info.shape))
    return tensors


def _record_error(probe: ModelProbe, error: BaseException) -> None:
    from huggingface_hub.errors import GatedRepoError, RepositoryNotFoundError, RevisionNotFoundError

    probe.detail = short_error(error)
    if isinstance(error, GatedRepoError):
        probe.status = GATED_NO_ACCESS
    elif isinstance(error, RevisionNotFoundError):
        probe.status = REVISION_NOT_FOUND
    elif isinstance(error, RepositoryNotFoundError):
        probe.status = NOT_FOUND
    elif status_of(error) == 401:
        probe.status = TOKEN_REJECTED
    elif status_of(error) is not None:
        probe.status = HTTP_ERROR
    else:
        probe.status = UNREACHABLE


def read_hub_facts(ref: ModelRef, hub: HubAccess) -> tuple[ModelFacts, ModelProbe]:
    """Read facts of a Hub model; return what is known and a probe that records what failed."""
    from huggingface_hub.errors import HfHubHTTPError, SafetensorsParsingError

    try:
        from huggingface_hub.errors import RemoteEntryNotFoundError as MissingFile
    except ImportError:  # huggingface_hub < 1.0 raises EntryNotFoundError for a missing remote file
        from huggingface_hub.errors import EntryNotFoundError as MissingFile

    facts = ModelFacts(repo_id=ref.repo_id, revision=ref.revision)
    probe = ModelProbe()
    handled = (HfHubHTTPError, *network_errors())
    try:
        info = hub.api().model_info(
            ref.repo_id, revision=ref.revision, files_metadata=True, timeout=REQUEST_TIMEOUT_S
        )
    except handled as exc:
        _record_error(probe, exc)
        return facts, probe

    facts.sha = info.sha
    facts.private = bool(info.private)
    facts.gated = info.gated or False
    card = info.card_data.to_dict() if info.card_data is not None else {}
    license_tag = next((tag[len("license:") :] for tag in info.tags or [] if tag.startswith("license:")), None)
    facts.license = card.get("license") or license_tag
    siblings = info.siblings or []
    facts.files = sorted(sibling.rfilename for sibling in siblings)
    sizes = {sibling.rfilename: sibling.size or 0 for sibling in siblings}
    weight_format, weight_files = select_weight_files(facts.files)
    facts.weight_bytes = sum(sizes.get(name, 0) for name in weight_files)

    with tempfile.TemporaryDirectory(prefix="podsmith-hub-") as cache_dir:
        try:
            apply_config(facts, json.loads(_download_text(hub, ref, "config.json", cache_dir)))
            probe.gated_readable = True if facts.gated else None
        except MissingFile as exc:
            probe.config_found = False
            probe.detail = short_error(exc)
        except handled as exc:
            _record_error(probe, exc)
            if probe.status == GATED_NO_ACCESS:
                probe.gated_readable = False
            _apply_hub_counts(facts, info)
            return facts, probe
        except json.JSONDecodeError as exc:
            probe.config_found = False
            probe.detail = f"config.json is not valid JSON ({exc})"

        texts: dict[str, str] = {}
        for name in TOKENIZER_FILES:
            if name not in facts.files:
                continue
            try:
                texts[name] = _download_text(hub, ref, name, cache_dir)
            except handled as exc:
                probe.notes.append(f"{name}: {short_error(exc)}")
        apply_tokenizer_files(facts, texts)

    scheme, _bits = quantization_scheme(facts.config.get("quantization_config"))
    hub_counts = info.safetensors.parameters if info.safetensors else None
    if weight_format == "safetensors" and (scheme is not None or not hub_counts):
        try:
            tensors = _read_headers(hub, ref, weight_files)
            _set_counts(facts, count_parameters(tensors, facts.config.get("quantization_config")))
            return facts, probe
        except (*handled, SafetensorsHeaderError, SafetensorsParsingError) as exc:
            probe.notes.append(f"safetensors headers: {short_error(exc)}")
    _apply_hub_counts(facts, info)
    return facts, probe


def _apply_hub_counts(facts: ModelFacts, info: Any) -> None:
    # The Hub's counts are per storage dtype, so packed quantized weights stay packed here.
    if info.safetensors and not facts.parameters_by_dtype:
        _set_counts(facts, dict(info.safetensors.parameters))
