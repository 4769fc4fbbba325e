"""`marl-bridge replay BAG --video DIR`: an MP4 per episode, rendered offscreen after the run from the
recorded actions (the replay checks every message on the way), one frame per state the episode reached."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml
from conftest import CONFIG_DIR

pytestmark = pytest.mark.ros


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-P", "-m", "marl_bridge.cli", *args], capture_output=True, text=True,
                          timeout=180, env=os.environ.copy())


def test_replay_renders_one_mp4_per_episode_from_the_bag(tmp_path: Path) -> None:
    import imageio_ffmpeg

    data = yaml.safe_load((CONFIG_DIR / "mujoco_pursuit.yaml").read_text())
    data["/**"]["ros__parameters"]["env"]["kwargs"].update(n_robots=3, capture_robots=2, max_steps=40)
    config = tmp_path / "short.yaml"
    config.write_text(yaml.safe_dump(data))
    run = _cli("run", str(config), "--episodes", "2", "--out", str(tmp_path / "out"), "--record",
               str(tmp_path / "bag"), "--no-progress")
    assert run.returncode == 0, run.stderr
    card = json.loads((tmp_path / "out" / "run_card.json").read_text())
    assert not any(p.endswith("frame.png") for p in card["pictures"])  # nothing rendered in the team's loop
    assert "returns.png" in card["pictures"]
    proc = _cli("replay", str(tmp_path / "bag"), "--video", str(tmp_path / "video"))
    assert proc.returncode == 0 and "video: 2 MP4 file(s)" in proc.stdout, proc.stdout + proc.stderr
    for ep in card["episodes"]:
        reader = imageio_ffmpeg.read_frames(str(tmp_path / "video" / f"episode_{ep['episode']:03d}.mp4"))
        meta = next(reader)
        frames = [np.frombuffer(f, np.uint8) for f in reader]
        assert meta["fps"] == pytest.approx(20.0) and meta["size"] == (480, 480)
        assert len(frames) == ep["steps"] + 1  # the start and every step's state
        assert not np.array_equal(frames[0], frames[-1])  # the robots moved: not a still


def test_video_refused_cleanly_where_the_env_cannot_render(tmp_path: Path) -> None:
    """PointTeam has no rgb_array rendering: exit 2 with a message, no traceback."""
    run = _cli("run", str(CONFIG_DIR / "point_team.yaml"), "--episodes", "1", "--out", str(tmp_path / "out"),
               "--record", str(tmp_path / "bag"), "--no-progress")
    assert run.returncode == 0, run.stderr
    proc = _cli("replay", str(tmp_path / "bag"), "--video", str(tmp_path / "video"))
    assert proc.returncode == 2 and "Traceback" not in proc.stderr, proc.stdout + proc.stderr
    assert "--video needs an env that renders" in proc.stderr, proc.stderr
