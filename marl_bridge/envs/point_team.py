"""PointTeam: a small numpy team task shipped with the package.

N point robots on a plane each drive to their own goal. It is cheap to step (the trivial env of the
benchmarks), has per-agent rewards, and agents leave the episode at different times (each terminates on
reaching its goal; everyone truncates at `max_cycles`), which exercises the bridge's per-agent handling.
The env owns its RNG: `reset(seed=...)` alone decides the rollout.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from gymnasium import spaces
from pettingzoo.utils.env import ParallelEnv

REWARD_DEFINITION = (
    "per agent: -0.1 * distance to own goal each step, +10 on reaching it (distance < goal_radius); "
    "no team term"
)


class PointTeamEnv(ParallelEnv[str, np.ndarray, np.ndarray]):
    """N holonomic points; action = velocity in [-1, 1]^2; observation = own position, own goal,
    padded with zeros to `obs_size` (so benchmarks can choose the message size)."""

    metadata = {"name": "point_team_v0", "render_modes": [], "is_parallelizable": True}

    def __init__(self, n_agents: int = 3, max_cycles: int = 50, obs_size: int = 4,
                 goal_radius: float = 0.15, dt: float = 0.1) -> None:
        if n_agents < 1:
            raise ValueError(f"n_agents must be >= 1, got {n_agents}")
        if obs_size < 4:
            raise ValueError(f"obs_size must be >= 4 (position and goal), got {obs_size}")
        self.possible_agents = [f"robot_{i}" for i in range(n_agents)]
        self.agents: list[str] = []
        self.max_cycles = max_cycles
        self.goal_radius = goal_radius
        self.dt = dt
        self._obs_space = spaces.Box(-np.inf, np.inf, (obs_size,), np.float32)
        self._act_space = spaces.Box(-1.0, 1.0, (2,), np.float32)
        self._rng = np.random.default_rng()
        self._pos = np.zeros((n_agents, 2))
        self._goal = np.zeros((n_agents, 2))
        self._t = 0
        self.render_mode = None

    def observation_space(self, agent: str) -> spaces.Box:
        return self._obs_space

    def action_space(self, agent: str) -> spaces.Box:
        return self._act_space

    def _obs(self, i: int) -> np.ndarray:
        out = np.zeros(self._obs_space.shape, np.float32)
        out[:2] = self._pos[i]
        out[2:4] = self._goal[i]
        return out

    def reset(self, seed: int | None = None, options: dict[str, Any] | None = None
              ) -> tuple[dict[str, np.ndarray], dict[str, dict[str, Any]]]:
        if seed is not None:
            self._rng = np.random.default_rng(seed)
        n = len(self.possible_agents)
        self._pos = self._rng.uniform(-1.0, 1.0, (n, 2))
        self._goal = self._rng.uniform(-1.0, 1.0, (n, 2))
        self._t = 0
        self.agents = list(self.possible_agents)
        obs = {a: self._obs(i) for i, a in enumerate(self.possible_agents)}
        return obs, {a: {} for a in self.agents}

    def step(self, actions: dict[str, np.ndarray]) -> tuple[
            dict[str, np.ndarray], dict[str, float], dict[str, bool], dict[str, bool], dict[str, dict]]:
        self._t += 1
        obs, rewards, terms, truncs, infos = {}, {}, {}, {}, {}
        for agent in self.agents:
            i = self.possible_agents.index(agent)
            act = np.clip(np.asarray(actions.get(agent, np.zeros(2)), dtype=np.float64), -1.0, 1.0)
            self._pos[i] += act * self.dt
            dist = float(np.linalg.norm(self._pos[i] - self._goal[i]))
            reached = dist < self.goal_radius
            rewards[agent] = -0.1 * dist + (10.0 if reached else 0.0)
            terms[agent] = reached
            truncs[agent] = self._t >= self.max_cycles and not reached
            obs[agent] = self._obs(i)
            infos[agent] = {"distance": dist}
        self.agents = [a for a in self.agents if not (terms[a] or truncs[a])]
        return obs, rewards, terms, truncs, infos

    def state(self) -> np.ndarray:
        return np.concatenate([self._pos.ravel(), self._goal.ravel()]).astype(np.float32)


def parallel_env(**kwargs: Any) -> PointTeamEnv:
    return PointTeamEnv(**kwargs)


def greedy_policy(agent: str, observation_space: Any, action_space: Any, **kwargs: Any) -> Any:
    """Scripted policy for PointTeam: head straight for the goal (entry point for `kind: scripted`)."""
    gain = float(kwargs.get("gain", 2.0))

    def act(obs: np.ndarray) -> np.ndarray:
        return np.clip(gain * (obs[2:4] - obs[:2]), -1.0, 1.0).astype(np.float32)

    return act
