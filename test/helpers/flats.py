"""Action data as a test sends it: values in the sequence of the space's dtype, unchecked (so tests can
send NaN, out-of-range or wrong-sized answers the way a faulty actor would)."""

from __future__ import annotations

from array import array
from typing import Any

from marl_bridge.codec import CHANNELS, Flat, SpaceCodec


def flat_for(codec: SpaceCodec, values: Any) -> Flat:
    """`values` in the codec's (first non-empty) sequence: f64, i64, f32 or u8."""
    channel = CHANNELS[next((i for i, n in enumerate(codec.sizes) if n), 0)]
    values = list(values)
    if channel == "u8":
        return Flat(u8=bytes(int(v) for v in values))
    if channel == "i64":
        return Flat(i64=array("q", [int(v) for v in values]))
    return Flat(**{channel: array("d" if channel == "f64" else "f", [float(v) for v in values])})
