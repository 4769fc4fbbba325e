"""Policy kinds found by name: built-ins, and a third party's kind through a real entry point."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from gymnasium import spaces

from marl_bridge.config import ConfigError, PolicyConfig, from_dict
from marl_bridge.policies import make_policy
from marl_bridge.policies.contract import policy_contract_test
from marl_bridge.policies.registry import ENTRY_POINT_GROUP, policy_kinds

PLUGIN = '''
import numpy as np
from marl_bridge.config import ConfigError
from marl_bridge.policies.registry import PolicyKind


class Constant:
    def __init__(self, value, space):
        self.value, self.space, self.description = value, space, f"constant({value})"

    def reset(self, seed):
        pass

    def act(self, observation):
        return np.full(self.space.shape, self.value, self.space.dtype)


def _check(cfg, where):
    if "value" not in cfg.kwargs:
        raise ConfigError(f"{where}.kwargs.value is required for a constant policy")


KIND = PolicyKind("constant", lambda cfg, agent, obs, act: Constant(cfg.kwargs["value"], act), _check,
                  "the same action every step")
'''


def _distribution(root: Path, name: str, entry: str) -> None:
    """An installed distribution as pip leaves it: a module and a dist-info with entry_points.txt."""
    info = root / f"{name}-0.1.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text(f"[{ENTRY_POINT_GROUP}]\n{entry}\n")


@pytest.fixture
def plugin_path(tmp_path: Path) -> Iterator[Path]:
    sys.path.insert(0, str(tmp_path))
    policy_kinds.cache_clear()
    yield tmp_path
    sys.path.remove(str(tmp_path))
    sys.modules.pop("constant_policy", None)
    policy_kinds.cache_clear()


def test_a_third_party_kind_is_found_by_entry_point_and_keeps_the_contract(plugin_path: Path) -> None:
    (plugin_path / "constant_policy.py").write_text(PLUGIN)
    _distribution(plugin_path, "constant_policy", "constant = constant_policy:KIND")
    assert {"random", "scripted", "mlp", "onnx", "constant"} <= set(policy_kinds())
    box = spaces.Box(-1.0, 1.0, (2,), np.float32)
    policy_contract_test(PolicyConfig(kind="constant", kwargs={"value": 0.25}), box, box)
    # its own config check runs when a run config is parsed, naming file and key
    run = {"run": {"seed": 1, "episodes": 1}, "env": {"entry_point": "m:f", "reward_definition": "r"},
           "policy": {"shared": True, "default": {"kind": "constant"}},
           "supervisor": {"step_deadline_s": 1.0, "max_steps": 0, "fallback": {"kind": "zero"}}}
    with pytest.raises(ConfigError, match=r"team.yaml: policy.default.kwargs.value is required"):
        from_dict(run, "team.yaml")


def test_unknown_kind_names_the_known_ones_and_the_group() -> None:
    with pytest.raises(ConfigError, match=r"kind is 'ppo'; expected one of: mlp \(numpy MLP .*\); onnx \(.*"
                                          r"random \(.*scripted \(.*marl_bridge.policies"):
        make_policy(PolicyConfig(kind="ppo"), "a", spaces.Discrete(2), spaces.Discrete(2))


def test_broken_or_clashing_plugins_are_config_errors_naming_the_entry_point(plugin_path: Path) -> None:
    _distribution(plugin_path, "broken_policy", "broken = no_such_module:KIND")
    with pytest.raises(ConfigError, match=r"entry point broken = no_such_module:KIND .* cannot be loaded"):
        policy_kinds()
    policy_kinds.cache_clear()
    (plugin_path / "broken_policy-0.1.dist-info" / "entry_points.txt").write_text(
        f"[{ENTRY_POINT_GROUP}]\nrandom = constant_policy:KIND\n")
    (plugin_path / "constant_policy.py").write_text(PLUGIN)
    with pytest.raises(ConfigError, match="the name of a built-in policy kind"):
        policy_kinds()
