"""In-process delivery (marl_bridge/nodes/intra.py): the hand-over queue pure, then teams over real DDS
that hand observations and actions over in-process, over DDS, or both, with the same results."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from conftest import CONFIG_DIR
from team_monitor import run_with_monitor

from marl_bridge.cli.team import run_team
from marl_bridge.config import RunConfig, load, with_overrides
from marl_bridge.nodes.intra import Deliveries
from marl_bridge.rollout import direct_rollout


class FakeExecutor:
    """Collects tasks; `run_one` runs the oldest, as an executor would when it gets to it."""

    def __init__(self) -> None:
        self.tasks: list[Callable[[], None]] = []

    def create_task(self, fn: Callable[[], None]) -> None:
        self.tasks.append(fn)

    def run_one(self) -> None:
        self.tasks.pop(0)()


def test_deliveries_go_in_order_with_one_task_per_batch() -> None:
    executor, got = FakeExecutor(), []
    deliveries = Deliveries(executor)  # type: ignore[arg-type]
    for item in range(3):
        deliveries.push(got.append, item)
    assert len(executor.tasks) == 1 and got == []  # never inside the publisher's call
    executor.run_one()
    assert got == [0, 1, 2] and executor.tasks == []


def test_what_a_callback_queues_waits_for_the_next_task() -> None:
    """A chain of hand-overs (observation -> action -> next observation) yields to the executor at every
    link: its timers and DDS messages are served in between."""
    executor, got = FakeExecutor(), []
    deliveries = Deliveries(executor)  # type: ignore[arg-type]

    def answer(item: int) -> None:
        got.append(item)
        if item < 2:
            deliveries.push(answer, item + 1)
    deliveries.push(answer, 0)
    executor.run_one()
    assert got == [0] and len(executor.tasks) == 1
    executor.run_one()
    executor.run_one()
    assert got == [0, 1, 2] and executor.tasks == []


def test_a_raising_callback_leaves_the_rest_scheduled() -> None:
    executor, got = FakeExecutor(), []
    deliveries = Deliveries(executor)  # type: ignore[arg-type]

    def bad(_item: Any) -> None:
        raise RuntimeError("policy bug")
    deliveries.push(bad, 0)
    deliveries.push(got.append, 1)
    with pytest.raises(RuntimeError):
        executor.run_one()
    assert len(executor.tasks) == 1
    executor.run_one()
    assert got == [1]


# -- teams over real DDS -------------------------------------------------------------------------

def _config(intra_process: bool = True) -> RunConfig:
    cfg = with_overrides(load(CONFIG_DIR / "point_team.yaml"), episodes=2, seed=4, topology="single")
    return dataclasses.replace(cfg, run=dataclasses.replace(cfg.run, intra_process=intra_process))


def _matches_direct(card: dict[str, Any], cfg: RunConfig) -> int:
    """The run equals the direct rollout bit for bit; returns its agent-steps."""
    direct = direct_rollout(cfg)
    assert card["status"] == "complete" and len(card["episodes"]) == len(direct)
    for ros_ep, ref in zip(card["episodes"], direct, strict=True):
        assert (ros_ep["seed"], ros_ep["steps"], ros_ep["lengths"]) == (ref.seed, ref.steps, ref.lengths)
        assert ros_ep["returns"] == ref.returns  # exact, per agent
        assert ros_ep["observation_digest"] == ref.observation_digest
    assert sum(card["deadline_misses"].values()) == 0 and not card["safety_events"]["by_agent"]
    return sum(sum(ep["lengths"].values()) for ep in card["episodes"])


@pytest.mark.ros
def test_a_single_process_team_hands_everything_over_in_process(tmp_path: Path) -> None:
    cfg = _config()
    card = run_team(cfg, tmp_path)
    agent_steps = _matches_direct(card, cfg)
    assert card["transport"] == {"observations": {"in_process": agent_steps, "dds": 0},
                                 "actions": {"in_process": agent_steps, "dds": 0}}


@pytest.mark.ros
def test_intra_process_off_sends_everything_over_dds(tmp_path: Path) -> None:
    cfg = _config(intra_process=False)
    card = run_team(cfg, tmp_path)
    agent_steps = _matches_direct(card, cfg)
    assert card["transport"] == {"observations": {"in_process": 0, "dds": agent_steps},
                                 "actions": {"in_process": 0, "dds": agent_steps}}


@pytest.mark.ros
def test_a_reader_outside_the_team_gets_every_observation_over_dds(tmp_path: Path) -> None:
    """A plain subscriber (a monitor here; `ros2 topic echo`, a recorder node elsewhere) on the observation
    topics: the supervisor sends them over DDS, to that reader and the actors alike, each once (a second
    copy would have been answered twice: duplicate_action events); the actions, read by no one else, are
    still handed over."""
    cfg = _config()
    card, monitor = run_with_monitor(cfg, tmp_path)
    agent_steps = _matches_direct(card, cfg)
    assert card["transport"] == {"observations": {"in_process": 0, "dds": agent_steps},
                                 "actions": {"in_process": agent_steps, "dds": 0}}
    for ep in card["episodes"]:
        for agent in card["agents"]:
            assert monitor.digest(ep["episode"], agent) == ep["observation_digest"][agent]
