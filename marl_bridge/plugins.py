"""Registries found by entry point: built-ins first, then the plug-ins of a group, checked alike."""

from __future__ import annotations

from importlib.metadata import entry_points
from typing import Any, TypeVar

from marl_bridge.config import ConfigError

T = TypeVar("T")


def load_group(group: str, built_in: dict[str, T], kind: type, what: str) -> dict[str, T]:
    """Every entry by name. A plug-in must load, be a `kind` named like its entry point, and not take a
    built-in's name (this package's own declaration of a built-in is skipped); each failure is a
    ConfigError naming the entry point."""
    found: dict[str, Any] = dict(built_in)
    for ep in entry_points(group=group):
        where = f"entry point {ep.name} = {ep.value} (group {group})"
        if ep.name in built_in:
            if ep.value.startswith("marl_bridge."):
                continue
            raise ConfigError(f"{where}: the name of a built-in {what}; choose another")
        try:
            entry = ep.load()
        except Exception as exc:  # a broken plug-in must say which one it is
            raise ConfigError(f"{where} cannot be loaded: {type(exc).__name__}: {exc}") from None
        if not isinstance(entry, kind) or getattr(entry, "name", None) != ep.name:
            raise ConfigError(f"{where} must name a {kind.__module__}.{kind.__name__} called {ep.name!r}; "
                              f"got {entry!r}")
        found[ep.name] = entry
    return found
