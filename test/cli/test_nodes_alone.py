"""`marl-bridge supervisor` and `marl-bridge actor` as separate processes configured only by ROS
arguments (--params-file, -p, namespace remap): exactly how launch_ros starts them, and how a robot
runs its own actor."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import CONFIG_DIR, REPO

pytestmark = pytest.mark.ros
CLI = [sys.executable, "-P", "-m", "marl_bridge.cli"]


def test_supervisor_and_actors_from_ros_parameters(tmp_path: Path) -> None:
    params = CONFIG_DIR / "point_team.yaml"
    agents = ["robot_0", "robot_1", "robot_2", "robot_3"]
    env = os.environ.copy()
    actors = [subprocess.Popen([*CLI, "actor", "--ros-args", "--params-file", str(params),
                                "-p", f"actor.agent:={a}", "-r", f"__ns:=/team/{a}"], env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True) for a in agents]
    try:
        sup = subprocess.run([*CLI, "supervisor", "--out", str(tmp_path), "--ros-args", "--params-file", str(params),
                              "-p", "run.episodes:=2"], env=env, capture_output=True, text=True, timeout=120,
                             cwd=REPO)
    finally:
        for proc in actors:
            proc.terminate()
        errors, hung = [], []
        for agent, proc in zip(agents, actors, strict=True):
            try:
                errors.append(proc.communicate(timeout=30)[1])
            except subprocess.TimeoutExpired:  # killed, not left behind (one was seen spinning for minutes)
                proc.kill()
                errors.append(proc.communicate()[1])
                hung.append(agent)
    assert not hung, f"actor(s) {hung} did not exit within 30 s of SIGTERM"
    assert sup.returncode == 0, sup.stderr
    card = json.loads((tmp_path / "run_card.json").read_text())
    assert card["status"] == "complete" and len(card["episodes"]) == 2
    assert all(card["policies"][a]["reported"].startswith("scripted") for a in agents)
    assert sum(card["deadline_misses"].values()) == 0
    assert not any("Traceback" in e for e in errors), errors
