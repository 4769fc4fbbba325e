"""Replay verification: does a recorded team trace reproduce?

The env is rebuilt from the run card's config and driven by the same team core as the run (TeamRun):
each recorded episode is reset with its recorded seed, and every observation is answered with the action
the env actually received (StepResult.action, i.e. after fallbacks and the shield); turn-based (AEC)
runs replay turn by turn. Each recorded observation, reward, termination and truncation must come out again, bit for
bit; the first difference is reported by agent, episode and step.
"""

from __future__ import annotations

import dataclasses
import json
from array import array
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from marl_bridge.config import ConfigError, ShieldConfig, from_dict
from marl_bridge.envs.episode import AgentResult, EpisodeRecord
from marl_bridge.envs.team import build_team
from marl_bridge.nodes.wire import Parsed
from marl_bridge.team.clock import FakeClock
from marl_bridge.team.run import QuietOutlet, TeamRun


@dataclass(frozen=True)
class Divergence:
    agent: str
    episode: int
    step: int
    field: str
    recorded: Any
    replayed: Any

    def describe(self) -> str:
        return (f"first divergence: agent {self.agent!r}, episode {self.episode}, step {self.step}: {self.field} "
                f"recorded {self.recorded!r}, replayed {self.replayed!r}")


@dataclass
class Trace:
    """What a bag holds, indexed by (episode, step, agent)."""

    observations: dict[tuple[int, int, str], np.ndarray]
    results: dict[tuple[int, int], dict[str, Any]]  # (episode, step) -> agent -> StepResult


def read_trace(bag: Path) -> Trace:
    from rosbags.highlevel import AnyReader

    observations: dict[tuple[int, int, str], np.ndarray] = {}
    results: dict[tuple[int, int], dict[str, Any]] = defaultdict(dict)
    with AnyReader([bag]) as reader:
        wanted = [c for c in reader.connections
                  if c.msgtype in ("marl_bridge/msg/Observation", "marl_bridge/msg/StepResult")]
        for connection, _t, raw in reader.messages(connections=wanted):
            msg = reader.deserialize(raw, connection.msgtype)
            if connection.msgtype.endswith("/Observation"):
                observations[(msg.episode, msg.step, msg.agent)] = np.asarray(msg.data, dtype=np.float64)
            else:
                results[(msg.episode, msg.step)][msg.agent] = msg
    return Trace(observations, dict(results))


class _Replayer(QuietOutlet):
    """The Outlet of a replay: compares what the run sends out with the bag, and answers each observation
    with the action the env received in the recording."""

    def __init__(self, trace: Trace, card: dict[str, Any]) -> None:
        self.trace = trace
        self.seeds = [rec["seed"] for rec in card["episodes"]]
        self.lengths = [rec["steps"] for rec in card["episodes"]]
        self.aborted = [bool(rec.get("aborted")) for rec in card["episodes"]]
        self.run: TeamRun | None = None
        self.due: tuple[int, int, dict[str, Any]] | None = None
        self.divergence: Divergence | None = None

    def diverged(self, divergence: Divergence) -> None:
        if self.divergence is None:
            self.divergence = divergence
            assert self.run is not None
            self.run.finish("diverged")

    def observations(self, episode: int, step: int, encoded: dict[str, Any]) -> None:
        for agent, data in encoded.items():
            recorded = self.trace.observations.get((episode, step, agent))
            if recorded is not None and recorded.tobytes() != data.tobytes():
                return self.diverged(Divergence(agent, episode, step, "observation", recorded.tolist(), data.tolist()))
        self.due = (episode, step, dict(encoded))
        return None

    def results(self, episode: int, step: int, results: list[AgentResult], actions: dict[str, Any]) -> None:
        recorded = self.trace.results.get((episode, step), {})
        for r in results:
            got = recorded.get(r.agent)
            if got is None:
                return self.diverged(Divergence(r.agent, episode, step, "step result", "missing", "agent was live"))
            for field, replayed in (("reward", r.reward), ("terminated", r.terminated), ("truncated", r.truncated)):
                if getattr(got, field) != replayed:
                    return self.diverged(Divergence(r.agent, episode, step, field, getattr(got, field), replayed))
        return None

    def episode_end(self, rec: EpisodeRecord) -> None:
        assert self.run is not None
        if rec.steps != self.lengths[rec.episode] and not self.aborted[rec.episode]:
            self.diverged(Divergence("<team>", rec.episode, rec.steps, "episode length", self.lengths[rec.episode],
                                     rec.steps))
        elif rec.episode + 1 < len(self.seeds):
            self.run.seed_override = self.seeds[rec.episode + 1]



def replay(bag: Path, card: dict[str, Any]) -> Divergence | None:
    """Replay `bag` against the env of `card` through the team core; None when everything is reproduced.

    The recorded actions are what the env received (after fallbacks and the shield), so the replay runs
    without a shield and answers every observation with them."""
    cfg = from_dict(card["config"], source=f"run card of {bag}")
    cfg = dataclasses.replace(cfg, run=dataclasses.replace(cfg.run, episodes=len(card["episodes"])),
                              safety=dataclasses.replace(cfg.safety, shield=ShieldConfig()))
    trace = read_trace(bag)
    if not trace.results:
        raise ConfigError(f"{bag}: no step results recorded; record with a recorder subscribed from the start")
    team = build_team(cfg)
    replayer = _Replayer(trace, card)
    run = replayer.run = TeamRun(cfg, team, replayer, clock=FakeClock())
    run.seed_override = replayer.seeds[0] if replayer.seeds else None
    run.start([])
    while not run.finished:
        assert replayer.due is not None
        episode, step, encoded = replayer.due
        replayer.due = None
        recorded = trace.results.get((episode, step))
        if recorded is None and replayer.aborted[episode]:
            run.reset(replayer.seeds[episode + 1] if episode + 1 < len(replayer.seeds) else None)
            if episode + 1 >= len(replayer.seeds):
                run.finish("complete")
            continue
        for agent in encoded:
            got = (recorded or {}).get(agent)
            if got is None:
                replayer.diverged(Divergence(agent, episode, step, "step result", "missing", "agent was live"))
                break
            codec = team.act_codecs[agent]
            run.offer(agent, Parsed(0, 0, agent, episode, step, codec.layout, array("d", got.action)))
    team.env.close()
    return replayer.divergence


def load_card(bag: Path, card_path: Path | None) -> tuple[dict[str, Any], Path]:
    candidates = [card_path] if card_path else [bag.parent / "run_card.json", bag / "run_card.json"]
    for path in candidates:
        if path is not None and path.exists():
            return json.loads(path.read_text()), path
    raise ConfigError(f"{bag}: no run card found at {', '.join(map(str, candidates))}; pass --card")
