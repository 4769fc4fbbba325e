"""Every robot world the package ships keeps the RobotWorld contract (envs/contract.py)."""

from __future__ import annotations

import pytest

from marl_bridge.envs.contract import robot_world_contract_test
from marl_bridge.envs.robots import handoff_env, pursuit_env


@pytest.mark.parametrize("make", [
    lambda: pursuit_env(n_robots=3, max_steps=40),
    lambda: pursuit_env(n_robots=2, max_steps=40, drive="differential", obstacles=[(1.0, 1.0, 0.3)]),
    lambda: handoff_env(n_robots=4, max_steps=40),
], ids=["pursuit", "pursuit_diff_drive", "handoff"])
def test_shipped_worlds_keep_the_contract(make) -> None:
    robot_world_contract_test(make)


def test_the_contract_catches_a_world_that_is_not_one() -> None:
    from marl_bridge.envs.point_team import parallel_env

    with pytest.raises(AssertionError, match="does not implement"):
        robot_world_contract_test(lambda: parallel_env(n_agents=2))
