"""Scripted policy given by entry point.

The entry point is called as `factory(agent, observation_space, action_space, **kwargs)` and returns
either an object with `act(obs)` (and optionally `reset(seed)`) or a plain function `obs -> action`.
"""

from __future__ import annotations

from typing import Any

from gymnasium import spaces

from marl_bridge.config import ConfigError, PolicyConfig
from marl_bridge.envs.factory import load_entry_point


class ScriptedPolicy:
    def __init__(self, cfg: PolicyConfig, agent: str, observation_space: spaces.Space,
                 action_space: spaces.Space) -> None:
        factory = load_entry_point(cfg.entry_point, f"policy for {agent!r}: entry_point")
        impl = factory(agent, observation_space, action_space, **cfg.kwargs)
        if callable(getattr(impl, "act", None)):
            self._act = impl.act
            self._reset = getattr(impl, "reset", None)
        elif callable(impl):
            self._act, self._reset = impl, None
        else:
            raise ConfigError(f"policy for {agent!r}: {cfg.entry_point} returned {type(impl).__name__}; "
                              "expected an object with act(obs) or a function obs -> action")
        self.description = f"scripted({cfg.entry_point})"

    def reset(self, seed: int) -> None:
        if self._reset is not None:
            self._reset(seed)

    def act(self, observation: Any) -> Any:
        return self._act(observation)
