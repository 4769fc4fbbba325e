"""The actor node: one agent's policy, seeing only its own observation topic.

It needs no copy of the environment: the supervisor publishes the agent's spaces and the run seed on a
latched `spec` topic. Once its observation subscription and action publisher are both matched it
publishes a latched READY status; then it answers the newest observation with one action for the same
(episode, step). A repeated observation gets the same action again, never a fresh sample.

Newest only: the observation subscription keeps one sample, and an observation that arrives late (held
up in the network: its delay is LATE_S above the shortest seen) is acted on from an executor task that
runs after every message already queued, so after a link outage the observations queued
during the cut are superseded, never answered (a stale answer cannot count, and it would delay the
current one). How many were skipped is reported on the status topic (`skipped`) and in the run card.
"""

from __future__ import annotations

import json
import math
import time

from rclpy.clock import Clock, ClockType
from rclpy.node import Node
from rclpy.parameter import Parameter
from std_msgs.msg import String

from marl_bridge.codec import Flat, SpaceCodec, space_from_json
from marl_bridge.config import ConfigError
from marl_bridge.msg import Action, ActorStatus, AgentSpec, Observation
from marl_bridge.nodes.intra import IntraPublisher, IntraSubscription
from marl_bridge.nodes.params import config_from_node
from marl_bridge.nodes.spin import freeze_startup_objects
from marl_bridge.nodes.topics import LATCHED_QOS, NEWEST_QOS, stream_out_qos, team_names
from marl_bridge.nodes.wire import ActionWriter, Parsed, WireError, parse_observation
from marl_bridge.policies import Policy, make_policy
from marl_bridge.safety.fallback import zero_action
from marl_bridge.seeds import policy_seed
from marl_bridge.trust.keys import actor_key, read_key_file
from marl_bridge.trust.tags import ACTION, OBSERVATION, Signer, Verifier

LATE_S = 0.01  # an observation this much later than the fastest delivery seen waits for the queue behind it


class ActorNode(Node):
    """Runs `cfg.policy.for_agent(agent)` for one agent. Parameter `actor.agent` names the agent."""

    def __init__(self, parameters: list[Parameter] | None = None, *, agent: str | None = None,
                 namespace: str = "", cli_args: list[str] | None = None) -> None:
        params = list(parameters or [])
        if agent is not None:
            params.append(Parameter("actor.agent", value=agent))
        super().__init__("actor", namespace=namespace, parameter_overrides=params, cli_args=cli_args,
                         automatically_declare_parameters_from_overrides=True)
        self.cfg = config_from_node(self)
        if not self.has_parameter("actor.agent"):
            raise ConfigError(f"node {self.get_fully_qualified_name()}: parameter actor.agent is required "
                              "(the agent this actor plays)")
        self.agent: str = self.get_parameter("actor.agent").value
        self.team = self.cfg.supervisor.team
        # Authenticated teams: observations must carry this robot's tag and a fresh counter; actions get both.
        self.verifier: Verifier | None = None
        self.signer: Signer | None = None
        if self.cfg.safety.key_file:
            where = f"{self.cfg.source}: safety.key_file"
            key = actor_key(read_key_file(self.cfg.safety.key_file, where), self.team, self.agent, where)
            self.verifier, self.signer = Verifier(key, OBSERVATION), Signer(key, ACTION)
        self.unauthenticated = 0
        self.policy_cfg = self.cfg.policy.for_agent(self.agent)
        self.policy: Policy | None = None
        self.obs_codec: SpaceCodec | None = None
        self.act_codec: SpaceCodec | None = None
        self.run_seed = 0
        self.episode = -1
        self.last_key: tuple[int, int] | None = None
        self.last_action: tuple[Flat, float] | None = None  # (data, entropy), sent again for a repeated observation

        # the team's names from this node's namespace (.../<team>/<agent>): a pushed namespace moves the team
        self.names = team_names(self.get_namespace(), self.team, self.agent)
        topic = self.names.agent
        self.status_pub = self.create_publisher(ActorStatus, topic(self.agent, "status"), LATCHED_QOS)
        # a supervisor in this process takes actions straight from here (nodes/intra.py)
        intra = self.cfg.run.intra_process
        self.action_pub = IntraPublisher(self, Action, topic(self.agent, "action"),
                                         stream_out_qos(self.cfg.supervisor.keeps_history), local=intra)
        # the watchdog's stop goes to the robot's side (its guard or base), never to the supervisor's action
        # topic: there it was a second answer to a step already answered
        self.stop_pub = self.create_publisher(Action, topic(self.agent, "stop"), LATCHED_QOS)
        # Observation in and Action out as serialized bytes (nodes/wire.py): ordinary messages on the
        # wire, without rclpy's per-message object conversion on this robot's hot path; from a supervisor
        # in this process as parsed fields, handed over directly.
        self.obs_sub = IntraSubscription(self, Observation, topic(self.agent, "observation"), NEWEST_QOS,
                                         self._on_raw_observation, self._on_local_observation, local=intra)
        self.newest: Parsed | None = None  # the newest observation received and not yet acted on
        self.min_lag = math.inf  # shortest (receive time - stamp) seen, seconds
        self.skipped = 0
        self.last_acted: tuple[int, int] | None = None
        self.spec_sub = self.create_subscription(AgentSpec, topic(self.agent, "spec"),
                                                 self._on_spec, LATCHED_QOS)
        self._publish_status(ActorStatus.STATE_WAITING)
        # Timers on the steady clock: under use_sim_time the node clock stands still until the supervisor's
        # first /clock, which comes only once every actor is ready (a ROS-time timer would never fire).
        steady = Clock(clock_type=ClockType.STEADY_TIME)
        self.ready_timer = self.create_timer(0.02, self._check_ready, clock=steady)
        # Watchdog: without observations for safety.actor_watchdog_s (the supervisor died or the link
        # is down) the actor publishes a stop action once on /<team>/<agent>/stop (latched) and says so;
        # the robot's base stops on its own command timeout as well.
        self.watchdog_s = self.cfg.safety.actor_watchdog_s
        self.last_obs_at = 0.0
        self.stopped = False
        self.last_obs_key: tuple[int, int] | None = None
        self.run_status = "running"  # until the supervisor says otherwise (an older supervisor never does)
        self.status_sub = self.create_subscription(String, self.names.team("run_status"), self._on_run_status,
                                                   LATCHED_QOS)
        if self.watchdog_s > 0:
            self.watchdog = self.create_timer(self.watchdog_s / 4, self._check_watchdog, clock=steady)

    def _publish_status(self, state: int) -> None:
        desc = self.policy.description if self.policy is not None else self.policy_cfg.describe()
        msg = ActorStatus(agent=self.agent, state=state, policy=desc, skipped=self.skipped,
                          unauthenticated=self.unauthenticated)
        msg.header.stamp = self.get_clock().now().to_msg()
        self.status_pub.publish(msg)

    def _on_spec(self, msg: AgentSpec) -> None:
        if self.policy is not None:
            return
        obs_space = space_from_json(json.loads(msg.observation_space))
        act_space = space_from_json(json.loads(msg.action_space))
        self.obs_codec = SpaceCodec(obs_space, f"observation space of {self.agent!r}")
        self.act_codec = SpaceCodec(act_space, f"action space of {self.agent!r}")
        self._writer = ActionWriter(self.agent, self.act_codec.layout, self.signer)
        self.run_seed = int(msg.run_seed)
        self.policy = make_policy(self.policy_cfg, self.agent, obs_space, act_space)
        # Policies that sample report their action distribution's entropy; the others send NaN.
        self._reports_entropy = hasattr(self.policy, "last_entropy")

    def _check_ready(self) -> None:
        # Ready = spec received and both directions matched, so the first observation and the first
        # action are not lost to discovery (reliable QoS only covers matched readers).
        if (self.policy is not None and self.action_pub.get_subscription_count() > 0
                and self.obs_sub.get_publisher_count() > 0):
            self.ready_timer.cancel()
            freeze_startup_objects()  # the policy and the middleware are built: no full collection's pause later
            self._publish_status(ActorStatus.STATE_READY)

    def _on_run_status(self, msg: String) -> None:
        self.run_status = msg.data

    def _check_watchdog(self) -> None:
        if self.stopped or not self.last_obs_at or self.act_codec is None or self.last_obs_key is None:
            return
        if self.run_status != "running":  # held on purpose (pause, e-stop), or the run has ended
            self.last_obs_at = time.monotonic()
            return
        silent = time.monotonic() - self.last_obs_at
        if silent < self.watchdog_s:
            return
        self.stopped = True
        sec, nanosec = divmod(time.time_ns(), 1_000_000_000)
        self.stop_pub.publish(self._writer.pack(sec, nanosec, *self.last_obs_key,
                                                self.act_codec.pack(zero_action(self.act_codec.space)), math.nan))
        self.get_logger().warning(f"no observation for {silent:.2f} s (watchdog {self.watchdog_s} s): the "
                                  "supervisor may be gone; published a stop action and wait for observations")

    def _on_raw_observation(self, raw: bytes) -> None:
        try:
            msg = parse_observation(raw)
        except WireError as exc:
            self.get_logger().error(f"unreadable observation: {exc}; not acting")
            return
        if self.verifier is not None:
            why = self.verifier.check(msg.counter, msg.tag, msg.signed)
            if why is not None:
                self._drop(msg, why)
                return
        self._on_local_observation(msg)

    def _on_local_observation(self, msg: Parsed) -> None:
        """An observation from the supervisor (read and, in an authenticated team, checked over DDS; handed
        over directly in this process)."""
        # Late or not: the observation's delay (receive time minus its stamp) against the shortest delay
        # seen. Clock offsets cancel out; only an observation held up in the network (a repair after an
        # outage, and the burst behind it) is late. An on-time one, the normal case, is acted on at once.
        lag = time.time() - msg.sec - msg.nanosec * 1e-9
        if lag < self.min_lag:
            self.min_lag = lag
        newest = self.newest
        if newest is None:
            self.newest = msg
            executor = self.executor
            if lag - self.min_lag < LATE_S or executor is None:
                self._act_on_newest()
            else:  # a task runs after the messages already queued (the executor's FIFO): the newest wins
                executor.create_task(self._act_on_newest)
        elif (msg.episode, msg.step) >= (newest.episode, newest.step):
            self.newest = msg  # a task is pending already

    def _act_on_newest(self) -> None:
        msg, self.newest = self.newest, None
        if msg is None:
            return
        key = (msg.episode, msg.step)
        last = self.last_acted
        if last is not None and key > last:
            gap = key[1] - last[1] - 1 if key[0] == last[0] else key[1]
            if gap > 0:  # observations that never reached the policy (superseded or dropped in a gap)
                self.skipped += gap
                self._publish_status(ActorStatus.STATE_READY)
        self._on_observation(msg)

    def _on_observation(self, msg: Parsed) -> None:
        # The hot path of every robot: one decode, one policy call, one pack, one publish.
        key = (msg.episode, msg.step)
        self.last_obs_at = time.monotonic()
        self.last_obs_key = key
        if self.stopped:
            self.stopped = False
            self.get_logger().info("observations are back after the watchdog stop")
        policy, obs_codec, act_codec = self.policy, self.obs_codec, self.act_codec
        if policy is None or obs_codec is None or act_codec is None:
            self.get_logger().warning("observation before the agent spec; ignored")
            return
        if key == self.last_key and self.last_action is not None:  # the same answer, with a fresh counter
            self._answer(msg, *self.last_action)
            return
        flat = msg.flat
        if msg.layout != obs_codec.layout or flat.sizes() != obs_codec.sizes:
            self.get_logger().error(f"observation layout {msg.layout}/{flat} does not match the spec "
                                    f"({obs_codec.layout}/sizes {obs_codec.sizes}); not acting")
            return
        if key[0] != self.episode:
            self.episode = key[0]
            policy.reset(policy_seed(self.run_seed, self.agent, key[0]))
        try:
            data = act_codec.pack(policy.act(obs_codec.unpack(flat)))
        except Exception as exc:  # a policy bug must not kill the robot's node: the supervisor falls back
            self.get_logger().error(f"policy {policy.description} failed at episode {key[0]} "
                                    f"step {key[1]}: {type(exc).__name__}: {exc}; no action sent")
            return
        entropy = float(policy.last_entropy) if self._reports_entropy else math.nan  # type: ignore[attr-defined]
        self.last_key, self.last_action = key, (data, entropy)
        self.last_acted = key
        self._answer(msg, data, entropy)

    def _answer(self, msg: Parsed, data: Flat, entropy: float) -> None:
        """The action for `msg`'s step, with the observation's stamp: handed over to a supervisor in this
        process, else serialized (and tagged) for DDS."""
        pub = self.action_pub
        if pub.in_process:
            assert self.act_codec is not None
            pub.hand_over(Parsed(msg.sec, msg.nanosec, self.agent, msg.episode, msg.step, self.act_codec.layout,
                                 data, entropy))
        else:
            pub.publish(self._writer.pack(msg.sec, msg.nanosec, msg.episode, msg.step, data, entropy))

    def _drop(self, msg: Parsed, why: str) -> None:
        """An observation that is not the supervisor's: never acted on; counted, reported on the status
        topic (each of the first 100, then every 100th: a flood must not become a status flood) and said
        in the log (the 1st, 2nd, 4th, 8th...)."""
        self.unauthenticated += 1
        n = self.unauthenticated
        if n & (n - 1) == 0:
            self.get_logger().error(f"dropped an unauthenticated observation (episode {msg.episode} step {msg.step}): "
                                    f"{why}; {n} so far")
        if self.policy is not None and (n <= 100 or n % 100 == 0):
            self._publish_status(ActorStatus.STATE_READY)

    def destroy_node(self) -> None:
        self.obs_sub.leave()
        super().destroy_node()

    def stop(self) -> None:
        """Say goodbye on the latched status topic, if ROS is still up (a signal may have shut it down)."""
        if self.context.ok():
            self._publish_status(ActorStatus.STATE_STOPPING)
