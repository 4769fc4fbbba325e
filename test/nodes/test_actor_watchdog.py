"""The actor's watchdog over DDS: an actor process that stops getting observations (its supervisor is
gone) publishes one stop action for the last step it saw on its stop topic (not a second answer on the
action topic), and goes on answering once they are back."""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import rclpy
from conftest import CONFIG_DIR
from rclpy.executors import SingleThreadedExecutor
from rclpy.task import Future

from marl_bridge.codec import SpaceCodec, flat_of_message, set_message_data
from marl_bridge.config import dump_yaml, load
from marl_bridge.envs.point_team import PointTeamEnv
from marl_bridge.msg import Action, ActorStatus, AgentSpec, Observation
from marl_bridge.nodes.topics import LATCHED_QOS, STREAM_QOS

pytestmark = pytest.mark.ros


def test_actor_publishes_a_stop_action_when_observations_stop(tmp_path: Path) -> None:
    cfg = load(CONFIG_DIR / "point_team.yaml")
    cfg = dataclasses.replace(cfg, safety=dataclasses.replace(cfg.safety, actor_watchdog_s=0.4))
    config = dump_yaml(cfg, tmp_path / "cfg.yaml")
    actor = subprocess.Popen([sys.executable, "-P", "-m", "marl_bridge.cli", "actor", "--config", str(config),
                              "--agent", "robot_0"], env=os.environ.copy())
    env = PointTeamEnv(n_agents=4)
    obs_codec, act_codec = SpaceCodec(env.observation_space("robot_0")), SpaceCodec(env.action_space("robot_0"))
    actions: list[Action] = []
    stops: list[Action] = []
    got_two, ready = Future(), Future()
    try:
        with rclpy.init():
            node = rclpy.create_node("stand_in_supervisor")  # plays the supervisor's side of the topics
            spec = node.create_publisher(AgentSpec, "/team/robot_0/spec", LATCHED_QOS)
            obs_pub = node.create_publisher(Observation, "/team/robot_0/observation", STREAM_QOS)

            def on_action(msg: Action) -> None:
                actions.append(msg)

            def on_stop(msg: Action) -> None:
                stops.append(msg)
                got_two.set_result(True)

            def on_status(msg: ActorStatus) -> None:
                if msg.state == ActorStatus.STATE_READY and not ready.done():
                    ready.set_result(True)

            node.create_subscription(Action, "/team/robot_0/action", on_action, STREAM_QOS)
            node.create_subscription(Action, "/team/robot_0/stop", on_stop, LATCHED_QOS)
            node.create_subscription(ActorStatus, "/team/robot_0/status", on_status, LATCHED_QOS)
            spec.publish(AgentSpec(agent="robot_0", observation_space=obs_codec.json, action_space=act_codec.json,
                                   observation_layout=obs_codec.layout, action_layout=act_codec.layout, run_seed=1))
            executor = SingleThreadedExecutor()
            executor.add_node(node)
            executor.spin_until_future_complete(ready, timeout_sec=30)
            assert ready.done(), "the actor never became ready"
            obs = Observation(agent="robot_0", episode=0, step=3, layout=obs_codec.layout)
            set_message_data(obs, obs_codec.pack(np.array([0.0, 0.0, 1.0, 1.0])))  # at the origin, goal at (1, 1)
            obs_pub.publish(obs)  # ... and then nothing more: the supervisor is "gone"
            executor.spin_until_future_complete(got_two, timeout_sec=30)
            assert got_two.done(), f"actions received: {len(actions)}, no stop"
            executor.shutdown()
    finally:
        actor.terminate()
        actor.wait(timeout=10)
    (first,), (stop,) = actions, stops  # one answer, one stop: nothing more on the action topic
    assert (first.episode, first.step) == (stop.episode, stop.step) == (0, 3)
    assert act_codec.unpack(flat_of_message(first)).tolist() != [0.0, 0.0]  # the greedy policy drives to the goal
    assert act_codec.unpack(flat_of_message(stop)).tolist() == [0.0, 0.0]  # the stop action
