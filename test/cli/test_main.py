"""The `marl-bridge` command line as a user runs it: real processes, real DDS."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import rclpy
from conftest import CONFIG_DIR
from rclpy.experimental import EventsExecutor
from rclpy.task import Future

from marl_bridge.msg import EpisodeSummary
from marl_bridge.nodes.topics import STREAM_QOS

CLI = [sys.executable, "-P", "-m", "marl_bridge.cli"]


def _cli(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*CLI, *args], capture_output=True, text=True, timeout=timeout, env=os.environ.copy())


def test_bad_config_exits_2_naming_key_and_file_and_starts_nothing(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text((CONFIG_DIR / "point_team.yaml").read_text().replace("episodes: 5", "episodes: many"))
    out = tmp_path / "out"
    proc = _cli("run", str(bad), "--out", str(out))
    assert proc.returncode == 2
    assert "run.episodes must be an integer" in proc.stderr and str(bad) in proc.stderr
    assert not out.exists()


def test_env_that_cannot_be_built_exits_2(tmp_path: Path) -> None:
    bad = tmp_path / "bad_env.yaml"
    bad.write_text((CONFIG_DIR / "point_team.yaml").read_text().replace(
        "marl_bridge.envs.point_team:parallel_env", "no_such_package.envs:make"))
    proc = _cli("run", str(bad), "--out", str(tmp_path / "out"))
    assert proc.returncode == 2
    assert "cannot import module 'no_such_package.envs'" in proc.stderr
    assert not (tmp_path / "out").exists()


@pytest.mark.ros
def test_run_writes_run_card_and_prints_per_agent_table(tmp_path: Path) -> None:
    proc = _cli("run", str(CONFIG_DIR / "point_team.yaml"), "--episodes", "2", "--seed", "9",
                "--out", str(tmp_path), "--no-progress")
    assert proc.returncode == 0, proc.stderr
    card = json.loads((tmp_path / "run_card.json").read_text())
    assert card["schema_version"] == 2 and card["status"] == "complete"
    assert card["env"]["api"] == "parallel" and "distance to own goal" in card["env"]["reward_definition"]
    assert card["agents"] == ["robot_0", "robot_1", "robot_2", "robot_3"]
    assert card["policy_sharing"] == "shared"
    assert card["seeds"]["run_seed"] == 9 and len(card["seeds"]["episode_seeds"]) == 2
    assert set(card["returns"]) == set(card["agents"])
    assert all(p["reported"].startswith("scripted") for p in card["policies"].values())
    for agent in card["agents"]:
        assert agent in proc.stdout  # the per-agent table
    assert (tmp_path / "config.yaml").exists()


@pytest.mark.ros
def test_a_long_run_card_lists_the_last_episodes_and_episodes_jsonl_holds_all(tmp_path: Path) -> None:
    """run.card_episodes: 2 of 6 episodes in the card, all 6 in episodes.jsonl, the per-agent table over
    all 6, and the recorded bag replays against that card."""
    config = tmp_path / "team.yaml"
    config.write_text((CONFIG_DIR / "point_team.yaml").read_text().replace(
        "episodes: 5", "episodes: 6\n      card_episodes: 2"))
    proc = _cli("run", str(config), "--out", str(tmp_path / "out"), "--record", str(tmp_path / "bag"), "--no-progress")
    assert proc.returncode == 0, proc.stderr
    card = json.loads((tmp_path / "out" / "run_card.json").read_text())
    assert [ep["episode"] for ep in card["episodes"]] == [4, 5] and card["totals"]["episodes"] == 6
    lines = [json.loads(x) for x in (tmp_path / "out" / card["episodes_file"]).read_text().splitlines()]
    assert [ep["episode"] for ep in lines] == list(range(6)) and lines[-2:] == card["episodes"]
    mean = sum(ep["returns"]["robot_0"] for ep in lines) / 6
    assert card["per_agent"]["robot_0"]["return_mean"] == pytest.approx(mean)
    assert f"{mean:.3f}" in proc.stdout  # the table is over every episode, not the two listed
    replay = _cli("replay", str(tmp_path / "bag"), "--card", str(tmp_path / "out" / "run_card.json"))
    assert replay.returncode == 0 and "reproduced: 6 episodes" in replay.stdout, replay.stdout + replay.stderr


def _await_episode_summary(episode: int, timeout_s: float = 60.0) -> None:
    """Until the summary of `episode` (or a later one) of team "team" crossed DDS."""
    with rclpy.init():
        node = rclpy.create_node("summary_probe")
        seen: Future = Future()
        node.create_subscription(EpisodeSummary, "/team/episode_summary",
                                 lambda m: m.episode >= episode and not seen.done() and seen.set_result(m.episode),
                                 STREAM_QOS)
        executor = EventsExecutor()
        executor.add_node(node)
        executor.spin_until_future_complete(seen, timeout_sec=timeout_s)
        assert seen.done(), f"no summary of episode {episode} within {timeout_s} s"
        node.destroy_node()


@pytest.mark.ros
def test_sigint_mid_run_keeps_the_run_card(tmp_path: Path) -> None:
    """Interrupt after the first episode summary crossed DDS: exit 130, finished episodes kept."""
    proc = subprocess.Popen([*CLI, "run", str(CONFIG_DIR / "point_team.yaml"), "--episodes", "100000",
                             "--out", str(tmp_path), "--no-progress"], env=os.environ.copy(),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        _await_episode_summary(0)
        proc.send_signal(signal.SIGINT)
        _out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130, err
    card = json.loads((tmp_path / "run_card.json").read_text())
    assert card["status"].startswith("interrupted")
    assert len(card["episodes"]) >= 1
    assert all(len(ep["returns"]) == 4 for ep in card["episodes"])


@pytest.mark.ros
def test_sigkill_mid_run_leaves_a_whole_card_of_the_finished_episodes(tmp_path: Path) -> None:
    """SIGKILL after the third episode summary crossed DDS: the card on disk was written while the run
    went (not at its end), is whole JSON and holds at least the episodes finished a second before."""
    proc = subprocess.Popen([*CLI, "run", str(CONFIG_DIR / "point_team.yaml"), "--episodes", "100000",
                             "--out", str(tmp_path), "--no-progress"], env=os.environ.copy(),
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        _await_episode_summary(2)
        proc.kill()
        proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == -signal.SIGKILL
    card = json.loads((tmp_path / "run_card.json").read_text())  # whole: written atomically
    assert card["status"] == "running" and len(card["episodes"]) >= 1


@pytest.mark.ros
def test_run_team_restores_the_callers_signal_handlers(tmp_path: Path) -> None:
    from marl_bridge.cli.team import run_team
    from marl_bridge.config import load, with_overrides

    before = signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)
    card = run_team(with_overrides(load(CONFIG_DIR / "point_team.yaml"), episodes=1), tmp_path)
    assert card["status"] == "complete"
    assert (signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)) == before


def test_a_model_that_does_not_fit_its_agent_is_exit_2_at_check_and_run(tmp_path: Path) -> None:
    import numpy as np

    from marl_bridge.policies.onnx_build import mlp_model, write_model

    model = write_model(tmp_path / "wrong.onnx", mlp_model([(np.ones((19, 2)), np.zeros(2))],
                                                           metadata={"marl_bridge.box_output": "tanh"}))
    text = (CONFIG_DIR / "mujoco_pursuit.yaml").read_text()
    start = text.index("    policy:")
    end = text.index("    safety:")
    cfg = tmp_path / "team.yaml"
    cfg.write_text(text[:start] + "    policy:\n      shared: true\n      default: {kind: onnx, path: wrong.onnx}\n"
                   + text[end:])
    for command in (["check", str(cfg)], ["run", str(cfg), "--out", str(tmp_path / "out")]):
        proc = _cli(*command)
        assert proc.returncode == 2, proc.stderr
        assert f"policy for 'robot_0': {model}: output 'action' has 2 values" in proc.stderr
        assert "needs 3" in proc.stderr
    assert not (tmp_path / "out").exists()


def test_unwritable_out_or_record_is_exit_2_before_anything_starts(tmp_path: Path) -> None:
    blocker = tmp_path / "a_file"
    blocker.write_text("not a directory")
    proc = _cli("run", str(CONFIG_DIR / "point_team.yaml"), "--out", str(blocker / "out"))
    assert proc.returncode == 2 and f"--out {blocker / 'out'}: cannot write there" in proc.stderr
    proc = _cli("run", str(CONFIG_DIR / "point_team.yaml"), "--out", str(tmp_path / "out"),
                "--record", str(blocker / "bag"))
    assert proc.returncode == 2 and f"--record {blocker}: cannot write there" in proc.stderr
    assert "Traceback" not in proc.stderr and not (tmp_path / "out" / "run_card.json").exists()


@pytest.mark.parametrize(("command", "entry_point", "said"), [
    ("check", "late_joiner:sequence_env", "observation space of 'scout': unsupported space Sequence"),
    ("run", "late_joiner:sequence_env", "observation space of 'scout': unsupported space Sequence"),
    ("check", "late_joiner:broken_env", "late_joiner:broken_env failed: ModuleNotFoundError: No module named 'Box2D'"),
])
def test_an_env_the_bridge_cannot_carry_is_exit_2_naming_the_file(tmp_path: Path, command: str, entry_point: str,
                                                                  said: str) -> None:
    config = tmp_path / "env.yaml"
    config.write_text((CONFIG_DIR / "point_team.yaml").read_text().replace(
        "marl_bridge.envs.point_team:parallel_env", entry_point).replace(
        "n_agents: 4\n        max_cycles: 60", "max_cycles: 6"))
    helpers = str(Path(__file__).resolve().parents[1] / "helpers")
    proc = subprocess.run([*CLI, command, str(config), *(["--out", str(tmp_path / "out")] if command == "run" else [])],
                          capture_output=True, text=True, timeout=120,
                          env={**os.environ, "PYTHONPATH": helpers})
    assert proc.returncode == 2, proc.stderr
    assert said in proc.stderr and str(config) in proc.stderr
    assert "Traceback" not in proc.stderr and not (tmp_path / "out").exists()


def test_check_names_the_api_of_a_turn_based_env() -> None:
    proc = _cli("check", str(CONFIG_DIR / "tictactoe.yaml"))
    assert proc.returncode == 0, proc.stderr
    assert "ok (aec API, unauthenticated)" in proc.stdout and "action_mask" in proc.stdout


@pytest.mark.ros
def test_an_env_that_raises_mid_run_ends_failed_with_the_finished_episodes_kept(tmp_path: Path) -> None:
    config = tmp_path / "failing.yaml"
    config.write_text((CONFIG_DIR / "point_team.yaml").read_text().replace(
        "marl_bridge.envs.point_team:parallel_env", "late_joiner:failing_env").replace(
        "n_agents: 4\n        max_cycles: 60", "fail_episode: 2\n        fail_step: 3").replace(
        "marl_bridge.envs.point_team:greedy_policy", "late_joiner:policy"))
    helpers = str(Path(__file__).resolve().parents[1] / "helpers")
    proc = subprocess.run([*CLI, "run", str(config), "--out", str(tmp_path / "out"), "--no-progress"],
                          capture_output=True, text=True, timeout=120, env={**os.environ, "PYTHONPATH": helpers})
    assert proc.returncode == 3, proc.stderr[-2000:]
    card = json.loads((tmp_path / "out" / "run_card.json").read_text())
    assert card["status"] == ("failed: env step (episode 2, step 3) raised RuntimeError: simulated env bug")
    assert [ep["episode"] for ep in card["episodes"]] == [0, 1]  # the finished ones, complete
    assert "failed: env step" in proc.stdout and "Traceback" not in proc.stderr


@pytest.mark.ros
def test_an_actor_process_that_dies_at_start_fails_the_run_at_once(tmp_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """multiprocess: robot_1's actor process cannot build its policy and exits. The run fails right
    away naming it, instead of waiting startup_timeout_s (60 s here) and running on fallbacks."""
    import dataclasses

    from marl_bridge.cli.team import run_team
    from marl_bridge.config import PolicyConfig, load, with_overrides

    monkeypatch.setenv("PYTHONPATH", str(Path(__file__).resolve().parents[1] / "helpers"))
    cfg = with_overrides(load(CONFIG_DIR / "point_team.yaml"), episodes=1, topology="multiprocess")
    crash = PolicyConfig(kind="scripted", entry_point="late_joiner:crashing_policy")
    cfg = dataclasses.replace(
        cfg, policy=dataclasses.replace(cfg.policy, shared=False, per_agent={"robot_1": crash}),
        supervisor=dataclasses.replace(cfg.supervisor, startup_timeout_s=60.0))
    card = run_team(cfg, tmp_path)
    assert card["status"].startswith("failed: the actor process of robot_1 exited with code"), card["status"]
    assert card["episodes"] == []
