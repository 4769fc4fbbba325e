"""Write small ONNX policy models from numpy weights (needs the `onnx` package: the train and test extras).

The training extra exports its actors through this, and the tests build their tiny models with it, so
both produce the layout `onnx_policy` documents: input `observation` [batch, D] (or one input per Dict
key), a Gemm/activation stack, the head as output `action` or `logits`, optional `log_std`/`entropy`.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

OPSET = 17
IR_VERSION = 8  # what onnxruntime releases of the last years all read


def mlp_model(layers: Sequence[tuple[np.ndarray, np.ndarray]], *, activation: str = "tanh",
              inputs: Sequence[tuple[str, int]] = (("observation", 0),), head: str = "action",
              log_std: np.ndarray | None = None, entropy: float | None = None,
              metadata: dict[str, str] | None = None, dtype: type = np.float32,
              input_dtype: type | None = None) -> bytes:
    """An MLP y = W_k(act(... act(W_0 x + b_0))) + b_k as ONNX bytes; W_i has shape (in, out).

    `inputs` are (name, width) concatenated in order (width 0: the first layer's input size). `log_std` and
    `entropy` become constant outputs of those names (a state-independent Gaussian scale, as MAPPO uses).
    `dtype` is the arithmetic and the outputs' type; inputs are `input_dtype` (default: `dtype`), cast first.
    """
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    def elem_of(t: type) -> int:
        return TensorProto.FLOAT if np.dtype(t) == np.float32 else TensorProto.DOUBLE

    elem = elem_of(dtype)
    in_elem = elem_of(input_dtype or dtype)
    if activation not in ("tanh", "relu"):
        raise ValueError(f"activation must be tanh or relu, got {activation!r}")
    n_in = int(layers[0][0].shape[0])
    widths = [w or n_in for _, w in inputs] if len(inputs) == 1 else [w for _, w in inputs]
    if sum(widths) != n_in:
        raise ValueError(f"inputs give {sum(widths)} values, the first layer takes {n_in}")
    nodes, inits = [], []
    graph_inputs = [helper.make_tensor_value_info(name, in_elem, ["batch", w])
                    for (name, _), w in zip(inputs, widths, strict=True)]
    x = inputs[0][0]
    if len(inputs) > 1:
        nodes.append(helper.make_node("Concat", [name for name, _ in inputs], ["x_cat"], axis=1))
        x = "x_cat"
    if in_elem != elem:
        nodes.append(helper.make_node("Cast", [x], ["x_cast"], to=elem))
        x = "x_cast"
    for i, (w, b) in enumerate(layers):
        inits += [numpy_helper.from_array(np.asarray(w, dtype), f"W{i}"),
                  numpy_helper.from_array(np.asarray(b, dtype).reshape(-1), f"b{i}")]
        last = i == len(layers) - 1
        y = head if last else f"h{i}"
        nodes.append(helper.make_node("Gemm", [x, f"W{i}", f"b{i}"], [y if last else f"z{i}"]))
        if not last:
            nodes.append(helper.make_node("Tanh" if activation == "tanh" else "Relu", [f"z{i}"], [y]))
        x = y
    n_out = int(layers[-1][0].shape[1])
    outputs = [helper.make_tensor_value_info(head, elem, ["batch", n_out])]
    for name, value in (("log_std", log_std), ("entropy", None if entropy is None else np.array([entropy]))):
        if value is None:
            continue
        inits.append(numpy_helper.from_array(np.asarray(value, dtype).reshape(1, -1), f"{name}_value"))
        nodes.append(helper.make_node("Identity", [f"{name}_value"], [name]))
        outputs.append(helper.make_tensor_value_info(name, elem, [1, int(np.size(value))]))
    graph = helper.make_graph(nodes, "policy", graph_inputs, outputs, inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)],
                              producer_name="marl_bridge")
    model.ir_version = IR_VERSION
    for key, value in (metadata or {}).items():
        model.metadata_props.add(key=key, value=value)
    onnx.checker.check_model(model)
    return model.SerializeToString()


def write_model(path: str | Path, model: bytes) -> Path:
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_bytes(model)
    return p
