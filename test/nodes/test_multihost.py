"""A robot's actor on another host: two network namespaces joined by a veth pair (10.200.0.0/16), DDS
over UDP between them, nothing leaves the machine. The supervisor's host runs robot_0's actor; robot_1's
actor runs on the "robot". The run must reproduce the direct rollout exactly, and the data must really
have crossed the link (veth byte counters). Then the same over a link that drops 1 packet in 10 each way
(nftables in the robot's namespace), with the team's lossy-link Fast DDS profile."""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import CONFIG_DIR, REPO, skip_unless_ci
from two_hosts import Hosts, NamespaceError, two_hosts

from marl_bridge.config import PolicyConfig, ShieldConfig, dump_yaml, load, with_overrides
from marl_bridge.rollout import direct_rollout

pytestmark = pytest.mark.ros
LOSSY_LINK = REPO / "test" / "helpers" / "lossy_link.py"
CUTTER = REPO / "test" / "helpers" / "link_cutter.py"
PROFILE = Path(sys.prefix) / "share" / "marl_bridge" / "config" / "fastdds_lossy_link.xml"  # as installed


@pytest.fixture
def hosts() -> Iterator[Hosts]:
    if os.geteuid() != 0 or shutil.which("ip") is None:
        skip_unless_ci("network namespaces need root and iproute2")
    tag = str(os.getpid())[-5:]
    try:
        with two_hosts(tag, int(tag) % 250) as made:
            yield made
    except NamespaceError as exc:
        skip_unless_ci(str(exc))


def _tx_bytes(ns: str, dev: str) -> int:
    out = subprocess.run(["ip", "netns", "exec", ns, "cat", f"/sys/class/net/{dev}/statistics/tx_bytes"],
                         capture_output=True, text=True, check=True).stdout
    return int(out)


def _run_across(tmp_path: Path, hosts: Hosts, cfg: Path, extra_env: dict[str, str]) -> tuple[dict, int]:
    """robot_1's actor on the robot, the rest of the team on the host; returns the run card and the bytes
    the supervisor's host sent over the link."""
    # Inside the namespaces discovery must reach the other host (SUBNET), and the UDP transport only, so the
    # data crosses the link instead of shared memory (both namespaces see the same /dev/shm).
    env = {**os.environ, "ROS_AUTOMATIC_DISCOVERY_RANGE": "SUBNET", "FASTDDS_BUILTIN_TRANSPORTS": "UDPv4",
           **extra_env}
    cli = [sys.executable, "-P", "-m", "marl_bridge.cli"]
    actor = subprocess.Popen(["ip", "netns", "exec", hosts.robot, *cli, "actor", "--config", str(cfg), "--agent",
                              "robot_1"], env=env)
    try:
        before = _tx_bytes(hosts.host, hosts.veth_host)
        run = subprocess.run(["ip", "netns", "exec", hosts.host, *cli, "run", str(cfg), "--external", "robot_1",
                              "--out", str(tmp_path / "out"), "--no-progress"], env=env, capture_output=True,
                             text=True, timeout=180)
        sent = _tx_bytes(hosts.host, hosts.veth_host) - before
    finally:
        actor.send_signal(signal.SIGINT)
        actor.wait(timeout=20)
    assert run.returncode == 0, run.stderr[-2000:]
    return json.loads((tmp_path / "out" / "run_card.json").read_text()), sent


def test_actor_on_another_host_over_a_veth_link(tmp_path: Path, hosts: Hosts) -> None:
    cfg = with_overrides(load(CONFIG_DIR / "point_team.yaml"), episodes=2, seed=13)
    cfg = dump_yaml(cfg, tmp_path / "team.yaml")
    card, sent = _run_across(tmp_path, hosts, cfg, {})
    assert card["status"] == "complete"
    assert card["policies"]["robot_1"]["reported"] != "not ready"  # the remote actor came up
    assert sum(card["deadline_misses"].values()) == 0
    direct = direct_rollout(load(cfg))
    assert [ep["returns"] for ep in card["episodes"]] == [r.returns for r in direct]  # bit for bit
    steps = sum(ep["lengths"]["robot_1"] for ep in card["episodes"])
    assert sent > steps * 100, f"only {sent} bytes left the supervisor's host for {steps} observations"


def test_a_lossy_link_with_the_lossy_link_profile_loses_no_step(tmp_path: Path, hosts: Hosts) -> None:
    """1 packet in 10 dropped each way. Reliable delivery repairs every loss; with Fast DDS's default 3 s
    heartbeat a repair takes longer than the 2 s deadline (fallbacks, a different rollout), with the
    profile's 20 ms it does not, so the run is still the direct rollout bit for bit."""
    assert PROFILE.is_file(), f"{PROFILE} is not installed (setup.py data_files)"
    added = subprocess.run(["ip", "netns", "exec", hosts.robot, sys.executable, str(LOSSY_LINK), "add",
                            hosts.veth_robot, "10"],
                           capture_output=True, text=True)
    if added.returncode != 0:
        skip_unless_ci(f"no nf_tables here: {added.stderr.strip()[-300:]}")
    cfg = with_overrides(load(CONFIG_DIR / "point_team.yaml"), episodes=4, seed=21)
    cfg = dataclasses.replace(cfg, supervisor=dataclasses.replace(cfg.supervisor, step_deadline_s=2.0))
    cfg = dump_yaml(cfg, tmp_path / "team.yaml")
    card, _sent = _run_across(tmp_path, hosts, cfg, {"FASTDDS_DEFAULT_PROFILES_FILE": str(PROFILE)})
    drops = int(subprocess.run(["ip", "netns", "exec", hosts.robot, sys.executable, str(LOSSY_LINK), "drops"],
                               capture_output=True, text=True, check=True).stdout)
    assert drops > 0, "the link dropped nothing"
    assert card["status"] == "complete"
    assert sum(card["deadline_misses"].values()) == 0, (drops, card["deadline_misses"])
    direct = direct_rollout(load(cfg))
    assert [ep["returns"] for ep in card["episodes"]] == [r.returns for r in direct]  # bit for bit


class _Cutter:
    """Counts robot_0's step results on the supervisor's host (a TeamMonitor-free subscriber in a thread)
    and cuts the veth link at `cut_at` results, heals it `cut_s` later; notes the step of the heal."""

    def __init__(self, hosts: Hosts, env: dict[str, str], team: str, cut_at: int, cut_s: float) -> None:
        self.hosts, self.cut_at, self.cut_s = hosts, cut_at, cut_s
        self.proc = subprocess.Popen(
            ["ip", "netns", "exec", hosts.host, sys.executable, "-P", str(CUTTER), team, hosts.host,
             hosts.veth_host, str(cut_at), str(cut_s)], env=env, stdout=subprocess.PIPE, text=True)

    def healed_at(self) -> int:
        out, _ = self.proc.communicate(timeout=60)
        return int(out.strip().splitlines()[-1])


@pytest.mark.parametrize("cut_s", [2.0, 5.0], ids=["short_cut", "cut_past_the_participant_lease"])
def test_a_cut_link_heals_with_one_gap_and_no_stale_answer(tmp_path: Path, hosts: Hosts, cut_s: float) -> None:
    """Real time at 20 Hz, the robot's policy taking 15 ms; the link is cut completely, then healed. The
    team runs on, the robot is lost once and rejoins within a few control periods of the heal, and the
    observations queued during the cut are superseded, not answered one by one. The
    5 s cut outlasts the team profile's 3 s participant lease: the robot is rediscovered after the heal."""
    cfg = with_overrides(load(CONFIG_DIR / "mujoco_pursuit.yaml"), episodes=1, seed=4)
    env_kwargs = {**cfg.env.kwargs, "n_robots": 2, "capture_robots": 2, "capture_radius": 0.0, "max_steps": 400,
                  "render_mode": None}
    slow = PolicyConfig(kind="scripted", entry_point="marl_bridge.policies.faults:slow", kwargs={"delay_s": 0.015})
    cfg = dataclasses.replace(
        cfg, env=dataclasses.replace(cfg.env, kwargs=env_kwargs),
        policy=dataclasses.replace(cfg.policy, shared=False, per_agent={"robot_1": slow}),
        supervisor=dataclasses.replace(cfg.supervisor, mode="realtime", control_rate_hz=20.0, step_deadline_s=0.04),
        safety=dataclasses.replace(cfg.safety, lost_after_steps=5, shield=ShieldConfig()))
    path = dump_yaml(cfg, tmp_path / "team.yaml")
    env = {**os.environ, "ROS_AUTOMATIC_DISCOVERY_RANGE": "SUBNET", "FASTDDS_BUILTIN_TRANSPORTS": "UDPv4"}
    env.pop("FASTDDS_DEFAULT_PROFILES_FILE", None)  # the team profile, as every marl_bridge process loads it
    cutter = _Cutter(hosts, env, cfg.supervisor.team, cut_at=60, cut_s=cut_s)
    card, _ = _run_across(tmp_path, hosts, path, {})
    healed = cutter.healed_at()
    assert card["status"] == "complete" and card["episodes"][0]["steps"] == 400
    (gap,) = card["liveness"]["robot_1"]  # lost once, rejoined once
    assert gap["lost"]["step"] > 60 and gap["rejoined"] is not None
    print(f"cut {cut_s} s: lost at step {gap['lost']['step']}, healed at {healed}, rejoined at "
          f"{gap['rejoined']['step']}; skipped {card['skipped_observations']['robot_1']}; "
          f"events {card['safety_events']['by_agent']['robot_1']}")
    # within 2 s of the heal (measured: 0-2 steps mostly, once 22, after a 2 s cut; 4-11 after a 5 s cut,
    # when the robot must first be rediscovered), not the 7.6 s of answering every queued observation
    assert healed <= gap["rejoined"]["step"] <= healed + 40, (healed, gap)
    robot_1 = card["safety_events"]["by_agent"]["robot_1"]
    # A few late actions at most, never one per observation queued during the cut (40 or 100 here): the
    # answer in flight when the link went down, which reliable delivery hands over after the heal, and
    # one per repair burst the actor acted on before the newest observation had arrived.
    assert robot_1.get("stale_action", 0) <= 5 and robot_1.get("duplicate_action", 0) == 0, robot_1
    assert robot_1["actor_lost"] == 1 and robot_1["actor_rejoined"] == 1
    assert card["skipped_observations"]["robot_1"] >= cut_s * 20 * 0.5  # the cut's steps, never answered
    assert "robot_0" not in card["liveness"]
