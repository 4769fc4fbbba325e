"""`marl-bridge keys` and `marl-bridge operator` as a user runs them, against a real keyed team."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import rclpy
from conftest import CONFIG_DIR
from rclpy.experimental import EventsExecutor
from rclpy.task import Future
from std_srvs.srv import Trigger

from marl_bridge.msg import EpisodeSummary
from marl_bridge.nodes.topics import STREAM_QOS

CLI = [sys.executable, "-P", "-m", "marl_bridge.cli"]


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*CLI, *args], capture_output=True, text=True, timeout=120, env=os.environ.copy())


def _keyed_config(tmp_path: Path) -> tuple[Path, Path]:
    key = tmp_path / "team.key"
    assert _cli("keys", "new", str(key)).returncode == 0
    config = tmp_path / "team.yaml"
    text = (CONFIG_DIR / "point_team.yaml").read_text()
    config.write_text(text.replace("    supervisor:\n", f"    safety:\n      key_file: {key}\n    supervisor:\n", 1))
    return config, key


def test_keys_new_and_robot_write_owner_only_files_and_refuse_to_overwrite(tmp_path: Path) -> None:
    config, key = _keyed_config(tmp_path)
    robot = tmp_path / "robot_2.key"
    proc = _cli("keys", "robot", "--team-key", str(key), "--config", str(config), "--agent", "robot_2",
                "--out", str(robot))
    assert proc.returncode == 0, proc.stderr
    assert robot.read_text().startswith("marl_bridge robot key v1 team robot_2\n")
    assert oct(robot.stat().st_mode & 0o777) == "0o600" and oct(key.stat().st_mode & 0o777) == "0o600"
    again = _cli("keys", "new", str(key))
    assert again.returncode == 2 and "never overwritten" in again.stderr
    wrong = _cli("keys", "robot", "--team-key", str(key), "--config", str(config), "--agent", "robot_9",
                 "--out", str(tmp_path / "x.key"))
    assert wrong.returncode == 2 and "'robot_9' is not an agent" in wrong.stderr
    assert key.read_text().split("\n")[1] not in proc.stdout + proc.stderr + again.stderr + wrong.stderr


def test_a_key_readable_by_others_is_exit_2_at_check_and_run(tmp_path: Path) -> None:
    config, key = _keyed_config(tmp_path)
    assert "authenticated (team key)" in _cli("check", str(config)).stdout
    key.chmod(0o644)
    for args in (("check", str(config)), ("run", str(config), "--out", str(tmp_path / "out"), "--no-progress")):
        proc = _cli(*args)
        assert proc.returncode == 2 and "readable by others (mode 644)" in proc.stderr, proc.stderr
    assert not (tmp_path / "out" / "run_card.json").exists()


@pytest.mark.ros
def test_operator_signs_what_the_plain_services_refuse(tmp_path: Path) -> None:
    """A keyed team running: `ros2 service call`-style plain pause is refused, `marl-bridge operator pause`
    and `resume` are done; the card says authenticated and counts the refused request."""
    config, _key = _keyed_config(tmp_path)
    proc = subprocess.Popen([*CLI, "run", str(config), "--episodes", "100000", "--out", str(tmp_path / "out"),
                             "--no-progress"], env=os.environ.copy(), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    try:
        with rclpy.init():
            node = rclpy.create_node("plain_caller")
            seen: Future = Future()
            node.create_subscription(EpisodeSummary, "/team/episode_summary",
                                     lambda m: not seen.done() and seen.set_result(m.episode), STREAM_QOS)
            executor = EventsExecutor()
            executor.add_node(node)
            executor.spin_until_future_complete(seen, timeout_sec=60)
            assert seen.done(), "the keyed team never finished an episode"
            client = node.create_client(Trigger, "/team/pause")
            assert client.wait_for_service(timeout_sec=30)
            reply = client.call_async(Trigger.Request())
            executor.spin_until_future_complete(reply, timeout_sec=30)
            assert not reply.result().success and "send a signed request" in reply.result().message
            node.destroy_node()
        paused = _cli("operator", "--config", str(config), "pause")
        assert paused.returncode == 0 and paused.stdout.startswith("pause: ok"), paused.stdout + paused.stderr
        resumed = _cli("operator", "--config", str(config), "resume")
        assert resumed.returncode == 0 and "resume: ok: resumed" in resumed.stdout, resumed.stdout + resumed.stderr
        proc.send_signal(signal.SIGINT)
        proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    card = json.loads((tmp_path / "out" / "run_card.json").read_text())
    assert card["authenticated"] is True
    assert card["safety_events"]["by_agent"]["<team>"]["unauthenticated"] == 1


def test_operator_on_a_team_without_key_is_exit_2(tmp_path: Path) -> None:
    proc = _cli("operator", "--config", str(CONFIG_DIR / "point_team.yaml"), "resume")
    assert proc.returncode == 2 and "not authenticated" in proc.stderr
