"""Lockstep benchmark: the bridge against hand-written rclpy lockstep references and the bare env.

For each env (a trivial numpy env with 64-float observations, and pursuit_v5 as a heavier one), each
team size N and each topology (single process / actors in one process / one process per actor):
- direct: env.step with zero actions, no ROS;
- hand: the minimal hand-written rclpy lockstep the target names (publish N observations, wait for N
  replies, step the env; EventsExecutor, the same message types as typed rclpy messages, no checks);
- hand_raw: the same minimal lockstep sending the messages as serialized bytes the way the bridge does
  (marl_bridge.nodes.wire), so bridge / hand_raw is the price of the bridge's own checks and accounting;
- bridge: `marl_bridge` itself (action gate, codec, fallbacks, accounting, step results all on). In
  `single` it hands observations and actions over in-process (run.intra_process) where the references
  go through DDS; `--dds` makes it go through DDS too, like for like.

How the ratios are measured: this VM's speed drifts by 2x between runs and by +-25% between 0.3 s
windows of one run (other tenants), so separate runs cannot be compared. The three teams run at once,
each in its own process group and ROS domain, and take turns: the bench resumes one team (SIGCONT) for
a short slice while the others are stopped (SIGSTOP), in ABC CBA order. Slices hold about 30 step
cycles (0.05-0.5 s). Each team stamps every joint step (time.monotonic) into a shared file; a slice's
rate is its whole step cycles over the time they took, each ratio is taken per round from that round's
slices, and the median over rounds is reported with a bootstrap 95% interval. `--aa` checks the method
itself: the bridge's slot then runs a second hand-written lockstep, and b/hand should come out at 1.
Latency p50/p99 are those step cycles. Results go to bench/results/ (latest.json, or latest-aa.json,
plus a timestamped copy).

    python -P bench/lockstep.py [--quick] [--sizes 1 2 4 8 16] [--envs trivial pursuit]
                                [--topologies single actors multiprocess] [--budget 15] [--aa]

DDS stays on this machine (ROS_AUTOMATIC_DISCOVERY_RANGE=LOCALHOST), each team in a domain of its own.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import os
import re
import select
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

os.environ["ROS_AUTOMATIC_DISCOVERY_RANGE"] = "LOCALHOST"
os.environ.setdefault("RCUTILS_LOGGING_MIN_SEVERITY", "WARN")

import numpy as np
from rclpy.experimental import EventsExecutor
from rclpy.node import Node
from rclpy.task import Future

from marl_bridge.cli.team import die_with_parent, run_team
from marl_bridge.codec import Flat, SpaceCodec, flat_of_message, set_message_data
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
from marl_bridge.nodes.spin import ros_session, spin_until
from marl_bridge.nodes.topics import STREAM_QOS, agent_topic
from marl_bridge.nodes.wire import ActionWriter, ObservationWriter, Parsed, parse_action, parse_observation
from marl_bridge.safety.fallback import zero_action
from marl_bridge.team.run import TeamRun

sys.path.insert(0, str(Path(__file__).resolve().parent))  # bench/ itself (the benches run with python -P)
import against
import bench_results

TOPOLOGIES = ("single", "actors", "multiprocess")
TEAMS = ("hand", "hand_raw", "bridge")  # references first; "hand" is the one the target names
RESULTS = Path(__file__).parent / "results"
TEAM = "bench"
LONG = 10**8  # episode length and count: a team runs until the bench stops it
AA_ENV = "MARL_BENCH_AA"  # set by --aa: the "bridge" team is the hand-written lockstep too
DDS_ENV = "MARL_BENCH_DDS"  # set by --dds: the bridge sends everything over DDS in `single` too
CAPACITY = 1 << 21  # step stamps per team (far more than a measurement takes)
VERSIONS: dict[str, Path] = {}  # team name (`<role>@<rev>`) -> the PYTHONPATH that runs that version


def env_config(kind: str, n: int, max_cycles: int = LONG) -> EnvConfig:
    if kind == "episodes":  # bench/recording.py: 60-step episodes, so summaries and checkpoints are in it too
        return EnvConfig(entry_point="marl_bridge.envs.point_team:parallel_env", reward_definition="point_team",
                         kwargs={"n_agents": n, "max_cycles": 60, "goal_radius": 0.0})
    if kind == "trivial":
        return EnvConfig(entry_point="marl_bridge.envs.point_team:parallel_env", reward_definition="point_team",
                         kwargs={"n_agents": n, "max_cycles": max_cycles, "obs_size": 64, "goal_radius": 0.0})
    return EnvConfig(entry_point="pettingzoo.sisl:pursuit_v5.parallel_env", reward_definition="pursuit_v5 defaults",
                     kwargs={"n_pursuers": n, "n_catch": min(2, n), "max_cycles": max_cycles})


def run_config(env: EnvConfig, topology: str) -> RunConfig:
    zero = PolicyConfig(kind="scripted", entry_point="marl_bridge.policies.scripts:zero")
    # single: the bridge hands observations and actions over in-process (run.intra_process) unless --dds
    intra = not os.environ.get(DDS_ENV)
    return RunConfig(run=RunSettings(seed=0, episodes=LONG, topology=topology, out_dir="/tmp", intra_process=intra),
                     env=env,
                     policy=TeamPolicyConfig(shared=True, default=zero),
                     # A team waits, stopped, while the others run or start up: a deadline would fire on
                     # that wait, so it is set far beyond any slice (its check still runs every 50 ms).
                     supervisor=SupervisorConfig(step_deadline_s=600.0, fallback=FallbackConfig(kind="zero"),
                                                 max_steps=0, team=TEAM, startup_timeout_s=60.0))


# -- step stamps shared with the bench ----------------------------------------------------------------
class Stamps:
    """A memory-mapped float64 file: [0] = count, [1..] = time.monotonic() at each joint step. The bench
    reads it while the team is stopped, so nothing has to survive the team's shutdown."""

    def __init__(self, path: Path, create: bool) -> None:
        self.buf = np.memmap(path, dtype=np.float64, mode="w+" if create else "r", shape=(CAPACITY + 1,))
        self.n = 0

    def mark(self) -> None:
        n = self.n = self.n + 1
        if n <= CAPACITY:
            self.buf[n] = time.monotonic()
            self.buf[0] = n
        if n == 2:  # one whole step done: discovery and warm-up are behind
            print("READY", flush=True)

    def read(self) -> np.ndarray:
        n = int(min(self.buf[0], CAPACITY))
        return np.array(self.buf[1:n + 1])


# -- direct ------------------------------------------------------------------------------------------
def bench_direct(env_cfg: EnvConfig, steps: int) -> dict[str, float]:
    env = make_env(dataclasses.replace(env_cfg, kwargs={**env_cfg.kwargs, "max_cycles": steps}))
    env.reset(seed=0)
    zeros = {a: zero_action(env.action_space(a)) for a in env.possible_agents}
    lat = []
    t0 = time.perf_counter()
    while env.agents:
        s = time.perf_counter()
        env.step({a: zeros[a] for a in env.agents})
        lat.append(time.perf_counter() - s)
    wall = time.perf_counter() - t0
    ms = np.asarray(lat) * 1e3
    return {"steps_per_s": len(lat) / wall, "p50_ms": float(np.percentile(ms, 50)),
            "p99_ms": float(np.percentile(ms, 99))}


# -- hand-written lockstep ---------------------------------------------------------------------------
class HandSupervisor(Node):
    """Publish N observations, wait for N replies, step the env (and reset it at an episode's end):
    nothing else. `raw`: messages as serialized bytes (marl_bridge.nodes.wire), as the bridge sends them."""

    def __init__(self, env_cfg: EnvConfig, stamps: Stamps, raw: bool) -> None:
        super().__init__("hand_supervisor")
        self.env = make_env(env_cfg)
        self.stamps = stamps
        self.raw = raw
        self.agents = list(self.env.possible_agents)
        self.codec = {a: SpaceCodec(self.env.observation_space(a)) for a in self.agents}
        self.act = {a: SpaceCodec(self.env.action_space(a)) for a in self.agents}
        self.writers = {a: ObservationWriter(a, 0).pack for a in self.agents}
        self.pubs = {a: self.create_publisher(Observation, agent_topic(TEAM, a, "observation"), STREAM_QOS)
                     for a in self.agents}
        callback = self.on_raw_action if raw else self.on_action
        self.subs = [self.create_subscription(Action, agent_topic(TEAM, a, "action"), callback, STREAM_QOS, raw=raw)
                     for a in self.agents]
        self.actions: dict[str, Any] = {}
        self.step = 0
        self.episode = 0
        self.started = False
        self.obs: dict[str, Any] = {}
        self.timer = self.create_timer(0.02, self.start)
        self.last_progress: tuple[int, int] | None = None
        self.stalled = 0
        self.watchdog = self.create_timer(0.5, self.resend)

    def start(self) -> None:
        if all(p.get_subscription_count() for p in self.pubs.values()) and all(
                s.get_publisher_count() for s in self.subs):
            self.timer.cancel()
            self.obs, _ = self.env.reset(seed=0)
            self.started = True
            self.publish(self.obs)

    def resend(self) -> None:
        """The reliable QoS trap: a sample sent before both sides matched can be lost (at the first step,
        and after a long SIGSTOP, when the participants' leases ran out and they rediscover each other).
        Re-send the current step's observations when two checks half a second apart saw no step complete
        (one such check may just follow a SIGCONT)."""
        progress = (self.episode, self.step)
        self.stalled = self.stalled + 1 if self.started and progress == self.last_progress else 0
        if self.stalled >= 2 or (self.started and self.step == 0 and self.episode == 0):
            self.publish(self.obs)
            self.stalled = 0
        self.last_progress = progress

    def publish(self, obs: dict[str, Any]) -> None:
        self.obs = obs  # what resend() sends again
        self.actions = {}
        for agent in self.env.agents:
            flat = self.codec[agent].pack(obs[agent])  # each value in its own dtype, as the bridge sends it
            self.pubs[agent].publish(self.writers[agent](0, 0, self.episode, self.step, flat) if self.raw else
                                     set_message_data(Observation(agent=agent, episode=self.episode, step=self.step),
                                                      flat))

    def on_raw_action(self, raw: bytes) -> None:
        self.on_action(parse_action(raw))

    def on_action(self, msg: Action | Parsed) -> None:
        if msg.step != self.step or msg.episode != self.episode:
            return  # an answer to a re-sent first observation
        flat = msg.flat if isinstance(msg, Parsed) else flat_of_message(msg)
        self.actions[msg.agent] = self.act[msg.agent].unpack(flat)
        if len(self.actions) == len(self.env.agents):
            self.stamps.mark()
            obs, *_ = self.env.step(self.actions)
            self.step += 1
            if not self.env.agents:
                self.episode += 1
                self.step = 0
                obs, _ = self.env.reset(seed=self.episode)
            self.publish(obs)


class HandActor(Node):
    def __init__(self, agent: str, action: Flat, raw: bool) -> None:
        super().__init__("hand_actor", namespace=f"/{TEAM}/{agent}")
        self.agent = agent
        self.data = action
        self.writer = ActionWriter(agent, 0).pack
        self.pub = self.create_publisher(Action, agent_topic(TEAM, agent, "action"), STREAM_QOS)
        self.create_subscription(Observation, agent_topic(TEAM, agent, "observation"),
                                 self.on_raw_obs if raw else self.on_obs, STREAM_QOS, raw=raw)

    def on_obs(self, msg: Observation) -> None:
        self.pub.publish(set_message_data(Action(agent=self.agent, episode=msg.episode, step=msg.step), self.data))

    def on_raw_obs(self, raw: bytes) -> None:
        msg = parse_observation(raw)
        self.pub.publish(self.writer(0, 0, msg.episode, msg.step, self.data, 0.0))


def hand_actors(env: Any, agents: list[str], raw: bool) -> list[HandActor]:
    return [HandActor(a, SpaceCodec(env.action_space(a)).pack(zero_action(env.action_space(a))), raw)
            for a in agents]


def hand_actor_process(env_json: str, raw: bool, agents: list[str]) -> None:
    env = make_env(EnvConfig(**json.loads(env_json)))
    with ros_session() as stop:  # SIGINT ends the spin, then ROS shuts down cleanly (no shm left behind)
        executor = EventsExecutor()
        for node in hand_actors(env, agents, raw):
            executor.add_node(node)
        spin_until(executor, Future(), stop)


def run_hand(env_cfg: EnvConfig, topology: str, stamps: Stamps, raw: bool) -> None:
    children = []
    with ros_session() as stop:
        executor = EventsExecutor()
        sup = HandSupervisor(env_cfg, stamps, raw)
        executor.add_node(sup)
        if topology == "single":
            for node in hand_actors(sup.env, sup.agents, raw):
                executor.add_node(node)
        else:
            groups = [sup.agents] if topology == "actors" else [[a] for a in sup.agents]
            env_json = json.dumps(dataclasses.asdict(env_cfg))
            for group in groups:
                children.append(subprocess.Popen(
                    [sys.executable, "-P", __file__, "--hand-actor", env_json, str(int(raw)), *group],
                    env=os.environ.copy(), preexec_fn=die_with_parent))
        try:
            spin_until(executor, Future(), stop)
        finally:
            for child in children:
                child.send_signal(signal.SIGINT)
            for child in children:
                child.wait(timeout=10)


# -- the bridge --------------------------------------------------------------------------------------
def run_bridge(env_cfg: EnvConfig, topology: str, stamps: Stamps, out: Path, record: bool = False) -> None:
    """`marl_bridge` as a user runs it; the only addition is the step stamp, taken where the hand-written
    lockstep takes it (every action in, before env.step). `record`: `run --record` into out/bag."""
    step = TeamRun._step

    def stamped(self: TeamRun) -> None:
        stamps.mark()
        step(self)

    TeamRun._step = stamped  # type: ignore[method-assign]
    card = run_team(run_config(env_cfg, topology), out, record=out / "bag" if record else None)
    (out / "card.json").write_text(json.dumps({"status": card["status"], "deadline_misses": card["deadline_misses"],
                                                "totals": card["totals"], "recording": card.get("recording")}))


def team_child(which: str, kind: str, n: int, topology: str, stamp_path: Path) -> None:
    stamps = Stamps(stamp_path, create=True)
    which = against.role(which)  # `bridge@REV` is a bridge (running REV's code: see VERSIONS)
    if which in ("hand", "hand_raw") or (which == "bridge" and os.environ.get(AA_ENV)):
        run_hand(env_config(kind, n), topology, stamps, raw=which == "hand_raw")
    else:
        run_bridge(env_config(kind, n), topology, stamps, stamp_path.parent, record=which == "recorded")


# -- the interleaved measurement ---------------------------------------------------------------------
class Team:
    """One team (a reference or the bridge) in its own process group and ROS domain, stopped unless
    measured."""

    def __init__(self, which: str, kind: str, n: int, topology: str, domain: int, workdir: Path) -> None:
        self.which = which
        workdir.mkdir(parents=True, exist_ok=True)
        self.stamp_path = workdir / "stamps.f64"
        self.workdir = workdir
        env = {**os.environ, "ROS_DOMAIN_ID": str(domain),
               "FASTDDS_DEFAULT_PROFILES_FILE": str(frozen_profile(workdir))}
        if which in VERSIONS:  # another version of the package (bench/against.py)
            env["PYTHONPATH"] = str(VERSIONS[which])
        self.log = workdir / "stderr.log"  # read only when the team fails (teardown by SIGINT is noisy)
        command = [sys.executable, "-P", __file__, "--team-child", which, kind, str(n), topology, str(self.stamp_path)]
        with self.log.open("wb") as log:  # a process group of its own: SIGSTOP reaches its actors too
            self.proc = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=log, start_new_session=True)
        self.windows: list[tuple[float, float]] = []

    def signal(self, sig: int) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, sig)

    def failure(self, what: str) -> RuntimeError:
        return RuntimeError(f"{self.which} team {what}; its stderr ends:\n{self.log.read_text()[-3000:]}")

    def run_slice(self, seconds: float) -> None:
        self.signal(signal.SIGCONT)
        start = time.monotonic()
        time.sleep(seconds)
        self.signal(signal.SIGSTOP)
        self.windows.append((start, time.monotonic()))

    def slices(self) -> list[np.ndarray]:
        """Per slice, the cycle times of the steps that began and ended inside it."""
        stamps = Stamps(self.stamp_path, create=False).read()
        out = []
        for start, end in self.windows:
            inside = stamps[(stamps > start) & (stamps < end)]
            out.append(np.diff(inside))
        return out

    def stop(self) -> dict[str, Any] | None:
        self.signal(signal.SIGCONT)
        self.signal(signal.SIGINT)
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.signal(signal.SIGKILL)
            self.proc.wait()
        card = self.workdir / "card.json"
        return json.loads(card.read_text()) if card.exists() else None


def frozen_profile(workdir: Path) -> Path:
    """The team's DDS profile with a participant lease longer than any freeze: the bench stops whole teams
    (SIGSTOP) for seconds, and with the team's 3 s lease their participants dropped each other meanwhile;
    a sample lost in the rediscovery then stalled a lockstep for good. Every team gets the same profile,
    written in its work directory (removed with it)."""
    from marl_bridge.nodes.dds_profile import profile_path

    source = profile_path()
    assert source is not None, "the team's DDS profile is not installed"
    text = re.sub(r"<leaseDuration><sec>\d+</sec>", "<leaseDuration><sec>600</sec>", source.read_text())
    path = workdir / "fastdds_lease.xml"
    path.write_text(text)
    return path


def stop_when_ready(teams: list[Team], timeout_s: float) -> None:
    """Wait until every team has stepped, stopping each the moment it has: a team left running would
    slow the others' start-up (51 processes start at N = 16 with one process per actor)."""
    deadline = time.monotonic() + timeout_s
    waiting = {team.proc.stdout: team for team in teams}
    while waiting:
        if time.monotonic() > deadline:
            raise next(iter(waiting.values())).failure(f"did not complete a step within {timeout_s:.0f} s")
        ready, _, _ = select.select(list(waiting), [], [], 1.0)
        for pipe in ready:
            team = waiting[pipe]
            if pipe.readline().strip() == b"READY":  # type: ignore[union-attr]
                team.signal(signal.SIGSTOP)
                del waiting[pipe]
            elif team.proc.poll() is not None:
                raise team.failure(f"exited with {team.proc.returncode} before its first step")


def choose_slice(team: Team, budget_s: float, teams: int = len(TEAMS)) -> tuple[float, int]:
    """Slice length for about 30 step cycles (0.05-0.5 s; shorter slices follow the drift better) and
    the rounds that fit in `budget_s` (at least 12), from a 0.2 s trial of the hand-written team."""
    team.run_slice(0.2)
    trial = team.slices()[-1]
    team.windows.pop()
    cycle = float(np.mean(trial)) if len(trial) else 0.2
    slice_s = float(np.clip(30 * cycle, 0.05, 0.5))
    return slice_s, max(12, int(budget_s / (teams * slice_s)))


def bootstrap_median(ratios: np.ndarray, seed: int = 0) -> tuple[float, float]:
    """95% interval of the median ratio, resampling rounds."""
    rng = np.random.default_rng(seed)
    medians = np.median(rng.choice(ratios, size=(2000, ratios.size)), axis=1)
    return float(np.percentile(medians, 2.5)), float(np.percentile(medians, 97.5))


def against_version(rev: str, role: str = "bridge") -> tuple[str, str]:
    """The names to `measure` `role` (bridge, recorded) of this checkout against REV's, in one run
    (`forget_versions` removes what this prepared)."""
    name = f"{role}{against.SEPARATOR}{rev}"
    VERSIONS[name] = against.prepare(rev, Path("/tmp"))
    return name, role


def forget_versions() -> None:
    for site in VERSIONS.values():
        shutil.rmtree(site, ignore_errors=True)
    VERSIONS.clear()


def measure(kind: str, n: int, topology: str, budget_s: float, base_domain: int,
            names: tuple[str, ...] = TEAMS, cards: dict[str, Any] | None = None) -> dict[str, Any]:
    """`names`: the references first, the team measured against them last (its card is read); the first
    sets the slice length. Ratios: `<last>_over_<reference>`, the last team's rate over the reference's.
    `cards`: given, it gets the last team's card summary under its name (status, totals, recording)."""
    work = Path("/tmp") / f"marl_bench_{os.getpid()}" / f"{kind}_{n}_{topology}"
    teams = {w: Team(w, kind, n, topology, base_domain + i, work / w) for i, w in enumerate(names)}
    subject = names[-1]
    card = None
    try:
        stop_when_ready(list(teams.values()), timeout_s=600)
        slice_s, rounds = choose_slice(teams[names[0]], budget_s, len(names))
        for r in range(rounds):  # ABC CBA: a drift within a round hits every team alike
            for which in (names if r % 2 == 0 else names[::-1]):
                teams[which].run_slice(slice_s)
        cycles = {w: t.slices() for w, t in teams.items()}
    finally:
        for which, team in teams.items():
            result = team.stop()
            card = result if which == subject else card
        shutil.rmtree(work, ignore_errors=True)
        with contextlib.suppress(OSError):  # the run's directory, once its last cell is gone
            work.parent.rmdir()
    row: dict[str, Any] = {"slice_s": slice_s, "rounds": rounds}
    for ref in names[:-1]:
        ratios = np.array([np.mean(mine) / np.mean(theirs)  # = the subject's rate / the reference's, this round
                           for mine, theirs in zip(cycles[ref], cycles[subject], strict=True)
                           if len(mine) >= 3 and len(theirs) >= 3])  # a slice too short for a rate says nothing
        if ratios.size < 3:
            raise RuntimeError(f"{kind} N={n} {topology}: too few usable slices of {slice_s:.2f} s")
        row[f"{subject}_over_{ref}"] = float(np.median(ratios))
        row[f"{subject}_over_{ref}_ci95"] = bootstrap_median(ratios)
        row[f"ratios_{ref}"] = ratios.round(4).tolist()
    for which in names:
        ms = np.concatenate(cycles[which]) * 1e3
        row[which] = {"steps_per_s": float(1e3 / np.mean(ms)), "p50_ms": float(np.percentile(ms, 50)),
                      "p99_ms": float(np.percentile(ms, 99)), "steps": int(ms.size)}
    if card is not None:
        row[subject]["status"] = card["status"]
        row[subject]["deadline_misses"] = sum(card["deadline_misses"].values())
        if cards is not None:
            cards[subject] = card
    return row


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1, 2, 4, 8, 16])
    parser.add_argument("--envs", nargs="+", default=["trivial", "pursuit"])
    parser.add_argument("--topologies", nargs="+", default=list(TOPOLOGIES))
    parser.add_argument("--budget", type=float, default=15.0,
                        help="seconds of interleaved running per cell (all teams together)")
    parser.add_argument("--quick", action="store_true", help="N = 1, 4; 4 s per cell")
    parser.add_argument("--aa", action="store_true",
                        help="A/A check of the method: the bridge's slot runs the hand-written lockstep, so "
                             "b/hand should be 1 (results: latest-aa.json)")
    parser.add_argument("--dds", action="store_true",
                        help="the bridge sends everything over DDS in `single` too (run.intra_process false), as "
                             "the hand-written references do; by default it hands messages over in-process")
    parser.add_argument("--against", metavar="REV",
                        help="instead of the references: the bridge of this checkout against REV's (a commit with "
                             "the same msg/ and srv/; bench/against.py), in one run (lockstep-against-latest.json)")
    parser.add_argument("--hand-actor", nargs="+", help=argparse.SUPPRESS)
    parser.add_argument("--team-child", nargs=5, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.hand_actor:
        hand_actor_process(args.hand_actor[0], args.hand_actor[1] == "1", args.hand_actor[2:])
        return 0
    if args.team_child:
        which, kind, n, topology, path = args.team_child
        team_child(which, kind, int(n), topology, Path(path))
        return 0
    if args.quick:
        args.sizes, args.budget = [1, 4], 4.0
    if args.dds:
        os.environ[DDS_ENV] = "1"  # the teams inherit it
    if args.aa:
        os.environ[AA_ENV] = "1"  # the teams inherit it
        print("A/A check: the 'bridge' columns are a second hand-written (typed) lockstep")
    base_domain = 100 + (os.getpid() % 40) * 3  # one domain of our own per team, below 232
    if args.against:
        return compare_versions(args, base_domain)
    rows = []
    header = (f"{'env':8} {'N':>3} {'topology':13} {'direct/s':>9} {'hand/s':>8} {'raw/s':>8} {'bridge/s':>9} "
              f"{'b/hand':>7} {'(95% CI)':>11} {'b/raw':>6} {'(95% CI)':>11} {'b/direct':>8} {'p50 ms':>7} "
              f"{'p99 ms':>7}")
    print(header)
    print("-" * len(header))
    for kind in args.envs:
        for n in args.sizes:
            direct = bench_direct(env_config(kind, n), 3000 // n if kind == "trivial" else 200)
            for topology in args.topologies:
                row = {"env": kind, "n": n, "topology": topology, "direct": direct,
                       **measure(kind, n, topology, args.budget, base_domain)}
                row["bridge_over_direct"] = row["bridge"]["steps_per_s"] / direct["steps_per_s"]
                rows.append(row)
                bridge = row["bridge"]
                cells = [f"{kind:8} {n:>3} {topology:13} {direct['steps_per_s']:>9.0f}",
                         f"{row['hand']['steps_per_s']:>8.0f} {row['hand_raw']['steps_per_s']:>8.0f}",
                         f"{bridge['steps_per_s']:>9.0f}"]
                for ref, width in (("hand", 7), ("hand_raw", 6)):
                    lo, hi = row[f"bridge_over_{ref}_ci95"]
                    cells.append(f"{row[f'bridge_over_{ref}']:>{width}.2f} {f'{lo:.2f}-{hi:.2f}':>11}")
                cells.append(f"{row['bridge_over_direct']:>8.3f} {bridge['p50_ms']:>7.2f} {bridge['p99_ms']:>7.2f}")
                print(" ".join(cells), flush=True)
    result = {"method": "interleaved ABC CBA slices (SIGSTOP/SIGCONT), median of per-round ratios, bootstrap 95% CI",
              "aa_check": args.aa, "bridge_intra_process": not args.dds, "budget_s": args.budget, "rows": rows}
    path = bench_results.write("lockstep-aa" if args.aa else "lockstep", result,
                               latest="latest-aa.json" if args.aa else "latest.json")
    print(f"\nresults: {path}")
    return 0


def compare_versions(args: argparse.Namespace, base_domain: int) -> int:
    """`--against REV`: every cell, this checkout's bridge over REV's, interleaved in one run."""
    names = against_version(args.against)
    subject, ref = names[1], names[0]
    rows = []
    print(f"{'env':8} {'N':>3} {'topology':13} {'this/s':>8} {'REV/s':>8} {'this/REV':>8} {'(95% CI)':>11}")
    try:
        for kind in args.envs:
            for n in args.sizes:
                for topology in args.topologies:
                    row = {"env": kind, "n": n, "topology": topology,
                           **measure(kind, n, topology, args.budget, base_domain, names=names)}
                    rows.append(row)
                    lo, hi = row[f"{subject}_over_{ref}_ci95"]
                    print(f"{kind:8} {n:>3} {topology:13} {row[subject]['steps_per_s']:>8.0f} "
                          f"{row[ref]['steps_per_s']:>8.0f} {row[f'{subject}_over_{ref}']:>8.2f} "
                          f"{f'{lo:.2f}-{hi:.2f}':>11}", flush=True)
    finally:
        forget_versions()
    path = bench_results.write("lockstep-against", {"against": args.against, "budget_s": args.budget, "rows": rows,
                                                    "method": "interleaved AB BA slices, median of per-round "
                                                              "ratios, bootstrap 95% CI"})
    print(f"\nresults: {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
