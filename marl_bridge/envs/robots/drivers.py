"""Simulated bases for a config's robots, one `marl-bridge driver` process each (hardware without robots).

Each base starts where the config's task places that robot in the run's first episode (same seed), so
a hardware-backend run against these drivers can be compared with the direct MuJoCo rollout.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

from marl_bridge.config import ConfigError, RunConfig
from marl_bridge.envs.backends import MUJOCO
from marl_bridge.envs.team import build_team
from marl_bridge.nodes.topics import ros_name
from marl_bridge.seeds import episode_seed


def driver_parameters(cfg: RunConfig) -> dict[str, dict[str, str | float]]:
    """Per agent, the ROS parameters of its simulated base (marl_bridge/nodes/robot_driver.py): robot name
    and topics from the hardware section, the arena of the config's world, and the pose where the task
    places that robot in the run's first episode (same seed)."""
    if cfg.hardware is None:
        raise ConfigError(f"{cfg.source}: drivers need the 'hardware' section (topic patterns, robot names)")
    team = build_team(cfg, backend=MUJOCO)
    env = team.env
    env.reset(seed=episode_seed(cfg.run.seed, 0))
    poses, arena = env.body.poses(), float(env.settings["arena_half"])
    env.close()
    hw = cfg.hardware
    return {agent: {"robot": hw.robot_name(agent, ros_name(agent)), "x": float(x), "y": float(y), "yaw": float(yaw),
                    "arena_half": arena, "odom_topic": hw.odom_topic, "cmd_vel_topic": hw.cmd_vel_topic}
            for agent, (x, y, yaw) in zip(team.agents, poses, strict=True)}


def driver_commands(cfg: RunConfig, rate: float, only: list[str] | None = None) -> list[list[str]]:
    params = driver_parameters(cfg)
    unknown = sorted(set(only or []) - set(params))
    if unknown:
        raise ConfigError(f"--only {unknown[0]!r}: not an agent of {cfg.env.entry_point}; agents are "
                          f"{', '.join(params)}")
    commands = []
    for agent, p in params.items():
        if only and agent not in only:
            continue
        cmd = [sys.executable, "-P", "-m", "marl_bridge.cli", "driver", "--rate", repr(rate), "--ros-args",
               "-r", f"__node:=driver_{p['robot']}"]
        for name, value in p.items():
            cmd += ["-p", f"{name}:={value!r}" if isinstance(value, float) else f"{name}:={value}"]
        commands.append(cmd)
    return commands


def run_drivers(cfg: RunConfig, rate: float, only: list[str] | None = None) -> int:
    """Start the driver processes and wait; SIGINT/SIGTERM stop them all."""
    from marl_bridge.cli.team import die_with_parent
    from marl_bridge.nodes.spin import StopRequest, install_stop_handlers

    procs = [subprocess.Popen(c, env=os.environ.copy(), preexec_fn=die_with_parent)
             for c in driver_commands(cfg, rate, only)]
    stop = StopRequest()
    install_stop_handlers(stop)
    while not stop.is_set() and all(p.poll() is None for p in procs):
        time.sleep(0.2)  # supervising child processes: a poll, off any hot path
    for p in procs:
        if p.poll() is None:
            p.send_signal(signal.SIGINT)
    codes = [p.wait(timeout=10) for p in procs]
    return 0 if all(c in (0, -signal.SIGINT, 130) for c in codes) else 1
