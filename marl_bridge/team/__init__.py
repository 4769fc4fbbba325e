"""The team run without ROS: who must answer, what an answer becomes, when the env steps.

`TeamRun` (run.py) is the whole decision logic of a run; the supervisor node only wires ROS topics,
services and timers to it, and the direct rollout and the tests drive the same object in-process. It
reads time only through an injected clock, so every timed rule is tested exactly with a fake clock.
"""

from marl_bridge.team.clock import Clock, FakeClock, monotonic
from marl_bridge.team.run import Outlet, Phase, TeamRun

__all__ = ["Clock", "FakeClock", "Outlet", "Phase", "TeamRun", "monotonic"]
