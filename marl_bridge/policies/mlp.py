"""A numpy MLP policy loaded from an .npz of weights (no pickle: `allow_pickle=False`).

Layout of the file: W0, b0, W1, b1, ... (W_i has shape (in, out)); optional `activation` ("tanh" or
"relu", default tanh). The input is the observation flattened with `gymnasium.spaces.flatten`.
Outputs: Box -> tanh squashed to the bounds; Discrete -> logits (argmax, or a seeded sample when
deterministic is false); MultiDiscrete -> one logit block per dimension.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from gymnasium import spaces

from marl_bridge.config import ConfigError, PolicyConfig
from marl_bridge.policies.heads import categorical_action, head_size


class MlpPolicy:
    def __init__(self, layers: list[tuple[np.ndarray, np.ndarray]], activation: str,
                 observation_space: spaces.Space, action_space: spaces.Space, deterministic: bool,
                 description: str) -> None:
        self.layers = layers
        self.activation = np.tanh if activation == "tanh" else (lambda x: np.maximum(x, 0.0))
        self.observation_space = observation_space
        self.action_space = action_space
        self.deterministic = deterministic
        self.description = description
        self._rng = np.random.default_rng(0)
        self.last_entropy = float("nan")  # of the last act()'s categorical distribution(s); NaN for Box

    @classmethod
    def load(cls, cfg: PolicyConfig, agent: str, observation_space: spaces.Space,
             action_space: spaces.Space) -> MlpPolicy:
        where = f"policy for {agent!r}: {cfg.path}"
        try:
            with np.load(Path(cfg.path), allow_pickle=False) as data:
                arrays = {k: data[k] for k in data.files}
        except (OSError, ValueError) as exc:
            raise ConfigError(f"{where}: cannot load weights ({exc})") from None
        layers = []
        i = 0
        while f"W{i}" in arrays:
            if f"b{i}" not in arrays:
                raise ConfigError(f"{where}: W{i} has no matching b{i}")
            layers.append((arrays[f"W{i}"].astype(np.float64), arrays[f"b{i}"].astype(np.float64)))
            i += 1
        if not layers:
            raise ConfigError(f"{where}: no layers found; expected arrays W0, b0, W1, b1, ...")
        n_in = int(spaces.flatdim(observation_space))
        n_out = head_size(action_space, f"mlp policy for {agent!r}")
        if layers[0][0].shape[0] != n_in or layers[-1][0].shape[1] != n_out:
            raise ConfigError(f"{where}: weights map {layers[0][0].shape[0]} -> {layers[-1][0].shape[1]}, "
                              f"agent needs {n_in} -> {n_out}")
        activation = str(arrays["activation"]) if "activation" in arrays else "tanh"
        if activation not in ("tanh", "relu"):
            raise ConfigError(f"{where}: activation {activation!r}; expected tanh or relu")
        return cls(layers, activation, observation_space, action_space, cfg.deterministic,
                   f"mlp({cfg.path})")

    def reset(self, seed: int) -> None:
        self._rng = np.random.default_rng(seed)

    def forward(self, observation: Any) -> np.ndarray:
        x = np.asarray(spaces.flatten(self.observation_space, observation), dtype=np.float64)
        for i, (w, b) in enumerate(self.layers):
            x = x @ w + b
            if i < len(self.layers) - 1:
                x = self.activation(x)
        return x

    def act(self, observation: Any) -> Any:
        out = self.forward(observation)
        space = self.action_space
        if isinstance(space, spaces.Box):
            self.last_entropy = float("nan")
            mid, half = (space.high + space.low) / 2.0, (space.high - space.low) / 2.0
            return (mid + half * np.tanh(out.reshape(space.shape))).astype(space.dtype)
        action, self.last_entropy = categorical_action(out, space, self.deterministic, self._rng)
        return action

load = MlpPolicy.load
