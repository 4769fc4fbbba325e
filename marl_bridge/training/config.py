"""Training config: one dataclass with `validate()`, mirrored by config/train_*.yaml.

The env is not restated: `base` names the run config the team is deployed with, so the env trained on
is the env deployed on (entry point, kwargs, reward definition), and the deploy config written at the
end is that run config with its policy section replaced by the exported actors.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from marl_bridge.config import ConfigError, RunConfig, load, read_yaml

ALGORITHMS = ("mappo", "ippo")  # mappo: critic on env.state() and the agent's observation; ippo: observation


@dataclass(frozen=True)
class TrainConfig:
    """Everything that changes a training result is stated in the file: no silent defaults for it."""

    base: str  # run config (relative to this file): env to train on, template of the deploy config
    seed: int  # torch, the env's training resets and the exploration noise
    algorithm: str  # mappo | ippo
    share_policy: bool  # one actor for every agent (parameter sharing) or one per agent
    iterations: int  # collect + update rounds
    env_copies: int  # envs stepped side by side for collection (training/vec_env.py); seeds seed .. seed+K-1
    frames_per_batch: int  # env steps collected per iteration, over all copies (each step: every agent acts)
    epochs: int  # passes over each batch
    minibatch_size: int  # env steps per gradient step
    lr: float
    gamma: float
    lmbda: float  # GAE lambda
    clip_epsilon: float
    entropy_coef: float
    hidden: tuple[int, ...]  # actor and critic hidden layer widths (tanh)
    init_log_std: float  # initial log standard deviation of the Gaussian actions (state independent)
    max_grad_norm: float
    eval_every: int  # iterations between deterministic evaluations (per-agent returns, capture rate)
    eval_episodes: int
    eval_seed: int  # run seed of the evaluation episodes: the same episodes as `marl-bridge run --seed`
    checkpoint_every: int  # iterations between checkpoints (0: only the last)
    out_dir: str
    threads: int = 1  # torch CPU threads
    env_kwargs: dict[str, Any] = dataclasses.field(default_factory=dict)  # over the base config's env kwargs
    source: str = "<memory>"

    def validate(self) -> TrainConfig:
        where = self.source
        if self.algorithm not in ALGORITHMS:
            raise ConfigError(f"{where}: algorithm is {self.algorithm!r}; expected one of {', '.join(ALGORITHMS)}")
        for name in ("iterations", "env_copies", "frames_per_batch", "epochs", "minibatch_size", "eval_every",
                     "eval_episodes", "threads"):
            if getattr(self, name) < 1:
                raise ConfigError(f"{where}: {name} must be >= 1, got {getattr(self, name)}")
        if self.frames_per_batch % self.env_copies:
            raise ConfigError(f"{where}: frames_per_batch ({self.frames_per_batch}) must be a multiple of env_copies "
                              f"({self.env_copies})")
        if self.minibatch_size > self.frames_per_batch:
            raise ConfigError(f"{where}: minibatch_size ({self.minibatch_size}) must not exceed frames_per_batch "
                              f"({self.frames_per_batch})")
        if self.checkpoint_every < 0:
            raise ConfigError(f"{where}: checkpoint_every must be >= 0, got {self.checkpoint_every}")
        for name in ("lr", "gamma", "lmbda", "clip_epsilon", "entropy_coef", "init_log_std", "max_grad_norm"):
            if not math.isfinite(getattr(self, name)):
                raise ConfigError(f"{where}: {name} must be a finite number, got {getattr(self, name)}")
        if not (0 < self.gamma <= 1 and 0 <= self.lmbda <= 1 and self.lr > 0 and self.clip_epsilon > 0
                and self.entropy_coef >= 0 and self.max_grad_norm > 0):
            raise ConfigError(f"{where}: need 0 < gamma <= 1, 0 <= lmbda <= 1, lr > 0, clip_epsilon > 0, "
                              "entropy_coef >= 0, max_grad_norm > 0")
        if not self.hidden or any(h < 1 for h in self.hidden):
            raise ConfigError(f"{where}: hidden must list layer widths >= 1, got {list(self.hidden)}")
        if not 0 <= self.seed < 2**63 or not 0 <= self.eval_seed < 2**63:
            raise ConfigError(f"{where}: seed and eval_seed must be in [0, 2**63)")
        return self

    def run_config(self) -> RunConfig:
        """The base run config, with env_kwargs applied (what is trained on and deployed)."""
        base = load(Path(self.source).parent / self.base if Path(self.source).is_file() else self.base)
        env = dataclasses.replace(base.env, kwargs={**base.env.kwargs, **self.env_kwargs})
        return dataclasses.replace(base, env=env)


_INTS = ("seed", "iterations", "env_copies", "frames_per_batch", "epochs", "minibatch_size", "eval_every",
         "eval_episodes", "eval_seed", "checkpoint_every", "threads")
_FLOATS = ("lr", "gamma", "lmbda", "clip_epsilon", "entropy_coef", "init_log_std", "max_grad_norm")


def from_dict(data: Any, source: str) -> TrainConfig:
    if not isinstance(data, dict) or not isinstance(data.get("train"), dict):
        raise ConfigError(f"{source}: expected a mapping with a 'train' section")
    raw = data["train"]
    fields = {f.name: f for f in dataclasses.fields(TrainConfig) if f.name != "source"}
    unknown = sorted(set(raw) - set(fields))
    if unknown:
        raise ConfigError(f"{source}: unknown key train.{unknown[0]}; expected one of {', '.join(sorted(fields))}")
    values: dict[str, Any] = {}
    for name, f in fields.items():
        if name not in raw:
            if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
                raise ConfigError(f"{source}: missing required key train.{name}")
            continue
        v = raw[name]
        ok = {"base": isinstance(v, str), "algorithm": isinstance(v, str), "out_dir": isinstance(v, str),
              "share_policy": isinstance(v, bool), "env_kwargs": isinstance(v, dict),
              "hidden": isinstance(v, list) and all(isinstance(h, int) and not isinstance(h, bool) for h in v)}
        if name in _INTS:
            ok[name] = isinstance(v, int) and not isinstance(v, bool)
        if name in _FLOATS:
            ok[name] = isinstance(v, int | float) and not isinstance(v, bool)
        if not ok[name]:
            raise ConfigError(f"{source}: train.{name} has the wrong type: {v!r}")
        values[name] = tuple(v) if name == "hidden" else float(v) if name in _FLOATS else v
    return TrainConfig(**values, source=source).validate()


def load_train(path: str | Path) -> TrainConfig:
    p = Path(path)
    return from_dict(read_yaml(p, "training config"), str(p))
