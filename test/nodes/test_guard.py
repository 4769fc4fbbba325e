"""The robots' guards over real DDS (issue 14): simulated bases, a guard per robot, the supervisor in its
own process. The team's commands reach the bases through the guards, a rogue's commands on the guard's
input never do, and when the supervisor is killed (SIGKILL) every base gets a zero command from its guard.
How fast (the 0.25 s goal) is measured in bench/guard_stop.py, not asserted here."""

from __future__ import annotations

import dataclasses
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import rclpy
from conftest import CONFIG_DIR
from geometry_msgs.msg import Twist
from rclpy.executors import SingleThreadedExecutor
from rclpy.task import Future

from marl_bridge.cli.team import die_with_parent
from marl_bridge.config import RunConfig, dump_yaml, load, with_overrides
from marl_bridge.envs.robots.drivers import driver_commands
from marl_bridge.envs.robots.hardware import CMD_QOS, team_cmd_qos

pytestmark = pytest.mark.ros
CLI = [sys.executable, "-P", "-m", "marl_bridge.cli"]
# robots of their own: other hardware tests on this session's domain command picker_0 and carrier_0, and
# a guard that just exited can linger in a new participant's graph for a moment (a foreign publisher there)
ROBOTS = ["gpicker_0", "gcarrier_0"]
ROGUE_X = 0.777  # what the rogue commands (the team never does: its commands are clamped to 0.5 m/s)


def guarded_config(tmp_path: Path) -> tuple[RunConfig, Path]:
    cfg = with_overrides(load(CONFIG_DIR / "hardware_handoff.yaml"), topology="single", episodes=1)
    assert cfg.hardware is not None
    hw = dataclasses.replace(cfg.hardware, team_cmd_topic="/{robot}/team/cmd_vel", wait_s=20.0,
                             robots={"picker_0": ROBOTS[0], "carrier_0": ROBOTS[1]})
    env = dataclasses.replace(cfg.env, backend="hardware", kwargs={**cfg.env.kwargs, "max_steps": 100_000})
    cfg = dataclasses.replace(cfg, hardware=hw, env=env)
    return cfg, dump_yaml(cfg, tmp_path / "guarded.yaml")


def start(cmds: list[list[str]]) -> list[subprocess.Popen[bytes]]:
    return [subprocess.Popen(c, env=os.environ.copy(), preexec_fn=die_with_parent) for c in cmds]


def supervisor_kill_trial(tmp_path: Path, *, rogue: bool = True, settle_s: float = 0.0
                          ) -> tuple[dict[str, float], list[str]]:
    """Bases, guards and a supervisor process; once every base got a command from the team (and `settle_s`
    later), SIGKILL the supervisor. Returns each base's delay to a zero command after the kill, and the
    bases the rogue's command reached (with `rogue`, a node commanding one guard's input all along).
    Also bench/guard_stop.py's trial."""
    cfg, path = guarded_config(tmp_path)
    procs = start(driver_commands(cfg, rate=50.0))
    procs += start([[*CLI, "guard", "--config", str(path), "--robot", r] for r in ROBOTS])
    supervisor = start([[*CLI, "run", str(path), "--out", str(tmp_path / "out"), "--no-progress"]])[0]
    moving = {r: Future() for r in ROBOTS}
    stopped = {r: Future() for r in ROBOTS}
    seen_rogue: list[str] = []
    killed_at: list[float] = []
    try:
        with rclpy.init():
            node = rclpy.create_node("base_watch")

            def on_base(robot: str):
                def callback(msg: Twist) -> None:
                    if msg.linear.x == ROGUE_X:
                        seen_rogue.append(robot)
                    zero = msg.linear.x == msg.linear.y == msg.angular.z == 0.0
                    if not killed_at and not moving[robot].done():  # a guard sends nothing of its own before
                        moving[robot].set_result(True)          # a first command passed: this is the team's
                    if zero and killed_at and not stopped[robot].done():
                        stopped[robot].set_result(time.monotonic() - killed_at[0])
                return callback
            for r in ROBOTS:
                node.create_subscription(Twist, f"/{r}/cmd_vel", on_base(r), CMD_QOS)
            if rogue:  # with the guard's QoS (with the default liveliness DDS would not even deliver it)
                rogue_pub = node.create_publisher(Twist, f"/{ROBOTS[1]}/team/cmd_vel", team_cmd_qos(cfg.hardware))
                rogue_msg = Twist()
                rogue_msg.linear.x = ROGUE_X
                node.create_timer(0.02, lambda: rogue_pub.publish(rogue_msg))
            executor = SingleThreadedExecutor()
            executor.add_node(node)
            for r in ROBOTS:  # the team's commands get through
                executor.spin_until_future_complete(moving[r], timeout_sec=60)
                assert moving[r].done(), f"{r}: no command from the team reached the base"
            end = time.monotonic() + settle_s
            while time.monotonic() < end:
                executor.spin_once(timeout_sec=end - time.monotonic())
            supervisor.send_signal(signal.SIGKILL)
            killed_at.append(time.monotonic())
            for r in ROBOTS:
                executor.spin_until_future_complete(stopped[r], timeout_sec=30)
            node.destroy_node()
    finally:
        if supervisor.poll() is None:
            supervisor.kill()
        supervisor.wait(timeout=10)
        for p in procs:
            p.send_signal(signal.SIGINT)
        for p in procs:
            p.wait(timeout=10)
    return {r: f.result() for r, f in stopped.items() if f.done()}, seen_rogue


def test_guards_pass_the_team_drop_a_rogue_and_stop_the_robots_when_the_supervisor_dies(tmp_path: Path) -> None:
    delays, seen_rogue = supervisor_kill_trial(tmp_path)
    print(f"zero command after the supervisor's SIGKILL: {delays}")
    assert set(delays) == set(ROBOTS), "a base got no zero command after the supervisor died"
    assert not seen_rogue, f"the rogue's command reached {seen_rogue}"
