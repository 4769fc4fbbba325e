"""The bad-input matrix over real DDS: a hostile actor in its own process answers with every kind of
wrong action; a flood of 10,000 actions/s hits one action topic; hypothesis-generated action data.
Each must leave the supervisor running, the episode data complete and the right events counted."""

from __future__ import annotations

import dataclasses
import json
import math
import os
import subprocess
import sys
from array import array
from pathlib import Path

import numpy as np
import pytest
from conftest import CONFIG_DIR, REPO
from gymnasium import spaces
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from team_monitor import TeamMonitor

from marl_bridge.cli.team import run_team
from marl_bridge.codec import CodecError, Flat, SpaceCodec
from marl_bridge.config import RunConfig, ShieldConfig, dump_yaml, load, with_overrides

pytestmark = pytest.mark.ros
HELPERS = REPO / "test" / "helpers"
OK = [0.0, 0.0, 0.0]
MATRIX = {
    "1": [{"data": [None, 0, 0]}],  # NaN
    "2": [{"data": ["inf", 0, 0]}],  # inf
    "3": [{"data": [0.1, 0.2]}],  # wrong length
    "4": [{"data": [3.0, 0, 0]}],  # outside the Box
    "5": [{"agent": "robot_1", "data": OK}, {}],  # names another agent, then the right answer
    "6": [{"agent": "intruder", "data": OK}, {}],  # names an unknown agent
    "7": [{"step_offset": -1, "data": OK}, {}],  # for the previous step
    "8": [{"step_offset": 1, "data": OK}, {}],  # for a step not yet observed
    "9": [{}, {}],  # a duplicate
    "10": [{"bytes": "0001000001020304"}, {}],  # bytes that are no Action at all, then the right answer
}


def _config(steps: int, **supervisor: object) -> RunConfig:
    cfg = with_overrides(load(CONFIG_DIR / "mujoco_pursuit.yaml"), episodes=1, seed=12)
    env = dataclasses.replace(cfg.env, kwargs={"n_robots": 2, "capture_robots": 2, "capture_radius": 0.0,
                                               "max_steps": steps})
    return dataclasses.replace(cfg, env=env, supervisor=dataclasses.replace(cfg.supervisor, **supervisor),
                               safety=dataclasses.replace(cfg.safety, shield=ShieldConfig()))  # exact counts


def _run_with_hostile(cfg: RunConfig, script: dict, tmp_path: Path) -> tuple[dict, TeamMonitor]:
    config = dump_yaml(cfg, tmp_path / "team.yaml")
    (tmp_path / "script.json").write_text(json.dumps(script))
    hostile = subprocess.Popen([sys.executable, "-P", str(HELPERS / "hostile_actor.py"), str(config), "robot_0",
                                str(tmp_path / "script.json")], env=os.environ.copy())
    monitors: list[TeamMonitor] = []

    def extra(_s: object) -> list[TeamMonitor]:
        monitors.append(TeamMonitor(cfg.supervisor.team, ["robot_0", "robot_1"]))
        return monitors

    try:
        card = run_team(cfg, tmp_path / "out", extra_nodes=extra, external=["robot_0"],
                        drain=lambda c: monitors[0].expect(c))
    finally:
        hostile.terminate()
        hostile.wait(timeout=10)
    return card, monitors[0]


def test_every_wrong_action_gets_its_event_and_the_episode_completes(tmp_path: Path) -> None:
    # real-time: the step closes at the tick, so a second answer within the period is a duplicate (in
    # lockstep the first answer may complete the step, and the second is then stale)
    # (4 Hz, 250 ms deadline: only a machine stalled for a quarter second could change the counts below;
    # the same classification is checked exactly, without DDS or a wall clock, in test/team/test_run.py)
    card, monitor = _run_with_hostile(_config(20, mode="realtime", control_rate_hz=4.0, step_deadline_s=0.25),
                                      MATRIX, tmp_path)
    assert card["status"] == "complete"
    (ep,) = card["episodes"]
    assert ep["lengths"] == {"robot_0": 20, "robot_1": 20}
    assert ep["fallbacks"] == {"robot_0": 4, "robot_1": 0}  # NaN, inf, wrong length, out of bounds
    assert card["safety_events"]["by_agent"]["robot_0"] == {
        "invalid_action": 5, "wrong_agent": 1, "unknown_agent": 1, "stale_action": 1, "future_action": 1,
        "duplicate_action": 1}
    assert card["deadline_misses"] == {"robot_0": 0, "robot_1": 0}
    got = {(e.kind, e.step) for e in monitor.events}
    assert {("invalid_action", 1), ("invalid_action", 4), ("future_action", 8), ("duplicate_action", 9)} <= got
    detail = next(e.detail for e in monitor.events if e.kind == "invalid_action" and e.step == 3)
    assert "got 2 f32, expected 3 f32" in detail
    detail = next(e.detail for e in monitor.events if e.kind == "invalid_action" and e.step == 10)
    assert "unreadable message on 'robot_0'" in detail  # and no fallback: the right answer followed


def _rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS")


def test_a_flood_of_actions_on_one_topic_degrades_gracefully(tmp_path: Path) -> None:
    cfg = _config(150, mode="realtime", control_rate_hz=50.0, step_deadline_s=0.02)
    flood = subprocess.Popen([sys.executable, "-P", str(HELPERS / "flood.py"), "/pursuit/robot_1/action",
                              "10000", "3.0"], env=os.environ.copy(), stdout=subprocess.PIPE, text=True)
    monitors: list[TeamMonitor] = []

    def extra(_s: object) -> list[TeamMonitor]:
        monitors.append(TeamMonitor(cfg.supervisor.team, ["robot_0", "robot_1"]))
        return monitors

    rss0 = _rss_mb()
    try:
        card = run_team(cfg, tmp_path, extra_nodes=extra, drain=lambda c: monitors[0].expect(c))
    finally:
        out, _ = flood.communicate(timeout=30)
    grew = _rss_mb() - rss0
    sent = int(out.split()[1])
    assert card["status"] == "complete"
    assert card["episodes"][0]["lengths"] == {"robot_0": 150, "robot_1": 150}
    flood_events = sum(v for k, v in card["safety_events"]["by_agent"]["robot_1"].items()
                       if k in ("future_action", "wrong_agent", "invalid_action", "stale_action"))
    assert sent >= 15_000 and flood_events >= 0.5 * sent, (sent, flood_events)  # each counted, none applied
    published = sum(1 for e in monitors[0].events if e.agent == "robot_1" and e.kind != "deadline_miss")
    assert published < 0.05 * flood_events  # rate-limited on the wire, with events_suppressed notes
    assert any(e.kind == "events_suppressed" for e in monitors[0].events)
    assert grew < 150, f"supervisor process grew {grew:.0f} MB during the flood"
    print(f"flood: sent {sent}, counted {flood_events}, published {published}, steps/s "
          f"{card['timing']['steps_per_s']:.1f}, robot_1 deadline misses {card['deadline_misses']['robot_1']}")


BOX = SpaceCodec(spaces.Box(-1.0, 1.0, (3,), np.float32))
values = st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.floats(-1.0, 1.0))


@settings(max_examples=3, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(batch=st.lists(st.lists(values, min_size=0, max_size=5), min_size=8, max_size=8))
def test_hypothesis_generated_action_data(tmp_path_factory: pytest.TempPathFactory,
                                          batch: list[list[float]]) -> None:
    tmp_path = tmp_path_factory.mktemp("hyp")

    def wire(v: float) -> object:
        return None if math.isnan(v) else ("inf" if v == math.inf else "-inf" if v == -math.inf else v)

    script = {str(i): [{"data": [wire(v) for v in data]}] for i, data in enumerate(batch)}
    invalid = 0
    for data in batch:
        try:
            with np.errstate(over="ignore"):  # as on the wire: float32, too large is inf
                sent = np.array(data, dtype=np.float64).astype(np.float32)
            BOX.unpack_checked(Flat(f32=array("f", sent.tobytes())))
        except CodecError:
            invalid += 1
    card, _ = _run_with_hostile(_config(10), script, tmp_path)
    assert card["status"] == "complete" and card["episodes"][0]["lengths"]["robot_0"] == 10
    assert card["episodes"][0]["fallbacks"]["robot_0"] == invalid
    assert card["safety_events"]["by_agent"].get("robot_0", {}).get("invalid_action", 0) == invalid


def test_clamp_to_bounds_clips_an_out_of_bounds_action_instead_of_falling_back(tmp_path: Path) -> None:
    cfg = _config(10, mode="realtime", control_rate_hz=4.0, step_deadline_s=0.25)  # exact counts, as above
    cfg = dataclasses.replace(cfg, safety=dataclasses.replace(cfg.safety, shield=ShieldConfig(clamp_to_bounds=True)))
    script = {"1": [{"data": [None, 0, 0]}], "4": [{"data": [3.0, -7.0, 0]}]}  # NaN cannot be clipped
    card, monitor = _run_with_hostile(cfg, script, tmp_path)
    assert card["status"] == "complete"
    assert card["episodes"][0]["fallbacks"]["robot_0"] == 1
    assert card["safety_events"]["by_agent"]["robot_0"] == {"invalid_action": 1, "action_clamped": 1}
    assert card["interventions"]["robot_0"] == {"action_clamped": 1}
    assert ("action_clamped", 4) in {(e.kind, e.step) for e in monitor.events}
