"""Seeded random policy: samples the agent's action space (its legal part, under a mask) from its own RNG."""

from __future__ import annotations

import copy
from typing import Any

import numpy as np
from gymnasium import spaces


def uniform_entropy(space: spaces.Space) -> float:
    """Entropy (nats) of uniform sampling from a discrete space; NaN where it is not a simple count."""
    if isinstance(space, spaces.Discrete):
        return float(np.log(space.n))
    if isinstance(space, spaces.MultiDiscrete):
        return float(np.log(space.nvec).sum())
    if isinstance(space, spaces.MultiBinary):
        return float(np.prod(space.shape) * np.log(2.0))
    return float("nan")


class RandomPolicy:
    def __init__(self, action_space: spaces.Space) -> None:
        self._space = copy.deepcopy(action_space)  # own RNG: never the env's or another agent's
        self.description = "random"
        self.last_entropy = uniform_entropy(action_space)
        self._maskable = isinstance(action_space, spaces.Discrete)

    def reset(self, seed: int) -> None:
        self._space.seed(seed)

    def act(self, observation: Any) -> Any:
        """A uniform sample; where the observation carries PettingZoo's action mask (a dict with
        `action_mask`), a uniform sample of the legal actions."""
        if isinstance(observation, dict) and "action_mask" in observation and self._maskable:
            mask = np.asarray(observation["action_mask"], dtype=np.int8)
            if mask.any():
                return self._space.sample(mask=mask)
        return self._space.sample()


def build(cfg: Any, agent: str, observation_space: spaces.Space, action_space: spaces.Space) -> RandomPolicy:
    return RandomPolicy(action_space)
