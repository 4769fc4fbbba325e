"""A Parallel env whose second agent joins after reset (the Parallel API allows it).

`scout` is there from reset; `helper` appears at step `join_at` and both truncate at `max_cycles`.
Rewards depend on the actions, so a wrong or missing action shows in the returns.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from gymnasium import spaces
from pettingzoo.utils.env import ParallelEnv


class LateJoiner(ParallelEnv[str, np.ndarray, np.ndarray]):
    metadata = {"name": "late_joiner_v0", "render_modes": [], "is_parallelizable": True}

    def __init__(self, join_at: int = 2, max_cycles: int = 6) -> None:
        self.join_at, self.max_cycles = join_at, max_cycles
        self.possible_agents = ["scout", "helper"]
        self.agents: list[str] = []
        self._obs = spaces.Box(-10.0, 10.0, (2,), np.float64)
        self._act = spaces.Box(-1.0, 1.0, (1,), np.float32)
        self._rng = np.random.default_rng()

    def observation_space(self, agent: str) -> spaces.Box:
        return self._obs

    def action_space(self, agent: str) -> spaces.Box:
        return self._act

    def _observe(self) -> dict[str, np.ndarray]:
        return {a: np.array([self._t, self._x[i]], dtype=np.float64) for i, a in enumerate(self.possible_agents)
                if a in self.agents}

    def reset(self, seed: int | None = None, options: dict[str, Any] | None = None
              ) -> tuple[dict[str, np.ndarray], dict[str, dict]]:
        if seed is not None:
            self._rng = np.random.default_rng(seed)
        self._t = 0
        self._x = self._rng.uniform(-1, 1, 2)
        self.agents = ["scout"]
        return self._observe(), {"scout": {}}

    def step(self, actions: dict[str, Any]) -> tuple[dict, dict, dict, dict, dict]:
        acting = list(self.agents)
        for i, a in enumerate(self.possible_agents):
            if a in acting:
                self._x[i] = np.clip(self._x[i] + float(np.asarray(actions[a]).reshape(-1)[0]), -10, 10)
        self._t += 1
        rewards = {a: -abs(float(self._x[i])) for i, a in enumerate(self.possible_agents) if a in acting}
        done = self._t >= self.max_cycles
        terms = dict.fromkeys(acting, False)
        truncs = dict.fromkeys(acting, done)
        infos: dict[str, dict] = {a: {} for a in acting}
        self.agents = [] if done else list(self.possible_agents if self._t >= self.join_at else acting)
        return self._observe(), rewards, terms, truncs, infos


def parallel_env(**kwargs: Any) -> LateJoiner:
    return LateJoiner(**kwargs)


def policy(agent: str, observation_space: Any, action_space: Any) -> Any:
    """Scripted policy: drive the coordinate toward 0 (deterministic, for the equivalence test)."""
    def act(observation: np.ndarray) -> np.ndarray:
        return np.array([-0.5 * float(observation[1])], dtype=np.float32)
    return act


class SequenceObservations(LateJoiner):
    """The same env declaring a gymnasium Sequence observation space, which the bridge cannot carry."""

    def observation_space(self, agent: str) -> spaces.Sequence:
        return spaces.Sequence(spaces.Box(-10.0, 10.0, (2,), np.float64))


def sequence_env(**kwargs: Any) -> SequenceObservations:
    return SequenceObservations(**kwargs)


def broken_env(**kwargs: Any) -> LateJoiner:
    """An entry point whose factory fails the way a missing optional dependency does."""
    raise ModuleNotFoundError("No module named 'Box2D'")


class FailsMidRun(LateJoiner):
    """Raises inside `step` at step `fail_step` of episode `fail_episode` (an env bug mid-run)."""

    def __init__(self, fail_episode: int = 1, fail_step: int = 2, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.fail_episode, self.fail_step, self._episode = fail_episode, fail_step, -1

    def reset(self, seed: int | None = None, options: dict[str, Any] | None = None
              ) -> tuple[dict[str, np.ndarray], dict[str, dict]]:
        self._episode += 1
        return super().reset(seed=seed, options=options)

    def step(self, actions: dict[str, Any]) -> tuple[dict, dict, dict, dict, dict]:
        if (self._episode, self._t) == (self.fail_episode, self.fail_step):
            raise RuntimeError("simulated env bug")
        return super().step(actions)


def failing_env(**kwargs: Any) -> FailsMidRun:
    return FailsMidRun(**kwargs)


def crashing_policy(agent: str, observation_space: Any, action_space: Any) -> Any:
    """A policy factory that fails where the actor builds it (a robot missing a dependency)."""
    raise ModuleNotFoundError("No module named 'robot_only_dependency'")
