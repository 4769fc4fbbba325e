"""The hand-packed CDR of Observation and Action equals rclpy's serialization, both ways, and bad bytes
raise WireError and nothing else."""

from __future__ import annotations

import math
import struct
from array import array

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from rclpy.serialization import deserialize_message, serialize_message

from marl_bridge.codec import Flat
from marl_bridge.msg import Action, Observation
from marl_bridge.nodes.wire import (
    ActionWriter,
    ObservationWriter,
    Parsed,
    WireError,
    parse_action,
    parse_observation,
)

U32 = st.integers(0, 2**32 - 1)
agents = st.text(min_size=1, max_size=12).filter(lambda s: "\x00" not in s)
# each typed sequence empty or not, in every combination: CDR aligns a sequence's elements only when it has some
flats = st.builds(
    lambda f64, i64, f32, u8: Flat(array("d", f64), array("q", i64), array("f", f32), bytes(u8)),
    st.lists(st.floats(allow_nan=True, allow_infinity=True), max_size=6),
    st.lists(st.integers(-(2**63), 2**63 - 1), max_size=4),
    st.lists(st.floats(width=32, allow_nan=True, allow_infinity=True), max_size=5),
    st.binary(max_size=7))
fields = st.fixed_dictionaries({"sec": st.integers(-(2**31), 2**31 - 1), "nanosec": U32, "agent": agents,
                                "episode": U32, "step": U32, "layout": U32, "data": flats})


def same_data(a: Flat, b: Flat) -> bool:
    """Bitwise (NaN == NaN here)."""
    return a == b


def typed(kind: type, f: dict, entropy: float | None = None) -> Observation | Action:
    flat = f["data"]
    msg = kind(agent=f["agent"], episode=f["episode"], step=f["step"], layout=f["layout"], data=flat.f64,
               data_i64=flat.i64, data_f32=flat.f32, data_u8=flat.u8)
    msg.header.stamp.sec, msg.header.stamp.nanosec = f["sec"], f["nanosec"]
    if entropy is not None:
        msg.entropy = entropy
    return msg


def check(parsed: Parsed, f: dict) -> None:
    assert (parsed.sec, parsed.nanosec, parsed.agent, parsed.episode, parsed.step, parsed.layout) == (
        f["sec"], f["nanosec"], f["agent"], f["episode"], f["step"], f["layout"])
    assert same_data(parsed.flat, f["data"])


@settings(max_examples=300, deadline=None)
@given(fields)
def test_observation_both_ways(f: dict) -> None:
    check(parse_observation(serialize_message(typed(Observation, f))), f)
    mine = ObservationWriter(f["agent"], f["layout"]).pack(f["sec"], f["nanosec"], f["episode"], f["step"],
                                                           f["data"])
    back = deserialize_message(mine, Observation)
    check(parse_observation(serialize_message(back)), f)
    assert math.isnan(parse_observation(mine).entropy)


@settings(max_examples=300, deadline=None)
@given(fields, st.floats(allow_nan=True, allow_infinity=True))
def test_action_both_ways(f: dict, entropy: float) -> None:
    parsed = parse_action(serialize_message(typed(Action, f, entropy)))
    check(parsed, f)
    assert struct.pack("<d", parsed.entropy) == struct.pack("<d", entropy)
    mine = ActionWriter(f["agent"], f["layout"]).pack(f["sec"], f["nanosec"], f["episode"], f["step"],
                                                      f["data"], entropy)
    back = deserialize_message(mine, Action)
    assert struct.pack("<d", back.entropy) == struct.pack("<d", entropy)
    check(parse_action(serialize_message(back)), f)


def test_one_writer_serves_many_messages() -> None:
    """The writer reuses its header bytes: earlier results must not change."""
    writer = ActionWriter("robot_0", 7)
    first = writer.pack(1, 2, 0, 0, Flat(array("d", [0.5, 1.5])), 0.1)
    second = writer.pack(3, 4, 0, 1, Flat(u8=b"xyz"), 0.2)
    assert parse_action(first).flat.f64.tolist() == [0.5, 1.5] and parse_action(second).flat.u8 == b"xyz"
    assert (parse_action(first).step, parse_action(second).step) == (0, 1)


@settings(max_examples=300, deadline=None)
@given(fields, st.data())
def test_truncated_bytes_raise_wire_error(f: dict, data: st.DataObject) -> None:
    full = serialize_message(typed(Action, f, 0.5))
    parsed = parse_action(full)  # rclpy's buffer may end in a few spare bytes: cut inside the message itself
    end = 4 + len(parsed.signed) + 4 + len(parsed.tag)
    cut = data.draw(st.integers(0, end - 1))
    with pytest.raises(WireError):
        parse_action(full[:cut])


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=96))
def test_garbage_raises_wire_error_or_parses(blob: bytes) -> None:
    for parse in (parse_action, parse_observation):
        try:
            parsed = parse(blob)
        except WireError:
            continue
        assert isinstance(parsed, Parsed)


def test_big_endian_goes_through_rclpy() -> None:
    """Another encapsulation (here: hand-made big-endian CDR) is not parsed by hand but by rclpy."""
    name = b"a\x00"
    body = struct.pack(">iII", 5, 6, 1) + b"\x00\x00\x00\x00" + struct.pack(">I", 2) + name + b"\x00\x00"
    body += struct.pack(">IIII", 1, 2, 3, 1) + struct.pack(">d", 0.25) + struct.pack(">III", 0, 0, 0)  # i64, f32, u8
    body += b"\x00\x00\x00\x00" + struct.pack(">QI", 9, 0)  # counter (8-aligned), tag
    parsed = parse_observation(b"\x00\x00\x00\x00" + body)
    assert (parsed.sec, parsed.agent, parsed.episode, parsed.step, parsed.layout) == (5, "a", 1, 2, 3)
    assert parsed.flat.f64.tolist() == [0.25] and (parsed.counter, parsed.tag, parsed.signed) == (9, b"", b"")


@settings(max_examples=100, deadline=None)
@given(fields, st.floats(allow_nan=True, allow_infinity=True))
def test_signed_messages_carry_counter_and_tag_that_verify(f: dict, entropy: float) -> None:
    """A writer with a Signer tags each message; the parsed span verifies with the same key, typed readers
    see the same counter and tag, and any changed byte of the signed span fails."""
    from marl_bridge.trust.keys import Key
    from marl_bridge.trust.tags import ACTION, OBSERVATION, Signer, Verifier

    key = Key(b"k" * 32)
    for kind, domain, parse in ((Observation, OBSERVATION, parse_observation), (Action, ACTION, parse_action)):
        writer_type = ObservationWriter if kind is Observation else ActionWriter
        writer = writer_type(f["agent"], f["layout"], Signer(key, domain))
        args = (f["sec"], f["nanosec"], f["episode"], f["step"], f["data"])
        raw = writer.pack(*args) if kind is Observation else writer.pack(*args, entropy)
        parsed = parse(raw)
        check(parsed, f)
        typed_back = deserialize_message(raw, kind)
        assert (typed_back.counter, bytes(typed_back.tag)) == (parsed.counter, parsed.tag) and len(parsed.tag) == 32
        assert Verifier(key, domain).check(parsed.counter, parsed.tag, parsed.signed) is None
        flipped = bytearray(raw)
        flipped[-40] ^= 1  # inside the signed span (the counter), before the tag
        again = parse(bytes(flipped))
        assert Verifier(key, domain).check(again.counter, again.tag, again.signed) is not None


def test_unsigned_messages_have_counter_0_and_no_tag() -> None:
    raw = ActionWriter("robot_0", 7).pack(1, 2, 3, 4, Flat(array("d", [0.5])), 0.1)
    parsed = parse_action(raw)
    assert (parsed.counter, parsed.tag) == (0, b"")
    assert deserialize_message(raw, Action).counter == 0


@settings(max_examples=300, deadline=None)
@given(fields, st.floats(allow_nan=True), st.floats(allow_nan=True), st.booleans(), st.booleans(), st.booleans(),
       st.lists(st.floats(allow_nan=True, allow_infinity=True), max_size=5), st.text(max_size=30))
def test_step_results_serialize_as_rclpy_does(f: dict, reward: float, ret: float, term: bool, trunc: bool,
                                              fallback: bool, action: list[float], info: str) -> None:
    from marl_bridge.msg import StepResult
    from marl_bridge.nodes.wire import StepResultWriter

    info = info.replace("\x00", "")
    msg = StepResult(agent=f["agent"], episode=f["episode"], step=f["step"], reward=reward, episode_return=ret,
                     terminated=term, truncated=trunc, fallback=fallback, action=array("d", action), info_json=info)
    msg.header.stamp.sec, msg.header.stamp.nanosec = f["sec"], f["nanosec"]
    mine = StepResultWriter(f["agent"]).pack(f["sec"], f["nanosec"], f["episode"], f["step"], reward, ret, term, trunc,
                                             fallback, array("d", action), info)
    back = deserialize_message(mine, StepResult)
    assert serialize_message(back) == serialize_message(msg)  # the same message, field for field (NaN bits too)
    assert len(mine) == len(serialize_message(msg))


@pytest.mark.parametrize("sec, nanosec", [(0, 0), (123, 456_789), (-5, 999_999_999), (2**31 - 1, 1)])
def test_the_recorded_clock_is_the_message_rclpy_serializes(sec: int, nanosec: int) -> None:
    from rosgraph_msgs.msg import Clock

    from marl_bridge.nodes.team_out import clock_cdr

    msg = Clock()
    msg.clock.sec, msg.clock.nanosec = sec, nanosec
    assert clock_cdr(sec, nanosec) == serialize_message(msg)
