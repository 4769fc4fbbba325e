"""Small scripted policies for any env (entry points for `kind: scripted`)."""

from __future__ import annotations

from typing import Any

from gymnasium import spaces

from marl_bridge.safety.fallback import zero_action


def zero(agent: str, observation_space: spaces.Space, action_space: spaces.Space) -> Any:
    """Always the space's zero/no-op action: a robot that holds still (and the cheapest policy)."""
    action = zero_action(action_space)
    return lambda observation: action
