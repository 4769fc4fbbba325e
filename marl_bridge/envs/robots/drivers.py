"""Simulated bases for a config's robots, one `marl-bridge driver` process each (hardware without robots).

Each base starts where the config's task places that robot in the run's first episode (same seed), so
a hardware-backend run against these drivers can be compared with the direct MuJoCo rollout.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading

import numpy as np

from marl_bridge.config import ConfigError, RunConfig
from marl_bridge.envs.team import build_team
from marl_bridge.nodes.topics import ros_name
from marl_bridge.seeds import episode_seed


def start_poses(cfg: RunConfig) -> dict[str, np.ndarray]:
    """Each agent's start pose (x, y, yaw) in the run's first episode, from the MuJoCo world."""
    team = build_team(cfg, backend="mujoco")
    env = team.env
    env.reset(seed=episode_seed(cfg.run.seed, 0))
    poses = env.body.poses()
    env.close()
    return {a: poses[i] for i, a in enumerate(team.agents)}


def driver_commands(cfg: RunConfig, rate: float, only: list[str] | None = None) -> list[list[str]]:
    if cfg.hardware is None:
        raise ConfigError(f"{cfg.source}: drivers need the 'hardware' section (topic patterns, robot names)")
    poses = start_poses(cfg)
    unknown = sorted(set(only or []) - set(poses))
    if unknown:
        raise ConfigError(f"--only {unknown[0]!r}: not an agent of {cfg.env.entry_point}; agents are "
                          f"{', '.join(poses)}")
    hw, arena = cfg.hardware, float(cfg.env.kwargs.get("arena_half", 4.0))
    commands = []
    for agent, (x, y, yaw) in poses.items():
        if only and agent not in only:
            continue
        robot = hw.robot_name(agent, ros_name(agent))
        commands.append([sys.executable, "-P", "-m", "marl_bridge.cli", "driver", "--robot", robot,
                         "--pose", repr(float(x)), repr(float(y)), repr(float(yaw)), "--rate", repr(rate),
                         "--arena-half", repr(arena), "--ros-args", "-r", f"__node:=driver_{robot}",
                         "-p", f"odom_topic:={hw.odom_topic}", "-p", f"cmd_vel_topic:={hw.cmd_vel_topic}"])
    return commands


def run_drivers(cfg: RunConfig, rate: float, only: list[str] | None = None) -> int:
    """Start the driver processes and wait; SIGINT/SIGTERM stop them all."""
    from marl_bridge.cli.team import die_with_parent

    procs = [subprocess.Popen(c, env=os.environ.copy(), preexec_fn=die_with_parent)
             for c in driver_commands(cfg, rate, only)]
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    while not stop.wait(0.5):
        if any(p.poll() is not None for p in procs):
            break
    for p in procs:
        if p.poll() is None:
            p.send_signal(signal.SIGINT)
    codes = [p.wait(timeout=10) for p in procs]
    return 0 if all(c in (0, -signal.SIGINT, 130) for c in codes) else 1
