"""The action gate classifies every way an action can be wrong, naming what was expected."""

from __future__ import annotations

from array import array
from typing import Any

import numpy as np
import pytest
from gymnasium import spaces

from marl_bridge.codec import Flat, SpaceCodec
from marl_bridge.safety.action_gate import Verdict, check_action
from marl_bridge.safety.events import KINDS

CODEC = SpaceCodec(spaces.Box(-1, 1, (2,), np.float32))
AGENTS = frozenset({"r0", "r1"})


def f32(*values: float) -> Flat:
    """What a float32 Box action travels as: its data_f32 sequence."""
    return Flat(f32=array("f", values))


def gate(**overrides: Any):
    args = {"topic_agent": "r0", "msg_agent": "r0", "msg_episode": 3, "msg_step": 7, "layout": CODEC.layout,
            "flat": f32(0.5, -0.5), "episode": 3, "step": 7, "live": True, "answered": False,
            "known_agents": AGENTS, "codec": CODEC}
    args.update(overrides)
    return check_action(**args)


def test_valid_action_is_accepted_and_decoded() -> None:
    result = gate()
    assert result.verdict is Verdict.ACCEPT and result.event is None
    assert result.action.dtype == np.float32 and result.action.tolist() == [0.5, -0.5]


@pytest.mark.parametrize(("overrides", "kind", "verdict", "phrase"), [
    ({"msg_agent": "r1"}, "wrong_agent", Verdict.IGNORE, "names agent 'r1'; expected 'r0'"),
    ({"msg_agent": "intruder"}, "unknown_agent", Verdict.IGNORE, "names agent 'intruder'"),
    ({"msg_step": 6}, "stale_action", Verdict.IGNORE, "expected episode 3 step 7"),
    ({"msg_episode": 2, "msg_step": 50}, "stale_action", Verdict.IGNORE, "episode 2 step 50"),
    ({"msg_step": 8}, "future_action", Verdict.IGNORE, "has not been observed"),
    ({"answered": True}, "duplicate_action", Verdict.IGNORE, "the first one counts"),
    ({"answered": True, "late_s": 0.25}, "stale_action", Verdict.IGNORE, "0.250 s after its deadline"),
    ({"live": False}, "stale_action", Verdict.IGNORE, "has left episode 3"),
    ({"layout": 1}, "invalid_action", Verdict.FALLBACK, "does not match the action space's layout"),
    ({"flat": f32(np.nan, 0.0)}, "invalid_action", Verdict.FALLBACK, "NaN"),
    ({"flat": f32(0.1)}, "invalid_action", Verdict.FALLBACK, "got 1 f32, expected 2 f32"),
    ({"flat": Flat(array("d", [0.1, 0.2]))}, "invalid_action", Verdict.FALLBACK, "got 2 f64, expected 2 f32"),
    ({"flat": f32(3.0, 0.0)}, "invalid_action", Verdict.FALLBACK, "outside the space"),
])
def test_each_fault_gets_its_kind_and_a_clear_detail(overrides: dict, kind: str, verdict: Verdict,
                                                     phrase: str) -> None:
    result = gate(**overrides)
    assert result.verdict is verdict and result.action is None
    assert result.event is not None and result.event.kind == kind and kind in KINDS
    assert phrase in result.event.detail
    assert result.event.agent == "r0" and (result.event.episode, result.event.step) == (3, 7)


def test_an_action_in_its_own_dtype_is_accepted_exactly() -> None:
    codec = SpaceCodec(spaces.Discrete(2**62, start=-2))  # beyond float64's exact integers
    result = gate(flat=Flat(i64=array("q", [2**62 - 3])), codec=codec, layout=codec.layout)
    assert result.verdict is Verdict.ACCEPT and result.action == 2**62 - 3
