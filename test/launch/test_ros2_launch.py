"""`ros2 launch` as a user types it: two teams side by side on one domain, exit codes that follow the run,
Ctrl-C mid-run.

Needs the ros2 command line (ros2cli, ros2launch): `make launch-deps` installs it; in CI it must be there.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from conftest import REPO, skip_unless_ci
from processes import descendants

pytestmark = pytest.mark.ros

ROS2 = Path(sys.prefix) / "bin" / "ros2"


def _ros2_launch(file: str, **arguments: object) -> subprocess.Popen[bytes]:
    if not ROS2.exists():
        skip_unless_ci(f"no ros2 command line in {ROS2.parent} (make launch-deps)")
    cmd = [str(ROS2), "launch", str(REPO / "launch" / file), *(f"{k}:={v}" for k, v in arguments.items())]
    return subprocess.Popen(cmd, env=os.environ.copy(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT)


def _finish(proc: subprocess.Popen[bytes], timeout: float = 240) -> tuple[int, str]:
    out, _ = proc.communicate(timeout=timeout)
    return proc.returncode, out.decode(errors="replace")


def _bag_topics(bag: Path) -> set[str]:
    from rosbags.rosbag2 import Reader

    with Reader(bag) as reader:
        return {c.topic for c in reader.connections}


def test_two_teams_side_by_side_on_one_domain(tmp_path: Path) -> None:
    """The same config twice, under namespaces site_a and site_b: each team runs on its own topics, its
    bag holds only its own team (and the global /clock) and replays on its own."""
    before = descendants()
    runs = {ns: _ros2_launch("sim.launch.py", namespace=ns, n_robots=2, seed=seed, out_dir=tmp_path / ns,
                             recorder="marl_bridge", record_dir=tmp_path / ns / "bag")
            for ns, seed in (("site_a", 5), ("site_b", 6))}
    outputs = {ns: _finish(p) for ns, p in runs.items()}
    for ns, (code, out) in outputs.items():
        assert code == 0, f"{ns}:\n{out[-3000:]}"
        card = json.loads((tmp_path / ns / "run_card.json").read_text())
        assert card["status"] == "complete" and card["config"]["run"]["seed"] == {"site_a": 5, "site_b": 6}[ns]
        assert all(p["reported"] != "not ready" for p in card["policies"].values())
        assert not card["safety_events"]["by_agent"] or not any(
            "unknown_agent" in k or "invalid_action" in k for k in card["safety_events"]["by_agent"].values())
        topics = _bag_topics(tmp_path / ns / "bag") - {"/clock"}
        assert topics and all(t.startswith(f"/{ns}/pursuit/") for t in topics), topics
        replay = subprocess.run([sys.executable, "-P", "-m", "marl_bridge.cli", "replay", str(tmp_path / ns / "bag")],
                                capture_output=True, text=True, timeout=120)
        assert replay.returncode == 0 and replay.stdout.startswith("reproduced"), replay.stdout + replay.stderr
    a, b = (json.loads((tmp_path / ns / "run_card.json").read_text())["episodes"] for ns in ("site_a", "site_b"))
    assert [e["returns"] for e in a] != [e["returns"] for e in b]  # two runs, not one seen twice
    assert descendants() <= before


def test_launch_exit_code_follows_the_run(tmp_path: Path) -> None:
    """A run that did not complete (here: no actors, so all fallbacks: degraded) makes `ros2 launch` fail."""
    code, out = _finish(_ros2_launch("hardware.launch.py", backend="mujoco", actors="false", out_dir=tmp_path,
                                     seed=1))
    card = json.loads((tmp_path / "run_card.json").read_text())
    assert card["status"].startswith("degraded"), card["status"]
    assert code == 1, out[-3000:]
    assert "exited with code 4 (degraded)" in out


def test_ctrl_c_mid_run_keeps_the_card(tmp_path: Path) -> None:
    """SIGINT to `ros2 launch` once the first episode's summary is out: the card keeps that episode, the
    launch exits non-zero (interrupted), nothing is left running."""
    from rclpy.experimental import EventsExecutor
    from rclpy.node import Node
    from rclpy.task import Future

    from marl_bridge.msg import EpisodeSummary
    from marl_bridge.nodes.spin import ros_session, spin_until
    from marl_bridge.nodes.topics import STREAM_QOS, team_topic

    config = tmp_path / "long.yaml"  # long enough that the run is still going when the signal comes
    config.write_text((REPO / "config" / "mujoco_pursuit.yaml").read_text().replace("episodes: 5", "episodes: 500"))
    before = descendants()
    with ros_session([]) as stop:
        listener = Node("ctrl_c_listener")
        first = Future()
        listener.create_subscription(EpisodeSummary, team_topic("pursuit", "episode_summary"),
                                     lambda _msg: first.done() or first.set_result(True), STREAM_QOS)
        executor = EventsExecutor()
        executor.add_node(listener)
        proc = _ros2_launch("sim.launch.py", config=config, n_robots=2, seed=7, out_dir=tmp_path)
        give_up = threading.Timer(120.0, stop.set)  # a run that never ends an episode would hang the test
        give_up.start()
        try:
            assert spin_until(executor, first, stop), "no episode ended within 120 s"
            give_up.cancel()
            proc.send_signal(signal.SIGINT)
            code, out = _finish(proc, timeout=60)
        finally:
            give_up.cancel()
            if proc.poll() is None:
                proc.kill()
            executor.remove_node(listener)
            listener.destroy_node()
            executor.shutdown()
    assert code == 1, out[-3000:]
    card = json.loads((tmp_path / "run_card.json").read_text())
    assert card["status"].startswith("interrupted") and len(card["episodes"]) >= 1, card["status"]
    assert descendants() <= before

