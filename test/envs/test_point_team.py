"""PettingZoo compliance of the envs the package ships."""

from __future__ import annotations

import numpy as np
from pettingzoo.test import parallel_api_test, parallel_seed_test

from marl_bridge.envs.point_team import PointTeamEnv, parallel_env


def test_parallel_api() -> None:
    parallel_api_test(parallel_env(n_agents=3, max_cycles=30), num_cycles=100)


def test_seed_determinism() -> None:
    parallel_seed_test(lambda: parallel_env(n_agents=3, max_cycles=20))


def test_agents_leave_at_different_times() -> None:
    env = PointTeamEnv(n_agents=3, max_cycles=40)
    env.reset(seed=3)
    left: dict[str, int] = {}
    t = 0
    while env.agents:
        t += 1
        obs = {a: env._obs(env.possible_agents.index(a)) for a in env.agents}
        env.step({a: np.clip(2 * (o[2:4] - o[:2]), -1, 1) for a, o in obs.items()})
        for a in env.possible_agents:
            if a not in env.agents and a not in left:
                left[a] = t
    assert len(set(left.values())) > 1
