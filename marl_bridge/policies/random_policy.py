"""Seeded random policy: samples the agent's action space from its own RNG."""

from __future__ import annotations

import copy
from typing import Any

from gymnasium import spaces


class RandomPolicy:
    def __init__(self, action_space: spaces.Space) -> None:
        self._space = copy.deepcopy(action_space)  # own RNG: never the env's or another agent's
        self.description = "random"

    def reset(self, seed: int) -> None:
        self._space.seed(seed)

    def act(self, observation: Any) -> Any:
        return self._space.sample()
