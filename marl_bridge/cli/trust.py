"""`marl-bridge keys` and `marl-bridge operator`: a team's keys, and signed operator requests.

    marl-bridge keys new FILE                                   # a new team key (owner-only, never overwritten)
    marl-bridge keys robot --team-key FILE --config CONFIG --agent A --out FILE
                                                                # the key one robot's actor needs, and no other
    marl-bridge operator --config CONFIG COMMAND [--steps N] [--seed S]
                                                                # resume | step | reset | pause | estop_release
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from marl_bridge.config import ConfigError, RunConfig

COMMANDS = ("resume", "step", "reset", "pause", "estop_release")


def add_parsers(sub: Any) -> None:
    keys = sub.add_parser("keys", help="make a team key, or derive one robot's key from it")
    ksub = keys.add_subparsers(dest="keys_command", required=True)
    new = ksub.add_parser("new", help="a new team key file (mode 600; an existing file is never overwritten)")
    new.add_argument("file", type=Path)
    robot = ksub.add_parser("robot", help="the key of one robot's actor, derived from the team key")
    robot.add_argument("--team-key", type=Path, required=True)
    robot.add_argument("--config", type=Path, required=True, help="the team's config (its team name and agents)")
    robot.add_argument("--agent", required=True)
    robot.add_argument("--out", type=Path, required=True)
    op = sub.add_parser("operator", help="send a signed operator request to an authenticated team")
    op.add_argument("--config", type=Path, required=True, help="the team's config (team name, safety.key_file)")
    op.add_argument("request", choices=COMMANDS, metavar="COMMAND", help=" | ".join(COMMANDS))
    op.add_argument("--steps", type=int, default=1, help="step: how many (default 1)")
    op.add_argument("--seed", type=int, help="reset: the next episode's seed")
    op.add_argument("--timeout", type=float, default=10.0, help="seconds to wait for the supervisor")


def cmd_keys(args: argparse.Namespace, cfg: RunConfig | None) -> int:
    from marl_bridge.trust.keys import new_team_key, read_key_file, write_robot_key

    try:
        if args.keys_command == "new":
            path = new_team_key(args.file)
        else:
            assert cfg is not None
            team_file = read_key_file(args.team_key, "--team-key")
            if team_file.kind != "team":
                raise ConfigError(f"--team-key: {args.team_key} is a robot's key, not a team key")
            agents = _agents(cfg)
            if args.agent not in agents:
                raise ConfigError(f"--agent: {args.agent!r} is not an agent of {cfg.source}; agents: "
                                  f"{', '.join(agents)}")
            path = write_robot_key(team_file, cfg.supervisor.team, args.agent, args.out)
    except FileExistsError as exc:
        raise ConfigError(f"{exc.filename} exists; a key file is never overwritten") from None
    print(f"wrote {path} (mode 600)")
    return 0


def _agents(cfg: RunConfig) -> list[str]:
    from marl_bridge.envs.backends import offline
    from marl_bridge.envs.team import build_team

    team = build_team(cfg, backend=offline(cfg.env.backend))
    try:
        return list(team.agents)
    finally:
        team.env.close()


def cmd_operator(args: argparse.Namespace, cfg: RunConfig, ros_args: list[str]) -> int:
    import rclpy

    from marl_bridge.nodes.spin import ros_session
    from marl_bridge.srv import Operator
    from marl_bridge.trust.keys import operator_key, read_key_file, team_key
    from marl_bridge.trust.tags import OPERATOR, Signer, operator_fields

    if not cfg.safety.key_file:
        raise ConfigError(f"{cfg.source}: safety.key_file is empty: this team is not authenticated; call its plain "
                          f"services (/{cfg.supervisor.team}/{args.request})")
    where = f"{cfg.source}: safety.key_file"
    team = cfg.supervisor.team
    signer = Signer(operator_key(team_key(read_key_file(cfg.safety.key_file, where), where), team), OPERATOR)
    request = Operator.Request(command=args.request, steps=max(args.steps, 0), seed=args.seed or 0,
                               use_seed=args.seed is not None)
    request.counter = signer.counter()
    request.tag = list(signer.tag(operator_fields(team, request.command, request.steps, request.seed,
                                                  request.use_seed, request.counter)))
    with ros_session(ros_args or None):
        node = rclpy.create_node("operator")
        try:
            client = node.create_client(Operator, f"/{team}/operator")
            if not client.wait_for_service(timeout_sec=args.timeout):
                print(f"marl-bridge: no supervisor of team {team!r} answers /{team}/operator", file=sys.stderr)
                return 3
            future = client.call_async(request)
            rclpy.spin_until_future_complete(node, future, timeout_sec=args.timeout)
            response = future.result()
        finally:
            node.destroy_node()
    if response is None:
        print(f"marl-bridge: /{team}/operator did not answer within {args.timeout} s", file=sys.stderr)
        return 3
    print(f"{args.request}: {'ok' if response.success else 'refused'}: {response.message}")
    return 0 if response.success else 1
