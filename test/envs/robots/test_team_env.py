"""Both robot tasks are PettingZoo-compliant, seeded and deterministic at several team sizes."""

from __future__ import annotations

import numpy as np
import pytest
from pettingzoo.test import parallel_api_test, parallel_seed_test

from marl_bridge.envs.robots import handoff_env, pursuit_env
from marl_bridge.envs.robots.scripted import handoff_policy, pursuit_policy

TASKS = {"pursuit": pursuit_env, "handoff": handoff_env}


@pytest.mark.parametrize("n", [2, 4, 16])
@pytest.mark.parametrize("task", sorted(TASKS))
def test_parallel_api_and_seed(task: str, n: int) -> None:
    factory = TASKS[task]
    parallel_api_test(factory(n_robots=n, max_steps=60), num_cycles=80)
    parallel_seed_test(lambda: factory(n_robots=n, max_steps=60))


def test_differential_drive_has_two_actions_and_turns() -> None:
    env = pursuit_env(n_robots=2, drive="differential")
    assert env.action_space("robot_0").shape == (2,)
    env.reset(seed=1)
    yaw0 = env.state()[2]
    for _ in range(10):
        env.step({a: np.array([0.0, 1.0], np.float32) for a in env.agents})
    assert abs(env.state()[2] - yaw0) > 0.5  # turned in place at up to max_angular


def test_observations_are_local_and_in_the_robot_frame() -> None:
    env = pursuit_env(n_robots=2, sensing_radius=1.0)
    _obs, _ = env.reset(seed=3)
    env.task.target = env.body.poses()[0, :2] + np.array([0.5, 0.0])  # half a metre east of robot_0
    yaw = env.body.poses()[0, 2]
    o = env.task.observe(env.body.poses(), env.body.twists())[0]
    np.testing.assert_allclose(o[7:9], [0.5 * np.cos(yaw), -0.5 * np.sin(yaw)], atol=1e-9)
    assert o[9] == 1.0
    env.task.target = env.body.poses()[0, :2] + np.array([3.0, 0.0])  # beyond the sensing radius
    o = env.task.observe(env.body.poses(), env.body.twists())[0]
    assert list(o[7:10]) == [0.0, 0.0, 0.0]


def test_contacts_are_counted_per_robot_when_driven_into_each_other() -> None:
    env = pursuit_env(n_robots=2, collision_penalty=1.0, max_steps=200)
    env.reset(seed=0)
    env.body.start(np.array([[-1.0, 0.0, 0.0], [1.0, 0.0, np.pi]]))  # facing each other
    hits = {a: 0 for a in env.possible_agents}
    for _ in range(60):
        _, _rewards, _, _, infos = env.step({a: np.array([1.0, 0.0, 0.0], np.float32) for a in env.agents})
        for a in infos:
            hits[a] += infos[a]["collisions"]
    assert hits["robot_0"] >= 1 and hits["robot_1"] >= 1
    gap = np.hypot(*(env.body.poses()[0, :2] - env.body.poses()[1, :2]))
    assert gap > 2 * env.body.robot_radius - 0.05  # real contact: they push, they do not pass through


def test_user_mjcf_without_the_robot_contract_is_refused(tmp_path) -> None:
    bad = tmp_path / "bad.xml"
    bad.write_text("<mujoco><worldbody><body name='robot_0'><joint name='robot_0_x' type='slide'/>"
                   "<geom size='0.1'/></body></worldbody></mujoco>")
    with pytest.raises(ValueError, match=r"robot_0_y.*r_x, r_y, r_yaw"):
        pursuit_env(n_robots=2, mjcf_path=str(bad))


def test_handoff_order_picker_ends_first_then_carrier_delivers() -> None:
    env = handoff_env(n_robots=2)
    policies = {a: handoff_policy(a, env.observation_space(a), env.action_space(a)) for a in env.possible_agents}
    obs, _ = env.reset(seed=5)
    ended: dict[str, int] = {}
    events: list[tuple[int, str, str]] = []
    t = 0
    while env.agents:
        t += 1
        obs, _, terms, _, infos = env.step({a: policies[a](obs[a]) for a in env.agents})
        for a, info in infos.items():
            if info["event"]:
                events.append((t, a, info["event"]))
            if terms[a]:
                ended[a] = t
    kinds = [e for _, _, e in events]
    assert kinds == ["pick", "handoff", "handoff", "delivery"], events
    assert ended["picker_0"] < ended["carrier_0"]


@pytest.mark.parametrize(("factory", "policy", "n"), [(pursuit_env, pursuit_policy, 4),
                                                      (handoff_env, handoff_policy, 4)])
def test_scripted_baselines_solve_most_episodes(factory, policy, n: int) -> None:
    env = factory(n_robots=n)
    policies = {a: policy(a, env.observation_space(a), env.action_space(a)) for a in env.possible_agents}
    solved = 0
    for seed in range(10):
        obs, _ = env.reset(seed=seed)
        done_by_term = True
        while env.agents:
            obs, _, _terms, truncs, _ = env.step({a: policies[a](obs[a]) for a in env.agents})
            done_by_term = done_by_term and not any(truncs.values())
        solved += done_by_term
    assert solved >= 7, f"scripted baseline solved {solved}/10"
