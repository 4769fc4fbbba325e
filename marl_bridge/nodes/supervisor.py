"""The supervisor node: owns the environment and the joint step (lockstep or real-time).

Each step it publishes every live agent's observation, collects one action per live agent through the
action gate, substitutes fallbacks for late or bad ones (publishing a safety event each time), steps
the env and publishes per-agent step results. Episodes reset with seeds derived from the run seed.
Lockstep steps as soon as every live agent answered; real-time steps on a fixed control tick. With a
robot-team world it also picks the backend (hardware, or MuJoCo when no odometry appears with
`backend: auto`), publishes /clock in simulation and offers pause, resume and step-N services.

Every callback returns quickly: the step happens in the callback that completes the set of actions or in
the deadline timer, and nothing waits inside a callback. Config arrives as ROS parameters (dotted names,
see marl_bridge.config), so `marl-bridge run`, `ros2 run` and launch files configure it the same way.
"""

from __future__ import annotations

import dataclasses
import time
from array import array
from collections.abc import Callable
from typing import Any

import numpy as np
from rclpy.clock import Clock, ClockType
from rclpy.duration import Duration
from rclpy.event_handler import PublisherEventCallbacks
from rclpy.node import Node
from rclpy.parameter import Parameter
from rclpy.task import Future
from rosgraph_msgs.msg import Clock as ClockMsg
from std_msgs.msg import Bool
from std_srvs.srv import Trigger

from marl_bridge.codec import CodecError, space_to_json
from marl_bridge.envs.episode import AgentResult, EpisodeRecord, TeamEpisode
from marl_bridge.envs.team import build_team
from marl_bridge.msg import (
    Action,
    ActorStatus,
    AgentSpec,
    EpisodeSummary,
    Observation,
    SafetyEvent,
    StepResult,
)
from marl_bridge.nodes.params import config_from_node
from marl_bridge.nodes.topics import EVENTS_QOS, LATCHED_QOS, STREAM_QOS, agent_topic, ros_names, team_topic
from marl_bridge.nodes.wire import ObservationWriter, Parsed, WireError, parse_action
from marl_bridge.recording.run_card import info_json
from marl_bridge.safety.action_gate import Verdict, check_action
from marl_bridge.safety.events import SafetyCounts, SafetyEventData
from marl_bridge.safety.shield import Shield
from marl_bridge.seeds import episode_seed
from marl_bridge.srv import Reset, Step


class SupervisorNode(Node):
    """Lockstep supervisor for one team. `done` completes with the run card data when the run ends."""

    def __init__(self, parameters: list[Parameter] | None = None, *, node_name: str = "supervisor",
                 topology: str | None = None, on_episode: Callable[[EpisodeRecord], None] | None = None,
                 cli_args: list[str] | None = None) -> None:
        super().__init__(node_name, parameter_overrides=parameters or [],
                         automatically_declare_parameters_from_overrides=True, cli_args=cli_args)
        self.cfg = config_from_node(self)
        self.topology = topology or self.cfg.run.topology
        self.on_episode = on_episode
        sup = self.cfg.supervisor
        self.team = sup.team

        # The backend: robot worlds with backend hardware/auto start on the hardware adapter; the ready
        # check waits for odometry and, for auto, swaps in the MuJoCo world if some robot stays silent.
        self.backend_requested = self.cfg.env.backend
        self.backend_used = "mujoco" if self.backend_requested == "mujoco" else self.backend_requested
        self.backend_why = "configured"
        self._backend_pending = self.backend_requested in ("hardware", "auto")
        team = build_team(self.cfg, backend="hardware" if self._backend_pending else None)
        self.env, self.agents = team.env, team.agents
        if hasattr(self.env, "bind_ros"):
            self.env.bind_ros(self)
        self.obs_codecs, self.act_codecs, self.fallbacks = team.obs_codecs, team.act_codecs, team.fallbacks
        self.names = ros_names(self.agents)
        self.known = frozenset(self.agents)
        self.episode = TeamEpisode(self.env, self.obs_codecs, sup.max_steps)
        self.safety_cfg = self.cfg.safety
        self._robot_world = hasattr(self.env, "robot_states")
        self.shield = Shield(self.safety_cfg.shield, self.env, self.act_codecs, self.cfg.source)

        # -- ROS interfaces ------------------------------------------------------------------
        self.obs_pubs = {a: self.create_publisher(Observation, agent_topic(self.team, a, "observation"),
                                                  STREAM_QOS) for a in self.agents}
        # Step results are serialized only for topics someone reads; the matched event keeps the reader
        # count, so the step loop does not ask the middleware every step.
        self.result_readers = dict.fromkeys(self.agents, 0)
        self.result_pubs = {a: self.create_publisher(
            StepResult, agent_topic(self.team, a, "step_result"), STREAM_QOS,
            event_callbacks=PublisherEventCallbacks(matched=self._readers_of(a))) for a in self.agents}
        self.spec_pubs = {a: self.create_publisher(AgentSpec, agent_topic(self.team, a, "spec"),
                                                   LATCHED_QOS) for a in self.agents}
        # Observations and actions travel as serialized bytes (see nodes/wire.py: the typed conversion
        # was the largest cost of a step); they are ordinary Observation and Action messages on the wire.
        self.action_subs = {a: self.create_subscription(
            Action, agent_topic(self.team, a, "action"), self._action_callback(a), STREAM_QOS, raw=True)
            for a in self.agents}
        self.status_subs = {a: self.create_subscription(
            ActorStatus, agent_topic(self.team, a, "status"), self._on_status, LATCHED_QOS)
            for a in self.agents}
        self.event_pub = self.create_publisher(SafetyEvent, team_topic(self.team, "safety_events"), EVENTS_QOS)
        self.summary_pub = self.create_publisher(EpisodeSummary, team_topic(self.team, "episode_summary"),
                                                 STREAM_QOS)
        self.reset_srv = self.create_service(Reset, team_topic(self.team, "reset"), self._on_reset)
        self.pause_srv = self.create_service(Trigger, team_topic(self.team, "pause"), self._on_pause)
        self.resume_srv = self.create_service(Trigger, team_topic(self.team, "resume"), self._on_resume)
        self.step_srv = self.create_service(Step, team_topic(self.team, "step"), self._on_step_request)
        self.estop_sub = self.create_subscription(Bool, team_topic(self.team, "estop"), self._on_estop_msg, 10)
        self.estop_srv = self.create_service(Trigger, team_topic(self.team, "estop_engage"), self._on_estop_engage)
        self.release_srv = self.create_service(Trigger, team_topic(self.team, "estop_release"),
                                               self._on_estop_release)
        self.clock_pub = self.create_publisher(ClockMsg, "/clock", 10)
        self._clock_msg = ClockMsg()
        # Observations go out as bytes from a per-agent writer; step results (typed) reuse one message
        # object per agent, refilled each step: constructing generated messages costs more than the rest
        # of the per-agent step work, and publish() serializes at call time.
        self._obs_out = {a: (ObservationWriter(a, self.obs_codecs[a].layout).pack, self.obs_pubs[a].publish)
                         for a in self.agents}
        self._result_msgs = {a: StepResult(agent=a) for a in self.agents}

        # -- run state -----------------------------------------------------------------------
        self.done: Future = Future()
        self.ready: dict[str, str] = {}  # agent -> policy description from its status
        self.safety = SafetyCounts()
        self.deadline_misses = dict.fromkeys(self.agents, 0)
        self.latency = {a: array("d") for a in self.agents}  # observation -> action arrival, seconds
        self.entropy_sum = dict.fromkeys(self.agents, 0.0)
        self.entropy_n = dict.fromkeys(self.agents, 0)
        self.records: list[EpisodeRecord] = []
        self.episode_index = -1
        self.step_index = 0
        self.pending: dict[str, Any] = {}
        self.fallback_now: set[str] = set()
        self.awaiting = False
        self.seed_override: int | None = None
        self.finished = False
        self.status = "starting"
        self.started_at = time.monotonic()
        self._sim_time = bool(self.get_parameter("use_sim_time").value)
        self.estopped = False
        self.estops: list[dict[str, Any]] = []
        self.lost: dict[str, str] = {}  # agent -> why it is considered lost
        self.miss_streak = dict.fromkeys(self.agents, 0)
        self.gaps: dict[str, list[dict[str, Any]]] = {a: [] for a in self.agents}
        self._ev_window: dict[tuple[str, str], list[float]] = {}  # (agent, kind) -> [start, sent, held back]
        self.paused = False
        self.step_budget = 0  # joint steps granted by the step service while paused
        self.held = False  # the next observations wait for resume or a step request
        self.realtime = sup.mode == "realtime"
        self.applied = False  # realtime: this step's actions were sent to the env already
        self.traces: list[dict[str, Any]] = []  # per episode, from envs that keep one (robot worlds)
        self.frames: list[tuple[int, Any]] = []
        self.frames_note = ""
        self.stepping_since = 0.0
        self.step_latencies: list[float] = []
        self.first_step_done = 0.0  # steady-state rate: from the end of the first step (warm-up excluded)
        self.last_step_done = 0.0
        self._step_t0 = 0.0

        for agent in self.agents:
            self.spec_pubs[agent].publish(AgentSpec(
                agent=agent, observation_space=self.obs_codecs[agent].json,
                action_space=self.act_codecs[agent].json, observation_layout=self.obs_codecs[agent].layout,
                action_layout=self.act_codecs[agent].layout, run_seed=self.cfg.run.seed))
        # Timers run on the steady clock: with use_sim_time the node clock follows /clock, which this node
        # itself advances, so a ROS-time deadline would never fire.
        steady = Clock(clock_type=ClockType.STEADY_TIME)
        # The deadline is checked by a periodic timer (every quarter deadline, at most 50 ms) rather than a
        # one-shot timer re-armed every step: re-arming costs the EventsExecutor's timer thread a wake-up
        # per step, which measured as the bridge's largest per-step overhead.
        self.deadline_timer = self.create_timer(min(sup.step_deadline_s / 4, 0.05), self._check_deadline,
                                                clock=steady)
        self.deadline_timer.cancel()
        self.tick_timer = self.create_timer(1.0 / sup.control_rate_hz if self.realtime else 1.0, self._on_tick,
                                            clock=steady)
        self.tick_timer.cancel()
        # Readiness is a graph condition (match counts) plus each actor's latched status: a timer checks
        # it, since rclpy has no single event for "every publisher and subscription matched".
        self.ready_timer = self.create_timer(0.02, self._check_ready, clock=steady)
        # Liveness from the graph: an actor whose action publisher left is lost without waiting K steps.
        self.liveness_timer = self.create_timer(0.25, self._check_graph, clock=steady)
        if not self.safety_cfg.lost_after_steps:
            self.liveness_timer.cancel()
        self.get_logger().info(f"team {self.team!r}: {len(self.agents)} agents of {self.cfg.env.entry_point}; "
                               f"waiting for actors")

    def _readers_of(self, agent: str) -> Callable[[Any], None]:
        def matched(info: Any) -> None:
            self.result_readers[agent] = info.current_count
        return matched

    # -- startup -------------------------------------------------------------------------------
    def _on_status(self, msg: ActorStatus) -> None:
        if msg.agent in self.known and msg.state == ActorStatus.STATE_READY:
            self.ready[msg.agent] = msg.policy

    def _matched(self, agent: str) -> bool:
        return (self.obs_pubs[agent].get_subscription_count() > 0
                and self.action_subs[agent].get_publisher_count() > 0)

    def _decide_backend(self) -> bool:
        """Hardware or auto: wait for every robot's odometry; True once the backend is settled."""
        assert self.cfg.hardware is not None
        silent = self.env.missing_robots()
        waited = time.monotonic() - self.started_at
        if silent and waited < self.cfg.hardware.wait_s:
            return False
        self._backend_pending = False
        if not silent:
            self.backend_used, self.backend_why = "hardware", "odometry from every robot"
            self.get_logger().info(f"backend hardware: odometry from every robot after {waited:.1f} s")
            return True
        why = f"no odometry from {', '.join(silent)} within {self.cfg.hardware.wait_s} s"
        if self.backend_requested == "hardware":
            self._event(SafetyEventData("stale_observation", "", 0, 0, f"{why}; backend hardware has no "
                                        "fallback configured (backend: auto would run MuJoCo)", waited))
            self.backend_used, self.backend_why = "none", why
            self._finish(f"failed: {why}")
            return False
        self.env.close()  # zero commands to the robots that did answer
        team = build_team(self.cfg, backend="mujoco")
        for agent in self.agents:
            if (team.obs_codecs[agent].json != self.obs_codecs[agent].json
                    or team.act_codecs[agent].json != self.act_codecs[agent].json):
                raise RuntimeError(f"MuJoCo fallback has other spaces than the hardware adapter for {agent!r}")
        self.env = team.env
        self.episode = TeamEpisode(self.env, self.obs_codecs, self.cfg.supervisor.max_steps)
        self.shield.rebind(self.env)
        self.backend_used, self.backend_why = "mujoco", f"fallback: {why}"
        self._event(SafetyEventData("backend_fallback", "", 0, 0, f"{why}; running the MuJoCo world of the "
                                    "same task instead", waited))
        return True

    def _check_ready(self) -> None:
        if self._backend_pending and not self._decide_backend():
            return
        if self.finished:
            return
        missing = [a for a in self.agents if a not in self.ready or not self._matched(a)]
        listeners = self.cfg.supervisor.required_listeners
        unheard = [a for a in self.agents if self.result_pubs[a].get_subscription_count() < listeners
                   or self.obs_pubs[a].get_subscription_count() < 1 + listeners]  # + the actor
        if listeners and (self.summary_pub.get_subscription_count() < listeners
                          or self.event_pub.get_subscription_count() < listeners):
            unheard.append("<team>")
        timed_out = time.monotonic() - self.started_at > self.cfg.supervisor.startup_timeout_s
        if (missing or unheard) and not timed_out:
            return
        self.ready_timer.cancel()
        if unheard:
            self.get_logger().warning(f"fewer than {listeners} listener(s) on the team topics of "
                                      f"{', '.join(unheard)} after {self.cfg.supervisor.startup_timeout_s} s; "
                                      "starting anyway: they may miss the first steps")
        for agent in missing:
            self._event(SafetyEventData("actor_lost", agent, 0, 0,
                                        f"actor not ready after {self.cfg.supervisor.startup_timeout_s} s; "
                                        "running on its fallback action"))
        for agent, pub in self.result_pubs.items():  # the graph now; matched events keep it current
            self.result_readers[agent] = max(self.result_readers[agent], pub.get_subscription_count())
        self.status = "running"
        self.stepping_since = time.monotonic()
        if self.realtime:
            self.tick_timer.reset()
        self.deadline_timer.reset()
        self._begin_episode()

    # -- episodes ------------------------------------------------------------------------------
    def _begin_episode(self) -> None:
        self.episode_index += 1
        if self.seed_override is not None:
            seed, self.seed_override = self.seed_override, None
        else:
            seed = episode_seed(self.cfg.run.seed, self.episode_index)
        for fb in self.fallbacks.values():
            fb.reset()
        self.shield.reset()
        self.episode.reset(self.episode_index, seed)
        self.step_index = 0
        self._publish_clock()
        self._proceed()

    def _now(self) -> tuple[int, int]:
        """(sec, nanosec) for header stamps: the node clock under sim time, else the cheaper wall clock
        (rclpy's now().to_msg() costs about 5 us, a noticeable share of a fast step)."""
        if self._sim_time:
            t = self.get_clock().now().to_msg()
            return t.sec, t.nanosec
        ns = time.time_ns()
        return ns // 1_000_000_000, ns % 1_000_000_000

    def _publish_clock(self) -> None:
        """Simulated worlds publish their physics time on /clock (nodes may run with use_sim_time)."""
        if self.backend_used == "mujoco" and getattr(self.env, "sim_time", None) is not None:
            sec, nanosec = divmod(round(self.env.sim_time * 1e9), 1_000_000_000)
            self._clock_msg.clock.sec, self._clock_msg.clock.nanosec = sec, nanosec
            self.clock_pub.publish(self._clock_msg)

    def _proceed(self) -> None:
        """Publish the next observations, unless e-stopped or paused with no granted steps left (then
        hold them: the robots get a stop command and the team waits)."""
        if self.estopped:
            self.held = True
            if hasattr(self.env, "halt"):
                self.env.halt()
            return
        if self.paused:
            if self.step_budget == 0:
                self.held = True
                if hasattr(self.env, "halt"):
                    self.env.halt()  # a paused robot stands still
                return
            self.step_budget -= 1
        self.held = False
        self._publish_observations()

    def _publish_observations(self) -> None:
        sec, nanosec = self._now()
        episode, step, out = self.episode_index, self.step_index, self._obs_out
        self.pending = {}
        self.fallback_now = set()
        for agent, data in self.episode.encoded.items():  # hot loop: locals, no lookups per field
            pack, publish = out[agent]
            publish(pack(sec, nanosec, episode, step, data))
        self.awaiting = True
        self.applied = False
        self._step_t0 = time.monotonic()
        for agent in self.lost:  # a lost actor is not waited for; it still gets its observation
            if agent in self.episode.encoded:
                self.pending[agent] = self.fallbacks[agent].action()
                self.fallback_now.add(agent)
        # (if every live agent is lost, the deadline steps on their fallbacks)

    # -- actions -------------------------------------------------------------------------------
    def _action_callback(self, agent: str) -> Callable[[bytes], None]:
        def callback(raw: bytes) -> None:
            try:
                msg = parse_action(raw)
            except WireError as exc:  # answers no step that can be told: said, then left to the deadline
                self._event(SafetyEventData("invalid_action", agent, self.episode_index, self.step_index,
                                            f"unreadable message on {agent!r}'s action topic: {exc}"))
                return
            self._on_action(agent, msg)
        return callback

    def _on_action(self, agent: str, msg: Parsed) -> None:
        codec = self.act_codecs[agent]
        if agent in self.lost and msg.agent == agent and msg.episode == self.episode_index:
            self._rejoined(agent)  # this answer's step was already settled on the fallback
            return
        if (self.awaiting and msg.step == self.step_index and msg.episode == self.episode_index
                and msg.agent == agent and msg.layout == codec.layout and agent not in self.pending
                and agent in self.episode.encoded):
            # The common case, an on-time answer to the current step: only the data needs checking.
            try:
                action = codec.decode_checked(msg.data)  # array('d'): small Boxes check it without numpy
            except CodecError as exc:
                self._unusable(agent, msg.data, SafetyEventData("invalid_action", agent, self.episode_index,
                                                                self.step_index, str(exc)))
            else:
                self.miss_streak[agent] = 0
                self.pending[agent] = action
                self.fallbacks[agent].remember(action)
                self.latency[agent].append(time.monotonic() - self._step_t0)
                if msg.entropy == msg.entropy:  # not NaN: the policy reported its distribution
                    self.entropy_sum[agent] += msg.entropy
                    self.entropy_n[agent] += 1
        else:
            result = check_action(
                topic_agent=agent, msg_agent=msg.agent, msg_episode=msg.episode, msg_step=msg.step,
                layout=msg.layout, data=msg.data, episode=self.episode_index, step=self.step_index,
                live=self.awaiting and agent in self.episode.encoded,
                answered=agent in self.pending, known_agents=self.known, codec=codec)
            if result.verdict is Verdict.IGNORE:
                assert result.event is not None
                self._event(result.event)
                return
            if result.verdict is Verdict.FALLBACK:
                assert result.event is not None
                self._unusable(agent, msg.data if msg.layout == codec.layout else None, result.event)
            else:
                self.miss_streak[agent] = 0
                self.pending[agent] = result.action
                self.fallbacks[agent].remember(result.action)
                self.latency[agent].append(time.monotonic() - self._step_t0)
        if len(self.pending) == len(self.episode.encoded):
            self._settled()

    def _settled(self) -> None:
        """Every live agent has its action: the shield filters them; lockstep steps now; real-time sends
        the commands now (the robots act until the tick) and steps at the tick."""
        if self.shield.active and not self.applied:
            self.pending, events = self.shield.filter(self.pending, self.episode_index, self.step_index)
            for ev in events:
                self._event(ev)
        if not self.realtime:
            self._step()
        elif not self.applied:
            self.applied = True
            if hasattr(self.env, "apply"):
                self.env.apply(self.pending)

    def _unusable(self, agent: str, data: Any, event: SafetyEventData) -> None:
        """An answer for this step that cannot be used as sent: the shield clips it to the space when it
        may (clamp_to_bounds, right layout and size, finite), else the fallback stands in."""
        clamped = self.shield.clamp(agent, data) if data is not None else None
        if clamped is None:
            self._settle_fallback(agent, event)
            return
        self._event(self.shield.clamped(agent, self.episode_index, self.step_index))
        self.pending[agent] = clamped
        self.miss_streak[agent] = 0

    def _settle_fallback(self, agent: str, event: SafetyEventData) -> None:
        """The agent answered this step, unusably: its fallback stands in and the event is published."""
        self._event(event)
        self.pending[agent] = self.fallbacks[agent].action()
        self.fallback_now.add(agent)

    def _check_deadline(self) -> None:
        """Periodic: a step in flight past its deadline is settled with fallbacks for the missing."""
        if (self.awaiting and not self.applied
                and time.monotonic() - self._step_t0 >= self.cfg.supervisor.step_deadline_s):
            self._fill_missing()
            self._settled()

    def _on_tick(self) -> None:
        """Real-time control tick: close the step in flight (late agents get fallbacks) and go on."""
        if self.finished or not self.awaiting or self.estopped:
            return
        if not self.applied:
            self._fill_missing()
            self._settled()
        self._step()

    def _fill_missing(self) -> None:
        late = time.monotonic() - self._step_t0
        for agent in self.episode.encoded:
            if agent not in self.pending:
                self.deadline_misses[agent] += 1
                self.miss_streak[agent] += 1
                if self.safety_cfg.lost_after_steps and self.miss_streak[agent] >= self.safety_cfg.lost_after_steps:
                    self._lose(agent, f"no action for {self.miss_streak[agent]} consecutive steps")
                self._event(SafetyEventData(
                    "deadline_miss", agent, self.episode_index, self.step_index,
                    f"no action within {self.cfg.supervisor.step_deadline_s} s; fallback "
                    f"({self.fallbacks[agent].kind}) used", late))
                self.pending[agent] = self.fallbacks[agent].action()
                self.fallback_now.add(agent)

    # -- the joint step ------------------------------------------------------------------------
    def _step(self) -> None:
        self.awaiting = False
        now = time.monotonic()
        self.step_latencies.append(now - self._step_t0)
        self.first_step_done = self.first_step_done or now
        self.last_step_done = now
        results = self.episode.step(self.pending, self.fallback_now)
        if self._robot_world:  # /clock and the events only robot worlds raise; other envs skip the calls
            self._publish_clock()
            self._env_events(results)
        self._publish_results(results)
        if self.episode.done:
            self._end_episode()
        else:
            self.step_index += 1
            self._proceed()

    def _env_events(self, results: list[AgentResult]) -> None:
        """Safety events the env knows of: contact onsets it reports, and what its body raised."""
        for r in results:
            hits = r.info.get("collisions") if isinstance(r.info, dict) else None
            if hits:
                self._event(SafetyEventData("collision", r.agent, self.episode_index, self.step_index,
                                            f"{hits} new contact(s)", float(hits)))
        for ev in self.shield.near_misses(self.episode_index, self.step_index):
            self._event(ev)
        drain = getattr(self.env, "drain_events", None)
        for ev in drain() if drain is not None else []:
            self._event(dataclasses.replace(ev, episode=self.episode_index, step=self.step_index))

    def _publish_results(self, results: list[AgentResult]) -> None:
        stamp = None
        for r in results:
            pub = self.result_pubs[r.agent]
            if not self.result_readers[r.agent]:
                continue  # nobody listens (yet): skip the serialization; the run card keeps the totals
            stamp = stamp or self._now()
            msg = self._result_msgs[r.agent]
            msg.header.stamp.sec, msg.header.stamp.nanosec = stamp
            msg.episode, msg.step, msg.reward = self.episode_index, self.step_index, r.reward
            msg.episode_return, msg.terminated, msg.truncated = r.episode_return, r.terminated, r.truncated
            msg.fallback, msg.info_json = r.fallback, info_json(r.info)
            msg.action = self.act_codecs[r.agent].pack(self.pending[r.agent])
            pub.publish(msg)

    def _end_episode(self, aborted: bool = False) -> None:
        rec = self.episode.finish()
        self.records.append(rec)
        self._keep_episode_artifacts(rec)
        summary = EpisodeSummary(episode=rec.episode, seed=rec.seed, steps=rec.steps, agents=rec.agents,
                                 returns=[rec.returns[a] for a in rec.agents],
                                 lengths=[rec.lengths[a] for a in rec.agents],
                                 terminated=[rec.terminated[a] for a in rec.agents],
                                 truncated=[rec.truncated[a] for a in rec.agents],
                                 fallbacks=[rec.fallbacks[a] for a in rec.agents])
        summary.header.stamp = self.get_clock().now().to_msg()
        self.summary_pub.publish(summary)
        if self.on_episode is not None:
            self.on_episode(rec)
        if not aborted and len(self.records) >= self.cfg.run.episodes:
            self._finish("complete")
        elif not aborted:
            self._begin_episode()

    def _keep_episode_artifacts(self, rec: EpisodeRecord) -> None:
        """Trajectory (robot worlds) and a last rendered frame (where the env renders offscreen)."""
        trace = getattr(self.env, "episode_trace", None)
        if trace is not None:
            self.traces.append({"episode": rec.episode, "seed": rec.seed, **trace()})
        if getattr(self.env, "render_mode", None) == "rgb_array" and not self.frames_note:
            try:
                self.frames.append((rec.episode, self.env.render()))
            except RuntimeError as exc:
                self.frames_note = f"skipped: {exc}"
                self.get_logger().warning(f"no MuJoCo frames: {exc}")

    def _finish(self, status: str) -> None:
        if self.finished:
            return
        self.finished = True
        self.status = status
        self.awaiting = False
        self.deadline_timer.cancel()
        self.tick_timer.cancel()
        self.ready_timer.cancel()
        self.liveness_timer.cancel()
        if hasattr(self.env, "halt"):
            self.env.halt()  # robots stop when the run ends, whatever ended it
        self.get_logger().info(f"run {status}: {len(self.records)} episodes")
        if not self.done.done():
            self.done.set_result(self.run_card())

    def flush(self, timeout_s: float = 5.0) -> bool:
        """Block (outside callbacks) until every matched reader acknowledged what was published, so a
        listener in another process (a recorder) is not cut off when this process exits right after."""
        pubs = [*self.obs_pubs.values(), *self.result_pubs.values(), self.event_pub, self.summary_pub]
        return all(pub.wait_for_all_acked(Duration(seconds=timeout_s)) for pub in pubs)

    def interrupt(self, why: str) -> dict[str, Any]:
        """End the run now (Ctrl-C, error) and return the run card, partial episode excluded."""
        self._finish(f"interrupted: {why}")
        return self.run_card()

    # -- reset service -------------------------------------------------------------------------
    def _on_reset(self, request: Reset.Request, response: Reset.Response) -> Reset.Response:
        if self.status != "running" or self.finished:
            response.success = False
            response.message = f"supervisor is {self.status}; reset applies while running"
            return response
        self.seed_override = int(request.seed) if request.use_seed else None
        self.awaiting = False
        self.episode.record.aborted = True
        self._end_episode(aborted=True)
        self._begin_episode()
        response.success = True
        response.episode = self.episode_index
        response.message = f"episode {self.episode_index} started with seed {self.episode.record.seed}"
        return response

    # -- emergency stop (latched; only the release service releases it) --------------------------
    def _on_estop_msg(self, msg: Bool) -> None:
        if msg.data:
            self._engage(f"topic /{self.team}/estop")
        elif self.estopped:
            self.get_logger().warning(f"false on /{self.team}/estop ignored: the e-stop is latched; call "
                                      f"/{self.team}/estop_release to release it")

    def _on_estop_engage(self, request: Trigger.Request, response: Trigger.Response) -> Trigger.Response:
        response.success = self._engage(f"service /{self.team}/estop_engage")
        response.message = "engaged" if response.success else "already engaged"
        return response

    def _on_estop_release(self, request: Trigger.Request, response: Trigger.Response) -> Trigger.Response:
        if not self.estopped:
            response.success, response.message = False, "not engaged"
            return response
        self.estopped = False
        self.estops[-1]["released"] = {"episode": self.episode_index, "step": self.step_index,
                                       "wall_s": time.monotonic() - self.started_at}
        self._event(SafetyEventData("estop_released", "", self.episode_index, self.step_index,
                                    f"released by service /{self.team}/estop_release"))
        response.success, response.message = True, "released"
        if self.finished or self.status != "running":
            return response
        if self.safety_cfg.estop_action == "end_episode":
            if len(self.records) < self.cfg.run.episodes:
                self._begin_episode()
            else:
                self._finish("complete")
        elif self.held:
            self._proceed()  # the interrupted step's observations again; actors answer repeats alike
        return response

    def _engage(self, source: str) -> bool:
        if self.estopped:
            return False
        self.estopped = True
        self.estops.append({"engaged": {"episode": self.episode_index, "step": self.step_index, "source": source,
                                        "wall_s": time.monotonic() - self.started_at}, "released": None})
        if hasattr(self.env, "halt"):
            self.env.halt()  # every robot: zero command now
        self._event(SafetyEventData("estop_engaged", "", self.episode_index, self.step_index,
                                    f"engaged by {source}; robots stopped; episode "
                                    f"{'paused' if self.safety_cfg.estop_action == 'pause' else 'ended'} "
                                    "until released"))
        if self.status != "running" or self.finished:
            return True
        if self.awaiting:  # the step in flight is dropped; after release its observations go out again
            self.awaiting = False
            self.held = True
        if self.safety_cfg.estop_action == "end_episode" and self.episode.record is not None \
                and not self.episode.done and self.held:
            self.episode.record.aborted = True
            self.held = False
            self._end_episode(aborted=True)
        return True

    # -- liveness ------------------------------------------------------------------------------
    def _lose(self, agent: str, why: str) -> None:
        if agent in self.lost:
            return
        self.lost[agent] = why
        self.gaps[agent].append({"lost": {"episode": self.episode_index, "step": self.step_index, "why": why},
                                 "rejoined": None})
        self._event(SafetyEventData("actor_lost", agent, self.episode_index, self.step_index,
                                    f"{why}; running on its fallback ({self.fallbacks[agent].kind}) until it "
                                    "answers again"))

    def _rejoined(self, agent: str) -> None:
        why = self.lost.pop(agent)
        self.miss_streak[agent] = 0
        self.gaps[agent][-1]["rejoined"] = {"episode": self.episode_index, "step": self.step_index}
        self._event(SafetyEventData("actor_rejoined", agent, self.episode_index, self.step_index,
                                    f"answers again (was lost: {why}); waited for from the next step on"))

    def _check_graph(self) -> None:
        if self.status != "running" or self.finished:
            return
        for agent in self.agents:
            if agent not in self.lost and self.action_subs[agent].get_publisher_count() == 0:
                self._lose(agent, "its action publisher left the graph")

    # -- simulation control (in the style of mujoco_ros2_control) -------------------------------
    def _on_pause(self, request: Trigger.Request, response: Trigger.Response) -> Trigger.Response:
        self.paused, self.step_budget = True, 0
        if self.awaiting or not self.held:
            response.message = f"pausing after step {self.step_index} (the step in flight completes)"
        else:
            response.message = f"paused at step {self.step_index}"
        response.success = not self.finished
        return response

    def _on_resume(self, request: Trigger.Request, response: Trigger.Response) -> Trigger.Response:
        was_paused, self.paused, self.step_budget = self.paused, False, 0
        if self.held and not self.finished and not self.estopped:
            self._proceed()
        response.success = not self.finished
        response.message = "resumed" if was_paused else "was not paused"
        return response

    def _on_step_request(self, request: Step.Request, response: Step.Response) -> Step.Response:
        response.step = self.step_index
        if not self.paused or self.finished:
            response.success = False
            response.message = "step applies while paused (call pause first)" if not self.finished else "run ended"
            return response
        self.step_budget += int(request.steps)
        response.success = True
        response.message = f"{request.steps} more step(s) granted"
        if self.held:
            self._proceed()
        return response

    # -- events and the run card ---------------------------------------------------------------
    def _event(self, ev: SafetyEventData) -> None:
        """Count every event; publish at most safety.event_rate_limit per agent and kind per second (a
        flood of bad actions must not become a flood of events), then say how many were held back."""
        self.safety.add(ev)
        now = time.monotonic()
        window = self._ev_window.setdefault((ev.agent, ev.kind), [now, 0, 0])
        if now - window[0] >= 1.0:
            if window[2]:
                self._publish_event(SafetyEventData(
                    "events_suppressed", ev.agent, ev.episode, ev.step,
                    f"{int(window[2])} {ev.kind} event(s) counted but not published in the last second "
                    f"(limit {self.safety_cfg.event_rate_limit}/s)", window[2]))
            window[:] = [now, 0, 0]
        if window[1] >= self.safety_cfg.event_rate_limit:
            window[2] += 1
            return
        window[1] += 1
        self._publish_event(ev)

    def _publish_event(self, ev: SafetyEventData) -> None:
        msg = SafetyEvent(agent=ev.agent, episode=ev.episode, step=ev.step, kind=ev.kind,
                          severity=ev.severity, value=float(ev.value), detail=ev.detail)
        msg.header.stamp = self.get_clock().now().to_msg()
        self.event_pub.publish(msg)
        if ev.severity >= 2:
            self.get_logger().warning(f"{ev.kind} [{ev.agent}] ep {ev.episode} step {ev.step}: {ev.detail}")

    def run_card(self) -> dict[str, Any]:
        cfg = self.cfg
        lat = np.asarray(self.step_latencies) if self.step_latencies else np.zeros(1)
        steps = sum(r.steps for r in self.records)
        elapsed = max(time.monotonic() - (self.stepping_since or self.started_at), 1e-9)
        steady = self.last_step_done - self.first_step_done
        return {
            "status": self.status,
            "env": {"name": cfg.env.name or cfg.env.entry_point, "entry_point": cfg.env.entry_point,
                    "kwargs": cfg.env.kwargs, "api": "parallel", "reward_definition": cfg.env.reward_definition},
            "mode": cfg.supervisor.mode,
            "control_rate_hz": cfg.supervisor.control_rate_hz if self.realtime else None,
            "backend": {"requested": self.backend_requested or "env", "used": self.backend_used or "env",
                        "why": self.backend_why},
            "topology": self.topology,
            "team": self.team,
            "agents": self.agents,
            "ros_names": self.names,
            "spaces": {a: {"observation": space_to_json(self.obs_codecs[a].space),
                           "action": space_to_json(self.act_codecs[a].space)} for a in self.agents},
            "policies": {a: {"policy": cfg.policy.for_agent(a).describe(),
                             "reported": self.ready.get(a, "not ready"),
                             "shared": cfg.policy.shared} for a in self.agents},
            "policy_sharing": "shared" if cfg.policy.shared else "per_agent",
            "fallback": {a: self.fallbacks[a].kind for a in self.agents},
            "seeds": {"run_seed": cfg.run.seed, "episode_seeds": [r.seed for r in self.records]},
            "episodes": [r.to_dict() for r in self.records],
            "returns": {a: [r.returns.get(a) for r in self.records] for a in self.agents},
            "safety_events": self.safety.to_dict(),
            "deadline_misses": self.deadline_misses,
            "policy_entropy": {a: (self.entropy_sum[a] / self.entropy_n[a] if self.entropy_n[a] else None)
                               for a in self.agents},  # mean nats per step, where the policy reports it
            "collisions": self._collisions(),  # contact onsets per agent, from envs that report them
            "interventions": self.shield.to_dict(),  # per agent and shield rule; null without a shield
            "estops": self.estops,
            "liveness": {a: g for a, g in self.gaps.items() if g},  # lost/rejoined gaps per agent
            "action_latency_ms": {a: self._latency_stats(a) for a in self.agents},
            "sim_time_s": getattr(self.env, "sim_time", None),
            "frames": self.frames_note or (f"{len(self.frames)} frame(s)" if self.frames else None),
            "timing": {"steps": steps, "wall_s": elapsed, "steps_per_s": steps / elapsed,
                       "steady_steps_per_s": (len(self.step_latencies) - 1) / steady if steady > 0 else 0.0,
                       "step_latency_p50_ms": float(np.percentile(lat, 50) * 1e3),
                       "step_latency_p99_ms": float(np.percentile(lat, 99) * 1e3)},
            "env_settings": getattr(self.env, "settings", None),  # every effective env argument
            "config": cfg.to_dict(),
            "config_source": cfg.source,
        }

    def _collisions(self) -> dict[str, int] | None:
        if not any(r.collisions for r in self.records):
            return None
        return {a: sum(r.collisions.get(a, 0) for r in self.records) for a in self.agents}

    def _latency_stats(self, agent: str) -> dict[str, float] | None:
        """Observation-to-action latency of one agent's valid answers (p50/p99/max in ms)."""
        lat = np.frombuffer(self.latency[agent], dtype=np.float64) if len(self.latency[agent]) else None
        if lat is None:
            return None
        return {"p50": float(np.percentile(lat, 50) * 1e3), "p99": float(np.percentile(lat, 99) * 1e3),
                "max": float(lat.max() * 1e3), "n": int(lat.size)}
