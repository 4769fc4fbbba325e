"""Build a PettingZoo ParallelEnv from an `EnvConfig` entry point ("module:callable")."""

from __future__ import annotations

import contextlib
import importlib
from typing import Any

from pettingzoo.utils.env import ParallelEnv

from marl_bridge.config import ConfigError, EnvConfig, HardwareConfig


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


def make_env(cfg: EnvConfig, where: str = "env", *, backend: str | None = None,
             hardware: HardwareConfig | None = None) -> ParallelEnv:
    """Call the entry point with its kwargs and check that a Parallel env came back.

    `backend` (default: cfg.backend) goes to robot-team worlds as their `backend` argument ("auto" is
    the supervisor's decision and must be resolved to mujoco or hardware before this call).
    """
    factory = load_entry_point(cfg.entry_point, f"{where}.entry_point")
    backend = cfg.backend if backend is None else backend
    if backend == "auto":
        raise ConfigError(f"{where}.backend: 'auto' is decided by the supervisor; outside it use mujoco")
    extra = {"backend": backend, "hardware": hardware} if backend else {}
    try:
        env = factory(**cfg.kwargs, **extra)
    except TypeError as exc:
        if extra and "backend" in str(exc):
            raise ConfigError(f"{where}.backend: {cfg.entry_point} is not a robot-team world and takes no "
                              "backend; leave env.backend out") from None
        raise ConfigError(f"{where}.kwargs: {cfg.entry_point} rejected {cfg.kwargs}: {exc}") from None
    except ValueError as exc:
        raise ConfigError(f"{where}.kwargs: {cfg.entry_point} refused {cfg.kwargs}: {exc}") from None
    if not (hasattr(env, "possible_agents") and hasattr(env, "step") and hasattr(env, "reset")
            and callable(getattr(env, "action_space", None))):
        raise ConfigError(f"{where}.entry_point: {cfg.entry_point} returned {type(env).__name__}, "
                          "not a PettingZoo ParallelEnv")
    if hasattr(env, "agent_selection"):
        raise ConfigError(f"{where}.entry_point: {cfg.entry_point} is an AEC env; use its parallel_env "
                          "(e.g. 'pettingzoo.sisl:pursuit_v5.parallel_env')")
    return env
