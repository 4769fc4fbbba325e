"""Build a PettingZoo ParallelEnv from an `EnvConfig` entry point ("module:callable")."""

from __future__ import annotations

import contextlib
import importlib
from typing import Any

from pettingzoo.utils.env import ParallelEnv

from marl_bridge.config import ConfigError, EnvConfig


def load_entry_point(entry_point: str, where: str) -> Any:
    """Resolve "package.module:attr.attr" to the object it names."""
    module_name, _, attr_path = entry_point.partition(":")
    if not module_name or not attr_path:
        raise ConfigError(f"{where}: {entry_point!r} is not 'module:callable'")
    try:
        obj: Any = importlib.import_module(module_name)
    except ImportError as exc:
        raise ConfigError(f"{where}: cannot import module {module_name!r} ({exc})") from None
    path = module_name
    for attr in attr_path.split("."):
        path = f"{path}.{attr}"
        if not hasattr(obj, attr):  # a submodule its package does not import (mpe2:simple_spread_v3)
            with contextlib.suppress(ImportError):
                importlib.import_module(path)
        try:
            obj = getattr(obj, attr)
        except AttributeError:
            raise ConfigError(f"{where}: {module_name!r} has no attribute path {attr_path!r}") from None
    return obj


def make_env(cfg: EnvConfig, where: str = "env") -> ParallelEnv:
    """Call the entry point with its kwargs and check that a Parallel env came back."""
    factory = load_entry_point(cfg.entry_point, f"{where}.entry_point")
    try:
        env = factory(**cfg.kwargs)
    except TypeError as exc:
        raise ConfigError(f"{where}.kwargs: {cfg.entry_point} rejected {cfg.kwargs}: {exc}") from None
    if not (hasattr(env, "possible_agents") and hasattr(env, "step") and hasattr(env, "reset")
            and callable(getattr(env, "action_space", None))):
        raise ConfigError(f"{where}.entry_point: {cfg.entry_point} returned {type(env).__name__}, "
                          "not a PettingZoo ParallelEnv")
    if hasattr(env, "agent_selection"):
        raise ConfigError(f"{where}.entry_point: {cfg.entry_point} is an AEC env; use its parallel_env "
                          "(e.g. 'pettingzoo.sisl:pursuit_v5.parallel_env')")
    return env
