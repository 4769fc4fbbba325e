"""The supervisor's operator interface: the services that pause, resume, step, reset and e-stop the team,
and the /<team>/estop topic. Each request becomes a call on the TeamRun.

Anyone may stop the team (estop_engage, `true` on /<team>/estop). With a team key (nodes/team_auth.py)
the plain services that let the team move (resume, step, reset, pause, estop_release) are refused with an
`unauthenticated` event, and /<team>/operator does them for a request signed with the operator key.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from rclpy.node import Node
from std_msgs.msg import Bool
from std_srvs.srv import Trigger

from marl_bridge.nodes.team_auth import TeamAuth
from marl_bridge.nodes.topics import TeamNames
from marl_bridge.srv import Operator, Reset, Step
from marl_bridge.team.run import TeamRun


class TeamServices:
    def __init__(self, node: Node, names: TeamNames, run: TeamRun, auth: TeamAuth | None) -> None:
        self.node, self.names, self.run, self.auth = node, names, run, auth
        n = names.team
        self.servers = [
            node.create_service(Reset, n("reset"), self._on_reset),
            node.create_service(Trigger, n("pause"), self._trigger(run.pause, moving="pause")),
            node.create_service(Trigger, n("resume"), self._trigger(run.resume, moving="resume")),
            node.create_service(Step, n("step"), self._on_step),
            node.create_service(Trigger, n("estop_engage"), self._trigger(
                lambda: (run.engage(f"service {n('estop_engage')}"), "engaged"), "already engaged")),
            node.create_service(Trigger, n("estop_release"), self._trigger(
                self._release, "not engaged", moving="estop_release")),
            node.create_service(Operator, n("operator"), self._on_operator)]
        self.estop_sub = node.create_subscription(Bool, n("estop"), self._on_estop_msg, 10)

    def _release(self) -> tuple[bool, str]:
        return self.run.release(f"service {self.names.team('estop_release')}"), "released"

    def _refused(self, moving: str) -> str | None:
        """With a key, a plain request that would let the team move is refused (an event says who asked)."""
        if self.auth is None or not moving:
            return None
        self.run.unauthenticated("", f"unsigned {moving} request refused")
        return (f"refused: team {self.names.root} is authenticated; send a signed request to "
                f"{self.names.team('operator')} (marl-bridge operator {moving})")

    def _trigger(self, call: Callable[[], tuple[bool, str]], refused: str = "", moving: str = ""
                 ) -> Callable[..., Any]:
        def service(request: Trigger.Request, response: Trigger.Response) -> Trigger.Response:
            why = self._refused(moving)
            if why is not None:
                response.success, response.message = False, why
                return response
            response.success, response.message = call()
            response.message = response.message if response.success or not refused else refused
            return response
        return service

    def _on_reset(self, request: Reset.Request, response: Reset.Response) -> Reset.Response:
        why = self._refused("reset")
        response.success, response.message = (False, why) if why is not None else self.run.reset(
            int(request.seed) if request.use_seed else None)
        response.episode = self.run.episode_index
        return response

    def _on_step(self, request: Step.Request, response: Step.Response) -> Step.Response:
        response.step = self.run.step_index
        why = self._refused("step")
        response.success, response.message = (False, why) if why is not None else self.run.grant(int(request.steps))
        return response

    def _on_operator(self, request: Operator.Request, response: Operator.Response) -> Operator.Response:
        """A signed request: verified, then done like the plain service of the same name."""
        if self.auth is None:
            response.success, response.message = False, "this team has no key: call its plain services"
            return response
        why = self.auth.check_operator(request.command, int(request.steps), int(request.seed), bool(request.use_seed),
                                       int(request.counter), bytes(request.tag))
        if why is not None:
            self.run.unauthenticated("", f"operator {request.command!r} request refused: {why}")
            response.success, response.message = False, f"refused: {why}"
            return response
        run, command = self.run, request.command
        if command == "reset":
            response.success, response.message = run.reset(int(request.seed) if request.use_seed else None)
        elif command == "step":
            response.success, response.message = run.grant(int(request.steps))
        elif command == "estop_release":
            response.success, response.message = self._release()
            response.message = response.message if response.success else "not engaged"
        else:
            response.success, response.message = (run.pause if command == "pause" else run.resume)()
        return response

    def _on_estop_msg(self, msg: Bool) -> None:
        if msg.data:
            self.run.engage(f"topic {self.names.team('estop')}")
        elif self.run.latch.engaged:
            self.node.get_logger().warning(f"false on {self.names.team('estop')} ignored: the e-stop is latched; call "
                                           f"{self.names.team('estop_release')} to release it")
