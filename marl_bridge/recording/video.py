"""MP4 per episode, rendered offscreen after the run from what the bag recorded (`marl-bridge replay BAG
--video DIR`): the replay re-drives the env with the recorded actions, checking every message, and each
state it reaches becomes a frame. Never inside the team's loop (a render stalled it 0.5-4.7 s).

H.264 through imageio-ffmpeg (its ffmpeg binary; `pip install marl_bridge[video]`). MuJoCo renders
offscreen with EGL unless MUJOCO_GL says otherwise."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from marl_bridge.config import ConfigError


def prepare_offscreen() -> None:
    """Before MuJoCo is imported: render without a display (EGL) unless the user chose a backend."""
    os.environ.setdefault("MUJOCO_GL", "egl")


class EpisodeVideos:
    """Frames in, one MP4 per episode out (episode_NNN.mp4), each written as its frames arrive."""

    def __init__(self, out_dir: Path, fps: float, render: Callable[[], Any]) -> None:
        try:
            import imageio_ffmpeg
        except ImportError as exc:
            raise ConfigError("--video needs imageio-ffmpeg: pip install 'marl_bridge[video]'") from exc
        self._ffmpeg = imageio_ffmpeg
        self.out_dir, self.fps, self.render = out_dir, fps, render
        out_dir.mkdir(parents=True, exist_ok=True)
        self.episode = -1
        self._writer: Any = None
        self.written: list[str] = []
        self.frames = 0

    def frame(self, episode: int) -> None:
        """Render the env's current state as the next frame of `episode`."""
        try:
            image = self.render()
        except RuntimeError as exc:  # no offscreen GL here: say so, as a usage error (exit 2)
            raise ConfigError(f"--video: cannot render: {exc}") from None
        if image is None:
            raise ConfigError("the env rendered nothing: it needs render_mode 'rgb_array'")
        image = np.ascontiguousarray(np.asarray(image, dtype=np.uint8)[..., :3])
        if episode != self.episode:
            self._close_writer()
            path = self.out_dir / f"episode_{episode:03d}.mp4"
            h, w = image.shape[:2]
            self._writer = self._ffmpeg.write_frames(str(path), (w, h), fps=self.fps, codec="libx264",
                                                     pix_fmt_in="rgb24", quality=7, macro_block_size=16,
                                                     ffmpeg_log_level="error")
            self._writer.send(None)  # start ffmpeg
            self.episode = episode
            self.written.append(path.name)
        self._writer.send(image.tobytes())
        self.frames += 1

    def _close_writer(self) -> None:
        if self._writer is not None:
            self._writer.close()
            self._writer = None

    def close(self) -> list[str]:
        self._close_writer()
        return self.written
