"""use_sim_time: the team starts at once (the actors' timers run on the steady clock, since /clock only
starts with the first episode), no actor is reported lost, and the run follows /clock."""

from __future__ import annotations

import dataclasses
import threading

import pytest
from conftest import CONFIG_DIR
from rclpy.experimental import EventsExecutor
from rclpy.parameter import Parameter

from marl_bridge.config import load, with_overrides
from marl_bridge.nodes.actor import ActorNode
from marl_bridge.nodes.params import config_parameters
from marl_bridge.nodes.spin import ros_session, spin_until
from marl_bridge.nodes.supervisor import SupervisorNode
from marl_bridge.nodes.topics import agent_ns

pytestmark = pytest.mark.ros


def test_a_sim_time_team_starts_without_waiting_for_a_clock() -> None:
    cfg = with_overrides(load(CONFIG_DIR / "mujoco_pursuit.yaml"), episodes=1, seed=2)
    cfg = dataclasses.replace(
        cfg, env=dataclasses.replace(cfg.env, kwargs={**cfg.env.kwargs, "n_robots": 2, "capture_robots": 2,
                                                      "max_steps": 40, "render_mode": None}),
        supervisor=dataclasses.replace(cfg.supervisor, startup_timeout_s=20.0))
    params = [*config_parameters(cfg), Parameter("use_sim_time", value=True)]
    with ros_session([]) as stop:
        executor = EventsExecutor()
        supervisor = SupervisorNode(params)
        actors = [ActorNode(params, agent=a, namespace=agent_ns(cfg.supervisor.team, a)) for a in supervisor.agents]
        for node in (supervisor, *actors):
            executor.add_node(node)
        give_up = threading.Timer(60.0, stop.set)  # a stalled start would otherwise hang the test
        give_up.start()
        try:
            assert spin_until(executor, supervisor.done, stop), "the run did not end within 60 s"
            card = supervisor.done.result()
        finally:
            give_up.cancel()
            for node in (*actors, supervisor):
                executor.remove_node(node)
                node.destroy_node()
            executor.shutdown()
    assert card["status"] == "complete"
    events = card["safety_events"]["by_agent"]
    assert not any("actor_lost" in kinds for kinds in events.values()), events  # all ready, none timed out
    assert all(card["policies"][a]["reported"] != "not ready" for a in card["agents"])
    assert card["sim_time_s"] == pytest.approx(card["episodes"][0]["steps"] * 0.05)
