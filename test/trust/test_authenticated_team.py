"""An authenticated team over real DDS with a rogue node on its domain (issue 14): nothing the rogue sends
moves a robot, each attempt is a counted event, and the run is still the direct rollout bit for bit.

robot_0..2 run as actor processes with the team key; robot_3's actor runs here, in the supervisor's
process, and holds its answer to steps 0, 1 and 2 until the supervisor (or robot_2's actor) has counted
what the rogue did at that step: the run waits for the events, never for a clock.
- every step: the rogue answers robot_1's observation at once, unsigned and signed with robot_0's key;
  robot_1's real policy takes 50 ms, so the rogue's answers arrive first (without a key they would be
  applied and the real answer discarded as a duplicate);
- step 0: fake observations for robot_2 (unsigned, and signed with robot_0's key), for this step and the next
  (sent once robot_2 answered the real one: its actor keeps only the newest observation, so a flood
  could supersede a real one not yet taken: a denial of service the key cannot prevent, see README);
- step 1: robot_0's signed action of step 0 and robot_2's signed observation of step 0, replayed;
- step 2: the plain pause and e-stop release services (refused), e-stop engage (open to anyone), then a
  signed operator request releases it.
"""

from __future__ import annotations

import dataclasses
import math
from array import array
from pathlib import Path
from typing import Any

import pytest
from conftest import CONFIG_DIR
from rclpy.node import Node
from std_srvs.srv import Trigger

from marl_bridge.cli.team import run_team
from marl_bridge.codec import Flat
from marl_bridge.config import PolicyConfig, RunConfig, load, with_overrides
from marl_bridge.msg import Action, ActorStatus, Observation, SafetyEvent
from marl_bridge.nodes.actor import ActorNode
from marl_bridge.nodes.params import config_parameters
from marl_bridge.nodes.topics import EVENTS_QOS, KEPT_STREAM_QOS, LATCHED_QOS, STREAM_QOS, agent_ns
from marl_bridge.nodes.wire import ActionWriter, ObservationWriter, Parsed
from marl_bridge.rollout import direct_rollout
from marl_bridge.srv import Operator
from marl_bridge.trust.keys import Key, new_team_key, operator_key, read_key_file, robot_key
from marl_bridge.trust.tags import ACTION, OBSERVATION, OPERATOR, Signer, operator_fields

pytestmark = pytest.mark.ros
TEAM = "team"


class Rogue(Node):
    """Publishes what a node on the domain without the team's key (or with the wrong robot's) can."""

    def __init__(self, team_key: Key, act_layout: int, obs_layout: int) -> None:
        super().__init__("rogue")
        wrong = robot_key(team_key, TEAM, "robot_0")  # a key, but robot_0's
        self.act_layout = act_layout
        self.unsigned_r1 = ActionWriter("robot_1", act_layout)
        self.wrong_key_r1 = ActionWriter("robot_1", act_layout, Signer(wrong, ACTION))
        self.fake_obs = [ObservationWriter("robot_2", obs_layout), ObservationWriter("robot_2", obs_layout,
                                                                                      Signer(wrong, OBSERVATION))]
        self.r1_action = self.create_publisher(Action, f"/{TEAM}/robot_1/action", STREAM_QOS)
        self.r0_action = self.create_publisher(Action, f"/{TEAM}/robot_0/action", STREAM_QOS)
        self.r2_obs = self.create_publisher(Observation, f"/{TEAM}/robot_2/observation", STREAM_QOS)
        self.captured: dict[str, bytes] = {}  # first signed messages seen, replayed at step 1
        self.create_subscription(Observation, f"/{TEAM}/robot_1/observation", self._answer_robot_1, STREAM_QOS,
                                 raw=True)
        self.create_subscription(Action, f"/{TEAM}/robot_0/action", self._capture("action"), KEPT_STREAM_QOS, raw=True)
        self.create_subscription(Observation, f"/{TEAM}/robot_2/observation", self._capture("observation"),
                                 KEPT_STREAM_QOS, raw=True)
        # with the writer's history: robot_2's actor may answer step 0 before this reader matched it
        self.create_subscription(Action, f"/{TEAM}/robot_2/action", self._robot_2_answered, KEPT_STREAM_QOS, raw=True)
        self.answered_robot_1 = 0
        self.robot_2_answered: set[tuple[int, int]] = set()
        self.on_change: Any = lambda: None

    def _robot_2_answered(self, raw: bytes) -> None:
        from marl_bridge.nodes.wire import parse_action

        msg = parse_action(raw)
        self.robot_2_answered.add((msg.episode, msg.step))
        self.on_change()

    def _capture(self, what: str) -> Any:
        from marl_bridge.nodes.wire import parse_action, parse_observation

        parse = parse_action if what == "action" else parse_observation

        def keep(raw: bytes) -> None:  # step 0's genuine message, replayed once step 0 is long done
            msg = parse(raw)
            if (msg.episode, msg.step) == (0, 0) and msg.tag:
                self.captured.setdefault(what, raw)
                self.on_change()
        return keep

    def _answer_robot_1(self, raw: bytes) -> None:
        from marl_bridge.nodes.wire import parse_observation

        msg = parse_observation(raw)
        if msg.agent != "robot_1" or not msg.tag:
            return  # its own fakes are not for robot_1
        chosen = Flat(f32=array("f", [1.0, -1.0]))  # a valid action the rogue chose
        for writer in (self.unsigned_r1, self.wrong_key_r1):
            self.r1_action.publish(writer.pack(0, 0, msg.episode, msg.step, chosen, math.nan))
        self.answered_robot_1 += 2

    def fake_observations(self, episode: int, step: int) -> None:
        for writer in self.fake_obs:
            for s in (step, step + 1):
                self.r2_obs.publish(writer.pack(0, 0, episode, s, Flat(f32=array("f", [9.0, 9.0, -9.0, -9.0]))))

    def replay(self) -> None:
        self.r0_action.publish(self.captured["action"])
        self.r2_obs.publish(self.captured["observation"])


class GatedActor(ActorNode):
    """robot_3's real actor, holding its answer to steps 0-2 until what the rogue did there is counted."""

    def __init__(self, cfg: RunConfig, rogue: Rogue, team_key: Key) -> None:
        super().__init__(config_parameters(cfg), agent="robot_3", namespace=agent_ns(TEAM, "robot_3"))
        self.rogue = rogue
        self.events: dict[tuple[str, str], int] = {}
        self.robot_2_dropped = 0
        self.held: Parsed | None = None
        rogue.on_change = self._poke
        self.fakes_sent = self.replayed = self.services_started = False
        self.dropped_before_replay = 0
        self.replies: dict[str, Any] = {}
        self.services_done = False
        self.operator_signer = Signer(operator_key(team_key, TEAM), OPERATOR)
        self.create_subscription(SafetyEvent, f"/{TEAM}/safety_events", self._on_event, EVENTS_QOS)
        self.create_subscription(ActorStatus, f"/{TEAM}/robot_2/status", self._on_robot_2_status, LATCHED_QOS)
        self.clients_ = {name: self.create_client(Trigger, f"/{TEAM}/{name}")
                         for name in ("pause", "estop_engage", "estop_release")}
        self.operator = self.create_client(Operator, f"/{TEAM}/operator")

    def count(self, agent: str, kind: str = "unauthenticated") -> int:
        return self.events.get((agent, kind), 0)

    def _gate_open(self, step: int) -> bool:
        """Attack at steps 0-2 (each once, when its moment came) and open once the attack was counted."""
        if step == 0:
            if not self.fakes_sent and (0, 0) in self.rogue.robot_2_answered:
                self.fakes_sent = True
                self.rogue.fake_observations(0, 0)
            return self.fakes_sent and self.count("robot_1") >= 2 and self.robot_2_dropped >= 1
        if step == 1:
            if not self.replayed and (0, 1) in self.rogue.robot_2_answered and len(self.rogue.captured) == 2:
                self.replayed, self.dropped_before_replay = True, self.robot_2_dropped
                self.rogue.replay()
            return self.replayed and self.count("robot_0") >= 1 and self.robot_2_dropped > self.dropped_before_replay
        if step == 2:
            if not self.services_started:
                self.services_started = True
                self._call("pause", lambda r: self._call("estop_engage", self._engaged))
            return self.services_done
        return True

    def _on_observation(self, msg: Parsed) -> None:
        if msg.episode == 0 and not self._gate_open(msg.step):
            self.held = msg
            return
        super()._on_observation(msg)

    def _poke(self) -> None:
        held = self.held
        if held is not None and self._gate_open(held.step):
            self.held = None
            super()._on_observation(held)

    def _call(self, name: str, then: Any) -> None:
        future = self.clients_[name].call_async(Trigger.Request())
        future.add_done_callback(lambda f: (self.replies.__setitem__(name, f.result()), then(f.result())))

    def _engaged(self, _reply: Any) -> None:
        self.held = None  # the step in flight was dropped: its observation comes again on release
        self._call("estop_release", lambda _r: self._signed_release())

    def _signed_release(self) -> None:
        counter = self.operator_signer.counter()
        tag = self.operator_signer.tag(operator_fields(TEAM, "estop_release", 0, 0, False, counter))
        future = self.operator.call_async(Operator.Request(command="estop_release", counter=counter, tag=list(tag)))

        def done(f: Any) -> None:
            self.replies["operator"] = f.result()
            self.services_done = True
            self._poke()
        future.add_done_callback(done)

    def _on_event(self, msg: SafetyEvent) -> None:
        key = (msg.agent, msg.kind)
        self.events[key] = self.events.get(key, 0) + 1
        self._poke()

    def _on_robot_2_status(self, msg: ActorStatus) -> None:
        self.robot_2_dropped = max(self.robot_2_dropped, msg.unauthenticated)
        self._poke()


def _config(tmp_path: Path) -> RunConfig:
    key_file = new_team_key(tmp_path / "team.key")
    cfg = with_overrides(load(CONFIG_DIR / "point_team.yaml"), episodes=1, seed=3, topology="multiprocess")
    slow = PolicyConfig(kind="scripted", entry_point="marl_bridge.policies.faults:slow", kwargs={"delay_s": 0.05})
    return dataclasses.replace(
        cfg, policy=dataclasses.replace(cfg.policy, shared=False, per_agent={"robot_1": slow}),
        # late_readers: the rogue reads the team's actions with their history (KEPT_STREAM_QOS)
        supervisor=dataclasses.replace(cfg.supervisor, step_deadline_s=30.0, late_readers=True),
        safety=dataclasses.replace(cfg.safety, key_file=str(key_file)))


def test_a_rogue_on_the_domain_moves_nothing_and_every_attempt_is_counted(tmp_path: Path) -> None:
    from marl_bridge.envs.team import build_team

    cfg = _config(tmp_path)
    team_key = read_key_file(cfg.safety.key_file, "test").key
    team = build_team(cfg)
    act_layout, obs_layout = team.act_codecs["robot_1"].layout, team.obs_codecs["robot_2"].layout
    team.env.close()
    nodes: list[Any] = []

    def extra(_supervisor: object) -> list[Any]:
        rogue = Rogue(team_key, act_layout, obs_layout)
        nodes.extend([rogue, GatedActor(cfg, rogue, team_key)])
        return nodes

    card = run_team(cfg, tmp_path / "out", extra_nodes=extra, external=["robot_3"])
    rogue, gated = nodes
    assert card["status"] == "complete" and card["authenticated"] is True
    direct = direct_rollout(cfg)
    (ep,), (ref,) = card["episodes"], direct
    assert ep["returns"] == ref.returns and ep["observation_digest"] == ref.observation_digest  # bit for bit
    assert ep["fallbacks"] == dict.fromkeys(ref.agents, 0)
    events = card["safety_events"]["by_agent"]
    # every answer of the rogue for robot_1 (two per step it saw), and none displaced the real one
    assert events["robot_1"].get("unauthenticated", 0) >= 2 and rogue.answered_robot_1 >= 2
    # (a stale_action is robot_1's own answer to step 2 that came while the e-stop held the step)
    assert not {"duplicate_action", "invalid_action", "wrong_agent"} & set(events["robot_1"])
    assert events["robot_0"].get("unauthenticated", 0) >= 1  # the replayed action
    assert card["unauthenticated_observations"]["robot_2"] >= 2  # fakes and a replay, dropped by the actor
    assert events["<team>"]["unauthenticated"] == 2  # the unsigned pause and e-stop release
    replies = gated.replies
    assert not replies["pause"].success and "send a signed request" in replies["pause"].message
    assert replies["estop_engage"].success  # anyone may stop the team
    assert not replies["estop_release"].success
    assert replies["operator"].success, replies["operator"].message
    assert [e["released"] is not None for e in card["estops"]] == [True]
