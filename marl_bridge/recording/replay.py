"""Replay verification: does a recorded team trace reproduce?

The bag is enough: the supervisor's latched run header (recording/header.py) carries the effective config
and spaces; the episode summaries carry seeds and lengths. The env is rebuilt from that config and driven
by the same team core as the run (TeamRun, lockstep, fake clock): every observation is answered with the
action its actor sent (the first one for the step on its topic), or left to the deadline where the
recording says the fallback stood in, so the gate, the fallbacks and the shield run again. Every recorded
message is checked: observations (and each episode's final ones), applied actions, rewards, returns,
endings, fallback flags, infos and summaries; the first difference is named by agent, episode, step,
field and index. Messages in the bag that the replay never produced are a divergence too.

A bag whose recorder was killed (no metadata.yaml, an MCAP without its summary) is read as a stream up
to where it was cut: its finished episodes replay. A folder with nothing readable is a BagError.
"""

from __future__ import annotations

import dataclasses
import json
from array import array
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from marl_bridge.codec import Flat, flat_of_message
from marl_bridge.config import ConfigError, from_dict
from marl_bridge.envs.episode import AgentResult, EpisodeRecord
from marl_bridge.envs.team import build_team
from marl_bridge.nodes.topics import ros_name
from marl_bridge.nodes.wire import Parsed
from marl_bridge.recording.run_card import info_json
from marl_bridge.recording.video import EpisodeVideos
from marl_bridge.team.clock import FakeClock
from marl_bridge.team.run import QuietOutlet, TeamRun


class BagError(Exception):
    """The bag cannot be read at all (not a bag, empty, or damaged before its first message)."""


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

    header: dict[str, Any] | None = None
    observations: dict[tuple[int, int, str], np.ndarray] = field(default_factory=dict)
    finals: dict[tuple[int, int, str], np.ndarray] = field(default_factory=dict)
    actions: dict[tuple[int, int, str], Any] = field(default_factory=dict)  # the first one per step
    results: dict[tuple[int, int], dict[str, Any]] = field(default_factory=dict)  # (ep, step) -> agent -> msg
    summaries: dict[int, Any] = field(default_factory=dict)
    cut: str = ""  # where a damaged bag stopped being readable
    status: str = ""  # the run's last status on /<team>/run_status ("complete", "interrupted: ...", ...)


WANTED = ("marl_bridge/msg/Observation", "marl_bridge/msg/Action", "marl_bridge/msg/StepResult",
          "marl_bridge/msg/EpisodeSummary", "std_msgs/msg/String")


def _raw_messages(bag: Path, cut: list[str]) -> Iterator[tuple[str, str, bytes]]:
    """(topic, type, CDR bytes) of the team's messages: rosbags for a closed bag, a streaming MCAP read
    (up to where it was cut) for one whose recorder was killed."""
    from rosbags.highlevel import AnyReader

    if not bag.is_dir():
        raise BagError(f"{bag}: not a bag directory")
    if (bag / "metadata.yaml").exists():
        try:
            with AnyReader([bag]) as reader:
                wanted = [c for c in reader.connections if c.msgtype in WANTED]
                for connection, _t, raw in reader.messages(connections=wanted):
                    yield connection.topic, connection.msgtype, raw
            return
        except Exception as exc:  # a damaged file under a metadata.yaml: read what a stream reader can
            cut.append(f"rosbags could not read it ({type(exc).__name__}: {exc})")
    files = sorted(bag.glob("*.mcap"))
    if not files:
        raise BagError(f"{bag}: no metadata.yaml and no .mcap file; is this a rosbag2 directory (MCAP)?")
    from mcap.reader import NonSeekingReader

    for path in files:
        with path.open("rb") as f:
            try:
                stream = NonSeekingReader(f, validate_crcs=True).iter_messages(log_time_order=False)
                for schema, channel, message in stream:
                    if schema is not None and schema.name in WANTED:
                        yield channel.topic, schema.name, message.data
            except Exception as exc:  # EndOfFile, a bad record or CRC: the readable part stops here
                cut.append(f"{path.name} readable up to byte {f.tell()} ({type(exc).__name__})")


def read_trace(bag: Path) -> Trace:
    from marl_bridge.recording.recorder import team_typestore

    store = team_typestore()
    trace = Trace()
    cut: list[str] = []
    results: dict[tuple[int, int], dict[str, Any]] = {}
    action_topics: dict[str, str] = {}  # topic -> agent, once the header names the agents
    n = 0
    for topic, msgtype, raw in _raw_messages(bag, cut):
        n += 1
        try:
            msg = store.deserialize_cdr(raw, msgtype)
        except Exception as exc:
            raise BagError(f"{bag}: a {msgtype} message on {topic} cannot be decoded ({exc})") from exc
        if msgtype == "std_msgs/msg/String":
            if topic.endswith("/run_header") and trace.header is None:
                trace.header = json.loads(msg.data)
                root = topic[:-len("/run_header")]  # the team's namespace, under any pushed in front of it
                action_topics = {f"{root}/{ros_name(a)}/action": a for a in trace.header["agents"]}
            elif topic.endswith("/run_status"):
                trace.status = msg.data
        elif msgtype.endswith("/Observation"):
            into = trace.finals if topic.endswith("/final_observation") else trace.observations
            into.setdefault((msg.episode, msg.step, msg.agent), flat_of_message(msg))
        elif msgtype.endswith("/Action") and topic.endswith("/action"):  # not an actor watchdog's stop
            agent = action_topics.get(topic, msg.agent)
            if msg.agent == agent:  # one naming another agent was ignored by the gate: not this agent's answer
                trace.actions.setdefault((msg.episode, msg.step, agent), msg)
        elif msgtype.endswith("/StepResult"):
            results.setdefault((msg.episode, msg.step), {}).setdefault(msg.agent, msg)
        else:
            trace.summaries.setdefault(msg.episode, msg)
    if n == 0:
        raise BagError(f"{bag}: no readable message of the team ({'; '.join(cut) or 'empty bag'})")
    trace.results = results
    trace.cut = "; ".join(cut)
    return trace


def _first_difference(recorded: Any, replayed: Any) -> tuple[str, Any, Any] | None:
    """None when equal bit for bit; else ("[i]", recorded value, replayed value) at the first index."""
    if isinstance(recorded, Flat):
        return recorded.first_difference(replayed)
    a, b = np.asarray(recorded, dtype=np.float64), np.asarray(replayed, dtype=np.float64)
    if a.shape != b.shape:
        return "", f"{a.size} values", f"{b.size} values"
    if a.tobytes() == b.tobytes():
        return None
    i = int(np.flatnonzero(a.view(np.uint64) != b.view(np.uint64))[0])
    return f"[{i}]", float(a[i]), float(b[i])


class _Replayer(QuietOutlet):
    """The Outlet of a replay: compares what the run sends out with the bag and notes what it saw."""

    def __init__(self, trace: Trace, episodes: list[Any], act_codecs: dict[str, Any]) -> None:
        self.trace = trace
        self.episodes = episodes  # the summaries replayed, in order
        self.act_codecs = act_codecs
        self.run: TeamRun | None = None
        self.due: tuple[int, int, dict[str, Any]] | None = None
        self.divergence: Divergence | None = None
        self.seen_obs: set[tuple[int, int, str]] = set()
        self.seen_results: set[tuple[int, int]] = set()
        self.cut_at: tuple[int, int] | None = None  # a cut bag: its data ends at (episode, step)
        self.video: EpisodeVideos | None = None  # frames of every state the replay reaches (--video)

    def at_cut(self, episode: int, step: int) -> bool:
        """Is what is missing at (episode, step) the end of a cut bag's readable data (then the replay
        stops there, reproduced so far) rather than a hole in the middle (a divergence)?"""
        if self.cut_at is None or (episode, step) < self.cut_at:
            return False
        assert self.run is not None
        self.run.finish("complete")
        return True

    def diverged(self, agent: str, episode: int, step: int, what: str, recorded: Any, replayed: Any) -> None:
        if self.divergence is None:
            self.divergence = Divergence(agent, episode, step, what, recorded, replayed)
            assert self.run is not None
            self.run.finish("diverged")

    def _compare(self, agent: str, episode: int, step: int, what: str, recorded: Any, replayed: Any) -> bool:
        diff = _first_difference(recorded, replayed)
        if diff is not None:
            self.diverged(agent, episode, step, what + diff[0], diff[1], diff[2])
        return diff is None

    def observations(self, episode: int, step: int, encoded: dict[str, Any]) -> None:
        for agent, data in encoded.items():
            key = (episode, step, agent)
            recorded = self.trace.observations.get(key)
            if recorded is None:
                if self.at_cut(episode, step):
                    return None
                return self.diverged(agent, episode, step, "observation", "missing from the bag", "sent")
            self.seen_obs.add(key)
            if not self._compare(agent, episode, step, "observation", recorded, data):
                return None
        self.due = (episode, step, dict(encoded))
        if self.video is not None:  # the state the agents observe now, checked against the bag above
            self.video.frame(episode)
        return None

    def results(self, episode: int, step: int, results: list[AgentResult], actions: dict[str, Any]) -> None:
        recorded = self.trace.results.get((episode, step), {})
        self.seen_results.add((episode, step))
        extra = sorted(set(recorded) - {r.agent for r in results})
        if extra:
            return self.diverged(extra[0], episode, step, "step result", "recorded", "agent was not live")
        for r in results:
            got = recorded.get(r.agent)
            if got is None:
                return self.diverged(r.agent, episode, step, "step result", "missing from the bag", "agent was live")
            if got.fallback != r.fallback:  # in causal order: the action, then what it did
                return self.diverged(r.agent, episode, step, "fallback", got.fallback, r.fallback)
            applied = self.act_codecs[r.agent].pack_f64(actions[r.agent]) if r.acted else array("d")
            if not self._compare(r.agent, episode, step, "applied action", got.action, applied):
                return None
            for what, value in (("reward", r.reward), ("episode_return", r.episode_return),
                                ("terminated", r.terminated), ("truncated", r.truncated),
                                ("info_json", info_json(r.info))):
                if getattr(got, what) != value:
                    return self.diverged(r.agent, episode, step, what, getattr(got, what), value)
            if r.final is not None:
                final = self.trace.finals.get((episode, step + 1, r.agent))
                if final is None:
                    return self.diverged(r.agent, episode, step + 1, "final observation", "missing from the bag",
                                         "sent")
                if not self._compare(r.agent, episode, step + 1, "final observation", final, r.final):
                    return None
        return None

    def episode_end(self, rec: EpisodeRecord) -> None:
        assert self.run is not None
        if self.video is not None:  # the episode's last state
            self.video.frame(rec.episode)
        if rec.episode >= len(self.episodes):
            return  # an unfinished episode of a cut bag: replayed as far as it goes
        summary = self.episodes[rec.episode]
        a = list(summary.agents)
        for what, recorded, replayed in (
                ("seed", summary.seed, rec.seed), ("steps", summary.steps, rec.steps), ("agents", a, rec.agents),
                ("returns", list(summary.returns), [rec.returns.get(x) for x in a]),
                ("lengths", list(summary.lengths), [rec.lengths.get(x) for x in a]),
                ("terminated", list(summary.terminated), [rec.terminated.get(x) for x in a]),
                ("truncated", list(summary.truncated), [rec.truncated.get(x) for x in a]),
                ("fallbacks", list(summary.fallbacks), [rec.fallbacks.get(x) for x in a])):
            if recorded != replayed:
                return self.diverged("<team>", rec.episode, rec.steps, f"episode summary {what}", recorded, replayed)
        if rec.episode + 1 < len(self.episodes):
            self.run.seed_override = self.episodes[rec.episode + 1].seed
        return None


@dataclass(frozen=True)
class ReplayReport:
    divergence: Divergence | None
    episodes: int  # finished episodes replayed
    steps: int
    unfinished: int  # steps of an unfinished last episode (a cut bag) replayed as well
    cut: str  # where a damaged bag stopped being readable ("" for a whole bag)
    header: bool  # the config came from the bag's run header (not from a run card)
    videos: list[str] = field(default_factory=list)  # MP4 files written (--video)


def replay(bag: Path, card: dict[str, Any] | None = None, video_dir: Path | None = None) -> ReplayReport:
    """Replay `bag` through the team core; the card, if given, must agree with the bag. With `video_dir`,
    also render every state the replay reaches into one MP4 per episode there (recording/video.py)."""
    trace = read_trace(bag)
    if trace.header is not None:
        config, source = trace.header["config"], f"run header of {bag}"
    elif card is not None:
        config, source = card["config"], f"run card of {bag}"
    else:
        raise BagError(f"{bag}: no run header in the bag (recorded by a marl_bridge older than the header) and no "
                       "run card; pass --card")
    if not trace.results:
        raise BagError(f"{bag}: no step results recorded; record with a recorder subscribed from the start")
    cfg = from_dict(config, source=source)
    first_ep = min(ep for ep, _ in trace.results)
    last_ep = max(ep for ep, _ in trace.results)
    episodes = [trace.summaries.get(ep) for ep in range(last_ep + 1)]
    missing = [ep for ep, s in enumerate(episodes) if s is None and ep < last_ep]
    def refused(ep: int, what: str, recorded: Any, replayed: Any) -> ReplayReport:
        """The bag and the card disagree before anything is replayed."""
        return ReplayReport(Divergence("<team>", ep, 0, what, recorded, replayed), 0, 0, 0, trace.cut,
                            trace.header is not None)

    if first_ep != 0 or missing:
        return refused(missing[0] if missing else 0, "episode summary", "missing from the bag", "episode ran")
    finished = [s for s in episodes if s is not None]
    unfinished = episodes[-1] is None
    if unfinished and not trace.cut and (trace.status == "complete" or trace.status.startswith("degraded")):
        # a whole bag of a run that ended normally has every summary: this one was dropped
        return refused(last_ep, "episode summary", "missing from the bag", f"episode ran (run status {trace.status!r})")
    carded = card.get("totals", {}).get("episodes", len(card["episodes"])) if card is not None else len(finished)
    if carded != len(finished):
        return refused(len(finished), "episodes in the run card", carded, len(finished))
    runs = len(finished) + (1 if unfinished else 0)
    cfg = dataclasses.replace(cfg, run=dataclasses.replace(cfg.run, episodes=runs),
                              supervisor=dataclasses.replace(cfg.supervisor, mode="lockstep"))
    if video_dir is not None:  # rendering changes no state: the comparisons below still hold every message
        cfg = dataclasses.replace(cfg, env=dataclasses.replace(cfg.env, kwargs={**cfg.env.kwargs,
                                                                               "render_mode": "rgb_array"}))
    try:
        team = build_team(cfg)
    except ConfigError as exc:
        if video_dir is None:
            raise
        raise ConfigError(f"--video needs an env that renders with render_mode='rgb_array': {exc}") from None
    replayer = _Replayer(trace, finished, team.act_codecs)
    if video_dir is not None:
        fps = 1.0 / team.world.control_period_s if team.world is not None else \
            float(team.env.metadata.get("render_fps", 20))
        replayer.video = EpisodeVideos(video_dir, fps, (team.world or team.env).render)
    if unfinished:
        replayer.cut_at = (last_ep, max(step for ep, step in trace.results if ep == last_ep))
    clock = FakeClock()
    run = replayer.run = TeamRun(cfg, team, replayer, clock=clock)
    run.seed_override = finished[0].seed if finished else None
    run.start([])
    deadline = cfg.supervisor.step_deadline_s
    try:
        while not run.finished:
            assert replayer.due is not None
            episode, step, encoded = replayer.due
            replayer.due = None
            recorded = trace.results.get((episode, step))
            whole = recorded is not None and all(a in recorded for a in encoded)
            if not whole and replayer.at_cut(episode, step):
                break  # the cut bag's unfinished episode: replayed up to its last whole step
            if recorded is None:
                if episode < len(finished) and step == finished[episode].steps:
                    run.reset(finished[episode + 1].seed if episode + 1 < len(finished) else None)  # aborted
                    if episode + 1 >= runs:
                        run.finish("complete")
                    continue
                replayer.diverged(next(iter(encoded)), episode, step, "step result", "missing from the bag",
                                  "agent was live")
                break
            for agent in encoded:
                got = recorded.get(agent)
                if got is None or got.fallback:
                    continue  # its fallback stood in: left to the deadline below
                msg = trace.actions.get((episode, step, agent))
                if msg is None:
                    replayer.diverged(agent, episode, step, "actor action", "missing from the bag",
                                      "the step result says the policy's action was used")
                    break
                run.offer(agent, Parsed(0, 0, agent, episode, step, msg.layout, flat_of_message(msg), msg.entropy))
            if replayer.due is None and not run.finished:
                clock.advance(deadline)
                run.poll()
    finally:
        videos = replayer.video.close() if replayer.video is not None else []
        team.env.close()
    if replayer.divergence is None:
        extra = sorted(set(trace.observations) - replayer.seen_obs)
        if extra:
            ep, step, agent = extra[0]
            replayer.divergence = Divergence(agent, ep, step, "observation", "recorded", "never sent by the replay")
        extra_results = sorted(set(trace.results) - replayer.seen_results)
        if replayer.divergence is None and extra_results:
            ep, step = extra_results[0]
            replayer.divergence = Divergence(next(iter(trace.results[(ep, step)])), ep, step, "step result",
                                             "recorded", "never produced by the replay")
    steps = sum(s.steps for s in finished)
    return ReplayReport(replayer.divergence, len(finished), steps, run.step_index if unfinished else 0, trace.cut,
                        trace.header is not None, videos)


def load_card(bag: Path, card_path: Path | None) -> tuple[dict[str, Any] | None, Path | None]:
    """The run card beside the bag (or the one given); None when there is none (the bag's header serves)."""
    candidates = [card_path] if card_path else [bag.parent / "run_card.json", bag / "run_card.json"]
    for path in candidates:
        if path is not None and path.exists():
            try:
                return json.loads(path.read_text()), path
            except (OSError, ValueError) as exc:
                raise ConfigError(f"{path}: not a readable run card ({exc})") from exc
    if card_path is not None:
        raise ConfigError(f"{card_path}: no such run card")
    return None, None
