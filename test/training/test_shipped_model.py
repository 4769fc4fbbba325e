"""The shipped learned team (config/learned/): its ONNX actor, one process per robot over real DDS,
reproduces the in-library evaluation recorded when it was trained, bit for bit; the learned config runs
as shipped. Needs only the core install (onnxruntime): no torch."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import CONFIG_DIR

from marl_bridge.config import load

pytestmark = pytest.mark.ros

LEARNED = CONFIG_DIR / "learned"
CLI = [sys.executable, "-P", "-m", "marl_bridge.cli"]


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*CLI, *args], capture_output=True, text=True, timeout=300, env=os.environ.copy())


def test_shipped_actor_reproduces_its_training_evaluation_through_the_bridge(tmp_path: Path) -> None:
    report = json.loads((LEARNED / "pursuit_seed0_training.json").read_text())
    final = report["final_eval"]
    # the learned config without its shield (the shield changes actions on purpose; the evaluation has none)
    text = (CONFIG_DIR / "mujoco_pursuit_learned.yaml").read_text()
    cfg = tmp_path / "learned.yaml"
    without_shield = text[:text.index("    safety:")] + text[text.index("    supervisor:"):]
    cfg.write_text(without_shield.replace("path: learned/", f"path: {LEARNED}/"))
    assert load(cfg).policy.default.path == str(LEARNED / "pursuit_seed0.onnx")
    episodes = 3
    run = _cli("run", str(cfg), "--topology", "multiprocess", "--seed", str(final["run_seed"]),
               "--episodes", str(episodes), "--out", str(tmp_path / "run"), "--no-progress")
    assert run.returncode == 0, run.stderr[-3000:]
    card = json.loads((tmp_path / "run" / "run_card.json").read_text())
    assert [ep["returns"] for ep in card["episodes"]] == final["returns"][:episodes]
    assert [ep["steps"] for ep in card["episodes"]] == final["lengths"][:episodes]


@pytest.mark.parametrize("path", [*sorted(LEARNED.glob("*.yaml")), CONFIG_DIR / "mujoco_pursuit_learned.yaml"],
                         ids=lambda p: p.name)
def test_learned_configs_pass_check(path: Path) -> None:
    proc = _cli("check", str(path))
    assert proc.returncode == 0, proc.stderr
    assert "onnx(pursuit_seed" in proc.stdout
