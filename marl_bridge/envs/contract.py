"""The contract a robot world keeps, for a new body, backend or task (in the spirit of PettingZoo's
`parallel_api_test`):

    from marl_bridge.envs.contract import robot_world_contract_test
    robot_world_contract_test(lambda: my_task_env(backend="my_backend"))

It runs PettingZoo's own Parallel API and seed tests, then checks what the supervisor relies on beyond
them: the env is a `RobotWorld` on a registered backend; robot states come in possible_agents order,
finite, one pose and one twist per robot; commands map to the body frame and back within the action
space; `apply` then `step` is a step; `halt` leaves every robot standing at the next step; events drain
once; the trace and settings say what the run card needs; a simulated backend keeps time and its
rollouts are a function of the seed alone.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from pettingzoo.test import parallel_api_test, parallel_seed_test

from marl_bridge.envs.backends import backend
from marl_bridge.envs.world import RobotWorld, world_of
from marl_bridge.safety.events import SafetyEventData


def _rollout(env: Any, seed: int, steps: int) -> list[np.ndarray]:
    env.reset(seed=seed)
    rng = np.random.default_rng(seed)
    poses = []
    for _ in range(steps):
        if not env.agents:
            break
        spaces = {a: env.action_space(a) for a in env.agents}
        env.step({a: rng.uniform(s.low, s.high).astype(s.dtype) for a, s in spaces.items()})
        poses.append(env.robot_states()[0].copy())
    return poses


def robot_world_contract_test(make_env: Callable[[], Any], steps: int = 30) -> None:
    env = make_env()
    world = world_of(env)
    assert isinstance(world, RobotWorld), f"{type(env).__name__} does not implement marl_bridge.envs.world.RobotWorld"
    entry = backend(world.backend, "robot world")
    parallel_api_test(make_env(), num_cycles=steps)
    parallel_seed_test(make_env)

    n = len(world.possible_agents)
    world.reset(seed=1)
    poses, twists = world.robot_states()
    assert poses.shape == (n, 3) and twists.shape == (n, 3), "robot_states: one (x, y, yaw) and one twist per robot"
    assert np.isfinite(poses).all(), "robot_states: poses must be finite after reset"
    assert world.control_period_s > 0 and world.robot_radius > 0
    assert world.missing_robots() == [] or not entry.simulated, "a simulated world has every robot"

    rng = np.random.default_rng(0)
    space = world.action_space(world.possible_agents[0])
    actions = rng.uniform(space.low, space.high, (n, *space.shape)).astype(space.dtype)
    back = world.to_action(world.to_body(actions))
    assert back.shape == actions.shape and np.allclose(back, actions, atol=1e-5), "to_action(to_body(a)) != a"

    full = {a: np.asarray(space.high, space.dtype) for a in world.possible_agents}
    world.apply(full)  # real time: commands first, the step at the tick
    world.step(full)
    world.step(full)
    moving = np.abs(world.robot_states()[1]).sum()
    world.halt()
    world.step({a: np.zeros(space.shape, space.dtype) for a in world.agents})
    if entry.simulated:  # (hardware robots stop on their own time)
        assert moving > 0 and np.abs(world.robot_states()[1]).sum() < 0.5 * moving, "halt must stop the robots"

    events = world.drain_events()
    assert isinstance(events, list) and all(isinstance(e, SafetyEventData) for e in events)
    assert world.drain_events() == [], "drain_events must empty what it returned"
    trace = world.episode_trace()
    assert {"agents", "robots", "arena_half"} <= trace.keys()
    assert world.settings.get("backend") == world.backend, "settings must name the backend (run card)"

    if entry.simulated:
        assert isinstance(world.sim_time, float) and world.sim_time > 0, "a simulated world keeps sim_time"
        a, b = _rollout(make_env(), 3, steps), _rollout(make_env(), 3, steps)
        assert len(a) == len(b) and all(np.array_equal(x, y) for x, y in zip(a, b, strict=True)), \
            "the same seed must give the same robot trajectory"
    world.close()
