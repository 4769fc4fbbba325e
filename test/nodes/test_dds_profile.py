"""Every marl_bridge process loads the team's Fast DDS timing unless told otherwise (nodes/dds_profile.py)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from marl_bridge.nodes.dds_profile import ENV, profile_path, use_team_profile


def test_the_profile_is_used_unless_one_is_chosen_or_it_is_turned_off(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(ENV, raising=False)
    monkeypatch.delenv("MARL_BRIDGE_DDS_PROFILE", raising=False)
    path = profile_path()
    assert path is not None and path.name == "fastdds_lossy_link.xml"
    assert use_team_profile() == str(path) and os.environ[ENV] == str(path)
    monkeypatch.setenv(ENV, "/etc/my_profile.xml")
    assert use_team_profile() == "/etc/my_profile.xml"  # the user's own profile wins
    monkeypatch.delenv(ENV)
    monkeypatch.setenv("MARL_BRIDGE_DDS_PROFILE", "off")
    assert use_team_profile() is None and ENV not in os.environ
    monkeypatch.delenv("MARL_BRIDGE_DDS_PROFILE")
    monkeypatch.setenv("RMW_IMPLEMENTATION", "rmw_cyclonedds_cpp")
    assert use_team_profile() is None


TALKER = """
import time, rclpy
from std_msgs.msg import String
from marl_bridge.nodes.spin import ros_session
with ros_session() as stop:
    node = rclpy.create_node("frozen_talker")
    node.create_publisher(String, "/dds_profile_probe", 10)
    while not stop.is_set():
        time.sleep(0.1)
"""


@pytest.mark.ros
def test_a_frozen_process_leaves_the_graph_within_the_team_lease(tmp_path: Path) -> None:
    """A process stopped dead (SIGSTOP, as a robot whose link is cut) is dropped after the profile's 3 s
    participant lease, not Fast DDS's default 20 s. (Rediscovery after a heal is checked across two hosts
    in test_multihost.py.)"""
    import rclpy
    from rclpy.executors import SingleThreadedExecutor
    from std_msgs.msg import String

    env = {k: v for k, v in os.environ.items() if k != ENV}
    talker = subprocess.Popen([sys.executable, "-P", "-c", TALKER], env=env)
    context = rclpy.Context()
    rclpy.init(context=context)
    try:
        node = rclpy.create_node("probe_listener", context=context)
        sub = node.create_subscription(String, "/dds_profile_probe", lambda _m: None, 10)
        executor = SingleThreadedExecutor(context=context)
        executor.add_node(node)

        def wait(condition, timeout: float) -> float:
            start = time.monotonic()
            while not condition() and time.monotonic() - start < timeout:
                executor.spin_once(timeout_sec=0.05)
            assert condition(), f"not within {timeout} s"
            return time.monotonic() - start

        wait(lambda: sub.get_publisher_count() == 1, 30.0)
        talker.send_signal(signal.SIGSTOP)
        wait(lambda: sub.get_publisher_count() == 0, 15.0)  # Fast DDS default: 20 s
    finally:
        talker.send_signal(signal.SIGCONT)
        talker.terminate()
        talker.wait(timeout=10)
        rclpy.shutdown(context=context)
