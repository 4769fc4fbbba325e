"""Observation and Action as serialized CDR bytes: the lockstep's hot path.

Every joint step sends one Observation and one Action per agent. rclpy converts each message between
a Python object and a C struct on publish and again on take, constructing Header and Time objects
on the way; for these two messages that conversion cost more than all the bridge's own per-step work
(a take of a 64-float Observation: ~15 us typed, ~6 us raw). So the supervisor and the actors publish
these two as bytes (`Publisher.publish(bytes)`) and subscribe with `raw=True`, packing and parsing
the few fields with `struct`. Each value travels in its own dtype, in the sequences `SpaceCodec.pack`
fills (marl_bridge.codec.Flat).

The bytes are the standard ROS 2 serialization of marl_bridge/msg/Observation and Action (plain CDR,
little-endian, as rmw_fastrtps writes it): other nodes, `ros2 topic echo` and rosbag2 see ordinary
messages, and anything a typed publisher sends parses here. Bytes in another encapsulation (big-endian,
XCDR2) go through rclpy's deserializer instead. test/nodes/test_wire.py checks both directions against
`rclpy.serialization` on random messages.

Both messages end with `counter` and `tag` (marl_bridge/trust): a writer given a Signer tags every
message over its serialized fields up to and including the counter; without one it writes counter 0 and
an empty tag. `Parsed.signed` is that signed span of a received message, for a Verifier.
"""

from __future__ import annotations

import math
import struct
from array import array
from dataclasses import dataclass
from typing import Any

from rclpy.serialization import deserialize_message

from marl_bridge.codec import Flat, flat_of_message
from marl_bridge.msg import Action, Observation
from marl_bridge.trust.tags import TAG_SIZE, Signer

CDR_LE = b"\x00\x01"  # encapsulation id of little-endian plain CDR; two option bytes follow
_HEADER = struct.Struct("<iII")  # stamp.sec, stamp.nanosec, frame_id length
_U32 = struct.Struct("<I")
_TAIL = struct.Struct("<III")  # episode, step, layout
_F64 = struct.Struct("<d")
_STAMP = struct.Struct("<iI")
_STEP = struct.Struct("<II")
_U64 = struct.Struct("<Q")
_UNSIGNED = _U64.pack(0) + _U32.pack(0)  # counter 0, empty tag
_TAG_LEN = _U32.pack(TAG_SIZE)  # the tag's CDR sequence length


class WireError(ValueError):
    """Bytes that are not a valid serialized Observation or Action."""


@dataclass(slots=True)
class Parsed:
    """The fields of an Observation or Action the team uses (entropy is NaN for an Observation)."""

    sec: int
    nanosec: int
    agent: str
    episode: int
    step: int
    layout: int
    flat: Flat  # the value's typed sequences (marl_bridge.codec)
    entropy: float = math.nan
    counter: int = 0
    tag: bytes = b""
    signed: memoryview | bytes = b""  # the bytes the tag covers (empty for a message rclpy had to decode)


def _align(offset: int, size: int) -> int:
    return (offset + size - 1) & -size


_SEQUENCES = (("f64", "d", 8), ("i64", "q", 8), ("f32", "f", 4), ("u8", "", 1))  # message order
_ZEROS = bytes(8)


def _parse(buf: bytes, with_entropy: bool) -> Parsed:
    """Parse little-endian CDR; offsets are relative to the body (after the 4-byte encapsulation)."""
    body = memoryview(buf)[4:]
    try:
        sec, nanosec, frame_len = _HEADER.unpack_from(body, 0)
        off = _align(12 + frame_len, 4)
        (agent_len,) = _U32.unpack_from(body, off)
        if agent_len == 0:
            raise WireError("string length 0 (a CDR string carries at least its NUL)")
        agent = bytes(body[off + 4:off + 3 + agent_len]).decode()
        off = _align(off + 4 + agent_len, 4)
        episode, step, layout = _TAIL.unpack_from(body, off)
        off += 12
        # the four typed sequences, unrolled (the hot path): a count, then, if any, the elements aligned to
        # their size (CDR aligns nothing for an empty sequence)
        n = len(body)
        (count,) = _U32.unpack_from(body, off)
        off += 4
        f64 = array("d")
        if count:
            off = (off + 7) & -8
            end = off + 8 * count
            if end > n:
                raise WireError(f"f64 data of {count} values runs past the end of {len(buf)} bytes")
            f64.frombytes(body[off:end])
            off = end
        (count,) = _U32.unpack_from(body, off)  # 4-aligned: what precedes is a count or 8-byte values
        off += 4
        i64 = array("q")
        if count:
            off = (off + 7) & -8
            end = off + 8 * count
            if end > n:
                raise WireError(f"i64 data of {count} values runs past the end of {len(buf)} bytes")
            i64.frombytes(body[off:end])
            off = end
        (count,) = _U32.unpack_from(body, off)
        off += 4
        f32 = array("f")
        if count:
            end = off + 4 * count
            if end > n:
                raise WireError(f"f32 data of {count} values runs past the end of {len(buf)} bytes")
            f32.frombytes(body[off:end])
            off = end
        (count,) = _U32.unpack_from(body, off)
        off += 4
        u8 = b""
        if count:
            end = off + count
            if end > n:
                raise WireError(f"u8 data of {count} values runs past the end of {len(buf)} bytes")
            u8 = bytes(body[off:end])
            off = end
        flat = Flat(f64, i64, f32, u8)
        if with_entropy:
            off = _align(off, 8)
            entropy = _F64.unpack_from(body, off)[0]
            off += 8
        else:
            entropy = math.nan
        end = _align(off, 8)
        (counter,) = _U64.unpack_from(body, end)
        (tag_len,) = _U32.unpack_from(body, end + 8)
        tag = bytes(body[end + 12:end + 12 + tag_len])
        if len(tag) != tag_len:
            raise WireError(f"tag of {tag_len} bytes runs past the end of {len(buf)} bytes")
    except (struct.error, UnicodeDecodeError) as exc:
        raise WireError(f"malformed message of {len(buf)} bytes: {exc}") from exc
    return Parsed(sec, nanosec, agent, episode, step, layout, flat, entropy, counter, tag, body[:end + 8])


def _from_typed(msg: Observation | Action) -> Parsed:
    stamp = msg.header.stamp
    return Parsed(stamp.sec, stamp.nanosec, msg.agent, msg.episode, msg.step, msg.layout,
                  flat_of_message(msg),
                  getattr(msg, "entropy", math.nan), msg.counter, bytes(msg.tag))


def parse_observation(buf: bytes) -> Parsed:
    """An Observation from its serialized bytes (raises WireError)."""
    if buf[:2] == CDR_LE:
        return _parse(buf, with_entropy=False)
    try:
        return _from_typed(deserialize_message(buf, Observation))
    except Exception as exc:  # rclpy raises several types for undecodable bytes
        raise WireError(f"undecodable Observation of {len(buf)} bytes: {exc}") from exc


def parse_action(buf: bytes) -> Parsed:
    """An Action from its serialized bytes (raises WireError)."""
    if buf[:2] == CDR_LE:
        return _parse(buf, with_entropy=True)
    try:
        return _from_typed(deserialize_message(buf, Action))
    except Exception as exc:
        raise WireError(f"undecodable Action of {len(buf)} bytes: {exc}") from exc


class _Writer:
    """Serializes one agent's messages: everything up to the data is laid out once, and the counts and
    paddings around the values once per combination of sequence lengths, so a message costs a
    struct.pack_into, the sequences' lengths and one join (and, with a signer, one HMAC over the same
    parts)."""

    _with_entropy = False

    def __init__(self, agent: str, layout: int, signer: Signer | None = None) -> None:
        self.signer = signer
        name = agent.encode()
        head = bytearray(CDR_LE + b"\x00\x00")
        head += _HEADER.pack(0, 0, 1) + b"\x00"  # stamp, then frame_id "" (length 1: its NUL)
        head += bytes(_align(len(head) - 4, 4) - (len(head) - 4))
        head += _U32.pack(len(name) + 1) + name + b"\x00"
        head += bytes(_align(len(head) - 4, 4) - (len(head) - 4))
        self._step_at = len(head)
        head += _TAIL.pack(0, 0, layout)
        self._head = head
        self._frames: dict[tuple[int, int, int, int], tuple[Any, ...]] = {}

    def _parts(self, sec: int, nanosec: int, episode: int, step: int, flat: Flat,
               entropy: float | None) -> list[bytes | bytearray | array]:
        """The body's parts up to the counter (with its alignment): the span a tag covers."""
        head = self._head
        _STAMP.pack_into(head, 4, sec, nanosec)
        _STEP.pack_into(head, self._step_at, episode, step)
        f64, i64, f32, u8 = flat.buffers()
        sizes = flat.sizes()
        frame = self._frames.get(sizes)
        if frame is None:
            frame = self._frames[sizes] = self._frame(sizes)
        before, gap1, gap2, gap3, after = frame  # the counts and paddings around the values, laid out once
        if entropy is None:
            return [head, before, f64, gap1, i64, gap2, f32, gap3, u8, after]
        return [head, before, f64, gap1, i64, gap2, f32, gap3, u8, after[0], _F64.pack(entropy), after[1]]

    def _frame(self, sizes: tuple[int, int, int, int]) -> tuple[Any, ...]:
        """For values of these sequence lengths: what goes before, between and after the four sequences
        (each count with its padding; then, for an Action, the entropy's padding and the counter's)."""
        gaps: list[bytes] = []
        off = len(self._head) - 4
        for (_name, _code, size), count in zip(_SEQUENCES, sizes, strict=True):
            pad = -off & 3
            elem_pad = -(off + pad + 4) & (size - 1) if count else 0  # CDR aligns nothing for an empty one
            gaps.append(_ZEROS[:pad] + _U32.pack(count) + _ZEROS[:elem_pad])
            off += pad + 4 + elem_pad + size * count
        if self._with_entropy:
            pad = -off & 7
            off += pad + 8
            after: Any = (_ZEROS[:pad], _ZEROS[:-off & 7])  # entropy goes between; the counter is 8-aligned
        else:
            after = _ZEROS[:-off & 7]
        return (*gaps, after)

    def _join(self, parts: list[bytes | bytearray | array]) -> bytes:
        signer = self.signer
        if signer is None:
            return b"".join((*parts, _UNSIGNED))
        body = b"".join(parts)  # one span to hash: each part hashed on its own cost more than the join
        counter, tag = signer.sign((memoryview(body)[4:],))  # the body after the encapsulation
        return b"".join((body, counter, _TAG_LEN, tag))


class ObservationWriter(_Writer):
    def pack(self, sec: int, nanosec: int, episode: int, step: int, flat: Flat) -> bytes:
        """Serialized Observation of a value's typed sequences (SpaceCodec.pack)."""
        return self._join(self._parts(sec, nanosec, episode, step, flat, None))


class ActionWriter(_Writer):
    _with_entropy = True

    def pack(self, sec: int, nanosec: int, episode: int, step: int, flat: Flat, entropy: float) -> bytes:
        """Serialized Action of a value's typed sequences (SpaceCodec.pack)."""
        return self._join(self._parts(sec, nanosec, episode, step, flat, entropy))


_RESULT = struct.Struct("<dd???")  # reward, episode_return, terminated, truncated, fallback


class StepResultWriter:
    """Serializes one agent's StepResult messages (a lockstep sends one per agent and step, and a recorded
    team keeps every one): rclpy's serialize_message of a filled message cost about three times this."""

    def __init__(self, agent: str) -> None:
        name = agent.encode()
        head = bytearray(CDR_LE + b"\x00\x00")
        head += _HEADER.pack(0, 0, 1) + b"\x00"  # stamp, then frame_id ""
        head += bytes(_align(len(head) - 4, 4) - (len(head) - 4))
        head += _U32.pack(len(name) + 1) + name + b"\x00"
        head += bytes(_align(len(head) - 4, 4) - (len(head) - 4))
        self._step_at = len(head)
        head += _STEP.pack(0, 0)
        head += bytes(_align(len(head) - 4, 8) - (len(head) - 4))  # reward is 8-aligned
        self._head = head
        self._after_bools = len(head) - 4 + _RESULT.size  # body offset after the three bools

    def pack(self, sec: int, nanosec: int, episode: int, step: int, reward: float, episode_return: float,
             terminated: bool, truncated: bool, fallback: bool, action: array, info_json: str) -> bytes:
        head = self._head
        _STAMP.pack_into(head, 4, sec, nanosec)
        _STEP.pack_into(head, self._step_at, episode, step)
        off = self._after_bools
        pad = -off & 3
        count = len(action)
        info = info_json.encode()
        if count:
            elem_pad = -(off + pad + 4) & 7
            mid = _ZEROS[:pad] + _U32.pack(count) + _ZEROS[:elem_pad]  # then the values; 8-aligned after them
            return b"".join((head, _RESULT.pack(reward, episode_return, terminated, truncated, fallback), mid,
                             action, _U32.pack(len(info) + 1), info, b"\x00"))
        return b"".join((head, _RESULT.pack(reward, episode_return, terminated, truncated, fallback),
                         _ZEROS[:pad], _U32.pack(0), _U32.pack(len(info) + 1), info, b"\x00"))
