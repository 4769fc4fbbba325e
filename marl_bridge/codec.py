"""Gymnasium spaces <-> the typed data of Observation and Action messages, and a float64 view for math.

On the wire (`pack`, `unpack`, `unpack_checked`) a value travels in its own dtype: the space is walked
leaf by leaf (Dict in key order, Tuple in index order) and each leaf goes, flattened, to the message
sequence of its kind (`Flat`): float64 to `data`, float32 and float16 to `data_f32`, uint8 and bool to
`data_u8` (images as bytes), every other integer (Discrete, MultiDiscrete, integer Boxes) to
`data_i64`, exactly. So an image costs its bytes, not eight times them, and int64 values travel whole.
For arithmetic (shield, fallbacks) `encode`/`decode` give the old float64 flattening, exact for every
float and for integers up to 2**53 (beyond that `CodecError`, never a silent rounding).
Spaces also travel as JSON (`space_to_json`), so an actor needs no copy of the environment, and each
space has a `layout` id (crc32 of that JSON) that messages carry to catch mismatched peers.
"""

from __future__ import annotations

import dataclasses
import json
import zlib
from array import array
from dataclasses import dataclass
from typing import Any

import numpy as np
from gymnasium import spaces

EXACT_INT_LIMIT = 2**53
CHANNELS = ("f64", "i64", "f32", "u8")  # the wire's sequences, in message order
_TYPECODE = {"f64": "d", "i64": "q", "f32": "f"}
_NUMPY = {"f64": np.dtype("<f8"), "i64": np.dtype("<i8"), "f32": np.dtype("<f4"), "u8": np.dtype("u1")}


def channel_of(dtype: np.dtype) -> str:
    """The message sequence a leaf of this dtype travels in."""
    if dtype == np.float64:
        return "f64"
    if dtype.kind == "f":
        return "f32"  # float16 and float32: float32 holds both exactly
    if dtype == np.uint8 or dtype == np.bool_:
        return "u8"
    return "i64"


class Flat:
    """A value as a message carries it: one typed sequence per kind of leaf (see CHANNELS)."""

    __slots__ = ("f32", "f64", "i64", "u8")

    def __init__(self, f64: array | None = None, i64: array | None = None, f32: array | None = None,
                 u8: bytes = b"") -> None:
        self.f64 = f64 if f64 is not None else array("d")
        self.i64 = i64 if i64 is not None else array("q")
        self.f32 = f32 if f32 is not None else array("f")
        self.u8 = u8

    def buffers(self) -> tuple[Any, Any, Any, Any]:
        return self.f64, self.i64, self.f32, self.u8

    def sizes(self) -> tuple[int, int, int, int]:
        return len(self.f64), len(self.i64), len(self.f32), len(self.u8)

    def nbytes(self) -> int:
        return 8 * (len(self.f64) + len(self.i64)) + 4 * len(self.f32) + len(self.u8)

    def __eq__(self, other: object) -> bool:  # bit for bit (NaN equals the same NaN)
        return isinstance(other, Flat) and all(bytes(a) == bytes(b) for a, b in zip(self.buffers(), other.buffers(),
                                                                                    strict=True))

    __hash__ = None  # type: ignore[assignment]

    def first_difference(self, other: Flat) -> tuple[str, Any, Any] | None:
        """None when equal bit for bit; else (where, this value, the other value) at the first difference."""
        for name, a, b in zip(CHANNELS, self.buffers(), other.buffers(), strict=True):
            if bytes(a) == bytes(b):
                continue
            if len(a) != len(b):
                return f" {name}", f"{len(a)} values", f"{len(b)} values"
            x, y = np.frombuffer(a, _NUMPY[name]), np.frombuffer(b, _NUMPY[name])
            i = int(np.flatnonzero(x.view(f"u{x.itemsize}") != y.view(f"u{y.itemsize}"))[0])
            return f" {name}[{i}]", x[i].item(), y[i].item()
        return None

    def __repr__(self) -> str:
        filled = (f"{n}={len(b)}" for n, b in zip(CHANNELS, self.buffers(), strict=True) if len(b))
        return f"Flat({', '.join(filled)})"


def flat_of_message(msg: Any) -> Flat:
    """The typed sequences of an Observation or Action message (rclpy's, rosbags')."""
    return flat_from_fields(msg.data, msg.data_i64, msg.data_f32, msg.data_u8)


def set_message_data(msg: Any, flat: Flat) -> Any:
    """Fill an Observation's or Action's typed sequences from a Flat; return the message."""
    msg.data, msg.data_i64, msg.data_f32, msg.data_u8 = flat.buffers()
    return msg


def flat_from_fields(f64: Any, i64: Any, f32: Any, u8: Any) -> Flat:
    """A Flat from a typed message's fields (rclpy or rosbags give arrays, lists or numpy)."""
    return Flat(array("d", np.asarray(f64, "<f8").tobytes()), array("q", np.asarray(i64, "<i8").tobytes()),
                array("f", np.asarray(f32, "<f4").tobytes()), bytes(np.asarray(u8, np.uint8).tobytes()))
SUPPORTED = "Box, Discrete, MultiDiscrete, MultiBinary, Dict, Tuple (nested)"


class CodecError(ValueError):
    """A space cannot be encoded, or data does not fit its space."""


def _scalarize(values: np.ndarray) -> Any:
    """JSON form of an array of bounds: one number when all equal, else a flat list."""
    flat = values.reshape(-1)
    if flat.size and (flat == flat[0]).all():  # vectorised: an image's bounds have 10^5 entries
        return flat[0].item()
    return flat.tolist()


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
    """One array-like leaf of a (possibly nested) space, at `offset` in the float64 vector and at `at` in
    its wire `channel`."""

    offset: int
    size: int
    shape: tuple[int, ...]
    dtype: np.dtype
    scalar: bool  # Discrete: decoded as a numpy integer scalar, not an array
    integral: bool
    channel: str = "f64"
    at: int = 0


def _view(leaf: _Leaf, buffer: Any) -> np.ndarray:
    """The leaf's values inside its channel's buffer (no copy)."""
    dtype = _NUMPY[leaf.channel]
    return np.frombuffer(buffer, dtype, count=leaf.size, offset=leaf.at * dtype.itemsize)


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
        counts = dict.fromkeys(CHANNELS, 0)
        self._leaves = []
        for leaf in _leaves(space, 0, where):
            channel = channel_of(leaf.dtype)
            self._leaves.append(dataclasses.replace(leaf, channel=channel, at=counts[channel]))
            counts[channel] += leaf.size
        self.size = sum(leaf.size for leaf in self._leaves)
        self.sizes = tuple(counts[c] for c in CHANNELS)  # what each wire sequence holds
        # One leaf (most spaces): the whole value is one typed sequence, packed and read without a loop.
        nested = isinstance(space, spaces.Dict | spaces.Tuple)
        self._one = self._leaves[0] if len(self._leaves) == 1 and not nested else None
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
        self._each_leaf(self.space, value, iter(self._leaves), lambda leaf, v: self._encode_leaf(leaf, v, out))
        return out

    def _each_leaf(self, space: spaces.Space, value: Any, leaves: Any, visit: Any) -> None:
        """Call visit(leaf, its value) for every leaf of a (nested) value, in the codec's leaf order."""
        if isinstance(space, spaces.Dict):
            for key, sub in space.spaces.items():
                self._each_leaf(sub, value[key], leaves, visit)
        elif isinstance(space, spaces.Tuple):
            for sub, item in zip(space.spaces, value, strict=True):
                self._each_leaf(sub, item, leaves, visit)
        else:
            visit(next(leaves), value)

    def _build(self, space: spaces.Space, leaves: Any, value_of: Any) -> Any:
        """A (nested) value of the space from value_of(leaf) for every leaf, in the codec's leaf order."""
        if isinstance(space, spaces.Dict):
            return {key: self._build(sub, leaves, value_of) for key, sub in space.spaces.items()}
        if isinstance(space, spaces.Tuple):
            return tuple(self._build(sub, leaves, value_of) for sub in space.spaces)
        return value_of(next(leaves))

    def _encode_leaf(self, leaf: _Leaf, value: Any, out: np.ndarray) -> None:
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
        return self._build(self.space, iter(self._leaves), lambda leaf: self._decoded_leaf(leaf, flat))

    @staticmethod
    def _decoded_leaf(leaf: _Leaf, flat: np.ndarray) -> Any:
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

    # -- the wire -------------------------------------------------------------------------------
    def pack(self, value: Any) -> Flat:
        """A value of the space as its message carries it, each leaf in its own dtype (raises CodecError)."""
        one = self._one
        if one is not None:
            if one.scalar:
                try:
                    return Flat(i64=array("q", (int(value),)))
                except (OverflowError, TypeError, ValueError) as exc:
                    raise CodecError(f"{self.where}: {value!r} is not an int64 value ({exc})") from None
            return self._flat_of_one(one, value)
        parts: dict[str, list[np.ndarray]] = {c: [] for c in CHANNELS}
        self._each_leaf(self.space, value, iter(self._leaves),
                        lambda leaf, v: parts[leaf.channel].append(self._leaf_array(leaf, v)))
        out = Flat()
        for name in CHANNELS:
            if parts[name]:
                data = np.concatenate(parts[name]).tobytes()
                setattr(out, name, data if name == "u8" else array(_TYPECODE[name], data))
        return out

    def _flat_of_one(self, leaf: _Leaf, value: Any) -> Flat:
        arr = self._leaf_array(leaf, value)
        if leaf.channel == "u8":
            return Flat(u8=arr.tobytes())
        data = array(_TYPECODE[leaf.channel])
        data.frombytes(arr.tobytes())
        out = Flat()
        setattr(out, leaf.channel, data)
        return out

    def _leaf_array(self, leaf: _Leaf, value: Any) -> np.ndarray:
        """The leaf's values in its channel's dtype, flat; integers out of the channel's range refused."""
        arr = np.asarray(value)
        if arr.size != leaf.size:
            raise CodecError(f"{self.where}: leaf {leaf.channel}[{leaf.at}:] has {arr.size} elements, "
                             f"expected {leaf.size}")
        target = _NUMPY[leaf.channel]
        if arr.dtype != target and leaf.channel in ("u8", "i64") and arr.size:
            if arr.dtype.kind == "f" and not np.array_equal(arr, np.floor(arr)):
                raise CodecError(f"{self.where}: non-integer value for an integer leaf")
            low, high = (0, 255) if leaf.channel == "u8" else (-2**63, 2**63 - 1)
            if arr.dtype.kind in "iub":
                lo, hi = int(arr.min()), int(arr.max())
            else:
                lo, hi = float(arr.min()), float(arr.max())
            if lo < low or hi > high:
                raise CodecError(f"{self.where}: integer value outside {leaf.channel} ({lo}..{hi})")
        return np.ascontiguousarray(arr.reshape(-1), dtype=target)

    def pack_f64(self, value: Any) -> array:
        """The float64 flattening as array('d') (a StepResult's applied action; exact up to 2**53)."""
        if self._discrete is not None and isinstance(value, int | np.integer):
            number = int(value)
            if abs(number) > EXACT_INT_LIMIT:
                raise CodecError(f"{self.where}: integer value beyond +-2**53 cannot travel exactly as float64")
            return array("d", (number,))
        if self._small is not None and isinstance(value, np.ndarray) and value.shape == (self.size,):
            return array("d", value.tolist())  # float16/32/64 -> float exactly; cheaper than a buffer copy
        return array("d", self.encode(value).tobytes())

    def unpack(self, flat: Flat) -> Any:
        """A value of the space from its message's sequences (trusted: see `unpack_checked`)."""
        one = self._one
        if one is not None:
            if one.scalar:
                return one.dtype.type(flat.i64[0])
            return self._leaf_value(one, getattr(flat, one.channel))
        return self._build(self.space, iter(self._leaves),
                           lambda leaf: self._leaf_value(leaf, getattr(flat, leaf.channel)))

    def _leaf_value(self, leaf: _Leaf, buffer: Any) -> Any:
        part = _view(leaf, buffer)
        if leaf.scalar:
            return leaf.dtype.type(part[0])
        return part.astype(leaf.dtype).reshape(leaf.shape)  # a copy: the policy may keep or change it

    def as_f64(self, flat: Flat) -> np.ndarray:
        """The float64 flattening of a message's sequences (sizes as the space's; for the shield's clamp)."""
        out = np.empty(self.size, dtype=np.float64)
        for leaf in self._leaves:
            out[leaf.offset:leaf.offset + leaf.size] = _view(leaf, getattr(flat, leaf.channel))
        return out

    def unpack_checked(self, flat: Flat) -> Any:
        """A value from untrusted sequences; raise CodecError saying what is wrong (sizes, NaN/inf, range)."""
        sizes = flat.sizes()
        if sizes != self.sizes:
            got = ", ".join(f"{n} {c}" for c, n in zip(CHANNELS, sizes, strict=True) if n) or "nothing"
            want = ", ".join(f"{n} {c}" for c, n in zip(CHANNELS, self.sizes, strict=True) if n)
            raise CodecError(f"{self.where}: got {got}, expected {want}")
        discrete = self._discrete
        if discrete is not None:
            number = flat.i64[0]
            if discrete[0] <= number <= discrete[1]:
                return discrete[2](number)
            raise CodecError(f"{self.where}: {number} is outside the space {self.space}")
        small, one = self._small, self._one
        if small is not None and one is not None:
            low, high, dtype, shape = small
            data = getattr(flat, one.channel)
            for v, lo, hi in zip(data, low, high):  # noqa: B905 (sizes checked); a loop beats all(<genexpr>)
                if not lo <= v <= hi:
                    break
            else:
                value = np.array(data, dtype=dtype)
                return value if shape is None else value.reshape(shape)
        for leaf in self._leaves:
            part = _view(leaf, getattr(flat, leaf.channel))
            if leaf.channel in ("f64", "f32") and not np.isfinite(part).all():
                raise CodecError(f"{self.where}: contains NaN or inf")
            if leaf.integral and part.size and leaf.dtype != np.bool_ and leaf.channel == "i64":
                info = np.iinfo(leaf.dtype)  # a cast would wrap out-of-range integers silently
                if int(part.min()) < info.min or int(part.max()) > info.max:
                    raise CodecError(f"{self.where}: value outside the range of {leaf.dtype}")
            if leaf.dtype == np.bool_ and part.size and int(part.max()) > 1:
                raise CodecError(f"{self.where}: value outside the range of bool")
        if self._bounds is not None and one is not None:
            values = np.frombuffer(getattr(flat, one.channel), _NUMPY[one.channel]).astype(np.float64)
            low, high = self._bounds
            if not ((values >= low).all() and (values <= high).all()):
                raise CodecError(f"{self.where}: value outside the space {self.space}")
            return self.unpack(flat)
        value = self.unpack(flat)
        if not self.space.contains(value):
            raise CodecError(f"{self.where}: value outside the space {self.space}")
        return value
