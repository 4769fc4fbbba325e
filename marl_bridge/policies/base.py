"""The policy interface actors call, and the factory that builds one from a PolicyConfig."""

from __future__ import annotations

from typing import Any, Protocol

from gymnasium import spaces

from marl_bridge.config import ConfigError, PolicyConfig


class Policy(Protocol):
    """Maps one agent's local observation to its action. `reset(seed)` starts each episode, so a
    policy's randomness is a function of (run seed, agent, episode) and nothing else.

    A policy that samples from a distribution may also have a `last_entropy` attribute (float, present
    from construction on): the actor sends it with each action (Action.entropy; NaN for the others)."""

    description: str

    def reset(self, seed: int) -> None: ...

    def act(self, observation: Any) -> Any: ...


def make_policy(cfg: PolicyConfig, agent: str, observation_space: spaces.Space,
                action_space: spaces.Space) -> Policy:
    """Build the policy plugin `cfg.kind` for `agent`."""
    if cfg.kind == "random":
        from marl_bridge.policies.random_policy import RandomPolicy
        return RandomPolicy(action_space)
    if cfg.kind == "scripted":
        from marl_bridge.policies.scripted import ScriptedPolicy
        return ScriptedPolicy(cfg, agent, observation_space, action_space)
    if cfg.kind == "mlp":
        from marl_bridge.policies.mlp import MlpPolicy
        return MlpPolicy.load(cfg, agent, observation_space, action_space)
    raise ConfigError(f"policy for {agent!r}: unknown kind {cfg.kind!r}")
