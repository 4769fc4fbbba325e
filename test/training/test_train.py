"""A short real training run with TorchRL (the train extra), its artifacts, and its exported actors run
through the bridge, one process per robot over real DDS, reproducing the library's own evaluation."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from conftest import CONFIG_DIR

from marl_bridge.config import load

pytestmark = pytest.mark.ros

CLI = [sys.executable, "-P", "-m", "marl_bridge.cli"]


def _base_without_shield(tmp_path: Path) -> Path:
    """The pursuit run config without its safety section: the shield changes actions on purpose, and the
    library's evaluation plays the env without it."""
    text = (CONFIG_DIR / "mujoco_pursuit.yaml").read_text()
    base = tmp_path / "pursuit.yaml"
    base.write_text(text[:text.index("    safety:")] + text[text.index("    supervisor:"):])
    return base


def _train_config(tmp_path: Path, algorithm: str, share: bool) -> Path:
    spec = {"train": {
        "base": str(_base_without_shield(tmp_path)), "env_kwargs": {"render_mode": None, "max_steps": 40},
        "seed": 3, "algorithm": algorithm, "share_policy": share, "iterations": 2, "env_copies": 2,
        "frames_per_batch": 160,
        "epochs": 2, "minibatch_size": 80, "lr": 0.001, "gamma": 0.99, "lmbda": 0.95, "clip_epsilon": 0.2,
        "entropy_coef": 0.001, "hidden": [16], "init_log_std": -0.5, "max_grad_norm": 1.0, "eval_every": 1,
        "eval_episodes": 2, "eval_seed": 11, "checkpoint_every": 1, "threads": 1,
        "out_dir": str(tmp_path / "train")}}
    path = tmp_path / "train.yaml"
    path.write_text(yaml.safe_dump(spec))
    return path


def _cli(*args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*CLI, *args], capture_output=True, text=True, timeout=timeout, env=os.environ.copy())


@pytest.mark.parametrize(("algorithm", "share"), [("mappo", False), ("ippo", True)])
def test_training_writes_everything_and_the_bridge_reproduces_its_evaluation(tmp_path: Path, algorithm: str,
                                                                             share: bool) -> None:
    proc = _cli("train", str(_train_config(tmp_path, algorithm, share)), "--no-progress")
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = tmp_path / "train"
    report = json.loads((out / "training.json").read_text())
    agents = report["agents"]
    assert agents == ["robot_0", "robot_1", "robot_2", "robot_3"]
    assert [h["iteration"] for h in report["history"]] == [1, 2]
    assert all(set(e["return_mean"]) == set(agents) for e in report["evaluations"])  # per agent, not a team scalar
    assert sorted(p.name for p in (out / "checkpoints").iterdir()) == ["iter_00001.pt", "iter_00002.pt"]
    assert (out / "learning_curve.png").stat().st_size > 10_000
    models = sorted(p.name for p in (out / "policies").iterdir())
    assert models == (["policy.onnx"] if share else [f"{a}.onnx" for a in agents])

    deploy = out / "deploy.yaml"
    cfg = load(deploy)
    assert cfg.policy.shared == share
    assert {cfg.policy.for_agent(a).kind for a in agents} == {"onnx"}
    assert _cli("check", str(deploy)).returncode == 0

    run = _cli("run", str(deploy), "--topology", "multiprocess", "--seed", "11", "--episodes", "2",
               "--out", str(tmp_path / "run"), "--no-progress")
    assert run.returncode == 0, run.stderr[-3000:]
    card = json.loads((tmp_path / "run" / "run_card.json").read_text())
    assert card["topology"] == "multiprocess"
    assert sum(sum(ep["fallbacks"].values()) for ep in card["episodes"]) == 0
    # bit for bit: the exported float64 actors land on the library's own float64-evaluated actions
    assert [ep["returns"] for ep in card["episodes"]] == report["final_eval"]["returns"]
    assert [ep["steps"] for ep in card["episodes"]] == report["final_eval"]["lengths"]


def test_training_without_the_extra_says_how_to_get_it(tmp_path: Path) -> None:
    # a Python that cannot import torch: the core install's situation
    blocker = tmp_path / "block"
    blocker.mkdir()
    (blocker / "torch.py").write_text("raise ImportError('torch is not installed (test)')\n")
    env = {**os.environ, "PYTHONPATH": str(blocker)}
    proc = subprocess.run([sys.executable, "-m", "marl_bridge.cli", "train",
                           str(_train_config(tmp_path, "mappo", True))],
                          capture_output=True, text=True, timeout=120, env=env)
    assert proc.returncode == 2
    assert "training needs the train extra" in proc.stderr and "pip install 'marl_bridge[train]'" in proc.stderr
