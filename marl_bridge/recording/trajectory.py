"""Per-episode pictures of robot-team runs: a top-down trajectory plot, and MuJoCo frames where the
machine renders offscreen. Written next to the run card after the run (never inside a callback)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np


def plot_trajectory(trace: dict[str, Any], path: Path) -> Path:
    """One PNG: arena, obstacles, task markers, each robot's path (start o, end x) and the target's."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.patches import Circle, Rectangle

    h = trace["arena_half"]
    fig, ax = plt.subplots(figsize=(6, 6), dpi=100)
    ax.add_patch(Rectangle((-h, -h), 2 * h, 2 * h, fill=False, lw=2, ec="0.3"))
    for x, y, r in trace["obstacles"]:
        ax.add_patch(Circle((x, y), r, fc="0.6", ec="0.4"))
    for name, pos, radius, rgba in trace["markers"]:
        ax.add_patch(Circle(pos, radius, fc=rgba, ec="none"))
        ax.annotate(name, pos, fontsize=7, ha="center", va="center")
    paths = np.asarray(trace["robots"])  # (T, N, 2)
    colors = plt.get_cmap("tab20" if paths.shape[1] > 10 else "tab10")
    for i, agent in enumerate(trace["agents"]):
        c = colors(i % colors.N)
        ax.plot(paths[:, i, 0], paths[:, i, 1], "-", color=c, lw=1.2, label=agent)
        ax.plot(*paths[0, i], "o", color=c, ms=5)
        ax.add_patch(Circle(paths[-1, i], trace["robot_radius"], fc="none", ec=c, lw=1.5))
    target = trace.get("target")
    if target is not None and len(target):
        ax.plot(target[:, 0], target[:, 1], "--", color="crimson", lw=1.5, label="target")
        ax.plot(*target[-1], "*", color="crimson", ms=12)
    ax.set_xlim(-h - 0.3, h + 0.3)
    ax.set_ylim(-h - 0.3, h + 0.3)
    ax.set_aspect("equal")
    ax.set_title(f"{trace['task']} ({trace['backend']}), episode {trace['episode']}, seed {trace['seed']}, "
                 f"{len(paths) - 1} steps", fontsize=9)
    if len(trace["agents"]) <= 12:
        ax.legend(fontsize=7, loc="upper right")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path


def write_episode_pictures(traces: list[dict[str, Any]], frames: list[tuple[int, Any]], out_dir: Path
                           ) -> list[str]:
    """Write episode_NNN_trajectory.png (and episode_NNN_frame.png per rendered frame); return names."""
    out_dir.mkdir(parents=True, exist_ok=True)
    written = [plot_trajectory(t, out_dir / f"episode_{t['episode']:03d}_trajectory.png").name for t in traces]
    if frames:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        for episode, frame in frames:
            path = out_dir / f"episode_{episode:03d}_frame.png"
            plt.imsave(path, frame)
            written.append(path.name)
    return written
