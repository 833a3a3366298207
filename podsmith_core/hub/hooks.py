"""Hook implementations of the built-in Hugging Face plugin: model facts and the checks that need the Hub.

`podsmith_core.hub.plugin` loads this module on the first hook call; huggingface_hub itself is imported
only when a request is made.
"""

from __future__ import annotations

import logging
from typing import Any

from podsmith_core.errors import UsageError
from podsmith_core.hub import checks
from podsmith_core.hub.client import HubAccess
from podsmith_core.hub.facts import ModelProbe, read_hub_facts, read_local_facts
from podsmith_core.hub.repo_ids import ModelRef, parse_model_id, resolve_hub_model_id
from podsmith_core.hub.tokens import TokenCheck, check_token
from podsmith_core.models import Finding, ModelFacts, RunSpec
from podsmith_core.settings import Settings

log = logging.getLogger("podsmith.hub")


class HubHooks:
    """Reads ModelFacts and checks model access, token rights and the dataset."""

    def __init__(self) -> None:
        # Results of `model_facts`, handed to the `gate_check` that follows so the Hub is asked once per run.
        # Entries are removed when read, so a later run reads the access rights again.
        self._probes: dict[tuple[Any, ...], tuple[ModelFacts, ModelProbe]] = {}
        self._tokens: dict[tuple[Any, ...], TokenCheck] = {}

    def _token(self, hub: HubAccess, keep: bool) -> TokenCheck:
        key = hub.cache_key()
        result = self._tokens.pop(key, None) or check_token(hub)
        if keep:
            self._tokens[key] = result
        return result

    def model_facts(self, spec: RunSpec, settings: Settings) -> ModelFacts | None:
        hub = HubAccess.from_settings(settings)
        try:
            ref = parse_model_id(spec.repo_id, spec.revision, hub.endpoint)
        except UsageError:
            return None  # gate_check reports the invalid id
        if ref.is_local:
            try:
                facts = read_local_facts(ref)
            except (OSError, ValueError) as exc:
                log.warning("Could not read model directory %s: %s", ref.repo_id, exc)
                return None  # gate_check reads the directory again and reports the error
            if uses_hub(spec, ref):
                # The result of a local model is still pushed to the token owner's namespace.
                self._resolve_target(spec, ref, facts, self._token(hub, keep=True))
            return facts

        facts, probe = read_hub_facts(ref, hub)
        self._resolve_target(spec, ref, facts, self._token(hub, keep=True))
        self._probes[hub.cache_key(ref.repo_id, ref.revision)] = (facts, probe)
        return facts

    @staticmethod
    def _resolve_target(spec: RunSpec, ref: ModelRef, facts: ModelFacts, token: TokenCheck) -> None:
        """Fill the token owner and the resolved target repo into `facts` when the token is valid."""
        if token.info is None:
            return
        facts.token_user = token.info.user
        try:
            facts.hub_model_id = resolve_hub_model_id(spec.hub_model_id, token.info.user, ref.name, spec.trainer)
        except UsageError:
            pass  # gate_check reports the invalid target id

    def gate_check(self, spec: RunSpec, facts: ModelFacts | None, settings: Settings) -> list[Finding]:
        hub = HubAccess.from_settings(settings)
        findings: list[Finding] = []
        try:
            ref: ModelRef | None = parse_model_id(spec.repo_id, spec.revision, hub.endpoint)
        except UsageError as exc:
            ref = None
            findings.append(checks.finding("error", "model-id", exc.message, exc.fix))

        if not uses_hub(spec, ref):
            # Nothing is read from or pushed to the Hub, so HF_TOKEN is not checked and no request is sent.
            self._tokens.pop(hub.cache_key(), None)
            if ref is not None:
                findings += self._local_model_findings(spec, ref, facts)
            return findings + checks.dataset_findings(spec, hub, TokenCheck())

        token = self._token(hub, keep=False)

        if ref is not None and ref.is_local:
            findings += self._local_model_findings(spec, ref, facts)
        elif ref is not None:
            cached = self._probes.pop(hub.cache_key(ref.repo_id, ref.revision), None)
            if cached is None:
                cached = read_hub_facts(ref, hub)
            hub_facts, probe = cached
            if facts is None or facts.repo_id != ref.repo_id:
                facts = hub_facts
            findings += checks.model_findings(ref, facts, probe, hub, token)

        findings += checks.target_findings(spec, ref.name if ref else None, hub, token)[1]
        findings += checks.dataset_findings(spec, hub, token)
        return findings

    @staticmethod
    def _local_model_findings(spec: RunSpec, ref: ModelRef, facts: ModelFacts | None) -> list[Finding]:
        findings = checks.local_model_findings(spec, ref)
        try:
            if facts is None or facts.local_path is None:
                read_local_facts(ref)
        except (OSError, ValueError) as exc:
            findings.append(
                checks.finding(
                    "error",
                    "local-model-unreadable",
                    f"Could not read the model directory {ref.repo_id}: {exc}",
                    "Check that config.json, the tokenizer files and the safetensors files are complete.",
                )
            )
        return findings


def uses_hub(spec: RunSpec, ref: ModelRef | None) -> bool:
    """Return whether the run reads the model or the dataset from the Hub, or pushes to it.

    An invalid model id counts as no Hub model, because no model request is sent for it.
    """
    if spec.push_to_hub or (ref is not None and not ref.is_local):
        return True
    dataset = (spec.dataset_name or "").strip()
    return bool(dataset) and not checks.is_local_dataset(dataset)

