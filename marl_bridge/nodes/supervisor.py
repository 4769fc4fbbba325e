"""The supervisor node: owns the environment and the joint step (lockstep mode).

Each step it publishes every live agent's observation, collects one action per live agent through the
action gate, substitutes fallbacks for late or bad ones (publishing a safety event each time), steps
the env and publishes per-agent step results. Episodes reset with seeds derived from the run seed.

Every callback returns quickly: the step happens in the callback that completes the set of actions or in
the deadline timer, and nothing waits inside a callback. Config arrives as ROS parameters (dotted names,
see marl_bridge.config), so `marl-bridge run`, `ros2 run` and launch files configure it the same way.
"""

from __future__ import annotations

import time
from array import array
from collections.abc import Callable
from typing import Any

import numpy as np
from rclpy.duration import Duration
from rclpy.node import Node
from rclpy.parameter import Parameter
from rclpy.task import Future

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
from marl_bridge.recording.run_card import info_json
from marl_bridge.safety.action_gate import Verdict, check_action
from marl_bridge.safety.events import SafetyCounts, SafetyEventData
from marl_bridge.seeds import episode_seed
from marl_bridge.srv import Reset


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

        team = build_team(self.cfg)
        self.env, self.agents = team.env, team.agents
        self.obs_codecs, self.act_codecs, self.fallbacks = team.obs_codecs, team.act_codecs, team.fallbacks
        self.names = ros_names(self.agents)
        self.known = frozenset(self.agents)
        self.episode = TeamEpisode(self.env, self.obs_codecs, sup.max_steps)

        # -- ROS interfaces ------------------------------------------------------------------
        self.obs_pubs = {a: self.create_publisher(Observation, agent_topic(self.team, a, "observation"),
                                                  STREAM_QOS) for a in self.agents}
        self.result_pubs = {a: self.create_publisher(StepResult, agent_topic(self.team, a, "step_result"),
                                                     STREAM_QOS) for a in self.agents}
        self.spec_pubs = {a: self.create_publisher(AgentSpec, agent_topic(self.team, a, "spec"),
                                                   LATCHED_QOS) for a in self.agents}
        self.action_subs = {a: self.create_subscription(
            Action, agent_topic(self.team, a, "action"), self._action_callback(a), STREAM_QOS)
            for a in self.agents}
        self.status_subs = {a: self.create_subscription(
            ActorStatus, agent_topic(self.team, a, "status"), self._on_status, LATCHED_QOS)
            for a in self.agents}
        self.event_pub = self.create_publisher(SafetyEvent, team_topic(self.team, "safety_events"), EVENTS_QOS)
        self.summary_pub = self.create_publisher(EpisodeSummary, team_topic(self.team, "episode_summary"),
                                                 STREAM_QOS)
        self.reset_srv = self.create_service(Reset, team_topic(self.team, "reset"), self._on_reset)
        # One message object per agent and topic, refilled each step: publish() serializes at call time,
        # and constructing generated messages costs more than the rest of the per-agent step work.
        self._obs_msgs = {a: Observation(agent=a, layout=self.obs_codecs[a].layout) for a in self.agents}
        self._result_msgs = {a: StepResult(agent=a) for a in self.agents}

        # -- run state -----------------------------------------------------------------------
        self.done: Future = Future()
        self.ready: dict[str, str] = {}  # agent -> policy description from its status
        self.safety = SafetyCounts()
        self.deadline_misses = dict.fromkeys(self.agents, 0)
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
        self.deadline_timer = self.create_timer(sup.step_deadline_s, self._on_deadline)
        self.deadline_timer.cancel()
        # Readiness is a graph condition (match counts) plus each actor's latched status: a timer checks
        # it, since rclpy has no single event for "every publisher and subscription matched".
        self.ready_timer = self.create_timer(0.02, self._check_ready)
        self.get_logger().info(f"team {self.team!r}: {len(self.agents)} agents of {self.cfg.env.entry_point}; "
                               f"waiting for actors")

    # -- startup -------------------------------------------------------------------------------
    def _on_status(self, msg: ActorStatus) -> None:
        if msg.agent in self.known and msg.state == ActorStatus.STATE_READY:
            self.ready[msg.agent] = msg.policy

    def _matched(self, agent: str) -> bool:
        return (self.obs_pubs[agent].get_subscription_count() > 0
                and self.action_subs[agent].get_publisher_count() > 0)

    def _check_ready(self) -> None:
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
        self.status = "running"
        self.stepping_since = time.monotonic()
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
        self.episode.reset(self.episode_index, seed)
        self.step_index = 0
        self._publish_observations()

    def _now(self) -> tuple[int, int]:
        """(sec, nanosec) for header stamps: the node clock under sim time, else the cheaper wall clock
        (rclpy's now().to_msg() costs about 5 us, a noticeable share of a fast step)."""
        if self._sim_time:
            t = self.get_clock().now().to_msg()
            return t.sec, t.nanosec
        ns = time.time_ns()
        return ns // 1_000_000_000, ns % 1_000_000_000

    def _publish_observations(self) -> None:
        sec, nanosec = self._now()
        self.pending = {}
        self.fallback_now = set()
        for agent, data in self.episode.encoded.items():
            msg = self._obs_msgs[agent]
            msg.episode = self.episode_index
            msg.step = self.step_index
            msg.header.stamp.sec, msg.header.stamp.nanosec = sec, nanosec
            msg.data = array("d", data.tobytes())  # ~10x cheaper than assigning the ndarray
            self.obs_pubs[agent].publish(msg)
        self.awaiting = True
        self._step_t0 = time.monotonic()
        self.deadline_timer.reset()

    # -- actions -------------------------------------------------------------------------------
    def _action_callback(self, agent: str) -> Callable[[Action], None]:
        def callback(msg: Action) -> None:
            self._on_action(agent, msg)
        return callback

    def _on_action(self, agent: str, msg: Action) -> None:
        codec = self.act_codecs[agent]
        if (self.awaiting and msg.step == self.step_index and msg.episode == self.episode_index
                and msg.agent == agent and msg.layout == codec.layout and agent not in self.pending
                and agent in self.episode.encoded):
            # The common case, an on-time answer to the current step: only the data needs checking.
            try:
                action = codec.decode_checked(np.frombuffer(msg.data, dtype=np.float64))
            except CodecError as exc:
                self._settle_fallback(agent, SafetyEventData("invalid_action", agent, self.episode_index,
                                                             self.step_index, str(exc)))
            else:
                self.pending[agent] = action
                self.fallbacks[agent].remember(action)
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
                self._settle_fallback(agent, result.event)
            else:
                self.pending[agent] = result.action
                self.fallbacks[agent].remember(result.action)
        if len(self.pending) == len(self.episode.encoded):
            self._step()

    def _settle_fallback(self, agent: str, event: SafetyEventData) -> None:
        """The agent answered this step, unusably: its fallback stands in and the event is published."""
        self._event(event)
        self.pending[agent] = self.fallbacks[agent].action()
        self.fallback_now.add(agent)

    def _on_deadline(self) -> None:
        self.deadline_timer.cancel()
        if not self.awaiting:
            return
        late = time.monotonic() - self._step_t0
        for agent in self.episode.encoded:
            if agent not in self.pending:
                self.deadline_misses[agent] += 1
                self._event(SafetyEventData(
                    "deadline_miss", agent, self.episode_index, self.step_index,
                    f"no action within {self.cfg.supervisor.step_deadline_s} s; fallback "
                    f"({self.fallbacks[agent].kind}) used", late))
                self.pending[agent] = self.fallbacks[agent].action()
                self.fallback_now.add(agent)
        self._step()

    # -- the joint step ------------------------------------------------------------------------
    def _step(self) -> None:
        self.deadline_timer.cancel()
        self.awaiting = False
        now = time.monotonic()
        self.step_latencies.append(now - self._step_t0)
        self.first_step_done = self.first_step_done or now
        self.last_step_done = now
        results = self.episode.step(self.pending, self.fallback_now)
        self._publish_results(results)
        if self.episode.done:
            self._end_episode()
        else:
            self.step_index += 1
            self._publish_observations()

    def _publish_results(self, results: list[AgentResult]) -> None:
        stamp = None
        for r in results:
            pub = self.result_pubs[r.agent]
            if pub.get_subscription_count() == 0:
                continue  # nobody listens (yet): skip the serialization; the run card keeps the totals
            stamp = stamp or self._now()
            msg = self._result_msgs[r.agent]
            msg.header.stamp.sec, msg.header.stamp.nanosec = stamp
            msg.episode, msg.step, msg.reward = self.episode_index, self.step_index, r.reward
            msg.episode_return, msg.terminated, msg.truncated = r.episode_return, r.terminated, r.truncated
            msg.fallback, msg.info_json = r.fallback, info_json(r.info)
            msg.action = array("d", self.act_codecs[r.agent].encode(self.pending[r.agent]).tobytes())
            pub.publish(msg)

    def _end_episode(self, aborted: bool = False) -> None:
        rec = self.episode.finish()
        self.records.append(rec)
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

    def _finish(self, status: str) -> None:
        if self.finished:
            return
        self.finished = True
        self.status = status
        self.awaiting = False
        self.deadline_timer.cancel()
        self.ready_timer.cancel()
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
        self.deadline_timer.cancel()
        self.awaiting = False
        self.episode.record.aborted = True
        self._end_episode(aborted=True)
        self._begin_episode()
        response.success = True
        response.episode = self.episode_index
        response.message = f"episode {self.episode_index} started with seed {self.episode.record.seed}"
        return response

    # -- events and the run card ---------------------------------------------------------------
    def _event(self, ev: SafetyEventData) -> None:
        self.safety.add(ev)
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
            "mode": "lockstep",
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
            "collisions": None,  # measured by backends that model contact (MuJoCo world)
            "interventions": None,  # counted by the safety shield
            "timing": {"steps": steps, "wall_s": elapsed, "steps_per_s": steps / elapsed,
                       "steady_steps_per_s": (len(self.step_latencies) - 1) / steady if steady > 0 else 0.0,
                       "step_latency_p50_ms": float(np.percentile(lat, 50) * 1e3),
                       "step_latency_p99_ms": float(np.percentile(lat, 99) * 1e3)},
            "config": cfg.to_dict(),
            "config_source": cfg.source,
        }
