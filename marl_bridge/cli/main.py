"""`marl-bridge`: run a team, or run one node alone (what a real robot runs).

    marl-bridge run CONFIG.yaml [--episodes N] [--seed S] [--out DIR] [--topology T] [--record BAG_DIR]
                                [--external AGENT]...                # AGENT's actor runs elsewhere
    marl-bridge supervisor --config CONFIG.yaml [--out DIR]      # the supervisor node alone
    marl-bridge actor --config CONFIG.yaml --agent ID            # one robot's policy node
    marl-bridge actors --config CONFIG.yaml --agent A --agent B  # several actor nodes, one process
    marl-bridge record --config CONFIG.yaml --out BAG_DIR        # the recorder node alone
    marl-bridge replay BAG_DIR [--card RUN_CARD]                 # does the recorded trace reproduce? (the
                                                                 # bag is enough; a card given must agree)
    marl-bridge eval EVAL.yaml [--out DIR]                       # fixed-seed panels, per-agent report
    marl-bridge check CONFIG.yaml                                # validate config, env and policies
    marl-bridge train TRAIN.yaml [--out DIR]                     # MAPPO/IPPO with TorchRL -> ONNX (.[train])
    marl-bridge driver --robot R --pose X Y YAW                  # one simulated robot base (cmd_vel/odom)
    marl-bridge drivers CONFIG.yaml                              # a simulated base per robot, own processes
    marl-bridge keys new FILE | keys robot ...                   # a team key; one robot's key (cli/trust.py)
    marl-bridge operator --config CONFIG.yaml COMMAND            # signed resume/step/reset/pause/estop_release
    marl-bridge guard --config CONFIG.yaml --robot R             # a robot's dead-man stop before its base

Exit codes: 0 done, 1 replay diverged, 2 bad config or arguments (nothing started), 3 the run failed
(its card keeps the finished episodes), 4 degraded (finished, but more agent-steps on fallbacks than
run.max_fallback_share), 5 the bag cannot be replayed (not a bag, nothing readable, no run header and no
card), 130 interrupted (run card kept).
Arguments after --ros-args go to ROS (remappings, --params-file, ...).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path
from typing import Any

from marl_bridge.cli import trust
from marl_bridge.config import ConfigError, RunConfig, load, with_overrides

EXIT_BAD_CONFIG = 2
EXIT_BAD_BAG = 5  # replay: not a bag, nothing readable in it, or no run header and no card
EXIT_FAILED = 3  # the run started and failed (status "failed: ..."); its card keeps what finished
EXIT_DEGRADED = 4  # the run finished, mostly on fallbacks (status "degraded: ...")
EXIT_INTERRUPTED = 130


def exit_code(status: str) -> int:
    """0 complete, 3 failed, 4 degraded, 130 interrupted (the run card says which)."""
    if status == "complete":
        return 0
    if status.startswith("degraded"):
        return EXIT_DEGRADED
    return EXIT_FAILED if status.startswith("failed") else EXIT_INTERRUPTED


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="marl-bridge", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help="run a team over DDS and write the run card")
    run.add_argument("config", type=Path)
    run.add_argument("--episodes", type=int)
    run.add_argument("--seed", type=int)
    run.add_argument("--out", type=Path, help="output directory (default: run.out_dir)")
    run.add_argument("--topology", choices=("single", "actors", "multiprocess"))
    run.add_argument("--no-progress", action="store_true", help="no progress bar")
    run.add_argument("--external", action="append", metavar="AGENT",
                     help="start no actor for AGENT here: it runs elsewhere (a robot, marl-bridge actor)")
    run.add_argument("--record", type=Path, metavar="BAG_DIR",
                     help="record the team's topics to this new rosbag2 directory (MCAP), from the supervisor "
                          "through a bag writer process")

    sup = sub.add_parser("supervisor", help="run the supervisor node alone")
    sup.add_argument("--config", type=Path, help="config file (default: the node's ROS parameters)")
    sup.add_argument("--out", type=Path)

    for name in ("actor", "actors"):
        act = sub.add_parser(name, help="run actor node(s) alone")
        act.add_argument("--config", type=Path, help="config file (default: the node's ROS parameters)")
        act.add_argument("--agent", action="append", help="agent to play (default: parameter actor.agent)")

    rec = sub.add_parser("record", help="run the recorder node alone until Ctrl-C")
    rec.add_argument("--config", type=Path, required=True)
    rec.add_argument("--out", type=Path, required=True, help="new rosbag2 directory (MCAP)")

    rep = sub.add_parser("replay", help="check that a recorded bag reproduces (exit 1 at the first divergence)")
    rep.add_argument("bag", type=Path)
    rep.add_argument("--card", type=Path, help="run card (default: run_card.json beside or in the bag)")
    rep.add_argument("--video", type=Path, metavar="DIR",
                     help="also render an MP4 per episode into DIR, offscreen (needs marl_bridge[video])")

    ev = sub.add_parser("eval", help="run fixed-seed evaluation panels; per-agent JSON report, PNG and table")
    ev.add_argument("config", type=Path, help="eval file (base config + panels)")
    ev.add_argument("--out", type=Path, default=Path("runs/eval"))

    check = sub.add_parser("check", help="validate a config, build its env and every policy; start nothing")
    check.add_argument("config", type=Path)

    tr = sub.add_parser("train", help="train the team with TorchRL (needs the train extra); writes ONNX actors "
                                      "and a deploy config")
    tr.add_argument("config", type=Path, help="training config (train: section; see config/train_*.yaml)")
    tr.add_argument("--out", type=Path, help="output directory (default: train.out_dir)")
    tr.add_argument("--no-progress", action="store_true", help="no progress bar")

    drv = sub.add_parser("driver", help="one MuJoCo-simulated robot base behind cmd_vel/odom (or use --ros-args)")
    drv.add_argument("--robot", help="robot name ({robot} in the topic patterns)")
    drv.add_argument("--pose", type=float, nargs=3, metavar=("X", "Y", "YAW"), help="start pose")
    drv.add_argument("--rate", type=float, help="odometry rate in Hz (default 50)")
    drv.add_argument("--arena-half", type=float, help="half the arena's side in metres (default 4)")

    drvs = sub.add_parser("drivers", help="a simulated base per robot of a config (own process each), at the "
                                          "start poses of its first episode, until Ctrl-C")
    drvs.add_argument("config", type=Path)
    drvs.add_argument("--rate", type=float, default=50.0, help="odometry rate in Hz")
    drvs.add_argument("--only", action="append", help="start only these agents' robots")
    grd = sub.add_parser("guard", help="one robot's dead-man guard between the team and its base, until Ctrl-C")
    grd.add_argument("--config", type=Path, required=True, help="the team's config (hardware.team_cmd_topic)")
    grd.add_argument("--robot", required=True, help="robot name ({robot} in the topic patterns)")
    grd.add_argument("--team-node", default="", help="the supervisor node whose commands pass (default: the "
                     "team's, /<team>/supervisor)")
    trust.add_parsers(sub)
    return parser


def _load(path: Path, **overrides: Any) -> RunConfig:
    cfg = with_overrides(load(path), **overrides)
    from marl_bridge.config import from_dict
    return from_dict(cfg.to_dict(), source=cfg.source)  # re-validate the overrides


def writable_dir(path: Path, flag: str) -> Path:
    """Create `path` (with parents) and write a file in it, before anything starts: an unwritable output
    is exit 2 naming the flag, not a traceback after the team ran. Call it once the config is known to
    be good, so a bad config still creates nothing."""
    try:
        path.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path, prefix=".marl_bridge_write_check"):
            pass
    except OSError as exc:
        raise ConfigError(f"{flag} {path}: cannot write there ({exc.strerror or exc})") from None
    return path


def new_bag_dir(path: Path, flag: str) -> Path:
    """A bag directory must not exist yet, and its parent must be writable."""
    if path.exists():
        raise ConfigError(f"{flag} {path}: already exists; a bag directory must be new")
    writable_dir(path.parent, flag)
    return path


def cmd_check(cfg: RunConfig) -> int:
    from marl_bridge.envs.team import build_team

    team = build_team(cfg)
    try:
        policies = team.build_policies(cfg)  # opens every model file and checks it against the spaces
    finally:
        team.env.close()
    for agent in team.agents:
        print(f"{agent}: obs {team.env.observation_space(agent)}  action {team.env.action_space(agent)}  "
              f"policy {policies[agent].description}  fallback {team.fallbacks[agent].kind}")
    world = f", robot world on backend {team.world.backend}" if team.world is not None else ""
    auth = "unauthenticated"
    if cfg.safety.key_file:
        from marl_bridge.trust.keys import read_key_file

        key_file = read_key_file(cfg.safety.key_file, f"{cfg.source}: safety.key_file")
        auth = f"authenticated ({key_file.kind} key)"
    print(f"{cfg.source}: ok ({team.api} API{world}, {auth})")
    return 0


def check_policies(cfg: RunConfig) -> None:
    """Build every policy once before a run starts (the spaces do not depend on the backend), so a model
    that does not fit its agent is exit 2 here, not a dead actor process and a run on fallbacks."""
    from marl_bridge.envs.backends import offline
    from marl_bridge.envs.team import build_team

    team = build_team(cfg, backend=offline(cfg.env.backend))
    try:
        team.build_policies(cfg)
    finally:
        team.env.close()
    if cfg.safety.key_file:  # a key that cannot be used is exit 2 before anything starts
        from marl_bridge.trust.keys import read_key_file

        read_key_file(cfg.safety.key_file, f"{cfg.source}: safety.key_file")


def cmd_run(cfg: RunConfig, out: Path, progress: bool, record: Path | None = None,
            external: list[str] | None = None) -> int:
    from marl_bridge.cli.team import run_team
    from marl_bridge.recording.run_card import per_agent_table, write_run_card

    bar: Any = None
    if progress:
        from tqdm import tqdm
        bar = tqdm(total=cfg.run.episodes, unit="ep", desc=f"{cfg.env.name or cfg.env.entry_point}",
                   file=sys.stderr)

    def on_episode(rec: Any) -> None:
        if bar is not None:
            bar.update(1)
            bar.set_postfix(ret=f"{sum(rec.returns.values()):.2f}", steps=rec.steps)

    # --record: the supervisor records what it sends and receives itself (recording/tap.py), through a
    # bag writer process: no extra DDS reader slows the team
    card = run_team(cfg, out, on_episode=on_episode, external=external, record=record)
    if bar is not None:
        bar.close()
    path = write_run_card(card, out)
    print(per_agent_table(card))
    timing = card["timing"]
    print(f"\n{card['status']}: {len(card['episodes'])} episodes, {timing['steps']} steps, "
          f"{timing['steps_per_s']:.0f} steps/s, deadline misses {sum(card['deadline_misses'].values())}, "
          f"safety events {sum(sum(v.values()) for v in card['safety_events']['by_agent'].values())}")
    print(f"run card: {path}")
    return exit_code(card["status"])


def cmd_supervisor(cfg: RunConfig | None, out: Path | None, ros_args: list[str]) -> int:
    from rclpy.experimental import EventsExecutor

    from marl_bridge.nodes.params import config_parameters
    from marl_bridge.nodes.spin import retire, ros_session, spin_until
    from marl_bridge.nodes.supervisor import SupervisorNode
    from marl_bridge.recording.run_card import CardWriter, write_run_card
    from marl_bridge.recording.trajectory import write_run_pictures

    with ros_session(ros_args or None) as stop:
        node = SupervisorNode(config_parameters(cfg) if cfg else None, topology="external",
                              out_dir=out or (Path(cfg.run.out_dir) if cfg else None),
                              namespace=cfg.supervisor.team if cfg else None)
        out = out or Path(node.cfg.run.out_dir)
        if node.card_writer is None:
            node.card_writer = CardWriter(out, node.run_card, node.get_logger(), keep=node.cfg.run.card_episodes)
        executor = EventsExecutor()
        executor.add_node(node)
        card = node.done.result() if spin_until(executor, node.done, stop) else node.interrupt("signal")
        node.flush()
        card["pictures"] = write_run_pictures(node.traces, card, out)
        print(f"run card: {write_run_card(card, out)}")
        retire(executor, [node])
    return exit_code(card["status"])


def cmd_record(cfg: RunConfig, bag: Path, ros_args: list[str]) -> int:
    from rclpy.executors import SingleThreadedExecutor

    from marl_bridge.envs.team import build_team
    from marl_bridge.nodes.spin import retire, ros_session, spin_forever
    from marl_bridge.recording.recorder import RecorderNode

    new_bag_dir(bag, "--out")
    team = build_team(cfg)
    agents = team.agents
    team.env.close()
    with ros_session(ros_args or None) as stop:
        node = RecorderNode(cfg.supervisor.team, agents, bag, keep_history=cfg.supervisor.keeps_history)
        executor = SingleThreadedExecutor()  # raw subscriptions: see RecorderNode
        executor.add_node(node)
        spin_forever(executor, stop)
        summary = node.close()
        retire(executor, [node])
    print(json.dumps(summary, indent=1))
    return 0


def cmd_replay(bag: Path, card_path: Path | None, video: Path | None = None) -> int:
    if video is not None:
        from marl_bridge.recording.video import prepare_offscreen

        prepare_offscreen()  # before anything imports MuJoCo
    from marl_bridge.recording.replay import BagError, load_card, replay

    try:
        card, path = load_card(bag, card_path)
        report = replay(bag, card, video)
    except BagError as exc:
        print(f"marl-bridge: cannot replay: {exc}", file=sys.stderr)
        return EXIT_BAD_BAG
    source = f"config from the bag's run header{f', checked against {path}' if path else ''}" if report.header \
        else f"config from {path}"
    if report.cut:
        print(f"damaged bag, replaying its readable part: {report.cut}")
    if report.divergence is not None:
        print(f"not reproduced ({source}): {report.divergence.describe()}")
        return 1
    partial = f" and {report.unfinished} steps of an unfinished episode" if report.unfinished else ""
    print(f"reproduced: {report.episodes} episodes, {report.steps} joint steps{partial}; every observation, "
          f"action, reward, return, ending, fallback flag, info and summary ({source})")
    if report.videos:
        print(f"video: {len(report.videos)} MP4 file(s) in {video}: {', '.join(report.videos)}")
    return 0


def cmd_eval(path: Path, out: Path) -> int:
    from marl_bridge.evaluation import load_eval, report_table, run_eval, write_report

    report = run_eval(load_eval(path), out)
    json_path, png_path = write_report(report, out)
    print(report_table(report))
    print(f"\nreport: {json_path}\nfigure: {png_path}")
    return 0


def cmd_train(path: Path, out: Path | None, progress: bool) -> int:
    from marl_bridge.training.config import load_train

    cfg = load_train(path)
    try:
        from marl_bridge.training.trainer import train
    except ImportError as exc:
        raise ConfigError(f"{path}: training needs the train extra (pip install 'marl_bridge[train]', or "
                          f"`make train-deps`): {exc}") from None
    report = train(cfg, out, progress=progress)
    final = report["final_eval"]
    print(f"trained {report['algorithm']} ({'shared' if report['share_policy'] else 'per-agent'} actors), "
          f"{report['history'][-1]['frames']} env steps in {report['history'][-1]['seconds']:.0f} s")
    print(f"deterministic evaluation (run seed {final['run_seed']}, {final['episodes']} episodes): capture rate "
          f"{final['capture_rate']:.2f}, per-agent return "
          + ", ".join(f"{a} {r:.2f}" for a, r in final["return_mean"].items()))
    print(f"deploy config: {report['deploy_config']}")
    return 0


def cmd_driver(args: argparse.Namespace, ros_args: list[str]) -> int:
    from rclpy.experimental import EventsExecutor
    from rclpy.parameter import Parameter

    from marl_bridge.nodes.robot_driver import RobotDriverNode
    from marl_bridge.nodes.spin import spin_node

    params = []
    if args.robot:
        params.append(Parameter("robot", value=args.robot))
    if args.pose:
        params += [Parameter(k, value=float(v)) for k, v in zip(("x", "y", "yaw"), args.pose, strict=True)]
    if args.rate:
        params.append(Parameter("odom_rate_hz", value=float(args.rate)))
    if args.arena_half:
        params.append(Parameter("arena_half", value=float(args.arena_half)))
    return spin_node(lambda: RobotDriverNode(params), EventsExecutor, ros_args or None)


def cmd_drivers(cfg: RunConfig, rate: float, only: list[str] | None) -> int:
    from marl_bridge.envs.robots.drivers import run_drivers

    return run_drivers(cfg, rate, only)


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    ros_args: list[str] = []
    if "--ros-args" in argv:
        i = argv.index("--ros-args")
        argv, ros_args = argv[:i], ["marl-bridge", *argv[i:]]
    args = _parser().parse_args(argv)
    try:
        if args.command == "run":
            cfg = _load(args.config, episodes=args.episodes, seed=args.seed, topology=args.topology,
                        out_dir=str(args.out) if args.out else None)
            check_policies(cfg)  # config errors first: they leave nothing behind
            writable_dir(Path(cfg.run.out_dir), "--out" if args.out else f"{cfg.source}: run.out_dir")
            if args.record is not None:
                new_bag_dir(args.record, "--record")
            return cmd_run(cfg, Path(cfg.run.out_dir), progress=not args.no_progress, record=args.record,
                           external=args.external)
        if args.command == "guard":
            from marl_bridge.nodes.guard import spin_guard
            return spin_guard(_load(args.config), args.robot, args.team_node, ros_args or None)
        if args.command == "keys":
            return trust.cmd_keys(args, _load(args.config) if getattr(args, "config", None) else None)
        if args.command == "operator":
            return trust.cmd_operator(args, _load(args.config), ros_args)
        if args.command == "check":
            return cmd_check(_load(args.config))
        if args.command == "train":
            return cmd_train(args.config, args.out and writable_dir(args.out, "--out"),
                             progress=not args.no_progress)
        if args.command == "eval":
            return cmd_eval(args.config, writable_dir(args.out, "--out"))
        if args.command == "replay":
            return cmd_replay(args.bag, args.card, args.video and writable_dir(args.video, "--video"))
        if args.command == "record":
            return cmd_record(_load(args.config), args.out, ros_args)
        if args.command == "driver":
            return cmd_driver(args, ros_args)
        if args.command == "drivers":
            return cmd_drivers(_load(args.config), args.rate, args.only)
        if args.command == "supervisor":
            cfg = _load(args.config) if args.config else None
            return cmd_supervisor(cfg, args.out and writable_dir(args.out, "--out"), ros_args)
        from marl_bridge.cli.team import spin_actors
        return spin_actors(_load(args.config) if args.config else None, args.agent or [], ros_args or None)
    except ConfigError as exc:
        print(f"marl-bridge: config error: {exc}", file=sys.stderr)
        return EXIT_BAD_CONFIG
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED


if __name__ == "__main__":
    sys.exit(main())
