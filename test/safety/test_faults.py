"""A late actor and a NaN actor over real DDS: fallbacks used, events published and counted, episodes
complete. Actors run in their own processes, so a slow actor is slow for real."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from conftest import CONFIG_DIR
from team_monitor import TeamMonitor

from marl_bridge.cli.team import run_team
from marl_bridge.config import PolicyConfig, TeamPolicyConfig, load, with_overrides

pytestmark = pytest.mark.ros

LATE_STEPS = [2, 5]
NAN_STEPS = [1, 3, 4]
EPISODES = 2
CYCLES = 8


def _faulty_config():
    cfg = with_overrides(load(CONFIG_DIR / "point_team.yaml"), episodes=EPISODES, topology="multiprocess")
    greedy = PolicyConfig(kind="scripted", entry_point="marl_bridge.envs.point_team:greedy_policy")
    policy = TeamPolicyConfig(shared=False, default=greedy, per_agent={
        "robot_1": PolicyConfig(kind="scripted", entry_point="marl_bridge.policies.faults:late",
                                kwargs={"steps": LATE_STEPS, "delay_s": 0.7}),
        "robot_2": PolicyConfig(kind="scripted", entry_point="marl_bridge.policies.faults:nan",
                                kwargs={"steps": NAN_STEPS}),
    })
    # goal_radius 0: nobody reaches a goal, so every agent lives all CYCLES steps (exact counts).
    env = dataclasses.replace(cfg.env, kwargs={"n_agents": 3, "max_cycles": CYCLES, "goal_radius": 0.0})
    sup = dataclasses.replace(cfg.supervisor, step_deadline_s=0.5, fallback=dataclasses.replace(
        cfg.supervisor.fallback, kind="hold"))
    return dataclasses.replace(cfg, env=env, policy=policy, supervisor=sup)


def test_late_and_nan_actors_get_fallbacks_and_events(tmp_path: Path) -> None:
    cfg = _faulty_config()
    monitors: list[TeamMonitor] = []

    def extra(_supervisor: object) -> list[TeamMonitor]:
        monitors.append(TeamMonitor(cfg.supervisor.team, ["robot_0", "robot_1", "robot_2"]))
        return monitors

    card = run_team(cfg, tmp_path, extra_nodes=extra, drain=lambda c: monitors[0].expect(c))
    assert card["status"] == "complete"
    assert len(card["episodes"]) == EPISODES
    # A hung actor misses at least its late steps; while it catches up it may miss the next one too
    # (its queued observation is answered late), so robot_1's count is a lower bound tied to fallbacks.
    misses = card["deadline_misses"]
    assert misses["robot_0"] == 0 and misses["robot_2"] == 0
    assert misses["robot_1"] >= EPISODES * len(LATE_STEPS)
    for ep in card["episodes"]:
        assert ep["lengths"] == {"robot_0": CYCLES, "robot_1": CYCLES, "robot_2": CYCLES}
        assert ep["fallbacks"]["robot_0"] == 0
        assert ep["fallbacks"]["robot_2"] == len(NAN_STEPS)
    assert sum(ep["fallbacks"]["robot_1"] for ep in card["episodes"]) == misses["robot_1"]

    by_agent = card["safety_events"]["by_agent"]
    assert "robot_0" not in by_agent
    assert by_agent["robot_1"]["deadline_miss"] == misses["robot_1"]
    assert by_agent["robot_2"] == {"invalid_action": EPISODES * len(NAN_STEPS)}
    # The late answers arrive after the team moved on: they are counted stale, never applied.
    assert by_agent["robot_1"].get("stale_action", 0) >= 1
    assert card["safety_events"]["failure_labels"]["control"] == EPISODES * len(NAN_STEPS)

    monitor = monitors[0]
    kinds = [(e.agent, e.kind, e.episode, e.step) for e in monitor.events]
    for episode in range(EPISODES):
        for step in LATE_STEPS:
            assert ("robot_1", "deadline_miss", episode, step) in kinds
        for step in NAN_STEPS:
            assert ("robot_2", "invalid_action", episode, step) in kinds
    nan_event = next(e for e in monitor.events if e.kind == "invalid_action")
    assert "NaN" in nan_event.detail and nan_event.severity == 2
    assert monitor.results["robot_1"] == EPISODES * CYCLES
