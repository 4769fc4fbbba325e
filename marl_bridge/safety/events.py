"""Safety event kinds (the strings in SafetyEvent.msg) and per-agent, per-kind counting."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

# kind -> (severity, structured failure label, meaning)
KINDS: dict[str, tuple[int, str, str]] = {
    "deadline_miss": (1, "timing", "no action for the step before the deadline; fallback used"),
    "invalid_action": (2, "control", "NaN/inf, wrong size, wrong layout or outside the space; fallback used"),
    "stale_action": (1, "timing", "action for an earlier step or episode, or after its deadline; ignored"),
    "future_action": (2, "state", "action for a step not yet observed; ignored"),
    "duplicate_action": (1, "control", "second action for the same step; the first one counts"),
    "wrong_agent": (2, "control", "action on one agent's topic naming another agent; ignored"),
    "unknown_agent": (2, "control", "action naming an agent not in the env; ignored"),
    "actor_lost": (2, "timing", "an actor never became ready or stopped answering"),
    "estop_engaged": (3, "safety", "emergency stop latched"),
    "estop_released": (0, "safety", "emergency stop released"),
    "collision": (1, "safety", "a robot touched another robot, a wall or an obstacle (contact onset)"),
    "stale_observation": (2, "perception", "a robot's odometry is missing or older than allowed"),
    "backend_fallback": (2, "state", "no hardware answered; the run uses the MuJoCo simulation instead"),
    "near_miss": (1, "safety", "two robots came closer than safety.shield.near_miss_m (measured)"),
    "geofence": (1, "safety", "shield: a robot was slowed or stopped at the workspace boundary"),
    "speed_limit": (1, "control", "shield: a commanded speed or acceleration was capped"),
    "separation_brake": (1, "planning", "shield: robots predicted to come too close were braked"),
    "action_clamped": (1, "control", "shield: an out-of-bounds action was clipped to the space"),
    "actor_rejoined": (0, "timing", "a lost actor answers again"),
    "unauthenticated": (2, "security", "a message or request unsigned, signed with another key, or replayed: dropped"),
    "foreign_publisher": (3, "security", "a node outside the team publishes on a robot's cmd_vel or odom"),
    "recorder_lost": (2, "recording", "the run's recorder left the graph: its bag ends there; the run goes on"),
    "events_suppressed": (1, "evaluation", "more events of one kind than the rate limit: counted, not all published"),
}
SEVERITY_NAMES = ("info", "warn", "error", "fatal")


@dataclass(frozen=True)
class SafetyEventData:
    """A safety event before it becomes a message (the supervisor publishes and counts it)."""

    kind: str
    agent: str
    episode: int
    step: int
    detail: str
    value: float = 0.0

    @property
    def severity(self) -> int:
        return KINDS[self.kind][0]


@dataclass
class SafetyCounts:
    """Counts per (agent, kind) for the run card, plus the failure-label roll-up."""

    by_agent: dict[str, Counter[str]] = field(default_factory=dict)

    def add(self, event: SafetyEventData) -> None:
        self.by_agent.setdefault(event.agent or "<team>", Counter())[event.kind] += 1

    def to_dict(self) -> dict[str, Any]:
        labels: Counter[str] = Counter()
        for counts in self.by_agent.values():
            for kind, n in counts.items():
                labels[KINDS[kind][1]] += n
        return {"by_agent": {a: dict(sorted(c.items())) for a, c in sorted(self.by_agent.items())},
                "failure_labels": dict(sorted(labels.items()))}
