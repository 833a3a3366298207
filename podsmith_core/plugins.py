"""Build the plugin manager, load plugins from entry points, and route hook calls.

Plugins come from entry points in group `podsmith` (the core's own built-ins included) plus a few
internal plugins registered directly. A plugin that fails to import or register is recorded and skipped,
so every command keeps working. The entry point name is the plugin name users type.
"""

from __future__ import annotations

import logging
import sys
from dataclasses import dataclass, field
from importlib import metadata
from typing import Any, Iterable

import pluggy

from podsmith_core import hookspecs
from podsmith_core.errors import PluginError

log = logging.getLogger("podsmith.plugins")

ENTRY_POINT_GROUP = "podsmith"
PROVIDER_HOOKS = frozenset({"create_pod", "destroy_pod", "select_gpu", "list_pods"})
TRAINER_HOOKS = frozenset({"run_remote", "prepare_run"})
NOTIFIER_HOOKS = frozenset({"notify"})

# Internal plugins registered without an entry point: (name, module, attribute).
INTERNAL_PLUGINS = (
    ("core-estimator", "podsmith_core.memory.plugin", "plugin"),
    ("console", "podsmith_core.console", "plugin"),
)

_warned: set[str] = set()


@dataclass
class PluginInfo:
    name: str
    distribution: str
    version: str
    hooks: list[str] = field(default_factory=list)
    error: str | None = None

    @property
    def kind(self) -> str:
        hooks = set(self.hooks)
        if hooks & PROVIDER_HOOKS:
            return "provider"
        if hooks & TRAINER_HOOKS:
            return "trainer"
        if hooks & NOTIFIER_HOOKS:
            return "notifier"
        return "failed" if self.error else "other"

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "version": self.version,
            "distribution": self.distribution,
            "kind": self.kind,
            "hooks": self.hooks,
            "error": self.error,
        }


class PluginHost:
    """The plugin manager plus what was loaded and what failed."""

    def __init__(self, pm: pluggy.PluginManager, infos: list[PluginInfo]) -> None:
        self.pm = pm
        self.infos = infos

    @property
    def failures(self) -> list[PluginInfo]:
        return [info for info in self.infos if info.error]

    def info(self, name: str) -> PluginInfo | None:
        return next((info for info in self.infos if info.name == name), None)

    def names(self, kind: str) -> list[str]:
        return sorted(info.name for info in self.infos if not info.error and info.kind == kind)

    def require(self, kind: str, name: str) -> None:
        """Raise PluginError unless `name` is a loaded plugin of `kind`, listing the installed ones."""
        info = self.info(name)
        if info is not None and info.error:
            raise PluginError(
                f"The {kind} plugin {name!r} failed to load: {info.error}",
                f"Reinstall its distribution ({info.distribution}) or run `podsmith plugins` for details.",
            )
        if info is None or info.kind != kind:
            installed = ", ".join(self.names(kind)) or "none"
            raise PluginError(
                f"Unknown {kind} {name!r}. Installed {kind}s: {installed}.",
                f"Pick one of them or install the distribution that provides {name!r}.",
            )

    def active_plugins(self, provider: str | None, trainer: str | None) -> list[Any]:
        """Return every plugin object except the providers and trainers that were not chosen."""
        chosen = {provider, trainer}
        plugins = []
        for name, plugin in self.pm.list_name_plugin():
            info = self.info(name)
            kind = info.kind if info else "other"
            if kind in ("provider", "trainer") and name not in chosen:
                continue
            plugins.append(plugin)
        return plugins

    def caller(self, hook: str, provider: str | None, trainer: str | None):
        """Return a caller of `hook` that reaches only the active plugins."""
        active = self.active_plugins(provider, trainer)
        others = [plugin for _name, plugin in self.pm.list_name_plugin() if plugin not in active]
        return self.pm.subset_hook_caller(hook, remove_plugins=others)

    def broadcast_isolated(
        self,
        hook: str,
        provider: str | None,
        trainer: str | None,
        failures: list[tuple[str, Exception]] | None = None,
        **kwargs: Any,
    ) -> list[Any]:
        """Call each active implementation of `hook` on its own; one that raises is logged and skipped.

        Each skipped plugin's name and exception is appended to `failures` when a list is given.
        """
        active = self.active_plugins(provider, trainer)
        results = []
        for impl in reversed(getattr(self.pm.hook, hook).get_hookimpls()):
            if impl.plugin not in active:
                continue
            try:
                results.append(impl.function(**{arg: kwargs[arg] for arg in impl.argnames}))
            except Exception as exc:  # noqa: BLE001 - a plugin's failure must not stop the others
                log.warning("Plugin %s failed in %s: %s", impl.plugin_name, hook, type(exc).__name__)
                if failures is not None:
                    failures.append((impl.plugin_name, exc))
        return results


def _warn_once(text: str) -> None:
    if text not in _warned:
        _warned.add(text)
        print(f"warning: {text}", file=sys.stderr)


def _hook_names(pm: pluggy.PluginManager, plugin: Any) -> list[str]:
    return sorted(caller.name for caller in pm.get_hookcallers(plugin) or [])


def _entry_points() -> Iterable[metadata.EntryPoint]:
    return metadata.entry_points(group=ENTRY_POINT_GROUP)


def build_plugin_host(
    extra_plugins: Iterable[tuple[str, Any]] = (),
    load_entry_points: bool = True,
    warn: bool = True,
) -> PluginHost:
    """Create the plugin manager, register internal plugins, entry points and `extra_plugins`."""
    pm = pluggy.PluginManager(hookspecs.PROJECT)
    pm.add_hookspecs(hookspecs)
    infos: list[PluginInfo] = []

    def register(name: str, plugin: Any, distribution: str, version: str) -> None:
        try:
            pm.register(plugin, name=name)
        except Exception as exc:  # noqa: BLE001 - pluggy raises several types for invalid plugins
            record_failure(name, distribution, version, exc)
            return
        infos.append(PluginInfo(name, distribution, version, _hook_names(pm, plugin)))

    def record_failure(name: str, distribution: str, version: str, exc: BaseException) -> None:
        error = f"{type(exc).__name__}: {exc}"
        infos.append(PluginInfo(name, distribution, version, error=error))
        if warn:
            _warn_once(f"plugin {name!r} from {distribution} failed to load ({error}); it is skipped.")

    core_version = _version("podsmith")
    for name, module_name, attribute in INTERNAL_PLUGINS:
        try:
            module = __import__(module_name, fromlist=[attribute])
            plugin = getattr(module, attribute)
        except Exception as exc:  # noqa: BLE001
            record_failure(name, "podsmith", core_version, exc)
            continue
        register(name, plugin, "podsmith", core_version)

    if load_entry_points:
        seen: set[str] = set()
        for entry_point in _entry_points():
            if entry_point.name in seen:
                continue
            seen.add(entry_point.name)
            distribution = entry_point.dist.name if entry_point.dist else "unknown"
            version = entry_point.dist.version if entry_point.dist else "unknown"
            try:
                plugin = entry_point.load()
            except Exception as exc:  # noqa: BLE001 - any import failure of a third-party plugin is isolated
                record_failure(entry_point.name, distribution, version, exc)
                continue
            register(entry_point.name, plugin, distribution, version)

    for name, plugin in extra_plugins:
        if pm.has_plugin(name):
            pm.unregister(name=name)
            infos[:] = [info for info in infos if info.name != name]
        register(name, plugin, "in-process", "0")

    return PluginHost(pm, infos)


def _version(distribution: str) -> str:
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return "unknown"
