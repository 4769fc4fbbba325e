"""Deterministic evaluation inside the library: the trained TorchRL actor on the same episodes a
`marl-bridge run` with `run.seed = eval_seed` plays (same derived episode seeds, same env).

Per-agent returns are summed in float64 from the env's own rewards (TorchRL hands rewards over as
float32), so they compare with a run card's returns value for value.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from pettingzoo.utils.wrappers import BaseParallelWrapper
from torchrl.envs.utils import ExplorationType, set_exploration_type

from marl_bridge.seeds import episode_seed


class ReturnTap(BaseParallelWrapper):
    """A PettingZoo Parallel wrapper that keeps each agent's float64 return and the last step's infos.

    The infos stay here and TorchRL gets empty ones: its adapter would turn every info value into a
    tensor per agent and step, which costs more than the MuJoCo step itself and trains nothing."""

    def __init__(self, env: Any) -> None:
        super().__init__(env)
        self.returns: dict[str, float] = {}
        self.last_infos: dict[str, Any] = {}
        self.steps = 0

    def reset(self, seed: int | None = None, options: dict | None = None) -> Any:
        self.returns = dict.fromkeys(self.env.possible_agents, 0.0)
        self.steps = 0
        obs, infos = self.env.reset(seed=seed, options=options)
        self.last_infos = infos
        return obs, {a: {} for a in infos}

    def step(self, actions: dict[str, Any]) -> Any:
        out = self.env.step(actions)
        for agent, r in out[1].items():
            self.returns[agent] += float(r)
        self.last_infos = out[4]
        self.steps += 1
        return (*out[:4], {a: {} for a in out[4]})

    def state(self) -> np.ndarray:
        return self.env.state()


@dataclass
class EvalResult:
    returns: list[dict[str, float]] = field(default_factory=list)  # per episode, per agent (float64)
    lengths: list[int] = field(default_factory=list)
    captured: list[bool] = field(default_factory=list)  # the task's `captured` info (pursuit); else False
    collisions: list[dict[str, int]] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        agents = list(self.returns[0]) if self.returns else []
        return {"episodes": len(self.returns),
                "return_mean": {a: float(np.mean([r[a] for r in self.returns])) for a in agents},
                "capture_rate": float(np.mean(self.captured)) if self.captured else 0.0,
                "length_mean": float(np.mean(self.lengths)) if self.lengths else 0.0,
                "collisions": {a: int(sum(c.get(a, 0) for c in self.collisions)) for a in agents}}


def evaluate(env: Any, tap: ReturnTap, actor: torch.nn.Module, run_seed: int, episodes: int,
             max_steps: int) -> EvalResult:
    """Roll the actor's deterministic action (TanhNormal: tanh of the mean) on the derived episode seeds."""
    result = EvalResult()
    collisions: dict[str, int] = {}

    def count(_env: Any, _td: Any) -> None:
        for agent, info in tap.last_infos.items():
            collisions[agent] = collisions.get(agent, 0) + int(info.get("collisions", 0))

    with torch.no_grad(), set_exploration_type(ExplorationType.DETERMINISTIC):
        for index in range(episodes):
            collisions = {}
            td = env.reset(seed=episode_seed(run_seed, index))
            env.rollout(max_steps, actor, tensordict=td, auto_reset=False, break_when_any_done=True,
                        callback=count)
            result.returns.append(dict(tap.returns))
            result.lengths.append(tap.steps)
            result.captured.append(any(bool(i.get("captured", False)) for i in tap.last_infos.values()))
            result.collisions.append(collisions)
    return result
