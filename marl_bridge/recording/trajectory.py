"""The run's pictures, written next to the run card after the run (never inside a callback): a top-down
trajectory plot per kept episode of a robot world, and the returns per episode for every run. Video
comes from the bag after the run (recording/video.py, `marl-bridge replay BAG --video DIR`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plot_trajectory(trace: dict[str, Any], path: Path) -> Path:
    """One PNG: arena, obstacles, task markers, each robot's path coloured by time (start o, end disc,
    name at the end) and the target's; how the episode ended in the title; the key beside the arena."""
    plt = _pyplot()
    from matplotlib.collections import LineCollection
    from matplotlib.lines import Line2D
    from matplotlib.patches import Circle, Rectangle

    h = trace["arena_half"]
    paths = np.asarray(trace["robots"])  # (T, N, 2)
    steps = len(paths) - 1
    period = trace.get("period_s") or 1.0
    fig, ax = plt.subplots(figsize=(8.2, 6), dpi=100)
    ax.add_patch(Rectangle((-h, -h), 2 * h, 2 * h, fill=False, lw=2, ec="0.3"))
    for x, y, r in trace["obstacles"]:
        ax.add_patch(Circle((x, y), r, fc="0.6", ec="0.4"))
    for name, pos, radius, rgba in trace["markers"]:
        ax.add_patch(Circle(pos, radius, fc=rgba, ec="none"))
        ax.annotate(name, pos, fontsize=7, ha="center", va="center")
    norm = plt.Normalize(0.0, max(steps, 1) * period)
    cmap = plt.get_cmap("viridis")
    times = np.arange(steps) * period  # each segment coloured by when it was driven
    for i, agent in enumerate(trace["agents"]):
        segments = np.stack([paths[:-1, i], paths[1:, i]], axis=1)
        ax.add_collection(LineCollection(segments, cmap=cmap, norm=norm, array=times, lw=1.6))
        ax.plot(*paths[0, i], "o", color=cmap(0.0), mec="k", ms=5)
        ax.add_patch(Circle(paths[-1, i], trace["robot_radius"], fc="none", ec=cmap(1.0), lw=1.5))
        ax.annotate(agent, paths[-1, i], xytext=(4, 4), textcoords="offset points", fontsize=7)
    handles = [Line2D([], [], marker="o", ls="", color=cmap(0.0), mec="k", label="start"),
               Line2D([], [], marker="o", ls="", mfc="none", color=cmap(1.0), label="end")]
    target = trace.get("target")
    if target is not None and len(target):
        ax.plot(target[:, 0], target[:, 1], "--", color="crimson", lw=1.2)
        ax.plot(*target[-1], "*", color="crimson", ms=12)
        handles.append(Line2D([], [], ls="--", marker="*", color="crimson", label="target"))
    fig.colorbar(plt.cm.ScalarMappable(norm=norm, cmap=cmap), ax=ax, label="time (s)", fraction=0.046, pad=0.02)
    ax.legend(handles=handles, fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.06), ncol=3)
    ax.set_xlim(-h - 0.3, h + 0.3)
    ax.set_ylim(-h - 0.3, h + 0.3)
    ax.set_aspect("equal")
    ending = trace.get("ending", "ended")
    how = f"{trace.get('goal', 'terminated')} at step {steps}" if ending == "terminated" else \
        f"{ending} after {steps} steps"
    ax.set_title(f"{trace['task']} ({trace['backend']}), episode {trace['episode']}, seed {trace['seed']}: {how}",
                 fontsize=9)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path


def plot_returns(card: dict[str, Any], path: Path) -> Path | None:
    """Each agent's return per episode (the episodes the card lists) and the team mean."""
    episodes = card.get("episodes") or []
    if not episodes:
        return None
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(7, 4), dpi=100)
    x = [ep["episode"] for ep in episodes]
    agents = list(card["agents"])
    for agent in agents:
        ax.plot(x, [ep["returns"].get(agent, np.nan) for ep in episodes], ".-", lw=1, ms=4,
                label=agent if len(agents) <= 12 else None)
    ax.plot(x, [np.mean(list(ep["returns"].values())) for ep in episodes], "k-", lw=2, label="team mean")
    ax.set_xlabel("episode")
    ax.set_ylabel("return")
    env = card['config']['env']
    ax.set_title(f"{env.get('name') or env['entry_point']}: returns per episode ({card['status']})", fontsize=9)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path


def write_run_pictures(traces: list[dict[str, Any]], card: dict[str, Any], out_dir: Path) -> list[str]:
    """Write episode_NNN_trajectory.png per kept trace and returns.png; return the names written."""
    out_dir.mkdir(parents=True, exist_ok=True)
    written = [plot_trajectory(t, out_dir / f"episode_{t['episode']:03d}_trajectory.png").name for t in traces]
    returns = plot_returns(card, out_dir / "returns.png")
    return [*written, *([returns.name] if returns is not None else [])]
