"""Fallback actions: what the env receives for an agent whose action is missing, late or bad."""

from __future__ import annotations

from typing import Any

import numpy as np
from gymnasium import spaces

from marl_bridge.codec import CodecError, SpaceCodec
from marl_bridge.config import ConfigError, FallbackConfig


def zero_action(space: spaces.Space) -> Any:
    """The space's 'do nothing' value: 0 clipped into Box bounds, Discrete/MultiDiscrete start."""
    if isinstance(space, spaces.Box):
        return np.clip(np.zeros(space.shape), space.low, space.high).astype(space.dtype)
    if isinstance(space, spaces.Discrete):
        return np.int64(space.start)
    if isinstance(space, spaces.MultiDiscrete):
        return np.asarray(space.start, dtype=space.dtype).reshape(space.shape)
    if isinstance(space, spaces.MultiBinary):
        return np.zeros(space.shape, dtype=space.dtype)
    if isinstance(space, spaces.Dict):
        return {k: zero_action(s) for k, s in space.spaces.items()}
    if isinstance(space, spaces.Tuple):
        return tuple(zero_action(s) for s in space.spaces)
    raise ConfigError(f"no zero action for space {space}")


class Fallback:
    """One agent's fallback policy (zero, hold last valid action, or a configured value)."""

    def __init__(self, cfg: FallbackConfig, codec: SpaceCodec, agent: str) -> None:
        self.kind = cfg.kind
        self._zero = zero_action(codec.space)
        if cfg.kind == "value":
            try:
                self._zero = codec.decode_checked(np.asarray(cfg.value))
            except CodecError as exc:
                raise ConfigError(f"supervisor.fallback for {agent!r}: value {list(cfg.value)} is not a "
                                  f"valid action: {exc}") from None
        self._last: Any = None

    def remember(self, action: Any) -> None:
        self._last = action

    def reset(self) -> None:
        self._last = None

    def action(self) -> Any:
        if self.kind == "hold" and self._last is not None:
            return self._last
        return self._zero
