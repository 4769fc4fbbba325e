"""Test setup: DDS stays on this machine, in a domain of this test session's own.

Set before anything imports rclpy; child processes (actors in other topologies) inherit it.
"""

from __future__ import annotations

import os
import signal
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

os.environ["ROS_AUTOMATIC_DISCOVERY_RANGE"] = "LOCALHOST"
os.environ.setdefault("ROS_DOMAIN_ID", str(1 + os.getpid() % 100))
os.environ.setdefault("RCUTILS_LOGGING_MIN_SEVERITY", "WARN")
# launch_ros finds packages through the ament index: in a venv the install prefix is the venv itself
if sys.prefix not in os.environ.get("AMENT_PREFIX_PATH", "").split(os.pathsep):
    os.environ["AMENT_PREFIX_PATH"] = os.pathsep.join(p for p in (sys.prefix, os.environ.get("AMENT_PREFIX_PATH"))
                                                      if p)

# The team's Fast DDS timing, as every marl_bridge process loads it before rclpy starts (nodes/spin.py).
# Fast DDS reads its profile once per process, at its first participant: without this, the first test
# that creates a node directly would leave this process (and the supervisors tests run in it) on the
# default timing, which stalls large samples by seconds (seen: pistonball across processes).
from marl_bridge.nodes.dds_profile import use_team_profile

use_team_profile()

sys.path.insert(0, str(Path(__file__).parent / "helpers"))
REPO = Path(__file__).resolve().parents[1]
CONFIG_DIR = REPO / "config"

import shm_janitor  # noqa: E402  (helpers/, on the path just above)


def skip_unless_ci(reason: str, *, module: bool = False) -> None:
    """Skip where a machine cannot run a test (no root, nothing installed); in CI (CI set) fail instead:
    CI's machine can run every test, and a test that skips there rots unseen. `module`: at import time,
    for a whole test module."""
    if os.environ.get("CI"):
        pytest.fail(f"CI must run this test, but: {reason}", pytrace=False)
    pytest.skip(reason, allow_module_level=module)


TEST_TIME_LIMIT_S = int(os.environ.get("MARL_BRIDGE_TEST_TIME_LIMIT_S", "300"))  # the longest test: about a minute


@pytest.fixture(autouse=True)
def _time_limit(request: pytest.FixtureRequest) -> Iterator[None]:
    """A test that hangs fails instead (a run held forever, e.g. by a latched e-stop, would otherwise keep
    CI waiting for its whole limit): SIGALRM raises in the test's main thread, which spins in slices."""
    def expired(_signum: int, _frame: object) -> None:
        raise TimeoutError(f"{request.node.nodeid} ran longer than {TEST_TIME_LIMIT_S} s: it hangs")

    previous = signal.signal(signal.SIGALRM, expired)
    signal.alarm(TEST_TIME_LIMIT_S)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


@pytest.fixture(autouse=True)
def _no_dead_shared_memory() -> Iterator[None]:
    """Processes a test kills with SIGKILL cannot remove their Fast DDS files: remove those (see
    helpers/shm_janitor.py), only the ones that appeared during the test."""
    before = shm_janitor.listing()
    yield
    shm_janitor.remove_dead(shm_janitor.listing() - before)
