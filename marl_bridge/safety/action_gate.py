"""The gate every incoming action passes before the env may see it.

It classifies an Action message against what the supervisor expects for this agent right now and
returns either a decoded action, a fallback (the agent answered, badly), or "ignore" (not an answer to
the current step). The shield of the safety layer plugs in after this gate.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Any

from marl_bridge.codec import CodecError, Flat, SpaceCodec
from marl_bridge.safety.events import SafetyEventData


class Verdict(Enum):
    ACCEPT = "accept"  # valid answer to the current step
    FALLBACK = "fallback"  # answer to the current step, but unusable: use the fallback
    IGNORE = "ignore"  # not an answer to the current step (stale, future, duplicate, wrong agent)


@dataclass(frozen=True)
class GateResult:
    verdict: Verdict
    action: Any = None
    event: SafetyEventData | None = None


def check_action(*, topic_agent: str, msg_agent: str, msg_episode: int, msg_step: int, layout: int,
                 flat: Flat, episode: int, step: int, live: bool, answered: bool,
                 known_agents: frozenset[str], codec: SpaceCodec, late_s: float | None = None) -> GateResult:
    """Classify one action message that arrived on `topic_agent`'s action topic (`late_s`: the agent's
    fallback was given at the deadline that many seconds ago; its answer now is late, not a duplicate)."""

    def event(kind: str, detail: str, value: float = 0.0) -> SafetyEventData:
        return SafetyEventData(kind, topic_agent, episode, step, detail, value)

    if msg_agent != topic_agent:
        kind = "wrong_agent" if msg_agent in known_agents else "unknown_agent"
        return GateResult(Verdict.IGNORE, event=event(
            kind, f"action on {topic_agent!r}'s topic names agent {msg_agent!r}; expected {topic_agent!r}"))
    if not live:
        return GateResult(Verdict.IGNORE, event=event(
            "stale_action", f"action for episode {msg_episode} step {msg_step}, but the agent has left "
            f"episode {episode}"))
    if (msg_episode, msg_step) < (episode, step):
        return GateResult(Verdict.IGNORE, event=event(
            "stale_action", f"action for episode {msg_episode} step {msg_step}; expected episode "
            f"{episode} step {step}", float(step - msg_step) if msg_episode == episode else 0.0))
    if (msg_episode, msg_step) > (episode, step):
        return GateResult(Verdict.IGNORE, event=event(
            "future_action", f"action for episode {msg_episode} step {msg_step}, which has not been "
            f"observed; expected episode {episode} step {step}"))
    if late_s is not None:
        return GateResult(Verdict.IGNORE, event=event(
            "stale_action", f"answer to episode {episode} step {step} {late_s:.3f} s after its deadline; "
            "its fallback stood in", late_s))
    if answered:
        return GateResult(Verdict.IGNORE, event=event(
            "duplicate_action", f"second action for episode {episode} step {step}; the first one counts"))
    if layout != codec.layout:
        return GateResult(Verdict.FALLBACK, event=event(
            "invalid_action", f"layout {layout} does not match the action space's layout {codec.layout} "
            f"({codec.json})"))
    try:
        action = codec.unpack_checked(flat)
    except (CodecError, ValueError, TypeError) as exc:
        return GateResult(Verdict.FALLBACK, event=event("invalid_action", str(exc)))
    return GateResult(Verdict.ACCEPT, action=action)
