"""The numpy MLP policy: weights-only .npz, shape checks, Box and Discrete heads."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pytest
from gymnasium import spaces

from marl_bridge.config import ConfigError, PolicyConfig
from marl_bridge.policies import make_policy


def _save(path: Path, sizes: list[int], **extra: object) -> Path:
    rng = np.random.default_rng(0)
    arrays = {}
    for i, (a, b) in enumerate(itertools.pairwise(sizes)):
        arrays[f"W{i}"] = rng.normal(size=(a, b))
        arrays[f"b{i}"] = rng.normal(size=b)
    np.savez(path, **arrays, **extra)
    return path


def test_box_head_stays_in_bounds(tmp_path: Path) -> None:
    obs, act = spaces.Box(-1, 1, (4,), np.float32), spaces.Box(-2, 2, (2,), np.float32)
    policy = make_policy(PolicyConfig(kind="mlp", path=str(_save(tmp_path / "w.npz", [4, 8, 2]))), "a", obs, act)
    for x in np.random.default_rng(1).uniform(-1, 1, (20, 4)).astype(np.float32):
        assert act.contains(policy.act(x))


def test_discrete_head_argmax_is_deterministic(tmp_path: Path) -> None:
    obs, act = spaces.Box(-1, 1, (3,), np.float32), spaces.Discrete(5, start=1)
    cfg = PolicyConfig(kind="mlp", path=str(_save(tmp_path / "w.npz", [3, 5])))
    a, b = make_policy(cfg, "x", obs, act), make_policy(cfg, "y", obs, act)
    x = np.array([0.1, -0.3, 0.9], np.float32)
    assert a.act(x) == b.act(x) and act.contains(a.act(x))


def test_wrong_shapes_and_pickled_arrays_are_refused(tmp_path: Path) -> None:
    obs, act = spaces.Box(-1, 1, (4,), np.float32), spaces.Discrete(3)
    with pytest.raises(ConfigError, match="weights map 5 -> 3, agent needs 4 -> 3"):
        make_policy(PolicyConfig(kind="mlp", path=str(_save(tmp_path / "w.npz", [5, 3]))), "a", obs, act)
    np.savez(tmp_path / "p.npz", W0=np.array([object()], dtype=object))
    with pytest.raises(ConfigError, match="cannot load weights"):
        make_policy(PolicyConfig(kind="mlp", path=str(tmp_path / "p.npz")), "a", obs, act)


def test_entropy_is_reported_for_categorical_heads_only(tmp_path: Path) -> None:
    obs = spaces.Box(-1, 1, (3,), np.float32)
    disc = make_policy(PolicyConfig(kind="mlp", path=str(_save(tmp_path / "d.npz", [3, 4]))), "a", obs,
                       spaces.Discrete(4))
    x = np.array([0.2, 0.1, -0.5], np.float32)
    disc.act(x)
    logits = disc.forward(x)
    p = np.exp(logits - logits.max())
    p /= p.sum()
    assert disc.last_entropy == pytest.approx(float(-(p * np.log(p)).sum()))
    box = make_policy(PolicyConfig(kind="mlp", path=str(_save(tmp_path / "b.npz", [3, 2]))), "a", obs,
                      spaces.Box(-1, 1, (2,), np.float32))
    box.act(x)
    assert np.isnan(box.last_entropy)
