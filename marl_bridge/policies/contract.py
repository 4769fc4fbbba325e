"""The contract every policy kind keeps, as a plain function a new kind's author calls in a test
(in the spirit of PettingZoo's `parallel_api_test`):

    from marl_bridge.policies.contract import policy_contract_test
    policy_contract_test(PolicyConfig(kind="my_kind", ...), observation_space, action_space)

It checks that the kind is registered, builds like an actor builds it, has a description, answers every
sampled observation with an action inside the action space, is a function of (seed, observations) alone
(the same seed replays the same actions; that is what makes a run through ROS equal the direct rollout),
and reports entropy as a float when it has a `last_entropy` attribute.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from gymnasium import spaces

from marl_bridge.config import PolicyConfig
from marl_bridge.policies.base import make_policy
from marl_bridge.policies.registry import policy_kind


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, tuple):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    return np.array_equal(np.asarray(a), np.asarray(b), equal_nan=True)


def policy_contract_test(cfg: PolicyConfig, observation_space: spaces.Space, action_space: spaces.Space, *,
                         agent: str = "agent_0", steps: int = 20, seed: int = 7) -> None:
    policy_kind(cfg.kind, "policy_contract_test")
    observation_space.seed(seed)
    observations = [observation_space.sample() for _ in range(steps)]
    runs = []
    for _ in range(2):
        policy = make_policy(cfg, agent, observation_space, action_space)
        assert isinstance(policy.description, str) and policy.description, "a policy needs a description"
        policy.reset(seed)
        actions = []
        for obs in observations:
            action = policy.act(obs)
            assert action_space.contains(action), \
                f"{cfg.kind}: action {action!r} is outside the action space {action_space}"
            if hasattr(policy, "last_entropy"):
                assert isinstance(policy.last_entropy, float), f"{cfg.kind}: last_entropy must be a float"
            actions.append(action)
        runs.append(actions)
    assert all(_same(a, b) for a, b in zip(*runs, strict=True)), \
        f"{cfg.kind}: the same seed and observations gave different actions"
