"""The supervisor node: ROS wiring around one TeamRun (marl_bridge.team), which decides everything.

Its publishers (nodes/team_out.py) carry what the run sends out: observations as bytes, per-agent step
results, safety events, episode summaries, /clock in simulation. The node feeds the run what arrives
(actions, services, the e-stop topic) and drives its timers: the deadline check, the real-time control
tick, readiness and graph liveness.
With a backend that waits for robots it also waits for their odometry and, where the backend allows,
runs the MuJoCo world instead. Every callback returns quickly; nothing waits inside one. Config arrives
as ROS parameters (dotted names, see marl_bridge.config), so `marl-bridge run`, `ros2 run` and launch
files configure it the same way.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from rclpy.clock import Clock, ClockType
from rclpy.duration import Duration
from rclpy.node import Node
from rclpy.parameter import Parameter
from rclpy.serialization import serialize_message
from rclpy.task import Future
from std_msgs.msg import String

from marl_bridge.envs.backends import backend as find_backend
from marl_bridge.envs.episode import EpisodeRecord
from marl_bridge.envs.robots.team_env import RobotTeamEnv
from marl_bridge.envs.team import build_team
from marl_bridge.msg import Action, ActorStatus
from marl_bridge.nodes.intra import IntraSubscription
from marl_bridge.nodes.params import config_from_node
from marl_bridge.nodes.spin import freeze_startup_objects
from marl_bridge.nodes.team_auth import TeamAuth
from marl_bridge.nodes.team_out import TeamPublishers
from marl_bridge.nodes.team_services import TeamServices
from marl_bridge.nodes.topics import LATCHED_QOS, STREAM_QOS, ros_names, team_names
from marl_bridge.nodes.wire import Parsed, WireError, parse_action
from marl_bridge.nodes.world_view import WorldView
from marl_bridge.recording.header import run_header
from marl_bridge.recording.recorder import recorded_topics
from marl_bridge.recording.run_card import CardWriter
from marl_bridge.recording.tap import BagTap, typename
from marl_bridge.team.card import run_card
from marl_bridge.team.foreign import ForeignWatch
from marl_bridge.team.run import TeamRun


class SupervisorNode(Node):
    """One team's supervisor. `done` completes with the run card when the run ends."""

    def __init__(self, parameters: list[Parameter] | None = None, *, node_name: str = "supervisor",
                 topology: str | None = None, on_episode: Callable[[EpisodeRecord], None] | None = None,
                 cli_args: list[str] | None = None, out_dir: Path | None = None, namespace: str | None = None,
                 record_dir: Path | None = None) -> None:
        super().__init__(node_name, namespace=namespace, parameter_overrides=parameters or [],
                         automatically_declare_parameters_from_overrides=True, cli_args=cli_args)
        self.cfg = cfg = config_from_node(self)
        self.topology = topology or cfg.run.topology
        sup = cfg.supervisor
        self.team = t = sup.team
        # the team's names from this node's namespace (.../<team>): a pushed namespace moves the whole team
        self.names = names = team_names(self.get_namespace(), t)
        # A backend that waits for robots starts on the hardware adapter; the ready check waits for their
        # odometry and, where the backend has a fallback (auto), swaps in the simulated world.
        self.backend = find_backend(cfg.env.backend, "env.backend") if cfg.env.backend else None
        self._robots_pending = self.backend is not None and self.backend.waits_for_robots
        team = build_team(cfg, backend=self.backend.robots_backend if self._robots_pending else None)
        if team.world is not None:
            team.world.bind_ros(self)
        self.agents = team.agents
        self.ros_names = ros_names(self.agents)
        sim_time = bool(self.get_parameter("use_sim_time").value)
        # The run card is written as the run goes (after an episode, at most once a second, and at the end),
        # so a crash or a kill keeps the finished episodes; pictures come only after the run.
        self.card_writer = (CardWriter(out_dir, self.run_card, self.get_logger(), keep=cfg.run.card_episodes)
                            if out_dir is not None else None)
        self.auth = TeamAuth.from_config(cfg, self.agents)
        if self.auth is None:
            self.get_logger().warning(f"team {t!r} is not authenticated (no safety.key_file): any node on this ROS "
                                      "domain can answer for a robot or call the services that move the team")
        # `record_dir`: this node records the team itself, through a bag writer process (recording/tap.py)
        self.tap = BagTap(record_dir, [(topic, typename(msg_type)) for topic, msg_type, _qos in
                                       recorded_topics(names, team.agents)]) if record_dir is not None else None
        self.out = TeamPublishers(self, names, team, cfg.run.seed, sim_time=sim_time, tap=self.tap,
                                  on_episode=self._episode_done(on_episode), on_end=self._ended,
                                  header=run_header(cfg, team),
                                  signers=self.auth.observation_signers if self.auth else None,
                                  intra_process=cfg.run.intra_process, keep_history=cfg.supervisor.keeps_history)
        self.run = TeamRun(cfg, team, self.out, backend_used="" if self._robots_pending else cfg.env.backend)
        self._view_world(team)
        self.done: Future = Future()
        self.started_at = time.monotonic()
        # Observations and actions travel as serialized bytes (nodes/wire.py); they are ordinary
        # Observation and Action messages on the wire.
        self.actions_handed_over = self.actions_over_dds = 0  # by the way they came (the card's transport)
        # Actors in this process hand their actions over directly (nodes/intra.py); over DDS they arrive as bytes.
        self.action_subs = {a: IntraSubscription(self, Action, names.agent(a, "action"), STREAM_QOS, self._action_cb(a),
                                                 self._local_action_cb(a),
                                                 local=cfg.run.intra_process) for a in self.agents}
        if self.tap is not None:  # the actor watchdogs' stops (latched, rare): only the bag wants them
            self.stop_subs = [self.create_subscription(Action, names.agent(a, "stop"),
                                                       self._tapped(names.agent(a, "stop")), LATCHED_QOS, raw=True)
                              for a in self.agents]
        self.status_subs = {a: self.create_subscription(ActorStatus, names.agent(a, "status"), self._on_status,
                                                        LATCHED_QOS) for a in self.agents}
        run = self.run
        self.operator_services = TeamServices(self, names, run, self.auth)  # operator services, the e-stop topic
        # recorders announce themselves (latched): the card says where the bag is, and one that leaves the
        # graph mid-run is a recorder_lost event
        self.recorders: dict[str, dict[str, Any]] = {}
        self.recorder_sub = self.create_subscription(String, names.team("recorder"), self._on_recorder, LATCHED_QOS)
        # Timers run on the steady clock: with use_sim_time the node clock follows /clock, which this node
        # advances itself. The deadline is checked periodically (a quarter deadline, at most 50 ms): a
        # one-shot timer re-armed every step measured as the bridge's largest per-step overhead.
        steady = Clock(clock_type=ClockType.STEADY_TIME)
        self.timers_ = [
            self.create_timer(min(sup.step_deadline_s / 4, 0.05), run.poll, clock=steady, autostart=False),
            self.create_timer(1.0 / sup.control_rate_hz if run.realtime else 1.0, run.tick, clock=steady,
                              autostart=False)]
        # Readiness is a graph condition (match counts) plus each actor's latched status.
        self.ready_timer = self.create_timer(0.02, self._check_ready, clock=steady)
        self.liveness_timer = self.create_timer(0.25, self._check_graph, clock=steady,
                                                autostart=bool(cfg.safety.lost_after_steps))
        self.recorder_timer = self.create_timer(0.25, self._check_recorders, clock=steady,
                                                autostart=self.tap is not None)
        self.get_logger().info(f"team {names.root}: {len(self.agents)} agents of {cfg.env.entry_point} "
                               f"({team.api}); waiting for actors")

    def _view_world(self, team: Any) -> None:
        """A robot team world (simulated now, or the MuJoCo fallback of auto) shows its robots as ROS shows
        robots: odometry, commands, markers (nodes/world_view.py)."""
        if not isinstance(team.world, RobotTeamEnv):
            return
        run, index = self.run, {a: i for i, a in enumerate(team.world.possible_agents)}
        seen: dict[str, int] = {}

        def corrected() -> set[int]:  # robots whose shield interventions grew since the last view
            now = {a: sum(c.values()) for a, c in run.shield.interventions.items()}
            grew = {index[a] for a, n in now.items() if n > seen.get(a, 0) and a in index}
            seen.update(now)
            return grew
        self.out.view = WorldView(self, self.names, lambda: run.world,
                                  [self.ros_names[a] for a in team.world.possible_agents],
                                  tuple(self.cfg.safety.shield.geofence))
        self.out.view.corrected = corrected

    def _episode_done(self, on_episode: Callable[[EpisodeRecord], None] | None) -> Callable[[EpisodeRecord], None]:
        def done(rec: EpisodeRecord) -> None:
            if on_episode is not None:
                on_episode(rec)
            if self.card_writer is not None:
                self.card_writer.episode_ended(rec.to_dict())
        return done

    @property
    def traces(self) -> list[dict[str, Any]]:
        return self.run.traces


    # -- startup -------------------------------------------------------------------------------
    def _tapped(self, topic: str) -> Callable[[bytes], None]:
        tap = self.tap
        assert tap is not None
        return lambda raw: tap.add(topic, raw)

    def _on_status(self, msg: ActorStatus) -> None:
        if self.tap is not None:
            self.tap.add(self.names.agent(msg.agent, "status"), serialize_message(msg))
        if msg.agent in self.out.obs_pubs and msg.state == ActorStatus.STATE_READY:
            self.run.ready[msg.agent] = msg.policy
            self.run.stats.skipped[msg.agent] = msg.skipped  # observations superseded after a gap
            self.run.stats.unauthenticated[msg.agent] = msg.unauthenticated  # dropped by the actor

    def _settle_robots(self) -> bool:
        """Wait for every robot's odometry (the run decides what happens when some stay silent)."""
        assert self.cfg.hardware is not None and self.run.world is not None
        waited = time.monotonic() - self.started_at
        settled = self.run.settle_backend(self.run.world.missing_robots(), waited, self.cfg.hardware.wait_s,
                                          lambda name: build_team(self.cfg, backend=name))
        if settled is not None:
            self._robots_pending = False
            self.get_logger().info(f"backend {self.run.backend_used} after {waited:.1f} s ({self.run.backend_why})")
        return bool(settled)

    def _check_ready(self) -> None:
        if self.run.finished or (self._robots_pending and not self._settle_robots()):
            return
        timeout = self.cfg.supervisor.startup_timeout_s
        out = self.out
        missing = [a for a in self.agents if a not in self.run.ready or out.obs_pubs[a].get_subscription_count() < 1
                   or self.action_subs[a].get_publisher_count() < 1]
        n = self.cfg.supervisor.required_listeners
        unheard = [a for a in self.agents if out.result_pubs[a].get_subscription_count() < n
                   or out.obs_pubs[a].get_subscription_count() < 1 + n]  # + the actor
        if n and min(out.summary_pub.get_subscription_count(), out.event_pub.get_subscription_count(),
                     out.header_pub.get_subscription_count()) < n:
            unheard.append("<team>")
        writer_late = self.tap is not None and not self.tap.ready()  # its first batches would hold the first steps
        if (missing or unheard or writer_late) and time.monotonic() - self.started_at <= timeout:
            return
        self.ready_timer.cancel()
        if writer_late:
            self.get_logger().warning(f"the bag writer process did not open the bag within {timeout} s; starting "
                                      "anyway: the first steps wait for it")
        if unheard:
            self.get_logger().warning(f"fewer than {n} listener(s) on the team topics of {', '.join(unheard)} "
                                      f"after {timeout} s; starting anyway: they may miss the first steps")
        out.count_readers()
        out.publish_header()
        self._watch_foreigners()
        self.timers_[0].reset()
        if self.run.realtime:
            self.timers_[1].reset()
        freeze_startup_objects()  # no full collection's pause inside the control loop (nodes/spin.py)
        self.run.start(missing, f"after {timeout} s")

    def _watch_foreigners(self) -> None:
        """With real robots (a world with robot topics; a simulated one has none): from now on, only this node
        may command them and only the bases that publish odometry now may report it (team/foreign.py)."""
        world = self.run.world
        topics = world.robot_topics() if world is not None else {}
        if not topics:
            return
        self.foreign = ForeignWatch([self.get_fully_qualified_name()], [c for _o, c in topics.values()],
                                    [o for o, _c in topics.values()])
        self.foreign.trust_odometry(self._publishers_of(self.foreign.odom_topics))
        self.foreign_timer = self.create_timer(0.25, self._check_foreigners,
                                               clock=Clock(clock_type=ClockType.STEADY_TIME))

    def _publishers_of(self, topics: list[str]) -> dict[str, dict[bytes, str]]:
        """Per topic, each publisher's endpoint id and node (team/foreign.py)."""
        return {t: {bytes(i.endpoint_gid): f"{i.node_namespace.rstrip('/')}/{i.node_name}"
                    for i in self.get_publishers_info_by_topic(t)} for t in topics}

    def _check_foreigners(self) -> None:
        if self.run.finished:
            return
        watch = self.foreign
        for topic, node in watch.check(self._publishers_of([*watch.cmd_topics, *watch.odom_topics])):
            self.run.foreign_publisher(topic, node)

    def _on_recorder(self, msg: String) -> None:
        try:
            info = json.loads(msg.data)
            node = str(info["node"])
        except (ValueError, KeyError, TypeError):
            self.get_logger().warning(f"unreadable recorder announcement on {self.names.team('recorder')}")
            return
        self.recorders[node] = {k: info[k] for k in ("bag", "storage") if k in info}
        self.recorder_timer.reset()

    def _check_recorders(self) -> None:
        if self.run.finished:
            return
        self._writer_gone()
        present = {f"{ns.rstrip('/')}/{name}" for name, ns in self.get_node_names_and_namespaces()}
        for node, info in self.recorders.items():
            if node not in present and not info.get("lost"):
                info["lost"] = True
                self.run.recorder_left(node)

    def _check_graph(self) -> None:
        for agent in self.agents:
            if self.action_subs[agent].get_publisher_count() == 0:
                self.run.actor_left(agent)

    # -- inputs --------------------------------------------------------------------------------
    def _action_cb(self, agent: str) -> Callable[[bytes], None]:
        offer, unreadable, auth = self.run.offer, self.run.unreadable, self.auth
        tap, topic = self.tap, self.names.agent(agent, "action")

        def callback(raw: bytes) -> None:
            self.actions_over_dds += 1
            if tap is not None:  # every message on the topic, as it came (what a recorder would keep)
                tap.add(topic, raw)
            try:
                msg = parse_action(raw)
            except WireError as exc:
                unreadable(agent, str(exc))
                return
            if auth is not None:  # dropped before the step sees it: it cannot displace the real answer
                why = auth.check_action(agent, msg)
                if why is not None:
                    self.run.unauthenticated(agent, f"action for episode {msg.episode} step {msg.step}: {why}")
                    return
            offer(agent, msg)
        return callback

    def _local_action_cb(self, agent: str) -> Callable[[Parsed], None]:
        """An action from an actor in this process: it crossed no link, so it carries no tag to check."""
        offer, tap, topic = self.run.offer, self.tap, self.names.agent(agent, "action")

        def callback(msg: Parsed) -> None:
            self.actions_handed_over += 1
            if tap is not None:  # recorded as the message it would have been on DDS, serialized by the writer
                tap.add_action(topic, msg)
            offer(agent, msg)
        return callback

    def _ended(self, status: str) -> None:
        for timer in (*self.timers_, self.ready_timer, self.liveness_timer, self.recorder_timer):
            timer.cancel()
        self.get_logger().info(f"run {status}: {self.run.ledger.count} episodes")
        card = self.run_card()
        if self.card_writer is not None:
            self.card_writer.write(card)
        if not self.done.done():
            self.done.set_result(card)

    # -- the end -------------------------------------------------------------------------------
    def run_card(self) -> dict[str, Any]:
        card = run_card(self.run, topology=self.topology, ros_names=self.ros_names)
        card["episodes_file"] = self.card_writer.episodes_file if self.card_writer is not None else None
        card["authenticated"] = self.auth is not None
        # how observations and actions travelled: handed over between nodes of this process, or over DDS
        card["transport"] = {
            "observations": {"in_process": self.out.handed_over, "dds": self.out.sent_over_dds},
            "actions": {"in_process": self.actions_handed_over, "dds": self.actions_over_dds}}
        if self.tap is not None:  # recording from here; the writer's counts come when it closes (run_team)
            card["recording"] = {"bag": str(self.tap.bag_dir), "storage": "mcap", "recorder": "supervisor",
                                 "lost": self.run.recorder_lost or None}
        elif self.recorders:  # a recorder node (launch, `marl-bridge record`)
            (node, info), *_ = self.recorders.items()
            card["recording"] = {**info, "recorder": node, "lost": self.run.recorder_lost or None}
        return card

    def flush(self, timeout_s: float = 5.0) -> bool:
        """Block (outside callbacks) until every matched reader acknowledged what was published, so a
        listener in another process (a recorder) is not cut off when this process exits right after."""
        return all(pub.wait_for_all_acked(Duration(seconds=timeout_s)) for pub in self.out.all_publishers())

    def _writer_gone(self) -> None:
        """Once: the tap's writer process stopped taking data (its bag ends there)."""
        if self.tap is not None and self.tap.lost and not self.run.recorder_lost:
            self.run.recorder_left(f"bag writer of {self.get_fully_qualified_name()}")
            self.get_logger().error(f"recording stopped: {self.tap.lost}")

    def close_recording(self) -> dict[str, Any] | None:
        """Let the bag writer finish (after the run): the card's `recording` with the writer's counts."""
        if self.tap is None:
            return None
        summary = self.tap.close()
        self._writer_gone()
        return {**summary, "lost": self.run.recorder_lost or None, "writer_lost": summary.get("lost")}

    def destroy_node(self) -> None:
        for sub in self.action_subs.values():
            sub.leave()
        if self.tap is not None and self.tap.proc.poll() is None:  # not closed yet: an error on the way
            self.close_recording()
        if self.card_writer is not None:
            self.card_writer.close()
        super().destroy_node()

    def interrupt(self, why: str) -> dict[str, Any]:
        """End the run now (Ctrl-C, error) and return the run card, partial episode excluded."""
        self.run.finish(f"interrupted: {why}")
        return self.run_card()
