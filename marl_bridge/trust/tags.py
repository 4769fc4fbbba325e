"""Tags and counters: who may speak on a stream, and not twice with the same words.

A tag is HMAC-SHA256(key, domain byte + the message's serialized fields up to and including its counter).
The domain byte keeps an observation from passing as an action and both from passing as an operator
request. A sender's counters start at the time it started (ns since the epoch) and count up by one, so a
restarted sender continues above what it sent before; a receiver accepts a counter only above the last
one it accepted on that stream, which rejects every replayed message.
"""

from __future__ import annotations

import hashlib
import hmac
import struct
import time
from collections.abc import Iterable

from marl_bridge.trust.keys import Key

OBSERVATION, ACTION, OPERATOR = b"O", b"A", b"S"
_U64 = struct.Struct("<Q")
TAG_SIZE = 32


class _Mac:
    """HMAC-SHA256 (RFC 2104) keyed once: the inner and outer hash states after the padded key (and, inner,
    the domain byte) are kept and copied per message. The same tags as `hmac.new(key, domain + message,
    sha256)`, at about half its cost per message (no Python HMAC object per tag)."""

    def __init__(self, key: Key, domain: bytes) -> None:
        block = key.secret.ljust(64, b"\0")  # 32-byte keys: within SHA-256's 64-byte block, no pre-hash
        self._inner = hashlib.sha256(bytes(b ^ 0x36 for b in block))
        self._inner.update(domain)
        self._outer = hashlib.sha256(bytes(b ^ 0x5C for b in block))

    def tag(self, *parts: bytes | bytearray | memoryview) -> bytes:
        """The tag of the parts, in order (as if joined)."""
        inner = self._inner.copy()
        for part in parts:
            inner.update(part)
        outer = self._outer.copy()
        outer.update(inner.digest())
        return outer.digest()


class Signer(_Mac):
    """Tags one sender's messages of one kind, each with a fresh counter: the time (ns since the epoch) the
    signer was made, plus one per message, so a restarted sender starts above all it sent before (unless
    it sent more than one message per nanosecond of its life)."""

    def __init__(self, key: Key, domain: bytes) -> None:
        super().__init__(key, domain)
        self.last = time.time_ns()

    def counter(self) -> int:
        self.last += 1
        return self.last

    def sign(self, parts: Iterable[bytes | bytearray | memoryview]) -> tuple[bytes, bytes]:
        """(the next counter as the message carries it: uint64 little-endian, the tag over `parts` and it),
        for a message whose signed span is `parts` followed by its counter (the hot path of nodes/wire.py)."""
        self.last += 1
        counter = _U64.pack(self.last)
        return counter, self.tag(*parts, counter)


class Verifier(_Mac):
    """Checks one stream's tags and counters. `check` returns None for an authentic, fresh message, else
    what was wrong with it (for the safety event)."""

    def __init__(self, key: Key, domain: bytes) -> None:
        super().__init__(key, domain)
        self.last = 0

    def check(self, counter: int, tag: bytes, signed: bytes | bytearray | memoryview) -> str | None:
        """`signed`: the one span the tag covers (a received message's `Parsed.signed`)."""
        if not tag:
            return "no tag (unsigned)"
        if not hmac.compare_digest(self.tag(signed), tag):
            return "tag does not verify (wrong key or altered)"
        if counter <= self.last:
            return f"replayed: counter {counter} is not above the last accepted {self.last}"
        self.last = counter
        return None


def operator_fields(team: str, command: str, steps: int, seed: int, use_seed: bool, counter: int) -> bytes:
    """What an operator request's tag covers (srv/Operator.srv), in one canonical byte string."""
    return "\0".join((team, command, str(steps), str(seed), str(int(use_seed)), str(counter))).encode()
