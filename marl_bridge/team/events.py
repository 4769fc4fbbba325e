"""Safety events: every one counted, at most `limit` per agent and kind per second published."""

from __future__ import annotations

from collections.abc import Callable

from marl_bridge.safety.events import SafetyCounts, SafetyEventData
from marl_bridge.team.clock import Clock


class EventDesk:
    """Counts each event and passes it on, unless its (agent, kind) already published `limit` events in
    the current one-second window: then it is held back, and the first event after the window says how
    many were (a flood of bad actions must not become a flood of messages)."""

    def __init__(self, limit: int, clock: Clock, publish: Callable[[SafetyEventData], None]) -> None:
        self.limit = limit
        self.clock = clock
        self.publish = publish
        self.counts = SafetyCounts()
        self._windows: dict[tuple[str, str], list[float]] = {}  # (agent, kind) -> [start, sent, held back]

    def __call__(self, ev: SafetyEventData) -> None:
        self.counts.add(ev)
        now = self.clock()
        window = self._windows.setdefault((ev.agent, ev.kind), [now, 0, 0])
        if now - window[0] >= 1.0:
            if window[2]:
                self.publish(SafetyEventData(
                    "events_suppressed", ev.agent, ev.episode, ev.step,
                    f"{int(window[2])} {ev.kind} event(s) counted but not published in the last second "
                    f"(limit {self.limit}/s)", window[2]))
            window[:] = [now, 0, 0]
        if window[1] >= self.limit:
            window[2] += 1
            return
        window[1] += 1
        self.publish(ev)

    def flush(self, episode: int, step: int) -> None:
        """At the end of the run: the notes of events still held back, so published events plus the
        `events_suppressed` values add up to the counts on the card."""
        for (agent, kind), window in self._windows.items():
            if window[2]:
                self.publish(SafetyEventData(
                    "events_suppressed", agent, episode, step,
                    f"{int(window[2])} {kind} event(s) counted but not published before the run ended "
                    f"(limit {self.limit}/s)", window[2]))
                window[2] = 0
