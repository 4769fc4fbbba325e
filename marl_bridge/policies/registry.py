"""Policy kinds by name: the built-in ones and any a third party registers by entry point.

A kind is a `PolicyKind`: `validate(cfg, where)` checks a config statically (no files opened), `build(cfg,
agent, observation_space, action_space)` returns a `Policy`. Another package adds a kind without editing
this one by declaring an entry point in the group `marl_bridge.policies` that names a PolicyKind:

    # the other package's pyproject.toml
    [project.entry-points."marl_bridge.policies"]
    my_kind = "my_package.policy:KIND"

`marl_bridge.policies.contract.policy_contract_test` is the test an addition runs to show it fits.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from importlib import import_module
from typing import TYPE_CHECKING, Any

from gymnasium import spaces

from marl_bridge.config import ConfigError, PolicyConfig
from marl_bridge.plugins import load_group

if TYPE_CHECKING:
    from marl_bridge.policies.base import Policy

ENTRY_POINT_GROUP = "marl_bridge.policies"


def _no_checks(cfg: PolicyConfig, where: str) -> None:
    """A kind whose config needs nothing beyond `kind`."""


@dataclass(frozen=True)
class PolicyKind:
    """One kind of policy: how to check its config and how to build it for an agent."""

    name: str
    build: Callable[[PolicyConfig, str, spaces.Space, spaces.Space], Policy]
    validate: Callable[[PolicyConfig, str], None] = _no_checks
    summary: str = ""  # one line for error messages that list the kinds


def _lazy(module: str, attr: str) -> Callable[..., Any]:
    """Import the kind's module only when a policy of that kind is built (onnxruntime is not free)."""
    def call(*args: Any) -> Any:
        return getattr(import_module(module), attr)(*args)
    return call


def _needs_entry_point(cfg: PolicyConfig, where: str) -> None:
    if ":" not in cfg.entry_point:
        raise ConfigError(f"{where}.entry_point must be 'module:callable' for a {cfg.kind} policy")


def _needs_path(suffix: str) -> Callable[[PolicyConfig, str], None]:
    def check(cfg: PolicyConfig, where: str) -> None:
        if not cfg.path:
            raise ConfigError(f"{where}.path must name a {suffix} file for a {cfg.kind} policy")
    return check


BUILT_IN: dict[str, PolicyKind] = {
    "random": PolicyKind("random", _lazy("marl_bridge.policies.random_policy", "build"),
                         summary="uniform samples of the action space from the agent's own seeded RNG"),
    "scripted": PolicyKind("scripted", _lazy("marl_bridge.policies.scripted", "ScriptedPolicy"),
                           _needs_entry_point, "a factory given by entry point"),
    "mlp": PolicyKind("mlp", _lazy("marl_bridge.policies.mlp", "load"), _needs_path(".npz"),
                      "numpy MLP from an .npz of weights"),
    "onnx": PolicyKind("onnx", _lazy("marl_bridge.policies.onnx_policy", "load"),
                       _lazy("marl_bridge.policies.onnx_policy", "validate"),
                       "an ONNX model run by onnxruntime on the CPU"),
}


@functools.cache
def policy_kinds() -> dict[str, PolicyKind]:
    """Every kind by name: built-in first, then the entry points of the group (a clash is an error)."""
    return load_group(ENTRY_POINT_GROUP, BUILT_IN, PolicyKind, "policy kind")


def policy_kind(name: str, where: str) -> PolicyKind:
    kinds = policy_kinds()
    if name not in kinds:
        known = "; ".join(f"{k} ({kinds[k].summary})" if kinds[k].summary else k for k in sorted(kinds))
        raise ConfigError(f"{where}.kind is {name!r}; expected one of: {known} (more kinds come from entry "
                          f"points in the group {ENTRY_POINT_GROUP})")
    return kinds[name]
