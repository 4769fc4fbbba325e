"""ONNX policies: a model exported by any training library, run by onnxruntime on the CPU.

Config (`kind: onnx`): `path` names the .onnx file (relative to the config file); `deterministic` picks the
distribution's mean (argmax for discrete actions) or a sample from the policy's own seeded RNG; `kwargs`:
  box_output: mean | tanh   how a Box head becomes the action (required for Box actions unless the model's
                            metadata `marl_bridge.box_output` says it): `mean` is the action, clipped to
                            the bounds; `tanh` is a pre-squash mean: low + (high - low) * (tanh(x) + 1) / 2
                            (tanh taken in float64; kept inside the bounds by the head type's resolution,
                            1e-6 for float, 1e-15 for double, as TorchRL's TanhNormal keeps it).
  threads: 1                onnxruntime's intra-op threads (default 1: 16 actors on one computer must not
                            oversubscribe it; inter-op execution is sequential).

Input layout: the agent's observation flattened leaf by leaf (`gymnasium.spaces.flatten`, as the codec
flattens it: Dict in key order) into one float vector, fed to the model's only input as [1, D] (or [D] for
a rank-1 input). A Dict observation may instead map to named inputs: a model whose inputs are named after
the Dict's keys gets each key's flattened part. The input's element type (float or double) is the model's.

Outputs, by name where the model has several, else the first: the head is `action` (Box) or `logits`
(Discrete: n values; MultiDiscrete: one block per dimension, concatenated). Optional: `log_std` (Box: the
Gaussian's log standard deviation in the head's domain, needed to sample; the reported entropy is that
Gaussian's, before any squash) and `entropy` (reported as is). Every shape and element type is checked
against the agent's spaces when the policy is built, so a mismatch is a config error naming the file.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
from gymnasium import spaces

from marl_bridge.config import ConfigError, PolicyConfig
from marl_bridge.policies.heads import categorical_action, head_size

BOX_OUTPUTS = ("mean", "tanh")
_KWARGS = ("box_output", "threads")
_TYPES = {"tensor(float)": np.float32, "tensor(double)": np.float64}
_HALF_LOG_2PI_E = 0.5 * math.log(2.0 * math.pi * math.e)


def validate(cfg: PolicyConfig, where: str) -> None:
    """Static checks of an onnx policy config (the file itself is checked when the policy is built)."""
    if not cfg.path:
        raise ConfigError(f"{where}.path must name an .onnx model file for an onnx policy")
    unknown = sorted(set(cfg.kwargs) - set(_KWARGS))
    if unknown:
        raise ConfigError(f"{where}.kwargs.{unknown[0]}: unknown option of an onnx policy; expected "
                          f"{', '.join(_KWARGS)}")
    if "box_output" in cfg.kwargs and cfg.kwargs["box_output"] not in BOX_OUTPUTS:
        raise ConfigError(f"{where}.kwargs.box_output is {cfg.kwargs['box_output']!r}; expected one of "
                          f"{', '.join(BOX_OUTPUTS)}")
    threads = cfg.kwargs.get("threads", 1)
    if isinstance(threads, bool) or not isinstance(threads, int) or threads < 1:
        raise ConfigError(f"{where}.kwargs.threads must be an integer >= 1, got {threads!r}")


def _width(shape: list[Any], name: str, what: str, where: str) -> int:
    """The fixed last dimension of a [D] or [batch, D] tensor (batch symbolic or 1)."""
    if len(shape) not in (1, 2) or (len(shape) == 2 and isinstance(shape[0], int) and shape[0] != 1):
        raise ConfigError(f"{where}: {what} {name!r} has shape {shape}; expected [D] or [batch, D] with batch "
                          "1 or symbolic")
    if not isinstance(shape[-1], int):
        raise ConfigError(f"{where}: {what} {name!r} has a symbolic last dimension {shape[-1]!r}; expected a "
                          "fixed size")
    return shape[-1]


class OnnxPolicy:
    def __init__(self, session: Any, feeds: list[tuple[str, Any, type, bool]], head: tuple[str, type],
                 log_std: str | None,
                 entropy: str | None, observation_space: spaces.Space, action_space: spaces.Space,
                 box_output: str, deterministic: bool, description: str) -> None:
        self._session = session
        self._feeds = feeds  # (input name, sub-space to flatten, dtype, batched)
        self._outputs = [head[0]] + [n for n in (log_std, entropy) if n]
        self._head_type = head[1]
        self._tanh_limit = 1.0 - float(np.finfo(head[1]).resolution)
        self._has_log_std, self._has_entropy = log_std is not None, entropy is not None
        self.observation_space = observation_space
        self.action_space = action_space
        self.box_output = box_output
        self.deterministic = deterministic
        self.description = description
        self._rng = np.random.default_rng(0)
        self.last_entropy = float("nan")
        if isinstance(action_space, spaces.Box):
            self._low = action_space.low.astype(np.float64).reshape(-1)
            self._high = action_space.high.astype(np.float64).reshape(-1)
            self._mid, self._half = (self._high + self._low) / 2.0, (self._high - self._low) / 2.0
        # the common case, one input and a Box observation: flattening is a reshape (hot path of every robot)
        name, space, dtype, batched = feeds[0]
        self._flat_box = (len(feeds) == 1 and isinstance(space, spaces.Box)
                          and (name, dtype, (1, -1) if batched else (-1,)))

    def reset(self, seed: int) -> None:
        self._rng = np.random.default_rng(seed)

    def _run(self, observation: Any) -> list[np.ndarray]:
        if self._flat_box:
            name, dtype, shape = self._flat_box
            return [o.reshape(-1) for o in self._session.run(self._outputs, {
                name: np.asarray(observation, dtype=dtype).reshape(shape)})]
        feed = {}
        for name, space, dtype, batched in self._feeds:
            x = np.asarray(spaces.flatten(space, observation if space is self.observation_space
                                          else observation[name]), dtype=dtype)
            feed[name] = x[None, :] if batched else x
        return [np.asarray(o).reshape(-1) for o in self._session.run(self._outputs, feed)]

    def act(self, observation: Any) -> Any:
        out = self._run(observation)
        head = out[0].astype(np.float64)
        log_std = out[1].astype(np.float64) if self._has_log_std else None
        space = self.action_space
        if isinstance(space, spaces.Box):
            self.last_entropy = float(log_std.sum()) + _HALF_LOG_2PI_E * head.size if log_std is not None \
                else float("nan")
            x = head if self.deterministic else head + np.exp(log_std) * self._rng.standard_normal(head.size)
            if self.box_output == "tanh":  # rounded to the head's type as torch's tanh in that type rounds
                t = np.tanh(x).astype(self._head_type).astype(np.float64)
                t = np.minimum(np.maximum(t, -self._tanh_limit), self._tanh_limit)
                x = self._mid + self._half * t
            action = np.minimum(np.maximum(x, self._low), self._high).astype(space.dtype).reshape(space.shape)
        else:
            action, self.last_entropy = categorical_action(head, space, self.deterministic, self._rng)
        if self._has_entropy:
            self.last_entropy = float(out[-1].astype(np.float64).sum())
        return action


def load(cfg: PolicyConfig, agent: str, observation_space: spaces.Space, action_space: spaces.Space) -> OnnxPolicy:
    """Open the model and check it against the agent's spaces (ConfigError names file, agent and what)."""
    import onnxruntime as ort

    validate(cfg, f"policy for {agent!r}")
    where = f"policy for {agent!r}: {cfg.path}"
    path = Path(cfg.path)
    if not path.is_file():
        raise ConfigError(f"{where}: no such model file")
    options = ort.SessionOptions()
    options.intra_op_num_threads = int(cfg.kwargs.get("threads", 1))
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.log_severity_level = 3
    try:
        session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    except Exception as exc:  # onnxruntime raises its own exception types for unreadable models
        raise ConfigError(f"{where}: onnxruntime cannot load the model ({type(exc).__name__}: {exc})") from None
    feeds = _feeds(session.get_inputs(), observation_space, where)
    outputs = {o.name: o for o in session.get_outputs()}
    names = list(outputs)
    head_name = next((n for n in ("action", "logits") if n in outputs), names[0])
    expected = head_size(action_space, where)
    for name, size in ((head_name, expected), ("log_std", expected), ("entropy", 1)):
        if name not in outputs:
            continue
        out = outputs[name]
        if out.type not in _TYPES:
            raise ConfigError(f"{where}: output {name!r} has element type {out.type}; expected float or double")
        got = _width(out.shape, name, "output", where)
        if got != size:
            raise ConfigError(f"{where}: output {name!r} has {got} values; the action space {action_space} "
                              f"needs {size}")
    log_std = "log_std" if "log_std" in outputs and head_name != "log_std" else None
    box_output = ""
    if isinstance(action_space, spaces.Box):
        meta = session.get_modelmeta().custom_metadata_map
        box_output = str(cfg.kwargs.get("box_output") or meta.get("marl_bridge.box_output", ""))
        if box_output not in BOX_OUTPUTS:
            raise ConfigError(f"{where}: a Box action needs kwargs.box_output (mean or tanh) or model metadata "
                              f"marl_bridge.box_output; got {box_output or 'neither'!r}")
        if not cfg.deterministic and log_std is None:
            raise ConfigError(f"{where}: deterministic is false but the model has no 'log_std' output to "
                              "sample a Box action from")
    entropy = "entropy" if "entropy" in outputs else None
    return OnnxPolicy(session, feeds, (head_name, _TYPES[outputs[head_name].type]), log_std, entropy,
                      observation_space, action_space, box_output, cfg.deterministic, f"onnx({path.name})")


def _feeds(inputs: list[Any], observation_space: spaces.Space, where: str) -> list[tuple[str, Any, type, bool]]:
    """Which flattened (part of the) observation goes to which model input."""
    if len(inputs) == 1:
        parts = [(inputs[0], observation_space)]
    elif isinstance(observation_space, spaces.Dict):
        keys = list(observation_space.spaces)
        names = [i.name for i in inputs]
        if sorted(names) != sorted(keys):
            raise ConfigError(f"{where}: the model has inputs {names}; a Dict observation maps to inputs named "
                              f"after its keys {keys} (or to one input)")
        parts = [(i, observation_space.spaces[i.name]) for i in inputs]
    else:
        raise ConfigError(f"{where}: the model has {len(inputs)} inputs; expected one (the flattened observation)")
    feeds = []
    for inp, space in parts:
        if inp.type not in _TYPES:
            raise ConfigError(f"{where}: input {inp.name!r} has element type {inp.type}; expected float or double")
        try:
            need = int(spaces.flatdim(space))
        except (NotImplementedError, ValueError, TypeError) as exc:
            raise ConfigError(f"{where}: observation space {space} cannot be flattened ({exc})") from None
        got = _width(inp.shape, inp.name, "input", where)
        if got != need:
            raise ConfigError(f"{where}: input {inp.name!r} takes {got} values; the observation space gives "
                              f"{need} (flattened as gymnasium.spaces.flatten does)")
        feeds.append((inp.name, space, _TYPES[inp.type], len(inp.shape) == 2))
    return feeds
