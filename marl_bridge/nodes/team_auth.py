"""A supervisor's side of team authentication (marl_bridge/trust): the team key, each robot's observation
signer and action verifier, and the operator requests' verifier. Built from `safety.key_file`; None
without one (the team then runs unauthenticated, as before, and says so once)."""

from __future__ import annotations

from dataclasses import dataclass

from marl_bridge.config import RunConfig
from marl_bridge.nodes.wire import Parsed
from marl_bridge.trust.keys import operator_key, read_key_file, robot_key, team_key
from marl_bridge.trust.tags import ACTION, OBSERVATION, OPERATOR, Signer, Verifier, operator_fields

MOVING_COMMANDS = ("resume", "step", "reset", "pause", "estop_release")  # what only the team may ask


@dataclass
class TeamAuth:
    team: str
    observation_signers: dict[str, Signer]
    action_verifiers: dict[str, Verifier]
    operator: Verifier

    @classmethod
    def from_config(cls, cfg: RunConfig, agents: list[str]) -> TeamAuth | None:
        if not cfg.safety.key_file:
            return None
        where = f"{cfg.source}: safety.key_file"
        key = team_key(read_key_file(cfg.safety.key_file, where), where)
        team = cfg.supervisor.team
        robots = {a: robot_key(key, team, a) for a in agents}
        return cls(team, {a: Signer(k, OBSERVATION) for a, k in robots.items()},
                   {a: Verifier(k, ACTION) for a, k in robots.items()}, Verifier(operator_key(key, team), OPERATOR))

    def check_action(self, agent: str, msg: Parsed) -> str | None:
        """None for an action signed with `agent`'s key and fresher than the last one accepted from it."""
        return self.action_verifiers[agent].check(msg.counter, msg.tag, msg.signed)

    def check_operator(self, command: str, steps: int, seed: int, use_seed: bool, counter: int,
                       tag: bytes) -> str | None:
        if command not in MOVING_COMMANDS:
            return f"unknown command {command!r}; expected one of {', '.join(MOVING_COMMANDS)}"
        return self.operator.check(counter, tag, operator_fields(self.team, command, steps, seed, use_seed, counter))
