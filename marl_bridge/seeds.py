"""Seeds derived from one run seed, so a run is reproducible directly and through ROS alike."""

from __future__ import annotations

import zlib

import numpy as np


def derive_seed(run_seed: int, *parts: str | int) -> int:
    """A 32-bit seed for (run_seed, parts...), e.g. ("episode", 3) or ("policy", "agent_0", 3)."""
    words = [run_seed & 0xFFFFFFFF, run_seed >> 32]
    for part in parts:
        words.append(zlib.crc32(part.encode()) if isinstance(part, str) else int(part) & 0xFFFFFFFF)
    return int(np.random.SeedSequence(words).generate_state(1, dtype=np.uint32)[0])


def episode_seed(run_seed: int, episode: int) -> int:
    return derive_seed(run_seed, "episode", episode)


def policy_seed(run_seed: int, agent: str, episode: int) -> int:
    return derive_seed(run_seed, "policy", agent, episode)
