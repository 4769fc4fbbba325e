"""Spaces codec: exact round trips over random spaces and samples (hypothesis), clear errors."""

from __future__ import annotations

import json
from array import array

import numpy as np
import pytest
from gymnasium import spaces
from hypothesis import given, settings
from hypothesis import strategies as st

from marl_bridge.codec import CodecError, Flat, SpaceCodec, layout_id, space_from_json, space_to_json

SHAPES = st.lists(st.integers(1, 3), min_size=0, max_size=3).map(tuple)
FLOAT_DTYPES = st.sampled_from([np.float16, np.float32, np.float64])
INT_DTYPES = st.sampled_from([np.int8, np.uint8, np.int16, np.int32, np.int64, np.uint32])


@st.composite
def boxes(draw: st.DrawFn) -> spaces.Box:
    shape = draw(SHAPES)
    if draw(st.booleans()):
        dtype = draw(INT_DTYPES)
        info = np.iinfo(dtype)
        lo = draw(st.integers(max(int(info.min), -(2**40)), min(int(info.max), 2**40) - 1))
        hi = draw(st.integers(lo, min(int(info.max), 2**40)))
        return spaces.Box(lo, hi, shape, dtype)
    dtype = draw(FLOAT_DTYPES)
    lo = draw(st.floats(-1e3, 1e3))
    return spaces.Box(lo, lo + draw(st.floats(0, 1e3)), shape, dtype)


LEAVES = st.one_of(
    boxes(),
    st.builds(lambda n, s: spaces.Discrete(n, start=s), st.integers(1, 50), st.integers(-20, 20)),
    st.builds(lambda nv: spaces.MultiDiscrete(nv), st.lists(st.integers(1, 9), min_size=1, max_size=4)),
    st.builds(lambda n: spaces.MultiBinary(n), st.integers(1, 6)),
)
SPACES = st.recursive(
    LEAVES,
    lambda children: st.one_of(
        st.lists(children, min_size=1, max_size=3).map(spaces.Tuple),
        st.dictionaries(st.text("abcxyz", min_size=1, max_size=4), children, min_size=1, max_size=3)
        .map(spaces.Dict)),
    max_leaves=6)


def assert_same(a: object, b: object) -> None:
    if isinstance(a, dict):
        assert isinstance(b, dict) and set(a) == set(b)
        for k in a:
            assert_same(a[k], b[k])
    elif isinstance(a, tuple):
        assert isinstance(b, tuple) and len(a) == len(b)
        for x, y in zip(a, b, strict=True):
            assert_same(x, y)
    else:
        x, y = np.asarray(a), np.asarray(b)
        assert x.dtype == y.dtype and x.shape == y.shape
        assert x.tobytes() == y.tobytes()  # bit-exact


@settings(max_examples=150, deadline=None)
@given(space=SPACES, seed=st.integers(0, 2**31 - 1))
def test_round_trip_is_exact(space: spaces.Space, seed: int) -> None:
    space.seed(seed)
    value = space.sample()
    codec = SpaceCodec(space)
    data = codec.encode(value)
    assert data.dtype == np.float64 and data.shape == (codec.size,)
    assert_same(value, codec.decode(data))
    assert_same(value, codec.decode_checked(data))
    packed = codec.pack(value)  # what messages carry: each leaf in the sequence of its dtype
    assert packed.sizes() == codec.sizes
    assert_same(value, codec.unpack(packed))
    assert_same(value, codec.unpack_checked(packed))
    assert codec.as_f64(packed).tobytes() == data.tobytes()  # the same values as the float64 flattening
    assert codec.pack_f64(value).tobytes() == data.tobytes()


@settings(max_examples=100, deadline=None)
@given(space=SPACES)
def test_space_json_round_trip_keeps_layout(space: spaces.Space) -> None:
    text = json.dumps(space_to_json(space))
    rebuilt = space_from_json(json.loads(text))
    assert rebuilt == space
    assert layout_id(rebuilt) == layout_id(space)
    assert SpaceCodec(rebuilt).size == SpaceCodec(space).size


def test_discrete_with_start_and_nested_dict() -> None:
    space = spaces.Dict({"move": spaces.Discrete(3, start=-1), "arm": spaces.Box(-1, 1, (2,), np.float32),
                         "flags": spaces.Tuple([spaces.MultiBinary(2), spaces.MultiDiscrete([2, 5])])})
    value = {"move": np.int64(-1), "arm": np.array([0.5, -0.25], np.float32),
             "flags": (np.array([1, 0], np.int8), np.array([1, 4]))}
    codec = SpaceCodec(space)
    assert codec.size == 1 + 2 + 2 + 2
    assert_same(codec.decode(codec.encode(value)), value)


def test_unsupported_space_names_agent_and_space() -> None:
    with pytest.raises(CodecError, match=r"action space of 'robot_7'.*Text.*supported: Box"):
        SpaceCodec(spaces.Text(5), "action space of 'robot_7'")
    with pytest.raises(CodecError, match=r"\['inner'\]"):
        SpaceCodec(spaces.Dict({"inner": spaces.Sequence(spaces.Discrete(2))}), "obs")


@pytest.mark.parametrize(("data", "why"), [
    ([np.nan, 0.0], "NaN"), ([np.inf, 0.0], "NaN or inf"), ([0.0], "got 1 values, expected 2"),
    ([0.0, 0.0, 0.0], "got 3 values"), ([2.0, 0.0], "outside the space"),
])
def test_decode_checked_rejects_bad_box_actions(data: list[float], why: str) -> None:
    codec = SpaceCodec(spaces.Box(-1, 1, (2,), np.float32))
    for sent in (np.asarray(data), array("d", data)):  # numpy, and the array('d') messages carry
        with pytest.raises(CodecError, match=why):
            codec.decode_checked(sent)


@pytest.mark.parametrize(("data", "why"), [
    ([1.5], "non-integer"), ([5.0], "outside the space"), ([-1.0], "outside the space"),
    ([2.0**60], "beyond"), ([np.nan], "NaN"), ([np.inf], "NaN or inf"), ([1.0, 2.0], "got 2 values"),
])
def test_decode_checked_rejects_bad_discrete_actions(data: list[float], why: str) -> None:
    for sent in (np.asarray(data), array("d", data)):
        with pytest.raises(CodecError, match=why):
            SpaceCodec(spaces.Discrete(5)).decode_checked(sent)


def test_decode_checked_rejects_values_a_cast_would_wrap() -> None:
    with pytest.raises(CodecError, match="range of int8"):
        SpaceCodec(spaces.Box(-100, 100, (1,), np.int8)).decode_checked(np.asarray([300.0]))


def test_integers_beyond_float64_exact_range_are_refused_not_rounded() -> None:
    space = spaces.Box(0, 2**62, (1,), np.int64)
    with pytest.raises(CodecError, match="2\\*\\*53"):
        SpaceCodec(space).encode(np.array([2**53 + 1], np.int64))


def test_each_dtype_travels_in_its_own_sequence() -> None:
    """Images as bytes (1 byte a pixel, not 8), float32 as float32, int64 whole: a value no float64 holds."""
    image = spaces.Box(0, 255, (84, 84, 3), np.uint8)
    space = spaces.Dict({"img": image, "v": spaces.Box(-1, 1, (2,), np.float32),
                         "big": spaces.Box(-(2**62), 2**62, (1,), np.int64), "flag": spaces.MultiBinary(2)})
    space.seed(3)
    value = space.sample()
    value["big"] = np.array([2**53 + 1], np.int64)  # beyond float64's exact integers
    codec = SpaceCodec(space)
    packed = codec.pack(value)
    assert packed.sizes() == codec.sizes == (0, 3, 2, 84 * 84 * 3)  # f64, i64 (big, flag), f32, u8
    assert packed.nbytes() == 84 * 84 * 3 + 2 * 4 + 3 * 8
    assert_same(value, codec.unpack_checked(packed))
    assert codec.unpack(packed)["big"][0] == 2**53 + 1


@pytest.mark.parametrize(("flat", "why"), [
    (Flat(f32=array("f", [np.nan, 0.0])), "NaN"), (Flat(f32=array("f", [0.0])), "got 1 f32, expected 2 f32"),
    (Flat(f64=array("d", [0.0, 0.0])), "got 2 f64, expected 2 f32"), (Flat(f32=array("f", [2.0, 0.0])), "outside"),
])
def test_unpack_checked_rejects_bad_box_actions(flat: Flat, why: str) -> None:
    with pytest.raises(CodecError, match=why):
        SpaceCodec(spaces.Box(-1, 1, (2,), np.float32)).unpack_checked(flat)


@pytest.mark.parametrize(("flat", "why"), [
    (Flat(i64=array("q", [5])), "outside the space"), (Flat(i64=array("q", [-1])), "outside the space"),
    (Flat(f64=array("d", [1.0])), "got 1 f64, expected 1 i64"), (Flat(i64=array("q", [1, 2])), "got 2 i64"),
])
def test_unpack_checked_rejects_bad_discrete_actions(flat: Flat, why: str) -> None:
    with pytest.raises(CodecError, match=why):
        SpaceCodec(spaces.Discrete(5)).unpack_checked(flat)


def test_unpack_checked_rejects_values_a_cast_would_wrap() -> None:
    with pytest.raises(CodecError, match="range of int8"):
        SpaceCodec(spaces.Box(-100, 100, (1,), np.int8)).unpack_checked(Flat(i64=array("q", [300])))
    with pytest.raises(CodecError, match="range of bool"):
        SpaceCodec(spaces.Box(0, 1, (1,), np.bool_)).unpack_checked(Flat(u8=b"\x07"))
