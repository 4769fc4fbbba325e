"""bench/realtime.py's reading of a run card: each late step put down to where its window's time went, and
bench/pauses.py's whole-machine pauses (pure: numbers in, causes out)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "bench"))
_environ = dict(os.environ)
import pauses  # noqa: E402
import realtime  # noqa: E402

os.environ.clear()  # the bench sets its ROS environment on import: the tests' own stays
os.environ.update(_environ)


def test_each_late_step_goes_to_where_most_of_its_window_went() -> None:
    timing = {"late_steps_window_ms": [6.0, 5.2, 8.0, 5.0],
              "late_steps_thread_cpu_ms": [4.7, 1.2, 1.7, 1.0],  # usual window: 1.0 ms of CPU
              "late_steps_queued_ms": [0.5, 3.5, 0.2, 2.0]}
    # 1st: 3.7 ms more CPU than usual; 2nd: 3.5 ms queued; 3rd: 6.1 ms neither; 4th: 2.0 queued, 2.0 neither
    # (a tie goes to the first of the causes in order: computing, queued, machine_stopped)
    assert realtime.late_causes(timing, 1.0) == {"computing": 1, "queued": 2, "machine_stopped": 1}
    assert realtime.late_causes({k: [] for k in timing}, 1.0) == {"computing": 0, "queued": 0, "machine_stopped": 0}


def test_a_pause_counts_for_the_machine_only_when_every_core_overran_at_once() -> None:
    # (monotonic start of a 1 ms sleep, seconds late): core 0 and 1 overlap for 3 ms at t = 10.002..10.005
    core0 = [(10.0, 0.005), (20.0, 0.004)]
    core1 = [(10.002, 0.003), (30.0, 0.004)]
    result = pauses.summarize([core0, core1], 60.0, 0.0025)
    assert result["machine_pauses"] == 1
    (start, length), = result["machine_pause_intervals"]
    assert abs(start - 10.003) < 1e-9 and abs(length - 0.003) < 1e-9
    assert pauses.during_pauses([10.006, 20.5], result["machine_pause_intervals"], 0.005) == 1
