"""Replay verification: does a recorded team trace reproduce?

The env is rebuilt from the run card's config, each recorded episode is reset with its recorded seed,
and every joint step is driven by the actions the env actually received (StepResult.action, i.e. after
fallbacks). Each recorded observation, reward, termination and truncation must come out again, bit for
bit; the first difference is reported by agent, episode and step.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from marl_bridge.config import ConfigError, from_dict
from marl_bridge.envs.episode import TeamEpisode
from marl_bridge.envs.team import build_team


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


def replay(bag: Path, card: dict[str, Any]) -> Divergence | None:
    """Replay `bag` against the env of `card`; None when everything is reproduced."""
    cfg = from_dict(card["config"], source=f"run card of {bag}")
    team = build_team(cfg)
    env, obs_codecs, act_codecs = team.env, team.obs_codecs, team.act_codecs
    trace = read_trace(bag)
    if not trace.results:
        raise ConfigError(f"{bag}: no step results recorded; record with a recorder subscribed from the start")
    episode = TeamEpisode(env, obs_codecs, cfg.supervisor.max_steps)
    for rec in card["episodes"]:
        ep = rec["episode"]
        encoded = episode.reset(ep, rec["seed"])
        step = 0
        while not episode.done and (ep, step) in trace.results:
            for agent, data in encoded.items():
                recorded = trace.observations.get((ep, step, agent))
                if recorded is not None and recorded.tobytes() != data.tobytes():
                    return Divergence(agent, ep, step, "observation", recorded.tolist(), data.tolist())
            step_results = trace.results[(ep, step)]
            missing = [a for a in encoded if a not in step_results]
            if missing:
                return Divergence(missing[0], ep, step, "step result", "missing", "agent was live")
            actions = {a: act_codecs[a].decode(np.asarray(step_results[a].action)) for a in encoded}
            fallback = {a for a in encoded if step_results[a].fallback}
            for r in episode.step(actions, fallback):
                got = step_results[r.agent]
                for field, replayed in (("reward", r.reward), ("terminated", r.terminated),
                                        ("truncated", r.truncated)):
                    if getattr(got, field) != replayed:
                        return Divergence(r.agent, ep, step, field, getattr(got, field), replayed)
            encoded = episode.encoded
            step += 1
        if step != rec["steps"] and not rec.get("aborted"):
            return Divergence("<team>", ep, step, "episode length", rec["steps"], step)
    env.close()
    return None


def load_card(bag: Path, card_path: Path | None) -> tuple[dict[str, Any], Path]:
    candidates = [card_path] if card_path else [bag.parent / "run_card.json", bag / "run_card.json"]
    for path in candidates:
        if path is not None and path.exists():
            return json.loads(path.read_text()), path
    raise ConfigError(f"{bag}: no run card found at {', '.join(map(str, candidates))}; pass --card")
