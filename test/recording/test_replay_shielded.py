"""A recorded MuJoCo run whose actions the shield changed replays with the actions the env received."""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import CONFIG_DIR

from marl_bridge.config import dump_yaml, load, with_overrides

pytestmark = pytest.mark.ros


def test_shielded_mujoco_run_replays_reproduced(tmp_path: Path) -> None:
    cfg = with_overrides(load(CONFIG_DIR / "mujoco_pursuit.yaml"), episodes=1, seed=21)
    cfg = dataclasses.replace(cfg, env=dataclasses.replace(cfg.env, kwargs={
        **cfg.env.kwargs, "max_steps": 60, "render_mode": None}))
    config = dump_yaml(cfg, tmp_path / "cfg.yaml")
    out, bag = tmp_path / "out", tmp_path / "bag"
    run = subprocess.run([sys.executable, "-P", "-m", "marl_bridge.cli", "run", str(config), "--out", str(out),
                          "--record", str(bag), "--no-progress"], capture_output=True, text=True, timeout=120,
                         env=os.environ.copy())
    assert run.returncode == 0, run.stderr
    card = json.loads((out / "run_card.json").read_text())
    assert sum(sum(v.values()) for v in card["interventions"].values()) > 0  # the shield changed actions
    # every /clock tick is in the bag: one at the episode's start and one per step
    assert card["recording"]["messages"]["/clock"] == 1 + card["episodes"][0]["steps"]
    replay = subprocess.run([sys.executable, "-P", "-m", "marl_bridge.cli", "replay", str(bag), "--card",
                             str(out / "run_card.json")], capture_output=True, text=True, timeout=120,
                            env=os.environ.copy())
    assert replay.returncode == 0, replay.stdout + replay.stderr
    assert replay.stdout.startswith("reproduced: 1 episodes, 60 joint steps")
