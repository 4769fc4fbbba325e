"""Test setup: DDS stays on this machine, in a domain of this test session's own.

Set before anything imports rclpy; child processes (actors in other topologies) inherit it.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

os.environ["ROS_AUTOMATIC_DISCOVERY_RANGE"] = "LOCALHOST"
os.environ.setdefault("ROS_DOMAIN_ID", str(1 + os.getpid() % 100))
os.environ.setdefault("RCUTILS_LOGGING_MIN_SEVERITY", "WARN")

sys.path.insert(0, str(Path(__file__).parent / "helpers"))
REPO = Path(__file__).resolve().parents[1]
CONFIG_DIR = REPO / "config"
