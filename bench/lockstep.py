"""Lockstep benchmark: the bridge against a hand-written rclpy lockstep and the bare env, in one run.

For each env (a trivial numpy env with 64-float observations, and pursuit_v5 as a heavier one), each
team size N and each topology (single process / actors in one process / one process per actor):
- direct: env.step with zero actions, no ROS;
- hand-written: the minimal rclpy lockstep (publish N observations, wait for N replies, step the env,
  EventsExecutor, same message types, no checks);
- bridge: `marl_bridge` itself (action gate, codec, fallbacks, accounting, step results all on).
It prints steps/s, per-step latency p50/p99 and the ratios bridge/hand-written and bridge/direct, and
writes JSON to bench/results/ (latest.json plus a timestamped copy) so runs can be compared.

    python -P bench/lockstep.py [--quick] [--sizes 1 2 4 8 16] [--steps 400]
    python -P bench/lockstep.py --cpu [--sizes 1 4 16] [--envs trivial]   # CPU per step instead

DDS stays on this machine (ROS_AUTOMATIC_DISCOVERY_RANGE=LOCALHOST) in a domain of its own.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import platform
import resource
import subprocess
import sys
import time
from array import array
from pathlib import Path
from typing import Any

os.environ["ROS_AUTOMATIC_DISCOVERY_RANGE"] = "LOCALHOST"
os.environ.setdefault("ROS_DOMAIN_ID", str(101 + os.getpid() % 100))
os.environ.setdefault("RCUTILS_LOGGING_MIN_SEVERITY", "WARN")

import contextlib

import numpy as np
import rclpy
from rclpy.experimental import EventsExecutor
from rclpy.node import Node
from rclpy.task import Future

from marl_bridge.cli.team import die_with_parent, run_team
from marl_bridge.codec import SpaceCodec
from marl_bridge.config import (
    EnvConfig,
    FallbackConfig,
    PolicyConfig,
    RunConfig,
    RunSettings,
    SupervisorConfig,
    TeamPolicyConfig,
)
from marl_bridge.envs.factory import make_env
from marl_bridge.msg import Action, Observation
from marl_bridge.nodes.spin import spin_until
from marl_bridge.nodes.topics import STREAM_QOS, agent_topic
from marl_bridge.safety.fallback import zero_action

TOPOLOGIES = ("single", "actors", "multiprocess")
RESULTS = Path(__file__).parent / "results"
TEAM = "bench"


def env_config(kind: str, n: int, steps: int) -> EnvConfig:
    if kind == "trivial":
        return EnvConfig(entry_point="marl_bridge.envs.point_team:parallel_env", reward_definition="point_team",
                         kwargs={"n_agents": n, "max_cycles": steps, "obs_size": 64, "goal_radius": 0.0})
    return EnvConfig(entry_point="pettingzoo.sisl:pursuit_v5.parallel_env", reward_definition="pursuit_v5 defaults",
                     kwargs={"n_pursuers": n, "n_catch": min(2, n), "max_cycles": steps})


def run_config(env: EnvConfig, topology: str) -> RunConfig:
    zero = PolicyConfig(kind="scripted", entry_point="marl_bridge.policies.scripts:zero")
    return RunConfig(run=RunSettings(seed=0, episodes=1, topology=topology, out_dir="/tmp"), env=env,
                     policy=TeamPolicyConfig(shared=True, default=zero),
                     supervisor=SupervisorConfig(step_deadline_s=2.0, fallback=FallbackConfig(kind="zero"),
                                                 max_steps=0, team=TEAM, startup_timeout_s=60.0))


def stats(latencies: list[float], steps: int, wall: float) -> dict[str, float]:
    lat = np.asarray(latencies) * 1e3
    return {"steps_per_s": steps / wall, "p50_ms": float(np.percentile(lat, 50)),
            "p99_ms": float(np.percentile(lat, 99)), "steps": steps}


# -- direct ------------------------------------------------------------------------------------------
def bench_direct(env_cfg: EnvConfig) -> dict[str, float]:
    env = make_env(env_cfg)
    env.reset(seed=0)
    zeros = {a: zero_action(env.action_space(a)) for a in env.possible_agents}
    lat = []
    t0 = time.perf_counter()
    while env.agents:
        s = time.perf_counter()
        env.step({a: zeros[a] for a in env.agents})
        lat.append(time.perf_counter() - s)
    return stats(lat, len(lat), time.perf_counter() - t0)


# -- hand-written lockstep ---------------------------------------------------------------------------
class HandSupervisor(Node):
    """Publish N observations, wait for N replies, step the env: nothing else. Timed like the bridge's
    `steady_steps_per_s`: from the end of the first step to the end of the last."""

    def __init__(self, env_cfg: EnvConfig) -> None:
        super().__init__("hand_supervisor")
        self.env = make_env(env_cfg)
        self.agents = list(self.env.possible_agents)
        self.codec = {a: SpaceCodec(self.env.observation_space(a)) for a in self.agents}
        self.act = {a: SpaceCodec(self.env.action_space(a)) for a in self.agents}
        self.pubs = {a: self.create_publisher(Observation, agent_topic(TEAM, a, "observation"), STREAM_QOS)
                     for a in self.agents}
        self.subs = [self.create_subscription(Action, agent_topic(TEAM, a, "action"), self.on_action, STREAM_QOS)
                     for a in self.agents]
        self.done = Future()
        self.actions: dict[str, Any] = {}
        self.lat: list[float] = []
        self.step = 0
        self.started = False
        self.obs: dict[str, Any] = {}
        self.timer = self.create_timer(0.02, self.start)
        self.watchdog = self.create_timer(0.5, self.resend)

    def start(self) -> None:
        if all(p.get_subscription_count() for p in self.pubs.values()) and all(
                s.get_publisher_count() for s in self.subs):
            self.timer.cancel()
            self.obs, _ = self.env.reset(seed=0)
            self.started = True
            self.publish(self.obs)

    def resend(self) -> None:
        """The reliable QoS trap: a first sample sent before both sides matched can be lost. Re-send the
        first step's observations until it completes (timing starts after the first step)."""
        if self.started and self.step == 0:
            self.publish(self.obs)
        elif self.step > 0:
            self.watchdog.cancel()

    def publish(self, obs: dict[str, Any]) -> None:
        self.actions = {}
        self.ts = time.perf_counter()
        for agent in self.env.agents:
            self.pubs[agent].publish(Observation(agent=agent, step=self.step, data=array(
                "d", self.codec[agent].encode(obs[agent]).tobytes())))

    def on_action(self, msg: Action) -> None:
        self.actions[msg.agent] = self.act[msg.agent].decode(np.frombuffer(msg.data, dtype=np.float64))
        if len(self.actions) == len(self.env.agents):
            obs, *_ = self.env.step(self.actions)
            if self.step == 0:
                self.t0 = time.perf_counter()  # steady state: discovery and first-step warm-up excluded
            else:
                self.lat.append(time.perf_counter() - self.ts)
            self.step += 1
            if self.env.agents:
                self.publish(obs)
            else:
                self.done.set_result(stats(self.lat, self.step - 1, time.perf_counter() - self.t0))


class HandActor(Node):
    def __init__(self, agent: str, action: np.ndarray) -> None:
        super().__init__("hand_actor", namespace=f"/{TEAM}/{agent}")
        self.agent = agent
        self.data = array("d", action.tobytes())
        self.pub = self.create_publisher(Action, agent_topic(TEAM, agent, "action"), STREAM_QOS)
        self.create_subscription(Observation, agent_topic(TEAM, agent, "observation"), self.on_obs, STREAM_QOS)

    def on_obs(self, msg: Observation) -> None:
        self.pub.publish(Action(agent=self.agent, step=msg.step, data=self.data))


def hand_actor_process(env_json: str, agents: list[str]) -> None:
    env_cfg = EnvConfig(**json.loads(env_json))
    env = make_env(env_cfg)
    with rclpy.init():
        executor = EventsExecutor()
        nodes = [HandActor(a, SpaceCodec(env.action_space(a)).encode(zero_action(env.action_space(a))))
                 for a in agents]
        for node in nodes:
            executor.add_node(node)
        with contextlib.suppress(KeyboardInterrupt):
            spin_until(executor, Future())


def bench_hand(env_cfg: EnvConfig, topology: str) -> dict[str, float]:
    children = []
    with rclpy.init():
        executor = EventsExecutor()
        sup = HandSupervisor(env_cfg)
        executor.add_node(sup)
        if topology == "single":
            for a in sup.agents:
                executor.add_node(HandActor(a, SpaceCodec(sup.env.action_space(a)).encode(
                    zero_action(sup.env.action_space(a)))))
        else:
            groups = [sup.agents] if topology == "actors" else [[a] for a in sup.agents]
            env_json = json.dumps(dataclasses.asdict(env_cfg))
            for group in groups:
                children.append(subprocess.Popen([sys.executable, "-P", __file__, "--hand-actor", env_json, *group],
                                                 env=os.environ.copy(), preexec_fn=die_with_parent))
        try:
            spin_until(executor, sup.done)
            return sup.done.result()
        finally:
            for child in children:
                child.send_signal(2)
            for child in children:
                child.wait(timeout=10)


# -- the bridge --------------------------------------------------------------------------------------
def bench_bridge(env_cfg: EnvConfig, topology: str, out: Path) -> dict[str, float]:
    card = run_team(run_config(env_cfg, topology), out)
    assert card["status"] == "complete", card["status"]
    assert sum(card["deadline_misses"].values()) == 0, "deadline misses distort the benchmark"
    t = card["timing"]
    return {"steps_per_s": t["steady_steps_per_s"], "p50_ms": t["step_latency_p50_ms"],
            "p99_ms": t["step_latency_p99_ms"], "steps": t["steps"]}


def _child_cpu(kind: str, n: int, steps: int, which: str) -> float:
    """CPU seconds (user + system, every thread) of a fresh process running one lockstep."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    subprocess.run([sys.executable, "-P", __file__, "--cpu-child", kind, str(n), str(steps), which], check=True,
                   env=os.environ.copy(), stdout=subprocess.DEVNULL)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def cpu_main(args: argparse.Namespace) -> int:
    """CPU per step, hand-written vs bridge, everything in one process: each measurement is a fresh process
    at two run lengths, and (cpu(long) - cpu(short)) / (long - short) cancels startup. Wall-clock rates on a
    shared machine swing by 2x between runs; the CPU a step costs does not, so this is the fairer ratio."""
    print(f"{'env':8} {'N':>3} {'hand us/step':>12} {'bridge us/step':>14} {'hand/bridge':>11}")
    rows = []
    for kind in args.envs:
        for n in args.sizes:
            short = max(500, 20000 // n) if kind == "trivial" else 150  # long enough to swamp startup noise
            long_ = short * 5
            per_step: dict[str, list[float]] = {"hand": [], "bridge": []}
            for _ in range(args.repeats):
                for which in ("hand", "bridge"):  # interleaved, like the wall-clock pairs
                    cost = _child_cpu(kind, n, long_, which) - _child_cpu(kind, n, short, which)
                    per_step[which].append(cost / (long_ - short) * 1e6)
            hand, bridge = (float(np.median(per_step[w])) for w in ("hand", "bridge"))
            rows.append({"env": kind, "n": n, "hand_us": hand, "bridge_us": bridge, "hand_over_bridge": hand / bridge,
                         "all": per_step})
            print(f"{kind:8} {n:>3} {hand:>12.1f} {bridge:>14.1f} {hand / bridge:>11.2f}", flush=True)
    result = {"when": time.strftime("%Y-%m-%dT%H:%M:%S"), "mode": "cpu per step, single process",
              "repeats": args.repeats, "rows": rows}
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "lockstep-cpu-latest.json").write_text(json.dumps(result, indent=1))
    print(f"\nresults: {RESULTS / 'lockstep-cpu-latest.json'}")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1, 2, 4, 8, 16])
    parser.add_argument("--steps", type=int, default=600, help="joint steps per measurement")
    parser.add_argument("--envs", nargs="+", default=["trivial", "pursuit"])
    parser.add_argument("--topologies", nargs="+", default=list(TOPOLOGIES))
    parser.add_argument("--repeats", type=int, default=3,
                        help="paired hand-written/bridge runs per cell; the median is reported")
    parser.add_argument("--quick", action="store_true", help="N = 1, 4; 200 steps; 1 repeat")
    parser.add_argument("--cpu", action="store_true",
                        help="CPU seconds per step instead of wall rates (single process; see cpu_main)")
    parser.add_argument("--hand-actor", nargs="+", help=argparse.SUPPRESS)
    parser.add_argument("--cpu-child", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.hand_actor:
        hand_actor_process(args.hand_actor[0], args.hand_actor[1:])
        return 0
    if args.cpu_child:
        kind, n, steps, which = args.cpu_child
        env_cfg = env_config(kind, int(n), int(steps))
        if which == "hand":
            bench_hand(env_cfg, "single")
        else:
            bench_bridge(env_cfg, "single", Path("/tmp") / f"marl_bench_cpu_{os.getpid()}")
        return 0
    if args.cpu:
        return cpu_main(args)
    if args.quick:
        args.sizes, args.steps, args.repeats = [1, 4], 200, 1
    rows = []
    header = (f"{'env':8} {'N':>3} {'topology':13} {'direct/s':>9} {'hand/s':>8} {'bridge/s':>9} "
              f"{'b/hand':>7} {'b/direct':>8} {'p50 ms':>7} {'p99 ms':>7}")
    print(header)
    print("-" * len(header))
    for kind in args.envs:
        for n in args.sizes:
            steps = max(args.steps, 3000 // n) if kind == "trivial" else max(100, args.steps // 2)
            env_cfg = env_config(kind, n, steps)
            direct = bench_direct(env_cfg)
            for topology in args.topologies:
                runs = []
                for _ in range(args.repeats):  # paired and interleaved, so drifting load hits both alike
                    hand = bench_hand(env_cfg, topology)
                    bridge = bench_bridge(env_cfg, topology, Path("/tmp") / f"marl_bench_{os.getpid()}")
                    runs.append((bridge["steps_per_s"] / hand["steps_per_s"], hand, bridge))
                runs.sort(key=lambda r: r[0])
                ratio, hand, bridge = runs[len(runs) // 2]  # the median pair
                row = {"env": kind, "n": n, "topology": topology, "direct": direct, "hand": hand, "bridge": bridge,
                       "bridge_over_hand": ratio, "bridge_over_direct": bridge["steps_per_s"] / direct["steps_per_s"],
                       "ratios_all_repeats": [r[0] for r in runs]}
                rows.append(row)
                ratios = f"{row['bridge_over_hand']:>7.2f} {row['bridge_over_direct']:>8.3f}"
                print(f"{kind:8} {n:>3} {topology:13} {direct['steps_per_s']:>9.0f} {hand['steps_per_s']:>8.0f} "
                      f"{bridge['steps_per_s']:>9.0f} {ratios} {bridge['p50_ms']:>7.2f} {bridge['p99_ms']:>7.2f}",
                      flush=True)
    result = {"when": time.strftime("%Y-%m-%dT%H:%M:%S"), "machine": {"cpus": os.cpu_count(),
              "python": platform.python_version(), "platform": platform.platform()},
              "steps": args.steps, "repeats": args.repeats, "rows": rows}
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "latest.json").write_text(json.dumps(result, indent=1))
    (RESULTS / f"lockstep-{time.strftime('%Y%m%d-%H%M%S')}.json").write_text(json.dumps(result, indent=1))
    print(f"\nresults: {RESULTS / 'latest.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
