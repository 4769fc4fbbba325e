"""`marl-bridge train CONFIG.yaml`: MAPPO or IPPO from TorchRL's parts on a marl_bridge env.

TorchRL provides the PettingZoo adapter (with `state()` for the critic), the multi-agent MLPs (shared or
per-agent parameters), the TanhNormal policy, the collector, GAE and the clipped PPO loss; this module
only wires them (as TorchRL's own multi-agent PPO example does), then writes what a robot team needs:
checkpoints, a learning curve per agent, one ONNX actor per policy and a deploy config.
"""

from __future__ import annotations

import dataclasses
import json
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

from marl_bridge.envs.backends import offline
from marl_bridge.envs.factory import make_env
from marl_bridge.training.config import TrainConfig
from marl_bridge.training.evaluate import EvalResult, ReturnTap, evaluate
from marl_bridge.training.export import deploy_config, export_actors
from marl_bridge.training.team_models import ACTION, GROUP, build_actor, build_critic, float64_actor


def make_training_env(cfg: TrainConfig) -> Any:
    """`env_copies` envs stepped as one TorchRL batch (vec_env.py), episode returns summed per agent."""
    from torchrl.envs import RewardSum, TransformedEnv

    from marl_bridge.training.vec_env import VecTeamEnv

    run = cfg.run_config()
    where = f"{cfg.source}: base {cfg.base}: env"
    env = VecTeamEnv(lambda: make_env(run.env, where, backend=offline(run.env.backend)),
                     cfg.env_copies, cfg.seed)
    return TransformedEnv(env, RewardSum(in_keys=[(GROUP, "reward")], out_keys=[(GROUP, "episode_reward")]))


def make_torchrl_env(cfg: TrainConfig, seed: int) -> tuple[Any, ReturnTap, list[str]]:
    """One env through TorchRL's own PettingZoo adapter (what the evaluation plays on)."""
    from torchrl.envs import Compose, DoubleToFloat, RewardSum, TransformedEnv
    from torchrl.envs.libs.pettingzoo import PettingZooWrapper

    run = cfg.run_config()
    raw = make_env(run.env, f"{cfg.source}: base {cfg.base}: env", backend=offline(run.env.backend))
    agents = list(raw.possible_agents)
    tap = ReturnTap(raw)
    env = PettingZooWrapper(tap, group_map={GROUP: agents}, return_state=cfg.algorithm == "mappo",
                            use_mask=False, categorical_actions=True, seed=seed, device="cpu")
    env = TransformedEnv(env, Compose(DoubleToFloat(),
                                      RewardSum(in_keys=[(GROUP, "reward")], out_keys=[(GROUP, "episode_reward")])))
    return env, tap, agents


def _max_steps(cfg: TrainConfig) -> int:
    run = cfg.run_config()
    return int(run.env.kwargs.get("max_steps", 0) or run.supervisor.max_steps or 1000)


def train(cfg: TrainConfig, out: Path | None = None, progress: bool = True) -> dict[str, Any]:
    from torchrl.collectors import Collector
    from torchrl.data.replay_buffers import ReplayBuffer
    from torchrl.data.replay_buffers.samplers import SamplerWithoutReplacement
    from torchrl.data.replay_buffers.storages import LazyTensorStorage
    from torchrl.objectives import ClipPPOLoss, ValueEstimators
    from tqdm import tqdm

    out = Path(out or cfg.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    torch.set_num_threads(cfg.threads)
    torch.manual_seed(cfg.seed)
    env = make_training_env(cfg)
    eval_env, eval_tap, agents = make_torchrl_env(cfg, cfg.seed + 1)
    n = len(agents)
    obs_dim = eval_env.observation_spec[GROUP, "observation"].shape[-1]
    action_spec = eval_env.full_action_spec[ACTION]
    low, high = action_spec.space.low, action_spec.space.high
    state_dim = env.observation_spec["state"].shape[-1] if cfg.algorithm == "mappo" else 0
    actor = build_actor(cfg, n, obs_dim, low, high)
    critic = build_critic(cfg, n, obs_dim, state_dim)
    with torch.no_grad():
        critic(actor(env.reset()))  # materialise lazy shapes
    collector = Collector(env, actor, frames_per_batch=cfg.frames_per_batch,
                          total_frames=cfg.frames_per_batch * cfg.iterations, auto_register_policy_transforms=False)
    buffer = ReplayBuffer(storage=LazyTensorStorage(cfg.frames_per_batch), sampler=SamplerWithoutReplacement(),
                          batch_size=cfg.minibatch_size)
    loss = ClipPPOLoss(actor_network=actor, critic_network=critic, clip_epsilon=cfg.clip_epsilon,
                       entropy_coeff=cfg.entropy_coef, normalize_advantage=True,
                       normalize_advantage_exclude_dims=(-2,))  # advantages (batch, agent, 1): per agent
    loss.set_keys(reward=(GROUP, "reward"), action=ACTION, value=(GROUP, "state_value"),
                  done=(GROUP, "done"), terminated=(GROUP, "terminated"))
    loss.make_value_estimator(ValueEstimators.GAE, gamma=cfg.gamma, lmbda=cfg.lmbda)
    optim = torch.optim.Adam(loss.parameters(), cfg.lr)
    max_steps = _max_steps(cfg)

    history: list[dict[str, Any]] = []
    evals: list[dict[str, Any]] = []
    bar = tqdm(total=cfg.iterations, unit="it", desc="train", file=sys.stderr, disable=not progress)
    started = time.monotonic()
    for it, batch in enumerate(collector):
        with torch.no_grad():
            loss.value_estimator(batch, params=loss.critic_network_params,
                                 target_params=loss.target_critic_network_params)
        buffer.extend(batch.reshape(-1))
        for _ in range(cfg.epochs):
            for _ in range(max(1, cfg.frames_per_batch // cfg.minibatch_size)):
                parts = loss(buffer.sample())
                total = parts["loss_objective"] + parts["loss_critic"] + parts["loss_entropy"]
                total.backward()
                torch.nn.utils.clip_grad_norm_(loss.parameters(), cfg.max_grad_norm)
                optim.step()
                optim.zero_grad()
        collector.update_policy_weights_()
        done = batch["next", GROUP, "done"].squeeze(-1)  # (T, n)
        finished = batch["next", GROUP, "episode_reward"].squeeze(-1)[done.all(-1)]  # (episodes, n)
        row = {"iteration": it + 1, "frames": (it + 1) * cfg.frames_per_batch,
               "seconds": round(time.monotonic() - started, 1), "episodes": int(finished.shape[0]),
               "train_return": {a: float(finished[:, i].mean()) for i, a in enumerate(agents)}
               if finished.shape[0] else None,
               "entropy": float(parts.get("entropy", torch.tensor(float("nan"))).mean())}
        history.append(row)
        last = it + 1 == cfg.iterations
        if (it + 1) % cfg.eval_every == 0 or last:
            res = evaluate(eval_env, eval_tap, float64_actor(cfg, actor, n, obs_dim, low, high), cfg.eval_seed,
                           cfg.eval_episodes, max_steps)
            evals.append({"iteration": it + 1, "frames": row["frames"], **res.summary()})
            bar.set_postfix(capture=f"{evals[-1]['capture_rate']:.2f}",
                            ret=f"{np.mean(list(evals[-1]['return_mean'].values())):.2f}")
        if last or (cfg.checkpoint_every and (it + 1) % cfg.checkpoint_every == 0):
            _checkpoint(out / "checkpoints" / f"iter_{it + 1:05d}.pt", actor, critic, optim, it + 1, cfg)
        bar.update(1)
    bar.close()
    collector.shutdown()
    wide = float64_actor(cfg, actor, n, obs_dim, low, high)
    return _finish(cfg, out, actor, wide, eval_env, eval_tap, agents, history, evals, max_steps)


def _checkpoint(path: Path, actor: Any, critic: Any, optim: Any, iteration: int, cfg: TrainConfig) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    torch.save({"iteration": iteration, "actor": actor.state_dict(), "critic": critic.state_dict(),
                "optim": optim.state_dict(), "config": dataclasses.asdict(cfg)}, tmp)
    tmp.replace(path)


def _finish(cfg: TrainConfig, out: Path, actor: Any, wide: Any, eval_env: Any, eval_tap: ReturnTap, agents: list[str],
            history: list[dict[str, Any]], evals: list[dict[str, Any]], max_steps: int) -> dict[str, Any]:
    meta = {"marl_bridge.trained_with": "torchrl", "marl_bridge.algorithm": cfg.algorithm,
            "marl_bridge.train_seed": str(cfg.seed), "marl_bridge.train_config": Path(cfg.source).name}
    models = export_actors(actor, agents, cfg.share_policy, out / "policies", meta)
    deploy = deploy_config(cfg.run_config(), models, cfg.share_policy, out / "deploy.yaml",
                           str(out / "deployed_run"))
    final: EvalResult = evaluate(eval_env, eval_tap, wide, cfg.eval_seed, cfg.eval_episodes, max_steps)
    report = {"config": cfg.source, "train": dataclasses.asdict(cfg), "algorithm": cfg.algorithm,
              "share_policy": cfg.share_policy, "seed": cfg.seed, "agents": agents, "history": history,
              "evaluations": evals,
              "final_eval": {"run_seed": cfg.eval_seed, **final.summary(), "returns": final.returns,
                             "lengths": final.lengths, "captured": final.captured},
              "policies": {a: str(p) for a, p in models.items()}, "deploy_config": str(deploy)}
    (out / "training.json").write_text(json.dumps(report, indent=1) + "\n")
    learning_curve(report, out / "learning_curve.png")
    return report


def learning_curve(report: dict[str, Any], path: Path) -> Path:
    """Per-agent returns over training (exploring) and in the deterministic evaluations; capture rate."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import matplotlib.ticker

    agents = report["agents"]
    fig, axes = plt.subplots(1, 3, figsize=(15, 4))
    rows = [h for h in report["history"] if h["train_return"]]
    for a in agents:
        axes[0].plot([h["frames"] for h in rows], [h["train_return"][a] for h in rows], label=a)
        axes[1].plot([e["frames"] for e in report["evaluations"]], [e["return_mean"][a] for e in report["evaluations"]],
                     marker="o", label=a)
    axes[2].plot([e["frames"] for e in report["evaluations"]], [e["capture_rate"] for e in report["evaluations"]],
                 marker="o", color="black")
    titles = ["training episodes: return per agent", "deterministic evaluation: return per agent",
              "deterministic evaluation: capture rate"]
    for ax, title in zip(axes, titles, strict=True):
        ax.set_title(title, fontsize=10)
        ax.set_xlabel("env steps")
        ax.xaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(lambda v, _: f"{v / 1000:.0f}k"))
    axes[0].legend(fontsize=8)
    axes[1].legend(fontsize=8)
    axes[2].set_ylim(-0.05, 1.05)
    fig.suptitle(f"{report['algorithm']} ({'shared' if report['share_policy'] else 'per-agent'} actors), "
                 f"seed {report['seed']}")
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return path
