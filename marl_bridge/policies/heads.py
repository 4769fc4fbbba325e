"""Action heads shared by the network policies (mlp, onnx): how many outputs an action space needs, and
how logits become a Discrete or MultiDiscrete action with the entropy of their distribution."""

from __future__ import annotations

from typing import Any

import numpy as np
from gymnasium import spaces

from marl_bridge.config import ConfigError


def head_size(action_space: spaces.Space, where: str) -> int:
    """How many values a network's head must give for this action space (Box: one per element; Discrete:
    one logit per action; MultiDiscrete: one block of logits per dimension)."""
    if isinstance(action_space, spaces.Box):
        return int(np.prod(action_space.shape))
    if isinstance(action_space, spaces.Discrete):
        return int(action_space.n)
    if isinstance(action_space, spaces.MultiDiscrete):
        return int(action_space.nvec.sum())
    raise ConfigError(f"{where}: action space {action_space} is not supported; expected Box, Discrete or "
                      "MultiDiscrete")


def _pick(logits: np.ndarray, deterministic: bool, rng: np.random.Generator) -> tuple[int, float]:
    p = np.exp(logits - logits.max())
    p /= p.sum()
    entropy = float(-(p * np.log(np.clip(p, 1e-300, None))).sum())
    return (int(np.argmax(logits)) if deterministic else int(rng.choice(len(p), p=p))), entropy


def categorical_action(logits: np.ndarray, space: spaces.Discrete | spaces.MultiDiscrete, deterministic: bool,
                       rng: np.random.Generator) -> tuple[Any, float]:
    """The action (argmax, or a sample from `rng`) and the entropy in nats, summed over dimensions."""
    if isinstance(space, spaces.Discrete):
        pick, entropy = _pick(logits, deterministic, rng)
        return np.int64(space.start + pick), entropy
    picks, entropy, offset = [], 0.0, 0
    for n in space.nvec.reshape(-1):
        pick, h = _pick(logits[offset:offset + int(n)], deterministic, rng)
        picks.append(pick)
        entropy += h
        offset += int(n)
    return (np.asarray(picks).reshape(space.shape) + space.start).astype(space.dtype), entropy
