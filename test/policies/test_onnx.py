"""ONNX policies: tiny models built here from numpy weights, for every space kind and every check."""

from __future__ import annotations

import itertools
import math
from pathlib import Path

import numpy as np
import onnxruntime as ort
import pytest
from gymnasium import spaces

from marl_bridge.config import ConfigError, PolicyConfig
from marl_bridge.policies import make_policy
from marl_bridge.policies.contract import policy_contract_test
from marl_bridge.policies.onnx_build import mlp_model, write_model

RNG = np.random.default_rng(0)
OBS = spaces.Box(-1.0, 1.0, (5,), np.float32)


def _layers(sizes: list[int]) -> list[tuple[np.ndarray, np.ndarray]]:
    return [(RNG.normal(size=(a, b)), RNG.normal(size=b)) for a, b in itertools.pairwise(sizes)]


def _model(tmp_path: Path, name: str, sizes: list[int], **kwargs: object) -> str:
    return str(write_model(tmp_path / name, mlp_model(_layers(sizes), **kwargs)))  # type: ignore[arg-type]


def _numpy_mlp(path: str, x: np.ndarray) -> np.ndarray:
    """The same model evaluated by onnxruntime directly (the reference for the policy's post-processing)."""
    sess = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    return sess.run(None, {sess.get_inputs()[0].name: x[None, :].astype(np.float32)})[0][0].astype(np.float64)


def test_box_mean_is_the_head_clipped_to_the_bounds(tmp_path: Path) -> None:
    path = _model(tmp_path, "m.onnx", [5, 8, 2], metadata={"marl_bridge.box_output": "mean"})
    act = spaces.Box(-0.5, 0.5, (2,), np.float32)
    policy = make_policy(PolicyConfig(kind="onnx", path=path), "robot", OBS, act)
    for x in RNG.uniform(-1, 1, (20, 5)).astype(np.float32):
        expected = np.clip(_numpy_mlp(path, x), -0.5, 0.5).astype(np.float32)
        assert np.array_equal(policy.act(x), expected)
    assert math.isnan(policy.last_entropy)  # no log_std output: nothing to say about the distribution


def test_box_tanh_squashes_into_asymmetric_bounds_and_the_config_may_say_it(tmp_path: Path) -> None:
    path = _model(tmp_path, "t.onnx", [5, 3])  # no metadata: the config names the squash
    act = spaces.Box(np.array([0.0, -2.0, 1.0], np.float32), np.array([1.0, 2.0, 5.0], np.float32))
    policy = make_policy(PolicyConfig(kind="onnx", path=path, kwargs={"box_output": "tanh"}), "robot", OBS, act)
    x = RNG.uniform(-1, 1, 5).astype(np.float32)
    head = _numpy_mlp(path, x)
    t = np.clip(np.tanh(head).astype(np.float32).astype(np.float64), -(1 - 1e-6), 1 - 1e-6)
    expected = ((act.high + act.low) / 2.0 + (act.high - act.low) / 2.0 * t).astype(np.float32)
    assert np.array_equal(policy.act(x), expected)


def test_box_sampling_is_seeded_and_reports_the_gaussian_entropy(tmp_path: Path) -> None:
    log_std = np.array([-1.0, 0.5])
    path = _model(tmp_path, "s.onnx", [5, 8, 2], log_std=log_std, metadata={"marl_bridge.box_output": "tanh"})
    act = spaces.Box(-1.0, 1.0, (2,), np.float32)
    sampled = PolicyConfig(kind="onnx", path=path, deterministic=False)
    a, b = make_policy(sampled, "r", OBS, act), make_policy(sampled, "r", OBS, act)
    mean = make_policy(PolicyConfig(kind="onnx", path=path), "r", OBS, act)
    a.reset(3)
    b.reset(3)
    x = np.zeros(5, np.float32)
    draws_a = [a.act(x) for _ in range(5)]
    assert all(np.array_equal(p, q) for p, q in zip(draws_a, [b.act(x) for _ in range(5)], strict=True))
    assert len({p.tobytes() for p in draws_a}) == 5  # samples, not the mean
    assert all(np.array_equal(mean.act(x), mean.act(x)) for _ in range(3))
    assert a.last_entropy == pytest.approx(float(np.sum(log_std) + math.log(2 * math.pi * math.e)))


def test_discrete_argmax_or_seeded_sample_with_entropy(tmp_path: Path) -> None:
    path = _model(tmp_path, "d.onnx", [5, 8, 4], head="logits")
    act = spaces.Discrete(4, start=1)
    greedy = make_policy(PolicyConfig(kind="onnx", path=path), "a", OBS, act)
    sampler = make_policy(PolicyConfig(kind="onnx", path=path, deterministic=False), "a", OBS, act)
    sampler.reset(0)
    seen = set()
    for x in RNG.uniform(-1, 1, (40, 5)).astype(np.float32):
        logits = _numpy_mlp(path, x)
        assert greedy.act(x) == 1 + int(np.argmax(logits))
        p = np.exp(logits - logits.max())
        p /= p.sum()
        assert greedy.last_entropy == pytest.approx(float(-(p * np.log(p)).sum()))
        seen.add(int(sampler.act(x)))
    assert seen <= {1, 2, 3, 4} and len(seen) > 1


def test_multidiscrete_takes_one_logit_block_per_dimension(tmp_path: Path) -> None:
    path = _model(tmp_path, "md.onnx", [5, 6, 7], head="logits")
    act = spaces.MultiDiscrete([3, 4])
    policy = make_policy(PolicyConfig(kind="onnx", path=path), "a", OBS, act)
    x = RNG.uniform(-1, 1, 5).astype(np.float32)
    logits = _numpy_mlp(path, x)
    assert policy.act(x).tolist() == [int(np.argmax(logits[:3])), int(np.argmax(logits[3:]))]


def test_dict_observation_feeds_named_inputs_or_one_flat_input(tmp_path: Path) -> None:
    obs = spaces.Dict({"lidar": spaces.Box(0, 1, (3,), np.float32), "pose": spaces.Box(-1, 1, (2,), np.float32)})
    act = spaces.Discrete(3)
    layers = _layers([5, 3])
    named = str(write_model(tmp_path / "n.onnx", mlp_model(layers, inputs=[("pose", 2), ("lidar", 3)],
                                                            head="logits")))
    flat = str(write_model(tmp_path / "f.onnx", mlp_model(layers, head="logits")))
    a = make_policy(PolicyConfig(kind="onnx", path=named), "a", obs, act)
    b = make_policy(PolicyConfig(kind="onnx", path=flat), "a", obs, act)
    sample = obs.sample()
    # flat: gymnasium order (keys sorted: lidar, pose); named: the model's own order (pose, lidar)
    x_flat = np.concatenate([sample["lidar"], sample["pose"]])
    x_named = np.concatenate([sample["pose"], sample["lidar"]])
    w, c = layers[0]
    assert int(b.act(sample)) == int(np.argmax(x_flat @ w + c))
    assert int(a.act(sample)) == int(np.argmax(x_named @ w + c))


def test_double_models_and_threads_option(tmp_path: Path) -> None:
    path = _model(tmp_path, "d64.onnx", [5, 4, 2], dtype=np.float64, input_dtype=np.float32,
                  metadata={"marl_bridge.box_output": "tanh"})
    act = spaces.Box(-1.0, 1.0, (2,), np.float32)
    policy = make_policy(PolicyConfig(kind="onnx", path=path, kwargs={"threads": 2}), "a", OBS, act)
    x = RNG.uniform(-1, 1, 5).astype(np.float32)
    (w0, b0), (w1, b1) = _layers_of(path)
    head = np.tanh(x.astype(np.float64) @ w0 + b0) @ w1 + b1
    assert np.allclose(policy.act(x), np.tanh(head), atol=1e-6)


def _layers_of(path: str) -> list[tuple[np.ndarray, np.ndarray]]:
    import onnx
    from onnx import numpy_helper

    inits = {i.name: numpy_helper.to_array(i) for i in onnx.load(path).graph.initializer}
    return [(inits[f"W{i}"], inits[f"b{i}"]) for i in range(len([k for k in inits if k.startswith("W")]))]


@pytest.mark.parametrize(("make", "message"), [
    (lambda p: _model(p, "x.onnx", [6, 2], metadata={"marl_bridge.box_output": "mean"}),
     "input 'observation' takes 6 values; the observation space gives 5"),
    (lambda p: _model(p, "x.onnx", [5, 3], metadata={"marl_bridge.box_output": "mean"}),
     "output 'action' has 3 values; the action space Box(-1.0, 1.0, (2,), float32) needs 2"),
    (lambda p: _model(p, "x.onnx", [5, 2]), "a Box action needs kwargs.box_output (mean or tanh)"),
    (lambda p: str(write_model(p / "x.onnx", b"not a model")), "onnxruntime cannot load the model"),
    (lambda p: str(p / "missing.onnx"), "no such model file"),
])
def test_mismatches_are_config_errors_naming_file_agent_and_expectation(tmp_path: Path, make: object,
                                                                       message: str) -> None:
    path = make(tmp_path)  # type: ignore[operator]
    with pytest.raises(ConfigError) as err:
        make_policy(PolicyConfig(kind="onnx", path=path), "robot_7", OBS, spaces.Box(-1.0, 1.0, (2,), np.float32))
    assert message in str(err.value) and "robot_7" in str(err.value) and path in str(err.value)


def test_wrong_input_type_and_sampling_without_log_std_are_refused(tmp_path: Path) -> None:
    import onnx
    from onnx import TensorProto, helper

    graph = helper.make_graph([helper.make_node("Cast", ["observation"], ["action"], to=TensorProto.FLOAT)], "g",
                              [helper.make_tensor_value_info("observation", TensorProto.INT64, [1, 5])],
                              [helper.make_tensor_value_info("action", TensorProto.FLOAT, [1, 5])])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.save(model, tmp_path / "int.onnx")
    with pytest.raises(ConfigError, match="input 'observation' has element type tensor\\(int64\\)"):
        make_policy(PolicyConfig(kind="onnx", path=str(tmp_path / "int.onnx"), kwargs={"box_output": "mean"}),
                    "a", OBS, spaces.Box(-1.0, 1.0, (5,), np.float32))
    path = _model(tmp_path, "nols.onnx", [5, 2], metadata={"marl_bridge.box_output": "tanh"})
    with pytest.raises(ConfigError, match="no 'log_std' output"):
        make_policy(PolicyConfig(kind="onnx", path=path, deterministic=False), "a", OBS,
                    spaces.Box(-1.0, 1.0, (2,), np.float32))


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"box_output": "sigmoid"}, "box_output is 'sigmoid'; expected one of mean, tanh"),
    ({"threads": 0}, "threads must be an integer >= 1"),
    ({"batch": 4}, "kwargs.batch: unknown option of an onnx policy"),
])
def test_bad_onnx_options_are_config_errors(tmp_path: Path, kwargs: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        make_policy(PolicyConfig(kind="onnx", path=str(tmp_path / "m.onnx"), kwargs=kwargs), "a", OBS,
                    spaces.Discrete(2))


def test_every_built_in_kind_keeps_the_policy_contract(tmp_path: Path) -> None:
    box = spaces.Box(-1.0, 1.0, (2,), np.float32)
    np.savez(tmp_path / "w.npz", W0=RNG.normal(size=(5, 2)), b0=RNG.normal(size=2))
    policy_contract_test(PolicyConfig(kind="random"), OBS, box)
    policy_contract_test(PolicyConfig(kind="scripted", entry_point="marl_bridge.policies.scripts:zero"), OBS, box)
    policy_contract_test(PolicyConfig(kind="mlp", path=str(tmp_path / "w.npz")), OBS, box)
    sampled = _model(tmp_path, "s.onnx", [5, 4, 2], log_std=np.array([-0.5, -0.5]),
                     metadata={"marl_bridge.box_output": "tanh"})
    policy_contract_test(PolicyConfig(kind="onnx", path=sampled, deterministic=False), OBS, box)
    logits = _model(tmp_path, "l.onnx", [5, 3], head="logits")
    policy_contract_test(PolicyConfig(kind="onnx", path=logits, deterministic=False), OBS, spaces.Discrete(3))
