"""The team's Fast DDS timing, loaded by every process of the team unless the user chose a profile.

Fast DDS by default repairs a lost sample only at the writer's next heartbeat (every 3 s) and notices a
silent participant after a 20 s lease. For a team over Wi-Fi both are far too slow: one lost packet
stalls a lockstep team for seconds, a robot that drops out is noticed late, and after a heal nothing
crosses until the next heartbeat. `config/fastdds_lossy_link.xml` sets heartbeats every 20 ms, repairs at
once, and a 3 s participant lease announced every 0.5 s. It only changes timing, never the QoS the nodes
ask for, so it is safe for every writer of the team's processes, which are the only ones it reaches:
`ros_session` applies it before rclpy starts. A `FASTDDS_DEFAULT_PROFILES_FILE` already set wins;
`MARL_BRIDGE_DDS_PROFILE=off` turns it off; other RMW implementations are left alone.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

NAME = "fastdds_lossy_link.xml"
ENV = "FASTDDS_DEFAULT_PROFILES_FILE"


def profile_path() -> Path | None:
    """The installed profile (<prefix>/share/marl_bridge/config), else the source tree's."""
    for candidate in (Path(sys.prefix) / "share" / "marl_bridge" / "config" / NAME,
                      Path(__file__).resolve().parents[2] / "config" / NAME):
        if candidate.is_file():
            return candidate
    return None


def use_team_profile() -> str | None:
    """Point Fast DDS at the team profile for this process (and its children); the file used, or None."""
    if os.environ.get(ENV):
        return os.environ[ENV]
    if os.environ.get("MARL_BRIDGE_DDS_PROFILE", "").lower() in ("off", "0", "false", "no"):
        return None
    if os.environ.get("RMW_IMPLEMENTATION", "rmw_fastrtps_cpp") != "rmw_fastrtps_cpp":
        return None
    path = profile_path()
    if path is not None:
        os.environ[ENV] = str(path)
    return str(path) if path else None
