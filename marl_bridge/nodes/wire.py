"""Observation and Action as serialized CDR bytes: the lockstep's hot path.

Every joint step sends one Observation and one Action per agent. rclpy converts each message between
a Python object and a C struct on publish and again on take, constructing Header and Time objects
on the way; for these two messages that conversion cost more than all the bridge's own per-step work
(a take of a 64-float Observation: ~15 us typed, ~6 us raw). So the supervisor and the actors publish
these two as bytes (`Publisher.publish(bytes)`) and subscribe with `raw=True`, packing and parsing
the few fields with `struct`.

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

from rclpy.serialization import deserialize_message

from marl_bridge.msg import Action, Observation
from marl_bridge.trust.tags import TAG_SIZE, Signer

CDR_LE = b"\x00\x01"  # encapsulation id of little-endian plain CDR; two option bytes follow
_HEADER = struct.Struct("<iII")  # stamp.sec, stamp.nanosec, frame_id length
_U32 = struct.Struct("<I")
_TAIL = struct.Struct("<IIII")  # episode, step, layout, data length
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
    data: array
    entropy: float = math.nan
    counter: int = 0
    tag: bytes = b""
    signed: memoryview | bytes = b""  # the bytes the tag covers (empty for a message rclpy had to decode)


def _align(offset: int, size: int) -> int:
    return (offset + size - 1) & -size


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
        episode, step, layout, count = _TAIL.unpack_from(body, off)
        start = _align(off + 16, 8)
        end = start + 8 * count
        if end > len(body):
            raise WireError(f"data of {count} values runs past the end of {len(buf)} bytes")
        data = array("d")
        data.frombytes(body[start:end])
        if with_entropy:
            entropy = _F64.unpack_from(body, end)[0]
            end += 8
        else:
            entropy = math.nan
        (counter,) = _U64.unpack_from(body, end)  # 8-aligned: it follows float64s
        (tag_len,) = _U32.unpack_from(body, end + 8)
        tag = bytes(body[end + 12:end + 12 + tag_len])
        if len(tag) != tag_len:
            raise WireError(f"tag of {tag_len} bytes runs past the end of {len(buf)} bytes")
    except (struct.error, UnicodeDecodeError) as exc:
        raise WireError(f"malformed message of {len(buf)} bytes: {exc}") from exc
    return Parsed(sec, nanosec, agent, episode, step, layout, data, entropy, counter, tag, body[:end + 8])


def _from_typed(msg: Observation | Action) -> Parsed:
    stamp = msg.header.stamp
    return Parsed(stamp.sec, stamp.nanosec, msg.agent, msg.episode, msg.step, msg.layout, array("d", msg.data),
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
    """Serializes one agent's messages: everything up to the data is laid out once, so a message
    costs two struct.pack_into calls and one join (and, with a signer, one HMAC over the same parts)."""

    def __init__(self, agent: str, layout: int, signer: Signer | None = None) -> None:
        self.signer = signer
        name = agent.encode()
        head = bytearray(CDR_LE + b"\x00\x00")
        head += _HEADER.pack(0, 0, 1) + b"\x00"  # stamp, then frame_id "" (length 1: its NUL)
        head += bytes(_align(len(head) - 4, 4) - (len(head) - 4))
        head += _U32.pack(len(name) + 1) + name + b"\x00"
        head += bytes(_align(len(head) - 4, 4) - (len(head) - 4))
        self._step_at = len(head)
        head += _TAIL.pack(0, 0, layout, 0)
        head += bytes(_align(len(head) - 4, 8) - (len(head) - 4))  # the float64 data starts 8-aligned
        self._head = head
        self._count_at = self._step_at + 12

    def _pack(self, sec: int, nanosec: int, episode: int, step: int, data: array) -> bytearray:
        head = self._head
        _STAMP.pack_into(head, 4, sec, nanosec)
        _STEP.pack_into(head, self._step_at, episode, step)
        _U32.pack_into(head, self._count_at, len(data))
        return head

    def _join(self, head: bytearray, *rest: bytes | array) -> bytes:
        signer = self.signer
        if signer is None:
            return b"".join((head, *rest, _UNSIGNED))
        counter, tag = signer.sign((memoryview(head)[4:], *rest))  # the body after the encapsulation header
        return b"".join((head, *rest, counter, _TAG_LEN, tag))


class ObservationWriter(_Writer):
    def pack(self, sec: int, nanosec: int, episode: int, step: int, data: array) -> bytes:
        """Serialized Observation; `data` must be array('d')."""
        return self._join(self._pack(sec, nanosec, episode, step, data), data)


class ActionWriter(_Writer):
    def pack(self, sec: int, nanosec: int, episode: int, step: int, data: array, entropy: float) -> bytes:
        """Serialized Action; `data` must be array('d')."""
        return self._join(self._pack(sec, nanosec, episode, step, data), data, _F64.pack(entropy))
