"""K copies of a marl_bridge Parallel env as one batched TorchRL env, for collecting experience fast.

TorchRL's PettingZoo adapter turns every step of one env into many small tensor operations: on the
pursuit task it ran about 180 env steps/s here, five times slower than the MuJoCo step itself, and its
batched forms (SerialEnv) did not amortise it. This adapter steps K envs per call and builds one batch of
tensors for all of them, so the policy runs once per K steps: same keys and specs as the PettingZoo
adapter with `group_map={"agents": ...}` and `return_state=True`, so the same actor and critic train on
it, and the library's own evaluation (training/evaluate.py) still plays through TorchRL's PettingZoo
adapter. Partial resets follow TorchRL's `_reset` convention. Agents must end their episodes together
(pursuit does; a task whose agents leave one by one needs the PettingZoo adapter's masks).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import torch
from tensordict import TensorDict, TensorDictBase
from torchrl.data import Bounded, Categorical, Composite, Unbounded
from torchrl.envs import EnvBase

from marl_bridge.training.team_models import GROUP


class VecTeamEnv(EnvBase):
    def __init__(self, make: Callable[[], Any], copies: int, seed: int) -> None:
        self._envs = [make() for _ in range(copies)]
        first = self._envs[0]
        self.agents = list(first.possible_agents)
        n, k = len(self.agents), copies
        super().__init__(batch_size=torch.Size([k]), device="cpu")
        obs_dim = int(np.prod(first.observation_space(self.agents[0]).shape))
        act_space = first.action_space(self.agents[0])
        state_dim = int(np.prod(np.shape(first.state()))) if hasattr(first, "state") else 0
        if any(first.observation_space(a).shape != (obs_dim,) or first.action_space(a) != act_space
               for a in self.agents):
            raise ValueError("VecTeamEnv needs every agent to share one flat Box observation and one action space")
        self.observation_spec = Composite(
            {GROUP: Composite(observation=Unbounded((k, n, obs_dim), dtype=torch.float32), shape=(k, n)),
             "state": Unbounded((k, state_dim), dtype=torch.float32)}, shape=(k,))
        low = torch.as_tensor(np.broadcast_to(act_space.low, (k, n, *act_space.shape)).copy())
        high = torch.as_tensor(np.broadcast_to(act_space.high, (k, n, *act_space.shape)).copy())
        self.action_spec = Composite({GROUP: Composite(action=Bounded(low, high, (k, n, *act_space.shape),
                                                                      dtype=torch.float32), shape=(k, n))},
                                     shape=(k,))
        self.reward_spec = Composite({GROUP: Composite(reward=Unbounded((k, n, 1)), shape=(k, n))}, shape=(k,))
        flags = ("done", "terminated", "truncated")
        self.done_spec = Composite(
            {**{f: Categorical(2, (k, 1), dtype=torch.bool) for f in flags},
             GROUP: Composite({f: Categorical(2, (k, n, 1), dtype=torch.bool) for f in flags}, shape=(k, n))},
            shape=(k,))
        self._obs = np.zeros((k, n, obs_dim), np.float32)
        self._state = np.zeros((k, state_dim), np.float32)
        for i in range(copies):
            self._reset_one(i, seed + i)

    def _reset_one(self, i: int, seed: int | None) -> None:
        obs, _ = self._envs[i].reset(seed=seed)
        self._obs[i] = [obs[a] for a in self.agents]
        self._state[i] = self._envs[i].state()

    def _out(self, **group: torch.Tensor) -> TensorDict:
        """Observations and state, plus `group` entries for the agents' sub-tensordict (batch (K, n))."""
        k, n = self.batch_size[0], len(self.agents)
        agents = TensorDict({"observation": torch.from_numpy(self._obs.copy()), **group}, batch_size=(k, n))
        return TensorDict({GROUP: agents, "state": torch.from_numpy(self._state.copy())}, batch_size=(k,))

    def _reset(self, tensordict: TensorDictBase | None = None, **kwargs: Any) -> TensorDictBase:
        k, n = self.batch_size[0], len(self.agents)
        mask = np.ones(k, dtype=bool)
        if tensordict is not None:
            r = tensordict.get("_reset", None)
            if r is None and (r := tensordict.get((GROUP, "_reset"), None)) is not None:
                r = r.any(-2)
            if r is not None:
                mask = r.reshape(k).numpy()
        for i in np.flatnonzero(mask):
            self._reset_one(int(i), None)
        flags = ("done", "terminated", "truncated")
        out = self._out(**{f: torch.zeros((k, n, 1), dtype=torch.bool) for f in flags})
        for f in flags:
            out.set(f, torch.zeros((k, 1), dtype=torch.bool))
        return out

    def _step(self, tensordict: TensorDictBase) -> TensorDictBase:
        actions = tensordict.get((GROUP, "action")).detach().numpy()
        k, n = self.batch_size[0], len(self.agents)
        rewards = np.zeros((k, n, 1), np.float32)
        term = np.zeros((k, n, 1), bool)
        trunc = np.zeros((k, n, 1), bool)
        for i, env in enumerate(self._envs):
            obs, rew, te, tr, _ = env.step({a: actions[i, j] for j, a in enumerate(self.agents)})
            ended = [bool(te[a] or tr[a]) for a in self.agents]
            if any(ended) and not all(ended):
                raise ValueError("VecTeamEnv: agents ended their episode at different steps; train this task "
                                 "through TorchRL's PettingZoo adapter instead")
            self._obs[i] = [obs[a] for a in self.agents]
            self._state[i] = env.state()
            rewards[i, :, 0] = [rew[a] for a in self.agents]
            term[i, :, 0] = [te[a] for a in self.agents]
            trunc[i, :, 0] = [tr[a] for a in self.agents]
        flags = {"done": term | trunc, "terminated": term, "truncated": trunc}
        out = self._out(reward=torch.from_numpy(rewards), **{f: torch.from_numpy(v) for f, v in flags.items()})
        for f, v in flags.items():
            out.set(f, torch.from_numpy(v.any(1)))
        return out

    def _set_seed(self, seed: int | None) -> None:
        for i in range(len(self._envs)):
            self._reset_one(i, None if seed is None else seed + i)
