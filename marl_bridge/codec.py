"""Gymnasium spaces <-> the flat float64 data of Observation and Action messages.

A space is flattened leaf by leaf (Dict in key order, Tuple in index order) into one float64 vector.
float64 holds every float16/32/64 value and every integer up to 2**53 exactly, so a round trip is
bit-exact; integers beyond that range raise `CodecError` instead of being silently rounded.
Spaces also travel as JSON (`space_to_json`), so an actor needs no copy of the environment, and each
space has a `layout` id (crc32 of that JSON) that messages carry to catch mismatched peers.
"""

from __future__ import annotations

import json
import zlib
from array import array
from dataclasses import dataclass
from typing import Any

import numpy as np
from gymnasium import spaces

EXACT_INT_LIMIT = 2**53
SUPPORTED = "Box, Discrete, MultiDiscrete, MultiBinary, Dict, Tuple (nested)"


class CodecError(ValueError):
    """A space cannot be encoded, or data does not fit its space."""


def _scalarize(values: np.ndarray) -> Any:
    """JSON form of an array of bounds: one number when all equal, else a flat list."""
    flat = values.reshape(-1).tolist()
    if flat and all(v == flat[0] for v in flat):
        return flat[0]
    return flat


def space_to_json(space: spaces.Space, where: str = "space") -> dict[str, Any]:
    """Describe a space as plain JSON data (inverse: `space_from_json`)."""
    if isinstance(space, spaces.Box):
        return {"type": "Box", "shape": list(space.shape), "dtype": str(space.dtype),
                "low": _scalarize(space.low), "high": _scalarize(space.high)}
    if isinstance(space, spaces.Discrete):
        return {"type": "Discrete", "n": int(space.n), "start": int(space.start)}
    if isinstance(space, spaces.MultiDiscrete):
        return {"type": "MultiDiscrete", "nvec": space.nvec.tolist(), "start": space.start.tolist(),
                "dtype": str(space.dtype)}
    if isinstance(space, spaces.MultiBinary):
        return {"type": "MultiBinary", "n": list(space.shape)}
    if isinstance(space, spaces.Dict):
        return {"type": "Dict",
                "spaces": [[k, space_to_json(s, f"{where}[{k!r}]")] for k, s in space.spaces.items()]}
    if isinstance(space, spaces.Tuple):
        return {"type": "Tuple",
                "spaces": [space_to_json(s, f"{where}[{i}]") for i, s in enumerate(space.spaces)]}
    raise CodecError(f"{where}: unsupported space {space!r}; supported: {SUPPORTED}")


def space_from_json(data: dict[str, Any]) -> spaces.Space:
    """Rebuild a space from `space_to_json` output."""
    kind = data.get("type")
    if kind == "Box":
        shape = tuple(data["shape"])
        dtype = np.dtype(data["dtype"])
        low = np.broadcast_to(np.asarray(data["low"], dtype=np.float64), shape).reshape(shape)
        high = np.broadcast_to(np.asarray(data["high"], dtype=np.float64), shape).reshape(shape)
        return spaces.Box(low.astype(dtype), high.astype(dtype), shape, dtype)
    if kind == "Discrete":
        return spaces.Discrete(int(data["n"]), start=int(data["start"]))
    if kind == "MultiDiscrete":
        return spaces.MultiDiscrete(np.asarray(data["nvec"]), dtype=data["dtype"],
                                    start=np.asarray(data["start"]))
    if kind == "MultiBinary":
        n = data["n"]
        return spaces.MultiBinary(n[0] if len(n) == 1 else n)
    if kind == "Dict":
        return spaces.Dict({k: space_from_json(s) for k, s in data["spaces"]})
    if kind == "Tuple":
        return spaces.Tuple([space_from_json(s) for s in data["spaces"]])
    raise CodecError(f"unknown space type {kind!r} in space JSON; supported: {SUPPORTED}")


def space_json_text(space: spaces.Space, where: str = "space") -> str:
    return json.dumps(space_to_json(space, where), sort_keys=True, separators=(",", ":"))


def layout_id(space: spaces.Space) -> int:
    """crc32 of the space's canonical JSON: equal spaces give equal ids on every host."""
    return zlib.crc32(space_json_text(space).encode())


@dataclass(frozen=True)
class _Leaf:
    """One array-like leaf of a (possibly nested) space, at `offset` in the flat vector."""

    offset: int
    size: int
    shape: tuple[int, ...]
    dtype: np.dtype
    scalar: bool  # Discrete: decoded as a numpy integer scalar, not an array
    integral: bool


def _leaves(space: spaces.Space, offset: int, where: str) -> list[_Leaf]:
    if isinstance(space, spaces.Discrete):
        return [_Leaf(offset, 1, (), np.dtype(space.dtype), True, True)]
    if isinstance(space, spaces.Box | spaces.MultiDiscrete | spaces.MultiBinary):
        dtype = np.dtype(space.dtype)
        size = int(np.prod(space.shape, dtype=np.int64))
        integral = not np.issubdtype(dtype, np.floating)
        return [_Leaf(offset, size, tuple(space.shape), dtype, False, integral)]
    if isinstance(space, spaces.Dict | spaces.Tuple):
        out: list[_Leaf] = []
        items = space.spaces.items() if isinstance(space, spaces.Dict) else enumerate(space.spaces)
        for key, sub in items:
            sub_leaves = _leaves(sub, offset, f"{where}[{key!r}]")
            out.extend(sub_leaves)
            offset = sub_leaves[-1].offset + sub_leaves[-1].size if sub_leaves else offset
        return out
    raise CodecError(f"{where}: unsupported space {space!r}; supported: {SUPPORTED}")


class SpaceCodec:
    """Encoder/decoder for one space, with its leaf layout computed once."""

    def __init__(self, space: spaces.Space, where: str = "space") -> None:
        self.space = space
        self.where = where
        self.json = space_json_text(space, where)
        self.layout = zlib.crc32(self.json.encode())
        self._leaves = _leaves(space, 0, where)
        self.size = sum(leaf.size for leaf in self._leaves)
        self._simple = isinstance(space, spaces.Box) and np.issubdtype(space.dtype, np.floating)
        mask = np.zeros(self.size, dtype=bool)
        for leaf in self._leaves:
            if leaf.integral:
                mask[leaf.offset:leaf.offset + leaf.size] = True
        self._int_mask = mask if mask.any() else None
        # A plain Discrete (most discrete-action envs): one integer, checked and cast without numpy.
        self._discrete: tuple[int, int, type] | None = None
        if isinstance(space, spaces.Discrete):
            self._discrete = (int(space.start), int(space.start + space.n - 1), np.dtype(space.dtype).type)
        # Fast range checks for the common single-leaf spaces; anything else uses space.contains.
        self._bounds: tuple[np.ndarray, np.ndarray] | None = None
        if isinstance(space, spaces.Box):
            self._bounds = (space.low.reshape(-1).astype(np.float64), space.high.reshape(-1).astype(np.float64))
        elif isinstance(space, spaces.Discrete):
            self._bounds = (np.array([space.start], np.float64), np.array([space.start + space.n - 1], np.float64))
        self._finite_bounds = self._bounds is not None and bool(
            np.isfinite(self._bounds[0]).all() and np.isfinite(self._bounds[1]).all())
        # Small float Boxes with finite bounds (robot commands): plain-Python bound checks beat numpy's
        # per-call overhead several times over; NaN fails the comparison and takes the full path.
        self._small: tuple[list[float], list[float], np.dtype, tuple[int, ...] | None] | None = None
        if self._simple and self._finite_bounds and self.size <= 16:
            assert self._bounds is not None
            self._small = (self._bounds[0].tolist(), self._bounds[1].tolist(), np.dtype(space.dtype),
                           None if len(space.shape) == 1 else tuple(space.shape))

    # -- encode ---------------------------------------------------------------------------------
    def encode(self, value: Any) -> np.ndarray:
        """Flatten a value of the space into a float64 vector (raises CodecError when impossible)."""
        if self._simple:
            out = np.asarray(value, dtype=np.float64).reshape(-1)
            if out.size != self.size:
                raise CodecError(f"{self.where}: value has {out.size} elements, expected {self.size}")
            return out
        out = np.empty(self.size, dtype=np.float64)
        self._encode_into(self.space, value, out, iter(self._leaves))
        return out

    def pack(self, value: Any) -> array:
        """`encode` straight into the array('d') a message's data field takes (assigning an ndarray to
        the field costs about ten times more)."""
        if self._discrete is not None and isinstance(value, int | np.integer):
            number = int(value)
            if abs(number) > EXACT_INT_LIMIT:
                raise CodecError(f"{self.where}: integer value beyond +-2**53 cannot travel exactly as float64")
            return array("d", (number,))
        if self._small is not None and isinstance(value, np.ndarray) and value.shape == (self.size,):
            return array("d", value.tolist())  # float16/32/64 -> float exactly; cheaper than a buffer copy
        return array("d", self.encode(value).tobytes())

    def _encode_into(self, space: spaces.Space, value: Any, out: np.ndarray, leaves: Any) -> None:
        if isinstance(space, spaces.Dict):
            for key, sub in space.spaces.items():
                self._encode_into(sub, value[key], out, leaves)
            return
        if isinstance(space, spaces.Tuple):
            for sub, item in zip(space.spaces, value, strict=True):
                self._encode_into(sub, item, out, leaves)
            return
        leaf: _Leaf = next(leaves)
        arr = np.asarray(value).reshape(-1)
        if arr.size != leaf.size:
            raise CodecError(f"{self.where}: leaf at offset {leaf.offset} has {arr.size} elements, "
                             f"expected {leaf.size}")
        if leaf.integral and arr.size and arr.dtype.kind in "iu" and (
                int(arr.max()) > EXACT_INT_LIMIT or int(arr.min()) < -EXACT_INT_LIMIT):
            raise CodecError(f"{self.where}: integer value beyond +-2**53 cannot travel exactly as float64")
        out[leaf.offset:leaf.offset + leaf.size] = arr

    # -- decode ---------------------------------------------------------------------------------
    def decode(self, data: Any) -> Any:
        """Rebuild a value of the space from flat data (trusted: see `decode_checked`)."""
        if self._discrete is not None:
            return self._discrete[2](data[0])
        flat = np.asarray(data, dtype=np.float64)
        if self._simple:
            return flat.astype(self.space.dtype).reshape(self.space.shape)
        return self._decode(self.space, flat, iter(self._leaves))

    def _decode(self, space: spaces.Space, flat: np.ndarray, leaves: Any) -> Any:
        if isinstance(space, spaces.Dict):
            return {key: self._decode(sub, flat, leaves) for key, sub in space.spaces.items()}
        if isinstance(space, spaces.Tuple):
            return tuple(self._decode(sub, flat, leaves) for sub in space.spaces)
        leaf: _Leaf = next(leaves)
        part = flat[leaf.offset:leaf.offset + leaf.size]
        if leaf.scalar:
            return leaf.dtype.type(part[0])
        return part.astype(leaf.dtype).reshape(leaf.shape)

    def decode_checked(self, data: Any) -> Any:
        """Decode untrusted data; raise CodecError saying what is wrong (size, NaN/inf, range)."""
        discrete = self._discrete
        if discrete is not None and len(data) == 1:
            number = data[0]  # is_integer() is False for NaN and inf
            if isinstance(number, float) and number.is_integer() and discrete[0] <= number <= discrete[1]:
                return discrete[2](number)
        small = self._small
        if small is not None and len(data) == self.size:
            low, high, dtype, shape = small
            for v, lo, hi in zip(data, low, high):  # noqa: B905 (lengths equal); a loop beats all(<genexpr>)
                if not lo <= v <= hi:
                    break
            else:
                value = np.array(data, dtype=dtype)
                return value if shape is None else value.reshape(shape)
        flat = np.asarray(data, dtype=np.float64)
        if flat.ndim != 1 or flat.size != self.size:
            raise CodecError(f"{self.where}: got {flat.size} values, expected {self.size}")
        if self._bounds is not None and self._int_mask is None:
            # Float Box: one pass decides the common valid case (NaN fails every comparison).
            low, high = self._bounds
            if (flat >= low).all() and (flat <= high).all() and self._finite_bounds:
                return self.decode(flat)
        if not np.isfinite(flat).all():
            raise CodecError(f"{self.where}: contains NaN or inf")
        if self._int_mask is not None:
            ints = flat[self._int_mask]
            if not np.array_equal(ints, np.floor(ints)):
                raise CodecError(f"{self.where}: non-integer value for an integer space")
            if np.any(np.abs(ints) > EXACT_INT_LIMIT):
                raise CodecError(f"{self.where}: integer value beyond +-2**53")
            for leaf in self._leaves:  # a cast would wrap out-of-range integers silently
                if leaf.integral and leaf.dtype != np.bool_:
                    info = np.iinfo(leaf.dtype)
                    part = flat[leaf.offset:leaf.offset + leaf.size]
                    if part.size and (part.min() < info.min or part.max() > info.max):
                        raise CodecError(f"{self.where}: value outside the range of {leaf.dtype}")
        if self._bounds is not None:
            low, high = self._bounds
            if not ((flat >= low).all() and (flat <= high).all()):
                raise CodecError(f"{self.where}: value outside the space {self.space}")
            return self.decode(flat)
        value = self.decode(flat)
        if not self.space.contains(value):
            raise CodecError(f"{self.where}: value outside the space {self.space}")
        return value
