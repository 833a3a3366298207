"""The built-in Hugging Face plugin: model facts from the Hub and the pre-flight checks that need the Hub.

Loading the plugin imports nothing heavy: the implementation (`podsmith_core.hub.hooks`) and pydantic are
imported on the first hook call, so `podsmith --help` and `podsmith plugins` stay fast.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from podsmith_core.hookspecs import hookimpl

if TYPE_CHECKING:
    from podsmith_core.hub.hooks import HubHooks
    from podsmith_core.models import Finding, ModelFacts, RunSpec
    from podsmith_core.settings import Settings


class HuggingFacePlugin:
    """Reads ModelFacts and checks model access, token rights and the dataset."""

    def __init__(self) -> None:
        self._hooks: HubHooks | None = None

    @property
    def hooks(self) -> HubHooks:
        if self._hooks is None:
            from podsmith_core.hub.hooks import HubHooks

            self._hooks = HubHooks()
        return self._hooks

    @hookimpl
    def model_facts(self, spec: RunSpec, settings: Settings) -> ModelFacts | None:
        return self.hooks.model_facts(spec, settings)

    @hookimpl
    def gate_check(self, spec: RunSpec, facts: ModelFacts | None, settings: Settings) -> list[Finding]:
        return self.hooks.gate_check(spec, facts, settings)


plugin = HuggingFacePlugin()
