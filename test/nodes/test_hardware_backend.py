"""The hardware path over real DDS: the adapter against simulated bases in their own processes, and
the automatic fallback to MuJoCo when no odometry appears.

What is compared with the direct MuJoCo rollout (same config and seed): per-agent termination, episode
length within 5 control steps and return within 0.5. Timing differs (real-time ticks, odometry at
50 Hz from separate single-robot worlds, no inter-robot contacts in those), so bit-equality is not
expected; the handoff team of one pair never touches, which keeps the comparison about the adapter.
"""

from __future__ import annotations

import dataclasses
import os
import signal
import subprocess
from pathlib import Path

import pytest
from conftest import CONFIG_DIR
from geometry_msgs.msg import Twist
from rclpy.node import Node
from rclpy.task import Future

from marl_bridge.cli.team import die_with_parent, run_team
from marl_bridge.config import RunConfig, load, with_overrides
from marl_bridge.envs.robots.drivers import driver_commands
from marl_bridge.envs.robots.hardware import CMD_QOS
from marl_bridge.rollout import direct_rollout

pytestmark = pytest.mark.ros


def _cfg(**hardware: object) -> RunConfig:
    cfg = with_overrides(load(CONFIG_DIR / "hardware_handoff.yaml"), topology="single")
    assert cfg.hardware is not None
    return dataclasses.replace(cfg, hardware=dataclasses.replace(cfg.hardware, **hardware))


def _backend(cfg: RunConfig, backend: str) -> RunConfig:
    return dataclasses.replace(cfg, env=dataclasses.replace(cfg.env, backend=backend))


class CmdVelWatch(Node):
    """Every cmd_vel the robots get; done once the run is over and a zero command reached each robot."""

    def __init__(self, robots: list[str]) -> None:
        super().__init__("cmd_vel_watch")
        self.last: dict[str, Twist] = {}
        self.zeroed = Future()
        self.over = False
        for r in robots:
            self.create_subscription(Twist, f"/{r}/cmd_vel", self._callback(r), CMD_QOS)

    def _callback(self, robot: str):
        def callback(msg: Twist) -> None:
            self.last[robot] = msg
            self.check()
        return callback

    def check(self) -> None:
        zero = all(m.linear.x == m.linear.y == m.angular.z == 0.0 for m in self.last.values())
        if self.over and len(self.last) == 2 and zero and not self.zeroed.done():
            self.zeroed.set_result(True)


def test_hardware_adapter_on_driver_processes_reproduces_the_direct_returns(tmp_path: Path) -> None:
    cfg = _cfg(wait_s=20.0)  # backend auto: with every robot's odometry present it must pick hardware
    drivers = [subprocess.Popen(c, env=os.environ.copy(), preexec_fn=die_with_parent)
               for c in driver_commands(cfg, rate=50.0)]
    watch: list[CmdVelWatch] = []

    def extra(_s: object) -> list[CmdVelWatch]:
        watch.append(CmdVelWatch(["picker_0", "carrier_0"]))
        return watch

    def drain(_card: dict) -> Future:
        watch[0].over = True
        watch[0].check()
        return watch[0].zeroed

    try:
        card = run_team(cfg, tmp_path, extra_nodes=extra, drain=drain)
    finally:
        for p in drivers:
            p.send_signal(signal.SIGINT)
        codes = [p.wait(timeout=10) for p in drivers]
    assert codes == [0, 0]
    assert card["status"] == "complete"
    assert card["backend"] == {"requested": "auto", "used": "hardware", "why": "odometry from every robot"}
    assert card["mode"] == "realtime" and card["collisions"] is None  # no bumpers on the hardware path
    (direct,) = direct_rollout(_backend(cfg, "mujoco"), episodes=1)
    (ran,) = card["episodes"]
    for agent in direct.agents:
        assert ran["terminated"][agent] == direct.terminated[agent], agent
        assert abs(ran["lengths"][agent] - direct.lengths[agent]) <= 5, (agent, ran["lengths"], direct.lengths)
        assert abs(ran["returns"][agent] - direct.returns[agent]) <= 0.5, (agent, ran["returns"], direct.returns)
    assert all(v["n"] > 0 for v in card["action_latency_ms"].values())
    assert watch[0].zeroed.done()  # the run ended: every robot's last command is a stop


def test_auto_falls_back_to_mujoco_when_no_robot_answers(tmp_path: Path) -> None:
    cfg = _cfg(wait_s=1.0, odom_topic="/nobody/{robot}/odom")
    cfg = dataclasses.replace(cfg, env=dataclasses.replace(cfg.env, kwargs={**cfg.env.kwargs, "max_steps": 20}))
    card = run_team(cfg, tmp_path)
    assert card["status"] == "complete"
    assert card["backend"]["used"] == "mujoco"
    assert card["backend"]["why"].startswith("fallback: no odometry from picker_0, carrier_0 within 1.0 s")
    assert card["safety_events"]["by_agent"]["<team>"] == {"backend_fallback": 1}
    assert card["sim_time_s"] == pytest.approx(20 * 0.05)  # the MuJoCo world ran the episode
    assert (tmp_path / "episode_000_trajectory.png").stat().st_size > 0


def test_hardware_without_odometry_ends_the_run_with_a_clear_failure(tmp_path: Path) -> None:
    cfg = _backend(_cfg(wait_s=1.0, odom_topic="/nobody/{robot}/odom"), "hardware")
    card = run_team(cfg, tmp_path)
    assert card["status"] == "failed: no odometry from picker_0, carrier_0 within 1.0 s"
    assert card["episodes"] == [] and card["backend"]["used"] == "none"
    assert card["safety_events"]["by_agent"]["<team>"] == {"stale_observation": 1}


class ForeignCommander(Node):
    """Once the team runs, starts publishing on carrier_0's cmd_vel and picker_0's odometry (a node the
    team does not know); releases the e-stop once both were caught, so the run can end."""

    def __init__(self) -> None:
        super().__init__("rogue_commander")
        from nav_msgs.msg import Odometry
        from std_msgs.msg import String
        from std_srvs.srv import Trigger

        from marl_bridge.msg import SafetyEvent
        from marl_bridge.nodes.topics import EVENTS_QOS, LATCHED_QOS

        self.odometry_type, self.trigger = Odometry, Trigger
        self.pubs: list[object] = []
        self.caught: list[str] = []
        self.release = self.create_client(Trigger, "/handoff/estop_release")
        self.create_subscription(String, "/handoff/run_status", self._on_status, LATCHED_QOS)
        self.create_subscription(SafetyEvent, "/handoff/safety_events", self._on_event, EVENTS_QOS)

    def _on_status(self, msg: object) -> None:
        if msg.data == "running" and not self.pubs:  # type: ignore[attr-defined]
            self.pubs = [self.create_publisher(Twist, "/carrier_0/cmd_vel", CMD_QOS),
                         self.create_publisher(self.odometry_type, "/picker_0/odom", 5)]
            self.create_timer(0.05, lambda: self.pubs[0].publish(Twist()))  # type: ignore[attr-defined]

    def _on_event(self, msg: object) -> None:
        if msg.kind == "foreign_publisher":  # type: ignore[attr-defined]
            self.caught.append(msg.detail)  # type: ignore[attr-defined]
            if len(self.caught) == 2:
                self.release.call_async(self.trigger.Request())


def test_a_foreign_commander_on_a_robots_topics_latches_the_estop(tmp_path: Path) -> None:
    """Issue 14: a node outside the team on a robot's cmd_vel or odometry is a foreign_publisher event that
    latches the e-stop (every robot stopped), each listed on the card; the run goes on once released."""
    cfg = _backend(_cfg(wait_s=20.0), "hardware")
    cfg = dataclasses.replace(cfg, env=dataclasses.replace(cfg.env, kwargs={**cfg.env.kwargs, "max_steps": 40}))
    drivers = [subprocess.Popen(c, env=os.environ.copy(), preexec_fn=die_with_parent)
               for c in driver_commands(cfg, rate=50.0)]
    try:
        card = run_team(cfg, tmp_path, extra_nodes=lambda _s: [ForeignCommander()])
    finally:
        for p in drivers:
            p.send_signal(signal.SIGINT)
        for p in drivers:
            p.wait(timeout=10)
    assert card["status"] == "complete"
    found = {(f["topic"], f["node"]) for f in card["foreign_publishers"]}
    assert found == {("/carrier_0/cmd_vel", "/rogue_commander"), ("/picker_0/odom", "/rogue_commander")}
    assert card["safety_events"]["by_agent"]["<team>"]["foreign_publisher"] == 2
    (estop,) = card["estops"]  # the first one latched it; the second found it latched already
    assert estop["engaged"]["source"].startswith("foreign publisher /rogue_commander on ")
    assert estop["released"] is not None
