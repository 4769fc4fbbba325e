"""The dead-man stop, pure with a fake clock: foreign commands dropped, zero once per hold."""

from __future__ import annotations

from marl_bridge.safety.guard import DeadMan


def test_only_the_team_passes_and_a_lapse_or_a_silence_stops_once() -> None:
    guard = DeadMan(timeout_s=0.25, team={b"team"})
    assert guard.tick(0.0) is None  # holding from the start: nothing to stop
    assert guard.command(b"rogue", 0.0) is False and guard.dropped == 1
    assert guard.command(b"team", 1.0) is True and not guard.holding
    assert guard.tick(1.25) is None  # exactly the timeout: not yet
    assert guard.tick(1.375).startswith("no command from the team for 0.38 s")
    assert guard.tick(1.5) is None and guard.stops == 1  # once per hold
    assert guard.command(b"team", 2.0) is True
    guard.liveliness_lost()  # the supervisor died
    assert guard.tick(2.01).startswith("a command writer lost its liveliness")
    assert guard.command(b"rogue", 2.02) is False and guard.holding and guard.dropped == 2
    assert guard.command(b"team", 2.05) is True and guard.tick(2.06) is None  # the team is back


def test_the_supervisors_death_reaches_the_base_even_while_it_holds() -> None:
    """Found in CI: the team paused (its e-stop), the guard held after the silence, then the supervisor was
    killed: its death must still send the base a zero, once."""
    guard = DeadMan(timeout_s=0.25, team={b"team"})
    assert guard.command(b"team", 1.0) is True
    assert guard.tick(1.5).startswith("no command from the team")  # the pause: zero and hold
    guard.liveliness_lost()  # then the supervisor dies
    assert guard.tick(1.6).startswith("a command writer lost its liveliness") and guard.stops == 2
    assert guard.tick(1.7) is None and guard.holding  # once
