"""Fault-injecting policies, for testing a team's safety handling end to end (and for users' drills).

Each wraps a base policy (zero action by default) and misbehaves on chosen steps of every episode:
`late` sleeps `delay_s` before answering (the actor callback itself is slow, as a stuck robot would be),
`nan` answers with NaN values, `hang` blocks for good at one step;
`slow` takes `delay_s` at every step. Use them as scripted entry points:
    {kind: scripted, entry_point: "marl_bridge.policies.faults:late", kwargs: {steps: [2, 5], delay_s: 0.3}}
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np
from gymnasium import spaces

from marl_bridge.safety.fallback import zero_action


class _Faulty:
    def __init__(self, action_space: spaces.Space, steps: list[int]) -> None:
        self.space = action_space
        self.steps = set(steps)
        self.t = 0

    def reset(self, seed: int) -> None:
        self.t = 0

    def act(self, observation: Any) -> Any:
        step, self.t = self.t, self.t + 1
        return self.fault(zero_action(self.space)) if step in self.steps else zero_action(self.space)

    def fault(self, action: Any) -> Any:
        raise NotImplementedError


class _Late(_Faulty):
    def __init__(self, action_space: spaces.Space, steps: list[int], delay_s: float) -> None:
        super().__init__(action_space, steps)
        self.delay_s = delay_s

    def fault(self, action: Any) -> Any:
        time.sleep(self.delay_s)  # deliberately blocks: this policy plays a hung actor
        return action


class _NaN(_Faulty):
    def fault(self, action: Any) -> Any:
        return np.full(np.shape(action), np.nan)


def late(agent: str, observation_space: spaces.Space, action_space: spaces.Space, *, steps: list[int],
         delay_s: float) -> _Late:
    return _Late(action_space, steps, delay_s)


def nan(agent: str, observation_space: spaces.Space, action_space: spaces.Space, *,
        steps: list[int]) -> _NaN:
    return _NaN(action_space, steps)


class _Hang(_Faulty):
    def fault(self, action: Any) -> Any:
        time.sleep(3600.0)  # deliberately never answers: this policy plays an actor that hangs
        return action


def hang(agent: str, observation_space: spaces.Space, action_space: spaces.Space, *, from_step: int) -> _Hang:
    """Answers normally until `from_step`, then blocks forever in its callback (a hung actor)."""
    return _Hang(action_space, list(range(from_step, from_step + 1)))


class _Slow(_Faulty):
    def __init__(self, action_space: spaces.Space, delay_s: float) -> None:
        super().__init__(action_space, [])
        self.delay_s = delay_s

    def act(self, observation: Any) -> Any:
        time.sleep(self.delay_s)  # a policy whose inference takes delay_s on this robot's computer
        return zero_action(self.space)


def slow(agent: str, observation_space: spaces.Space, action_space: spaces.Space, *, delay_s: float) -> _Slow:
    """Answers every step with the zero action after `delay_s` (a slow but healthy policy)."""
    return _Slow(action_space, delay_s)
