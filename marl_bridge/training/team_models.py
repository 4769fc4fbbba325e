"""The team's networks as TorchRL modules: decentralised Gaussian actors, a centralised or local critic.

Actors see only their agent's observation (what runs on the robot). The MAPPO critic sees `env.state()`
joined with the agent's own observation (an agent-specific global state, so agents with different rewards
get different values from one shared critic); the IPPO critic sees the observation only. Critics are
used in training only and never exported.
"""

from __future__ import annotations

import torch
from tensordict.nn import AddStateIndependentNormalScale, TensorDictModule
from torch import nn
from torchrl.modules import MultiAgentMLP, ProbabilisticActor, TanhNormal, ValueOperator

from marl_bridge.training.config import TrainConfig

GROUP = "agents"
OBS = (GROUP, "observation")
ACTION = (GROUP, "action")


class AgentState(nn.Module):
    """state (..., S) and observations (..., N, O) -> (..., N, S + O)."""

    def forward(self, state: torch.Tensor, obs: torch.Tensor) -> torch.Tensor:
        return torch.cat([state.unsqueeze(-2).expand(*obs.shape[:-1], state.shape[-1]), obs], dim=-1)


def actor_mlp(cfg: TrainConfig, n_agents: int, obs_dim: int, act_dim: int) -> MultiAgentMLP:
    return MultiAgentMLP(n_agent_inputs=obs_dim, n_agent_outputs=act_dim, n_agents=n_agents, centralised=False,
                         share_params=cfg.share_policy, depth=len(cfg.hidden), num_cells=list(cfg.hidden),
                         activation_class=nn.Tanh)


def build_actor(cfg: TrainConfig, n_agents: int, obs_dim: int, low: torch.Tensor,
                high: torch.Tensor) -> ProbabilisticActor:
    act_dim = int(low.shape[-1])
    scale_shape = (act_dim,) if cfg.share_policy else (n_agents, act_dim)
    net = nn.Sequential(actor_mlp(cfg, n_agents, obs_dim, act_dim),
                        AddStateIndependentNormalScale(scale_shape, init_value=cfg.init_log_std))
    module = TensorDictModule(net, in_keys=[OBS], out_keys=[(GROUP, "loc"), (GROUP, "scale")])
    return ProbabilisticActor(module, in_keys={"loc": (GROUP, "loc"), "scale": (GROUP, "scale")},
                              out_keys=[ACTION], distribution_class=TanhNormal,
                              distribution_kwargs={"low": low, "high": high}, return_log_prob=True)


class Cast(nn.Module):
    def __init__(self, dtype: torch.dtype) -> None:
        super().__init__()
        self.dtype = dtype

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.to(self.dtype)


def float64_actor(cfg: TrainConfig, actor: ProbabilisticActor, n_agents: int, obs_dim: int, low: torch.Tensor,
                  high: torch.Tensor) -> nn.Module:
    """The trained actor computing in float64 (weights widened exactly), fed float32 observations and
    handing float32 actions to the env: the arithmetic of the exported ONNX model (see export.py)."""
    from tensordict.nn import TensorDictSequential

    wide = build_actor(cfg, n_agents, obs_dim, low.double(), high.double()).double()
    wide.load_state_dict({k: v.double() for k, v in actor.state_dict().items()})
    return TensorDictSequential(TensorDictModule(Cast(torch.float64), in_keys=[OBS], out_keys=[OBS]), wide,
                                TensorDictModule(Cast(torch.float32), in_keys=[ACTION], out_keys=[ACTION]))


def build_critic(cfg: TrainConfig, n_agents: int, obs_dim: int, state_dim: int) -> nn.Module:
    centralised = cfg.algorithm == "mappo"
    mlp = MultiAgentMLP(n_agent_inputs=obs_dim + (state_dim if centralised else 0), n_agent_outputs=1,
                        n_agents=n_agents, centralised=False, share_params=True, depth=len(cfg.hidden),
                        num_cells=list(cfg.hidden), activation_class=nn.Tanh)
    if not centralised:
        return ValueOperator(mlp, in_keys=[OBS], out_keys=[(GROUP, "state_value")])
    from tensordict.nn import TensorDictSequential
    join = TensorDictModule(AgentState(), in_keys=["state", OBS], out_keys=[(GROUP, "critic_input")])
    value = TensorDictModule(mlp, in_keys=[(GROUP, "critic_input")], out_keys=[(GROUP, "state_value")])
    return TensorDictSequential(join, value)
