"""The action gate classifies every way an action can be wrong, naming what was expected."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from gymnasium import spaces

from marl_bridge.codec import SpaceCodec
from marl_bridge.safety.action_gate import Verdict, check_action
from marl_bridge.safety.events import KINDS

CODEC = SpaceCodec(spaces.Box(-1, 1, (2,), np.float32))
AGENTS = frozenset({"r0", "r1"})


def gate(**overrides: Any):
    args = {"topic_agent": "r0", "msg_agent": "r0", "msg_episode": 3, "msg_step": 7, "layout": CODEC.layout,
            "data": np.array([0.5, -0.5]), "episode": 3, "step": 7, "live": True, "answered": False,
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
    ({"data": np.array([np.nan, 0.0])}, "invalid_action", Verdict.FALLBACK, "NaN"),
    ({"data": np.array([0.1])}, "invalid_action", Verdict.FALLBACK, "got 1 values, expected 2"),
    ({"data": np.array([3.0, 0.0])}, "invalid_action", Verdict.FALLBACK, "outside the space"),
])
def test_each_fault_gets_its_kind_and_a_clear_detail(overrides: dict, kind: str, verdict: Verdict,
                                                     phrase: str) -> None:
    result = gate(**overrides)
    assert result.verdict is verdict and result.action is None
    assert result.event is not None and result.event.kind == kind and kind in KINDS
    assert phrase in result.event.detail
    assert result.event.agent == "r0" and (result.event.episode, result.event.step) == (3, 7)


def test_raw_message_buffers_are_accepted() -> None:
    from array import array
    assert gate(data=array("d", [0.25, 0.75])).verdict is Verdict.ACCEPT
