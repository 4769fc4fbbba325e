"""sim.launch.py and hardware.launch.py under a real LaunchService.

launch and launch_ros come with a full ROS 2 install; `make launch-deps` (part of `make test`) installs
the upstream wheels from ../shared/ros-launch and builds composition_interfaces for them. In CI they must
be there: a launch test that skips unseen is how the launch files rotted before."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from conftest import REPO, skip_unless_ci
from processes import descendants

try:
    import launch_ros  # noqa: F401

    import launch
except ImportError as exc:
    skip_unless_ci(f"launch/launch_ros missing ({exc}): make launch-deps, or a full ROS 2 install", module=True)

pytestmark = pytest.mark.ros


def _run_launch(file: str, arguments: dict[str, str], expect: int = 0) -> None:
    """Run a launch file until it shuts itself down (the supervisor's exit ends it)."""
    from launch.actions import IncludeLaunchDescription
    from launch.launch_description_sources import PythonLaunchDescriptionSource

    service = launch.LaunchService()
    service.include_launch_description(launch.LaunchDescription([IncludeLaunchDescription(
        PythonLaunchDescriptionSource(str(REPO / "launch" / file)), launch_arguments=arguments.items())]))
    assert asyncio.run(asyncio.wait_for(service.run_async(), timeout=180)) == expect


def test_sim_launch_runs_the_mujoco_team_to_a_run_card(tmp_path: Path) -> None:
    before = descendants()
    _run_launch("sim.launch.py", {"n_robots": "2", "seed": "3", "out_dir": str(tmp_path),
                                  "recorder": "marl_bridge", "record_dir": str(tmp_path / "bag")})
    card = json.loads((tmp_path / "run_card.json").read_text())
    assert card["status"] == "complete" and card["agents"] == ["robot_0", "robot_1"]
    assert all(p["reported"] != "not ready" for p in card["policies"].values())  # every actor came up
    assert (tmp_path / "bag" / "metadata.yaml").exists()
    assert card["recording"]["bag"] == str((tmp_path / "bag").resolve())  # the launch's recorder, on the card
    assert card["recording"]["recorder"] == "/pursuit/recorder" and card["recording"]["lost"] is None
    assert descendants() <= before  # nothing left running


def test_hardware_launch_with_simulated_bases(tmp_path: Path) -> None:
    """With the default guards:=true: the team's commands reach the bases through a guard per robot."""
    _run_launch("hardware.launch.py", {"drivers": "true", "out_dir": str(tmp_path)})
    card = json.loads((tmp_path / "run_card.json").read_text())
    assert card["status"] == "complete" and card["backend"]["used"] == "hardware"
    assert card["config"]["hardware"]["team_cmd_topic"] == "/{robot}/team/cmd_vel"
    (ep,) = card["episodes"]
    assert all(ep["terminated"].values()), ep  # the handoff was done: the robots moved, through their guards
    assert card["foreign_publishers"] == []


def test_hardware_launch_on_mujoco_and_a_bad_flag_is_refused(tmp_path: Path) -> None:
    before = descendants()
    _run_launch("hardware.launch.py", {"backend": "mujoco", "out_dir": str(tmp_path)})
    card = json.loads((tmp_path / "run_card.json").read_text())
    assert card["status"] == "complete" and card["backend"]["used"] == "mujoco"
    assert all(p["reported"] != "not ready" for p in card["policies"].values())
    _run_launch("hardware.launch.py", {"actors": "1", "drivers": "maybe", "out_dir": str(tmp_path / "bad")}, expect=1)
    assert not (tmp_path / "bad").exists()  # refused before any node started
    assert descendants() <= before
