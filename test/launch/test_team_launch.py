"""team.launch.py under a real LaunchService (needs a full ROS 2 install: launch and launch_ros)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from conftest import CONFIG_DIR, REPO

launch = pytest.importorskip("launch", reason="launch is not installable from PyPI; needs a full ROS 2 install")
pytest.importorskip("launch_ros", reason="launch_ros is not installable from PyPI; needs a full ROS 2 install")

pytestmark = pytest.mark.ros


def test_team_launch_runs_to_a_run_card(tmp_path: Path) -> None:
    from launch.actions import IncludeLaunchDescription
    from launch.launch_description_sources import PythonLaunchDescriptionSource

    config = tmp_path / "config.yaml"
    config.write_text((CONFIG_DIR / "point_team.yaml").read_text()
                      .replace("episodes: 5", "episodes: 2").replace("runs/point_team", str(tmp_path / "out")))
    service = launch.LaunchService()
    service.include_launch_description(launch.LaunchDescription([IncludeLaunchDescription(
        PythonLaunchDescriptionSource(str(REPO / "launch" / "team.launch.py")),
        launch_arguments={"config": str(config)}.items())]))
    loop = asyncio.new_event_loop()
    task = loop.create_task(service.run_async())
    card_path = tmp_path / "out" / "run_card.json"

    async def wait_for_card() -> None:
        while not card_path.exists():
            await asyncio.sleep(0.1)
        service.shutdown()
        await task

    loop.run_until_complete(asyncio.wait_for(wait_for_card(), timeout=120))
    card = json.loads(card_path.read_text())
    assert card["status"] == "complete" and len(card["episodes"]) == 2
