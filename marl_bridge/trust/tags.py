"""Tags and counters: who may speak on a stream, and not twice with the same words.

A tag is HMAC-SHA256(key, domain byte + the message's serialized fields up to and including its counter).
The domain byte keeps an observation from passing as an action and both from passing as an operator
request. Counters are nanoseconds since the epoch, forced strictly increasing per sender, so a restarted
sender continues above what it sent before; a receiver accepts a counter only above the last one it
accepted on that stream, which rejects every replayed message.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Iterable

from marl_bridge.trust.keys import Key

OBSERVATION, ACTION, OPERATOR = b"O", b"A", b"S"
TAG_SIZE = 32


class Signer:
    """Tags one sender's messages of one kind, each with a fresh counter."""

    def __init__(self, key: Key, domain: bytes) -> None:
        self._base = hmac.new(key.secret, domain, hashlib.sha256)
        self.last = 0

    def tag_of(self, signed: bytes | bytearray | memoryview) -> bytes:
        """The tag of one contiguous span (the hot path: one copy of the keyed state, one update)."""
        mac = self._base.copy()
        mac.update(signed)
        return mac.digest()

    def counter(self) -> int:
        self.last = max(self.last + 1, time.time_ns())
        return self.last

    def tag(self, parts: Iterable[bytes | bytearray | memoryview]) -> bytes:
        mac = self._base.copy()
        for part in parts:
            mac.update(part)
        return mac.digest()


class Verifier:
    """Checks one stream's tags and counters. `check` returns None for an authentic, fresh message, else
    what was wrong with it (for the safety event)."""

    def __init__(self, key: Key, domain: bytes) -> None:
        self._base = hmac.new(key.secret, domain, hashlib.sha256)
        self.last = 0

    def check(self, counter: int, tag: bytes, signed: Iterable[bytes | bytearray | memoryview]) -> str | None:
        if not tag:
            return "no tag (unsigned)"
        mac = self._base.copy()
        for part in signed:
            mac.update(part)
        if not hmac.compare_digest(mac.digest(), tag):
            return "tag does not verify (wrong key or altered)"
        if counter <= self.last:
            return f"replayed: counter {counter} is not above the last accepted {self.last}"
        self.last = counter
        return None


def operator_fields(team: str, command: str, steps: int, seed: int, use_seed: bool, counter: int) -> bytes:
    """What an operator request's tag covers (srv/Operator.srv), in one canonical byte string."""
    return "\0".join((team, command, str(steps), str(seed), str(int(use_seed)), str(counter))).encode()
