"""A robot's dead-man stop, pure: which commands reach the base, and when the base gets zero.

The guard sits between the team and one robot's base. A command passes only from a publisher of the
team (its writer's id is known from the graph); anything else is dropped and counted. The base gets a
zero command and the guard holds when a writer on the command topic loses its liveliness (the supervisor
process died or its link is gone: DDS notices within the writer's lease; DDS does not say which writer,
so any loss counts, and a command from the team right after ends the hold again) or when no command came
for `timeout_s`; a command from the team after that ends the hold. A liveliness loss while already holding
(the team had gone quiet, e.g. paused by its e-stop, and then its process died) sends zero once more: the
supervisor's death always reaches the base, whatever came before it (found in CI: a base held since a
pause got nothing when the supervisor was killed).
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class DeadMan:
    timeout_s: float
    team: set[bytes] = field(default_factory=set)  # ids of the team's command writers
    lapsed: bool = False  # a writer on the command topic lost its liveliness since the team's last command
    losses: int = 0  # liveliness losses seen, and those a zero answered
    answered: int = 0
    last_command: float = float("-inf")
    holding: bool = True  # zero sent, nothing forwarded since (the start counts as holding)
    dropped: int = 0
    stops: int = 0

    def command(self, writer: bytes, now: float) -> bool:
        """A command arrived: True when it is to be forwarded to the base."""
        if writer not in self.team:
            self.dropped += 1
            return False
        self.last_command = now
        self.holding = self.lapsed = False
        return True

    def liveliness_lost(self) -> None:
        self.lapsed = True
        self.losses += 1

    def tick(self, now: float) -> str | None:
        """Periodic: the reason to command zero now (once per hold, and once per liveliness loss), else None."""
        new_loss = self.losses > self.answered
        self.answered = self.losses
        if self.holding and not new_loss:
            return None
        why = None
        if self.lapsed and new_loss:
            why = "a command writer lost its liveliness (the supervisor's process or link)"
        elif now - self.last_command > self.timeout_s:
            why = f"no command from the team for {now - self.last_command:.2f} s"
        if why is not None:
            self.holding = True
            self.stops += 1
        return why
