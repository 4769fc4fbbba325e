"""The supervisor's publishers: a TeamRun's Outlet over ROS (see marl_bridge.team.run.Outlet).

Observations and step results go out as serialized bytes from per-agent writers (nodes/wire.py: the
typed conversion was the largest cost of a step); step results are serialized only for topics someone
reads or when the supervisor records the team itself (the matched event keeps the reader count, so the step loop
does not ask the middleware every step).
"""

from __future__ import annotations

import json
import struct
import time
from array import array
from collections.abc import Callable
from typing import Any

from rclpy.node import Node
from rclpy.serialization import serialize_message
from rosgraph_msgs.msg import Clock as ClockMsg
from std_msgs.msg import String

from marl_bridge.envs.episode import AgentResult, EpisodeRecord
from marl_bridge.envs.team import Team
from marl_bridge.msg import AgentSpec, EpisodeSummary, Observation, SafetyEvent, StepResult
from marl_bridge.nodes.intra import IntraPublisher, ReaderCount
from marl_bridge.nodes.topics import EVENTS_OUT_QOS, LATCHED_QOS, TeamNames, stream_out_qos
from marl_bridge.nodes.wire import ObservationWriter, Parsed, StepResultWriter
from marl_bridge.nodes.world_view import WorldView
from marl_bridge.recording.run_card import info_json
from marl_bridge.recording.tap import OBSERVATION, STEP_RESULT, BagTap, observation_row, step_result_row
from marl_bridge.safety.events import SafetyEventData
from marl_bridge.trust.tags import Signer

_NO_ACTION = array("d")  # a step result of an agent that did not act this step (AEC: not its turn)
_CLOCK_CDR = struct.Struct("<4siI")  # rosgraph_msgs/Clock as CDR: little-endian header, sec, nanosec


def clock_cdr(sec: int, nanosec: int) -> bytes:
    """A /clock message's bytes, as serialize_message makes them at a tenth of its cost (every step)."""
    return _CLOCK_CDR.pack(b"\x00\x01\x00\x00", sec, nanosec)



class TeamPublishers:
    def __init__(self, node: Node, names: TeamNames, team: Team, run_seed: int, *, sim_time: bool,
                 on_episode: Callable[[EpisodeRecord], None] | None, on_end: Callable[[str], None],
                 header: dict[str, Any] | None = None, signers: dict[str, Signer] | None = None,
                 tap: BagTap | None = None, intra_process: bool = True, keep_history: bool = False) -> None:
        self.node, self.on_episode, self.on_end = node, on_episode, on_end
        # recording from here (recording/tap.py): every message also goes to the bag writer, as bytes
        self.tap = tap
        self._topics = {(a, leaf): names.agent(a, leaf) for a in team.agents
                        for leaf in ("observation", "step_result", "final_observation")}
        self._team_topics = {leaf: names.team(leaf) for leaf in ("safety_events", "episode_summary", "run_status",
                                                                  "run_header")}
        self.sim_time_stamps = sim_time
        self.act_codecs = team.act_codecs
        agents = team.agents
        stream = stream_out_qos(keep_history)  # history for late readers only when the team expects them

        def pub(msg: Any, agent: str, name: str, qos: Any, **kw: Any) -> Any:
            return node.create_publisher(msg, names.agent(agent, name), qos, **kw)
        # observations go straight to actors in this process while they are the only readers (nodes/intra.py)
        self.obs_pubs = {a: IntraPublisher(node, Observation, names.agent(a, "observation"), stream,
                                           local=intra_process) for a in agents}
        self.result_readers = {a: ReaderCount() for a in agents}
        self.result_pubs = {a: pub(StepResult, a, "step_result", stream,
                                   event_callbacks=self.result_readers[a].events()) for a in agents}
        self.spec_pubs = {a: pub(AgentSpec, a, "spec", LATCHED_QOS) for a in agents}
        # each agent's observation after its last step (terminated, truncated or capped): never answered,
        # kept for the recording (a bag then holds every observation the env produced)
        self.final_pubs = {a: pub(Observation, a, "final_observation", stream) for a in agents}
        self._final_out = {a: (ObservationWriter(a, team.obs_codecs[a].layout).pack, self.final_pubs[a].publish)
                           for a in agents}
        self.event_pub = node.create_publisher(SafetyEvent, names.team("safety_events"), EVENTS_OUT_QOS)
        self.summary_pub = node.create_publisher(EpisodeSummary, names.team("episode_summary"), stream)
        # reliable with the team's depth: a recorder gets every tick (nodes' own clocks, which subscribe
        # best effort, match it too)
        self.clock_readers = ReaderCount()  # nodes on sim time, recorders: a tick nobody reads is not published
        self.clock_pub = node.create_publisher(ClockMsg, "/clock", stream,
                                               event_callbacks=self.clock_readers.events())
        # running / held / the final status: actors' watchdogs stay quiet while the team is held on
        # purpose and after the run ended (latched: a late joiner learns it too)
        self.status_pub = node.create_publisher(String, names.team("run_status"), LATCHED_QOS)
        # what a bag needs to be replayed without its run card: effective config, API, spaces (latched)
        self.header_pub = node.create_publisher(String, names.team("run_header"), LATCHED_QOS)
        self.header = String(data=json.dumps(header, sort_keys=True)) if header is not None else None
        self.publish_header()
        signers = signers or {}
        # per agent, what the step loop needs without a lookup per field
        self._obs_out = {a: (ObservationWriter(a, team.obs_codecs[a].layout, signers.get(a)).pack,
                             self.obs_pubs[a], team.obs_codecs[a].layout, self._topics[a, "observation"])
                         for a in agents}
        self._result_out = {a: (StepResultWriter(a).pack, self.result_pubs[a], self.result_readers[a],
                                self._topics[a, "step_result"]) for a in agents}  # serialized as bytes (wire.py)
        self._clock_msg = ClockMsg()
        self.handed_over = self.sent_over_dds = 0  # observations, by the way they went (the card's transport)
        self.view: WorldView | None = None  # the simulated robots as ROS sees robots (set by the supervisor)
        for a in agents:
            obs, act = team.obs_codecs[a], team.act_codecs[a]
            self.spec_pubs[a].publish(AgentSpec(agent=a, observation_space=obs.json, action_space=act.json,
                                                observation_layout=obs.layout, action_layout=act.layout,
                                                run_seed=run_seed))

    def publish_header(self) -> None:
        """Latched for late joiners, and again at the start: a recorder that matched by then gets it as
        live data at once (a latched sample's delivery to a reader that matched later was seen to wait
        until the run's end, which a recorder killed mid-run would not reach)."""
        if self.header is not None:
            self.header_pub.publish(self.header)
            self._tap_typed("run_header", self.header, checkpoint=True)

    def _tap_typed(self, leaf: str, msg: Any, checkpoint: bool = False) -> None:
        if self.tap is not None:
            self.tap.add(self._team_topics[leaf], serialize_message(msg))
            if checkpoint:
                self.tap.checkpoint()

    def count_readers(self) -> None:
        """The graph now (at start); matched events keep it current afterwards."""
        for agent, pub in self.result_pubs.items():
            count = self.result_readers[agent]
            count.n = max(count.n, pub.get_subscription_count())

    def all_publishers(self) -> list[Any]:
        return [*self.obs_pubs.values(), *self.result_pubs.values(), self.event_pub, self.summary_pub]

    def _stamp(self) -> tuple[int, int]:
        """(sec, nanosec): the node clock under sim time, else the cheaper wall clock (rclpy's
        now().to_msg() costs about 5 us, a noticeable share of a fast step)."""
        if self.sim_time_stamps:
            t = self.node.get_clock().now().to_msg()
            return t.sec, t.nanosec
        return divmod(time.time_ns(), 1_000_000_000)

    # -- the Outlet ------------------------------------------------------------------------------
    def observations(self, episode: int, step: int, encoded: dict[str, array]) -> None:
        sec, nanosec = self._stamp()
        out, tap = self._obs_out, self.tap
        handed: list[tuple[Any, ...]] = []  # for the recording: serialized by the bag writer's process
        for agent, data in encoded.items():  # hot loop: locals, no lookups per field
            pack, pub, layout, topic = out[agent]
            if pub.in_process:  # the actor is in this process and the only reader: no bytes unless recorded
                pub.hand_over(Parsed(sec, nanosec, agent, episode, step, layout, data))
                self.handed_over += 1
                if tap is not None:
                    handed.append(observation_row(topic, agent, layout, data))
                continue
            raw = pack(sec, nanosec, episode, step, data)
            pub.publish(raw)
            self.sent_over_dds += 1
            if tap is not None:
                tap.add(topic, raw)
        if handed:
            tap.add_step(OBSERVATION, sec, nanosec, episode, step, handed)  # type: ignore[union-attr]

    def results(self, episode: int, step: int, results: list[AgentResult], actions: dict[str, Any]) -> None:
        stamp = None
        tap, out = self.tap, self._result_out
        unread: list[tuple[Any, ...]] = []  # for the recording: serialized by the bag writer's process
        for r in results:
            pack, pub, readers, topic = out[r.agent]
            read = readers.n
            if not read and tap is None:
                continue  # nobody listens (yet): skip the serialization; the run card keeps the totals
            stamp = stamp or self._stamp()
            action = self.act_codecs[r.agent].pack_f64(actions[r.agent]) if r.acted else _NO_ACTION
            if read:
                raw = pack(*stamp, episode, step, r.reward, r.episode_return, r.terminated, r.truncated, r.fallback,
                           action, info_json(r.info))
                pub.publish(raw)
                if tap is not None:
                    tap.add(topic, raw)
            else:
                unread.append(step_result_row(topic, r.agent, r.reward, r.episode_return, r.terminated, r.truncated,
                                              r.fallback, action, r.info))
            if r.final is not None:
                pack, publish = self._final_out[r.agent]
                final = pack(*stamp, episode, step + 1, r.final)
                publish(final)
                if tap is not None:
                    tap.add(self._topics[r.agent, "final_observation"], final)
        if unread:
            tap.add_step(STEP_RESULT, *stamp, episode, step, unread)  # type: ignore[union-attr]

    def event(self, ev: SafetyEventData) -> None:
        msg = SafetyEvent(agent=ev.agent, episode=ev.episode, step=ev.step, kind=ev.kind, severity=ev.severity,
                          value=float(ev.value), detail=ev.detail)
        msg.header.stamp = self.node.get_clock().now().to_msg()
        self.event_pub.publish(msg)
        self._tap_typed("safety_events", msg)
        if ev.severity >= 2:
            self.node.get_logger().warning(f"{ev.kind} [{ev.agent}] ep {ev.episode} step {ev.step}: {ev.detail}")

    def episode_end(self, rec: EpisodeRecord) -> None:
        a = rec.agents
        summary = EpisodeSummary(episode=rec.episode, seed=rec.seed, steps=rec.steps, agents=a,
                                 returns=[rec.returns[x] for x in a], lengths=[rec.lengths[x] for x in a],
                                 terminated=[rec.terminated[x] for x in a], truncated=[rec.truncated[x] for x in a],
                                 fallbacks=[rec.fallbacks[x] for x in a])
        summary.header.stamp = self.node.get_clock().now().to_msg()
        self.summary_pub.publish(summary)
        self._tap_typed("episode_summary", summary, checkpoint=True)  # the finished episode on disk
        if self.on_episode is not None:
            self.on_episode(rec)

    def sim_time(self, seconds: float) -> None:
        """Simulated worlds publish their physics time on /clock (nodes may run with use_sim_time)."""
        read = self.clock_readers.n
        if read or self.tap is not None:
            sec, nanosec = divmod(round(seconds * 1e9), 1_000_000_000)
            if read:
                self._clock_msg.clock.sec, self._clock_msg.clock.nanosec = sec, nanosec
                self.clock_pub.publish(self._clock_msg)
            if self.tap is not None:
                self.tap.add("/clock", clock_cdr(sec, nanosec))
        if self.view is not None:
            self.view.publish(seconds)

    def run_status(self, status: str) -> None:
        msg = String(data=status)
        self.status_pub.publish(msg)
        self._tap_typed("run_status", msg)

    def ended(self, status: str) -> None:
        self.run_status(status)
        self.on_end(status)
