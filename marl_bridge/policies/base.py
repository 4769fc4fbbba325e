"""The policy interface actors call, and the factory that builds one from a PolicyConfig."""

from __future__ import annotations

from typing import Any, Protocol

from gymnasium import spaces

from marl_bridge.config import PolicyConfig


class Policy(Protocol):
    """Maps one agent's local observation to its action. `reset(seed)` starts each episode, so a
    policy's randomness is a function of (run seed, agent, episode) and nothing else.

    A policy that knows its action distribution may also have a `last_entropy` attribute (float, present
    from construction on): the actor sends it with each action (Action.entropy; NaN for the others)."""

    description: str

    def reset(self, seed: int) -> None: ...

    def act(self, observation: Any) -> Any: ...


def make_policy(cfg: PolicyConfig, agent: str, observation_space: spaces.Space,
                action_space: spaces.Space) -> Policy:
    """Build the policy of kind `cfg.kind` (built in or registered by entry point) for `agent`."""
    from marl_bridge.policies.registry import policy_kind

    where = f"policy for {agent!r}"
    kind = policy_kind(cfg.kind, where)
    kind.validate(cfg, where)
    return kind.build(cfg, agent, observation_space, action_space)
