"""Start a team in one of three topologies and run it to the end.

- single: supervisor and every actor in this process on one executor (fastest path for simulation);
- actors: supervisor here, all actors together in one child process;
- multiprocess: supervisor here, one child process per actor (as on real robots).

Executor choice: rclpy.experimental.EventsExecutor. On this 2-core class of machine it dispatched a
callback in about 14 us against about 120 us for the SingleThreadedExecutor, and the lockstep is
dispatch-bound (see bench/lockstep.py). Everything in one process runs in that one executor: spinning
nodes separately would serve only one of them at a time.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import rclpy
from rclpy.executors import ExternalShutdownException, SingleThreadedExecutor
from rclpy.experimental import EventsExecutor
from rclpy.node import Node
from rclpy.task import Future

from marl_bridge.config import ConfigError, RunConfig, dump_yaml
from marl_bridge.envs.episode import EpisodeRecord
from marl_bridge.nodes.actor import ActorNode
from marl_bridge.nodes.params import config_parameters
from marl_bridge.nodes.spin import StopRequest, retire, ros_session, spin_forever, spin_until
from marl_bridge.nodes.supervisor import SupervisorNode
from marl_bridge.nodes.topics import agent_ns
from marl_bridge.recording.trajectory import write_run_pictures
from marl_bridge.team.run import Phase


def actor_command(config_path: Path, agents: list[str]) -> list[str]:
    """Command line of a child process running `agents` (the `-P` keeps a source checkout off sys.path)."""
    cmd = [sys.executable, "-P", "-m", "marl_bridge.cli", "actors", "--config", str(config_path)]
    for agent in agents:
        cmd += ["--agent", agent]
    return cmd


def die_with_parent() -> None:
    """In a child before exec: get SIGTERM when the parent dies, so a killed run leaves no actors behind."""
    with contextlib.suppress(OSError):  # not Linux: _stop_children still ends them on any normal exit
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG = 1


def _stop_children(children: list[subprocess.Popen[bytes]]) -> None:
    for child in children:
        if child.poll() is None:
            child.send_signal(signal.SIGINT)
    for child in children:
        try:
            child.wait(timeout=5)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()


def _watch_start(supervisor: SupervisorNode, launched: list[tuple[subprocess.Popen[bytes], list[str]]]) -> None:
    """An actor process that dies before the run starts fails the start at once (its own error is on
    stderr above), instead of a wait of startup_timeout_s and a run on fallbacks."""
    def check() -> None:
        if supervisor.run.phase is not Phase.STARTING:
            timer.cancel()
            return
        for child, group in launched:
            code = child.poll()
            if code is not None:
                timer.cancel()
                why = f"the actor process of {', '.join(group)} exited with code {code} before the run started"
                supervisor.run.fail("actor_lost", f"{why} (its error is above)", f"failed: {why}")
                return
    timer = supervisor.create_timer(0.1, check)


class _BackgroundSpinner:
    """A node on a SingleThreadedExecutor of its own, spun on a daemon thread (see RecorderNode)."""

    def __init__(self, node: Node) -> None:
        self.executor = SingleThreadedExecutor(context=node.context)
        self.executor.add_node(node)
        self._running = True
        self.thread = threading.Thread(target=self._spin, name=f"spin-{node.get_name()}", daemon=True)
        self.thread.start()

    def _spin(self) -> None:
        with contextlib.suppress(ExternalShutdownException):
            while self._running and rclpy.ok(context=self.executor.context):
                self.executor.spin_once(timeout_sec=0.1)

    def stop(self) -> None:
        self._running = False
        self.thread.join(timeout=5)
        self.executor.shutdown()


def run_team(cfg: RunConfig, out_dir: Path,
             on_episode: Callable[[EpisodeRecord], None] | None = None,
             extra_nodes: Callable[[SupervisorNode], list[Node]] | None = None,
             drain: Callable[[dict[str, Any]], Future] | None = None, drain_timeout_s: float = 10.0,
             external: list[str] | None = None, record: Path | None = None) -> dict[str, Any]:
    """Run `cfg` over DDS in `cfg.run.topology`; return the run card (also when interrupted).

    `external` agents get no actor here: their actors run elsewhere (real robots, another machine,
    `marl-bridge actor`), and the supervisor waits for them like any other.
    `extra_nodes(supervisor)` builds nodes (monitors, recorders) that share this process's executor;
    they are added before the supervisor starts stepping. `drain(card)` returns a future the executor keeps
    spinning for after the run (at most `drain_timeout_s`), so those nodes can take the last messages.
    `record`: the supervisor records the team into this new rosbag2 directory itself (recording/tap.py).
    Raises ConfigError before anything is started when the config or the env is wrong.
    """
    with ros_session([]) as stop:  # restores the previous signal handlers on the way out
        return _run_in_session(cfg, out_dir, stop, on_episode, extra_nodes, drain, drain_timeout_s,
                               external or [], record)


def _run_in_session(cfg: RunConfig, out_dir: Path, stop: StopRequest,
                    on_episode: Callable[[EpisodeRecord], None] | None,
                    extra_nodes: Callable[[SupervisorNode], list[Node]] | None,
                    drain: Callable[[dict[str, Any]], Future] | None, drain_timeout_s: float,
                    external: list[str], record: Path | None = None) -> dict[str, Any]:
    children: list[subprocess.Popen[bytes]] = []
    executor = EventsExecutor()
    supervisor: SupervisorNode | None = None
    nodes: list[Node] = []  # actors and extra nodes of this process
    side: list[_BackgroundSpinner] = []
    try:
        supervisor = SupervisorNode(config_parameters(cfg), on_episode=on_episode, out_dir=out_dir,
                                    namespace=cfg.supervisor.team, record_dir=record)
        executor.add_node(supervisor)
        unknown = sorted(set(external) - set(supervisor.agents))
        if unknown:
            raise ConfigError(f"external agent {unknown[0]!r} is not an agent of {cfg.env.entry_point}; agents "
                              f"are {', '.join(supervisor.agents)}")
        agents = [a for a in supervisor.agents if a not in external]
        config_path = dump_yaml(cfg, out_dir / "config.yaml")  # only once the config proved buildable
        if cfg.run.topology == "single":
            for agent in agents:
                node = ActorNode(config_parameters(cfg), agent=agent, namespace=agent_ns(cfg.supervisor.team, agent))
                nodes.append(node)
                executor.add_node(node)
        else:
            groups = ([agents] if agents else []) if cfg.run.topology == "actors" else [[a] for a in agents]
            for group in groups:
                children.append(subprocess.Popen(actor_command(config_path, group), env=os.environ.copy(),
                                                 preexec_fn=die_with_parent))
            _watch_start(supervisor, list(zip(children, groups, strict=True)))
        for node in extra_nodes(supervisor) if extra_nodes is not None else []:
            nodes.append(node)
            if getattr(node, "needs_own_executor", False):
                side.append(_BackgroundSpinner(node))
            else:
                executor.add_node(node)
        try:
            finished = spin_until(executor, supervisor.done, stop)
        except Exception as exc:  # a bug in a callback: the run ends failed, with its card
            supervisor.get_logger().error(f"run failed: {type(exc).__name__}: {exc}")
            finished = False
            supervisor.run.finish(f"failed: {type(exc).__name__}: {exc}")
        if finished or supervisor.done.done():
            card = supervisor.done.result()
        else:
            card = supervisor.interrupt("signal" if stop.is_set() else "shutdown")
        if drain is not None and rclpy.ok() and not stop.is_set():
            executor.spin_until_future_complete(drain(card), timeout_sec=drain_timeout_s)
        if rclpy.ok():
            supervisor.flush()
        recording = supervisor.close_recording()
        if recording is not None:
            card["recording"] = recording
            if supervisor.card_writer is not None:
                supervisor.card_writer.write(card)
        card["pictures"] = write_run_pictures(supervisor.traces, card, out_dir)
        return card
    finally:
        _stop_children(children)
        for spinner in side:
            spinner.stop()
        retire(executor, [*nodes, *([supervisor] if supervisor else [])])


def spin_actors(cfg: RunConfig | None, agents: list[str], cli_args: list[str] | None = None) -> int:
    """Run actor nodes for `agents` in this process until shutdown (what a robot runs).

    Without `cfg` the single actor takes its config (and `actor.agent`) from its ROS parameters, as
    under `ros2 launch` with a params file.
    """
    with ros_session(cli_args) as stop:
        executor = EventsExecutor()
        if cfg is None:
            if len(agents) > 1:
                raise ConfigError("several --agent need --config: ROS parameters configure one actor node")
            nodes = [ActorNode(None, agent=agents[0] if agents else None)]
        else:
            if not agents:
                raise ConfigError(f"{cfg.source}: name the agent(s) to play with --agent")
            nodes = [ActorNode(config_parameters(cfg), agent=a, namespace=agent_ns(cfg.supervisor.team, a))
                     for a in agents]
        for node in nodes:
            executor.add_node(node)
        try:
            spin_forever(executor, stop)
        finally:
            for node in nodes:
                node.stop()
            retire(executor, nodes)
    return 0
