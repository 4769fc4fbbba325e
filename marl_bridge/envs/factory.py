"""Build a PettingZoo env (Parallel or AEC) from an `EnvConfig` entry point ("module:callable")."""

from __future__ import annotations

import contextlib
import importlib
from typing import Any

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
        except ImportError as exc:  # a lazily imported submodule whose optional dependency is missing
            raise ConfigError(f"{where}: cannot import {path!r} ({exc})") from None
    return obj


def make_env(cfg: EnvConfig, where: str = "env", *, backend: str | None = None,
             hardware: HardwareConfig | None = None) -> Any:
    """Call the entry point with its kwargs and check that a PettingZoo env (Parallel or AEC) came back.

    `backend` (default: cfg.backend) goes to robot-team worlds as their `backend` argument; a backend that
    is a decision (auto) must be resolved by the supervisor before this call.
    """
    from marl_bridge.envs.api import check_env
    from marl_bridge.envs.backends import backend as find_backend

    factory = load_entry_point(cfg.entry_point, f"{where}.entry_point")
    backend = cfg.backend if backend is None else backend
    if backend and find_backend(backend, f"{where}.backend").body is None:
        raise ConfigError(f"{where}.backend: {backend!r} is decided by the supervisor; outside it use "
                          f"{find_backend(backend, where).fallback}")
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
    except Exception as exc:  # a missing optional dependency, a deprecated env, a bug in the factory
        raise ConfigError(f"{where}.entry_point: {cfg.entry_point} failed: {type(exc).__name__}: {exc}") from None
    check_env(env, cfg.entry_point, f"{where}.entry_point")
    return env
