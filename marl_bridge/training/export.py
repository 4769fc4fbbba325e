"""Trained actors -> one ONNX model per policy, and the run config that deploys them unchanged.

Each model is the actor's mean path (the Gaussian's location before the tanh squash) with its
state-independent `log_std` as a second output and metadata `marl_bridge.box_output: tanh`, so the onnx
policy kind squashes exactly as TorchRL's TanhNormal does (docs: marl_bridge/policies/onnx_policy.py).

The model takes the float32 observation the actor was trained on and computes in float64 with the trained
float32 weights (exactly widened). Why: torch and onnxruntime sum float32 products in different orders, so
their float32 actions differ in the last bit most of the time (measured: 484 of 500 observations), and the
physics carries such a bit on. In float64 both land on the same float32 action; the library's own
evaluation (training/evaluate.py) runs the actor in float64 too, and the bridge reproduces it.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import torch

from marl_bridge.config import PolicyConfig, RunConfig, TeamPolicyConfig, dump_yaml
from marl_bridge.policies.onnx_build import mlp_model, write_model


def _layers(params: dict[str, torch.Tensor], index: int | None) -> list[tuple[np.ndarray, np.ndarray]]:
    """(W (in, out), b) per Linear of a torchrl MLP's flat params; `index` picks one agent's stack."""
    ids = sorted({int(k.split(".")[0]) for k in params})
    out = []
    for i in ids:
        w, b = params[f"{i}.weight"], params[f"{i}.bias"]
        if index is not None:
            w, b = w[index], b[index]
        out.append((w.detach().cpu().numpy().T.copy(), b.detach().cpu().numpy().copy()))
    return out


def export_actors(actor: torch.nn.Module, agents: list[str], shared: bool, out_dir: Path,
                  metadata: dict[str, str]) -> dict[str, Path]:
    """Write the ONNX actor(s); returns agent -> model path (one file for every agent when shared)."""
    net = actor.module[0].module  # ProbabilisticActor -> TensorDictModule -> Sequential(MultiAgentMLP, scale)
    mlp, scale = net[0], net[1]
    params = dict(mlp.params.flatten_keys().items())
    log_std = scale.state_independent_scale.detach().cpu().numpy()
    meta = {"marl_bridge.box_output": "tanh", **metadata}
    paths: dict[str, Path] = {}
    if shared:
        model = mlp_model(_layers(params, None), log_std=log_std, metadata={**meta, "agents": ",".join(agents)},
                          dtype=np.float64, input_dtype=np.float32)
        path = write_model(out_dir / "policy.onnx", model)
        return dict.fromkeys(agents, path)
    for i, agent in enumerate(agents):
        model = mlp_model(_layers(params, i), log_std=log_std[i], metadata={**meta, "agents": agent},
                          dtype=np.float64, input_dtype=np.float32)
        paths[agent] = write_model(out_dir / f"{agent}.onnx", model)
    return paths


def deploy_config(run: RunConfig, models: dict[str, Path], shared: bool, path: Path, out_dir: str) -> Path:
    """The run config with its policy replaced by the ONNX actors (paths relative to the written file)."""
    def cfg_for(model: Path) -> PolicyConfig:
        return PolicyConfig(kind="onnx", path=str(model.resolve().relative_to(path.parent.resolve())),
                            deterministic=True)

    if shared:
        policy = TeamPolicyConfig(shared=True, default=cfg_for(next(iter(models.values()))))
    else:
        policy = TeamPolicyConfig(shared=False, per_agent={a: cfg_for(m) for a, m in models.items()})
    deployed = dataclasses.replace(run, policy=policy, run=dataclasses.replace(run.run, out_dir=out_dir),
                                   source=str(path))
    return dump_yaml(deployed, path)
