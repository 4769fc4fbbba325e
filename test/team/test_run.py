"""The team core with a fake clock: every timed rule is exact, no DDS, no wall clock.

Each test drives a TeamRun as the supervisor node would (start, offer, poll, tick, services) and reads
what it sent out through a recording Outlet.
"""

from __future__ import annotations

import dataclasses
import math
import time
from typing import Any

import numpy as np
import pytest
from conftest import CONFIG_DIR
from flats import flat_for
from tape import Tape

from marl_bridge.config import FallbackConfig, RunConfig, load
from marl_bridge.envs.team import build_team
from marl_bridge.nodes.wire import Parsed
from marl_bridge.team import FakeClock, Phase, TeamRun
from marl_bridge.team.clock import FakeThreadTimes, ThreadTimes

DEADLINE = 0.5


def point_cfg(*, episodes: int = 1, fallback: FallbackConfig | None = None, realtime: bool = False,
              **safety: Any) -> RunConfig:
    cfg = load(CONFIG_DIR / "point_team.yaml")
    sup = dataclasses.replace(cfg.supervisor, step_deadline_s=DEADLINE, fallback=fallback or cfg.supervisor.fallback,
                              mode="realtime" if realtime else "lockstep", control_rate_hz=2.0 if realtime else 0.0)
    env = dataclasses.replace(cfg.env, kwargs={"n_agents": 2, "max_cycles": 5})
    return dataclasses.replace(cfg, run=dataclasses.replace(cfg.run, episodes=episodes), env=env, supervisor=sup,
                               safety=dataclasses.replace(cfg.safety, **safety))


def started(cfg: RunConfig) -> tuple[TeamRun, Tape, FakeClock]:
    tape, clock = Tape(), FakeClock(100.0)
    run = TeamRun(cfg, build_team(cfg), tape, clock=clock)
    run.start([])
    return run, tape, clock


def answer(run: TeamRun, agent: str, values: Any = (0.5, -0.5), *, episode: int | None = None,
           step: int | None = None, name: str | None = None, layout: int | None = None,
           entropy: float = math.nan) -> None:
    codec = run.team.act_codecs[agent]
    run.offer(agent, Parsed(0, 0, name or agent, run.episode_index if episode is None else episode,
                            run.step_index if step is None else step, codec.layout if layout is None else layout,
                            flat_for(codec, values), entropy))


def stepped_actions(tape: Tape) -> dict[str, Any]:
    return tape.stepped[-1][3]


def test_lockstep_steps_when_every_agent_answered() -> None:
    run, tape, clock = started(point_cfg())
    assert tape.sent[-1][:2] == (0, 0) and set(tape.sent[-1][2]) == {"robot_0", "robot_1"}
    answer(run, "robot_0", entropy=1.5)
    assert not tape.stepped and run.phase is Phase.AWAITING
    clock.advance(0.25)
    answer(run, "robot_1")
    assert len(tape.stepped) == 1 and tape.sent[-1][:2] == (0, 1)
    assert not tape.events
    assert list(run.stats.latency["robot_1"].recent) == [0.25]
    assert run.stats.entropy() == {"robot_0": 1.5, "robot_1": None}


def test_deadline_is_exact_and_fills_only_the_missing() -> None:
    run, tape, clock = started(point_cfg())
    answer(run, "robot_0")
    clock.advance(DEADLINE - 1e-9)
    run.poll()
    assert not tape.stepped
    clock.advance(1e-9)
    run.poll()
    assert tape.kinds() == ["deadline_miss"] and tape.events[0].agent == "robot_1"
    assert tape.events[0].value == pytest.approx(DEADLINE)
    (_, _, results, actions) = tape.stepped[-1]
    assert {r.agent: r.fallback for r in results} == {"robot_0": False, "robot_1": True}
    np.testing.assert_array_equal(actions["robot_1"], np.zeros(2, np.float32))
    assert run.stats.deadline_misses == {"robot_0": 0, "robot_1": 1}
    assert run.stats.late_steps == 1
    clock.advance(DEADLINE)  # the next step: both late, one more late step
    run.poll()
    assert run.stats.deadline_misses == {"robot_0": 1, "robot_1": 2} and run.stats.late_steps == 2
    timing = run.stats.timing(2, run.clock())  # the card's
    assert timing["steps_with_deadline_misses"] == 2
    assert timing["late_steps_monotonic_s"] == [run.stats.started_at + DEADLINE, run.stats.started_at + 2 * DEADLINE]
    assert timing["late_steps_window_ms"] == [pytest.approx(DEADLINE * 1e3)] * 2
    # the thread's times are measured in real time only (two clock reads a step cost a trivial lockstep 10%)
    assert timing["late_steps_thread_cpu_ms"] == [None, None] and timing["window_thread_cpu_ms"] is None


def test_each_window_reports_the_team_threads_cpu_time_and_a_late_one_where_its_time_went() -> None:
    """The card tells a late step its thread computed through from one other processes kept it from and one
    the machine was not running: the clocks are fakes here, so the numbers are exact."""
    tape, clock, thread = Tape(), FakeClock(100.0), FakeThreadTimes()
    run = TeamRun(point_cfg(), build_team(point_cfg()), tape, clock=clock, thread_clock=thread)
    run.start([])
    thread.ran_s += 0.002  # the first window: 2 ms of CPU, both answer in time
    clock.advance(0.01)
    answer(run, "robot_0")
    answer(run, "robot_1")
    assert len(tape.stepped) == 1
    thread.ran_s += 0.001  # the second: 1 ms run, 0.1 s waited for the CPU, past the deadline
    thread.waited += 0.1
    clock.advance(DEADLINE)
    run.poll()
    timing = run.stats.timing(2, run.clock())
    assert timing["steps_with_deadline_misses"] == 1
    assert timing["late_steps_window_ms"] == [pytest.approx(DEADLINE * 1e3)]
    assert timing["late_steps_thread_cpu_ms"] == [pytest.approx(1.0)]
    assert timing["late_steps_queued_ms"] == [pytest.approx(100.0)]
    window = timing["window_thread_cpu_ms"]
    assert window["n"] == 2 and window["max"] == pytest.approx(2.0) and window["p50"] == pytest.approx(1.5)


def test_thread_times_read_this_threads_schedstat() -> None:
    """The real reader: this thread's run time grows with work done on it (here: Linux's schedstat)."""
    times = ThreadTimes()
    ran0, waited0 = times()
    end = time.thread_time() + 0.02
    while time.thread_time() < end:
        pass
    ran1, waited1 = times()
    assert times.fd is not None  # Linux: schedstat is there, the wait is measured
    assert 0.015 < ran1 - ran0 < 1.0 and waited1 >= waited0


def test_an_answer_after_the_deadline_before_the_check_is_a_miss_all_the_same() -> None:
    """The deadline is the one the config states, not the periodic check's: an answer that comes after it
    but before the check closed the step is a deadline miss (fallback, event, counted), at the same edge as
    the check's."""
    run, tape, clock = started(point_cfg())
    clock.advance(DEADLINE - 1e-9)
    answer(run, "robot_0")  # just before the deadline: on time
    clock.advance(1e-9)
    answer(run, "robot_1")  # at it, the check not run yet: as the check would call it, a miss
    assert tape.kinds() == ["deadline_miss"] and tape.events[0].agent == "robot_1"
    assert tape.events[0].value == pytest.approx(DEADLINE)
    assert {r.agent: r.fallback for r in tape.stepped[-1][2]} == {"robot_0": False, "robot_1": True}
    assert run.stats.deadline_misses == {"robot_0": 0, "robot_1": 1}
    assert list(run.stats.latency["robot_1"].recent) == []  # a miss is no answer's latency


@pytest.mark.parametrize(("mutate", "kind", "verdict"), [
    ({"values": (math.nan, 0.0)}, "invalid_action", "fallback"),
    ({"values": (2.0, 0.0)}, "invalid_action", "fallback"),
    ({"values": (0.1,)}, "invalid_action", "fallback"),
    ({"layout": 12345}, "invalid_action", "fallback"),
    ({"step": 0}, "stale_action", "ignore"),
    ({"step": 5}, "future_action", "ignore"),
    ({"episode": 3}, "future_action", "ignore"),
    ({"name": "robot_1"}, "wrong_agent", "ignore"),
    ({"name": "intruder"}, "unknown_agent", "ignore"),
])
def test_every_bad_answer_has_its_event_and_outcome(mutate: dict[str, Any], kind: str, verdict: str) -> None:
    run, tape, _ = started(point_cfg())
    answer(run, "robot_1")
    answer(run, "robot_0")  # step 0 done: the bad message is checked against step 1
    answer(run, "robot_1")
    answer(run, "robot_0", **mutate)
    assert tape.kinds() == [kind]
    if verdict == "fallback":
        assert len(tape.stepped) == 2 and tape.stepped[-1][2][0].fallback  # stepped at once, on the fallback
    else:
        assert len(tape.stepped) == 1  # ignored: still waiting for robot_0
        answer(run, "robot_0")
        assert len(tape.stepped) == 2 and not tape.stepped[-1][2][0].fallback


def test_duplicate_answer_is_ignored_and_the_first_counts() -> None:
    run, tape, _ = started(point_cfg())
    answer(run, "robot_0", (0.25, 0.25))
    answer(run, "robot_0", (-1.0, -1.0))
    answer(run, "robot_1")
    assert tape.kinds() == ["duplicate_action"]
    np.testing.assert_array_equal(stepped_actions(tape)["robot_0"], np.float32([0.25, 0.25]))


def test_unreadable_bytes_are_an_event_and_left_to_the_deadline() -> None:
    run, tape, clock = started(point_cfg())
    run.unreadable("robot_0", "malformed")
    answer(run, "robot_1")
    assert tape.kinds() == ["invalid_action"] and not tape.stepped
    clock.advance(DEADLINE)
    run.poll()
    assert tape.kinds() == ["invalid_action", "deadline_miss"] and len(tape.stepped) == 1


@pytest.mark.parametrize(("fallback", "expected"), [
    (FallbackConfig("zero"), [0.0, 0.0]),
    (FallbackConfig("hold"), [0.25, -0.75]),
    (FallbackConfig("value", (0.5, 0.5)), [0.5, 0.5]),
])
def test_fallback_kinds(fallback: FallbackConfig, expected: list[float]) -> None:
    run, tape, clock = started(point_cfg(fallback=fallback))
    answer(run, "robot_0", (0.25, -0.75))
    answer(run, "robot_1")
    answer(run, "robot_1")
    clock.advance(DEADLINE)
    run.poll()
    np.testing.assert_array_equal(stepped_actions(tape)["robot_0"], np.float32(expected))


def test_clamp_to_bounds_clips_instead_of_falling_back() -> None:
    from marl_bridge.config import ShieldConfig

    run, tape, _ = started(point_cfg(shield=ShieldConfig(clamp_to_bounds=True)))
    answer(run, "robot_0", (3.0, -0.5))
    answer(run, "robot_1")
    assert tape.kinds() == ["action_clamped"]
    np.testing.assert_array_equal(stepped_actions(tape)["robot_0"], np.float32([1.0, -0.5]))
    assert not tape.stepped[-1][2][0].fallback


def test_events_are_counted_all_and_published_up_to_the_limit_per_second() -> None:
    run, tape, clock = started(point_cfg(event_rate_limit=3))
    for _ in range(10):
        answer(run, "robot_0", name="intruder")
    assert tape.kinds() == ["unknown_agent"] * 3
    assert run.desk.counts.by_agent["robot_0"]["unknown_agent"] == 10
    clock.advance(1.0)
    answer(run, "robot_0", name="intruder")
    assert tape.kinds()[3:] == ["events_suppressed", "unknown_agent"]
    assert tape.events[3].value == 7
    for _ in range(4):
        answer(run, "robot_0", name="intruder")
    run.finish("interrupted: test")  # the 2 still held back are said before the end
    assert tape.kinds()[-1] == "events_suppressed" and tape.events[-1].value == 2
    published = sum(1 for e in tape.events if e.kind == "unknown_agent")
    assert published + sum(e.value for e in tape.events if e.kind == "events_suppressed") == 15
    assert run.desk.counts.by_agent["robot_0"]["unknown_agent"] == 15


def test_estop_pause_holds_the_step_and_sends_it_again_on_release() -> None:
    run, tape, _ = started(point_cfg())
    answer(run, "robot_0")
    assert run.engage("test")
    assert not run.engage("again")  # latched
    assert run.phase is Phase.HELD
    answer(run, "robot_1")  # the step in flight was dropped
    assert not tape.stepped and tape.kinds() == ["estop_engaged", "stale_action"]
    assert run.resume()[0] and run.phase is Phase.HELD  # resume does not release the latch
    assert run.release("test")
    assert tape.sent[-1][:2] == (0, 0) and len(tape.sent) == 2
    answer(run, "robot_0")
    answer(run, "robot_1")
    assert len(tape.stepped) == 1
    assert run.latch.history[0]["released"] == {"episode": 0, "step": 0, "wall_s": 0.0}


def test_estop_end_episode_aborts_and_release_starts_the_next() -> None:
    run, tape, _ = started(point_cfg(episodes=2, estop_action="end_episode"))
    answer(run, "robot_0")
    answer(run, "robot_1")
    run.engage("test")
    assert [r.aborted for r in tape.episodes] == [True] and tape.episodes[0].steps == 1
    run.release("test")
    assert tape.sent[-1][:2] == (1, 0)


def test_pause_completes_the_step_in_flight_then_grants_steps_one_by_one() -> None:
    run, tape, _ = started(point_cfg())
    ok, message = run.pause()
    assert ok and "pausing after step 0" in message
    answer(run, "robot_0")
    answer(run, "robot_1")
    assert run.phase is Phase.HELD and len(tape.sent) == 1
    assert run.grant(2) == (True, "2 more step(s) granted")
    for step in (1, 2):
        assert tape.sent[-1][:2] == (0, step)
        answer(run, "robot_0")
        answer(run, "robot_1")
    assert run.phase is Phase.HELD and len(tape.sent) == 3
    assert run.resume() == (True, "resumed")
    assert tape.sent[-1][:2] == (0, 3)
    assert run.grant(1) == (False, "step applies while paused (call pause first)")


def test_lost_actor_is_not_waited_for_and_rejoins_only_on_the_step_in_flight() -> None:
    run, tape, clock = started(point_cfg(lost_after_steps=2))
    for _ in range(2):
        answer(run, "robot_0")
        clock.advance(DEADLINE)
        run.poll()
    assert tape.kinds() == ["deadline_miss", "actor_lost", "deadline_miss"]
    answer(run, "robot_0")  # robot_1 is lost: step 2 settles on its fallback at once
    assert len(tape.stepped) == 3 and tape.stepped[-1][2][1].fallback
    answer(run, "robot_1", step=2)  # catching up: an answer to a step already settled
    assert tape.kinds()[-1] == "stale_action" and "robot_1" in run.liveness.lost
    answer(run, "robot_0")  # step 3 opened before that answer: settled on the fallback at once
    assert len(tape.stepped) == 4 and tape.stepped[-1][2][1].fallback
    answer(run, "robot_0")
    assert len(tape.stepped) == 4  # step 4 waits for the candidate
    answer(run, "robot_1", (0.25, 0.25))
    assert tape.kinds()[-1] == "actor_rejoined" and not run.liveness.lost
    assert len(tape.stepped) == 5 and not tape.stepped[-1][2][1].fallback
    np.testing.assert_array_equal(stepped_actions(tape)["robot_1"], np.float32([0.25, 0.25]))
    assert run.liveness.to_dict() == {"robot_1": [{"lost": {"episode": 0, "step": 1, "why": "no action for 2 "
                                                            "consecutive steps"},
                                                   "rejoined": {"episode": 0, "step": 4}}]}


def test_a_candidate_that_misses_again_stays_lost_without_a_second_lost_event() -> None:
    run, tape, clock = started(point_cfg(lost_after_steps=1))
    answer(run, "robot_0")
    clock.advance(DEADLINE)
    run.poll()  # step 0: robot_1 lost
    answer(run, "robot_1", step=0)  # stale: a candidate, waited for at the next step opened (step 2)
    answer(run, "robot_0")  # step 1 settles at once
    answer(run, "robot_0")
    clock.advance(DEADLINE)
    run.poll()  # step 2 waited for robot_1 and it missed
    assert tape.kinds().count("actor_lost") == 1 and tape.kinds()[-1] == "deadline_miss"
    answer(run, "robot_0")
    assert len(tape.stepped) == 4  # step 3: not waited for again


def test_rejoining_in_the_step_in_flight_replaces_the_fallback_without_a_duplicate() -> None:
    run, tape, clock = started(point_cfg(lost_after_steps=1))
    answer(run, "robot_0")
    clock.advance(DEADLINE)
    run.poll()
    run.actor_left("robot_0")  # both lost: step 1 waits for the deadline
    answer(run, "robot_1", (0.5, 0.5))  # robot_1 answers the step in flight after all
    assert tape.kinds()[-2:] == ["actor_lost", "actor_rejoined"]
    clock.advance(DEADLINE)
    run.poll()
    assert "duplicate_action" not in tape.kinds()
    assert {r.agent: r.fallback for r in tape.stepped[-1][2]} == {"robot_0": True, "robot_1": False}
    np.testing.assert_array_equal(stepped_actions(tape)["robot_1"], np.float32([0.5, 0.5]))


def test_realtime_rejoin_after_the_commands_went_out_is_no_duplicate() -> None:
    run, tape, clock = started(point_cfg(realtime=True, lost_after_steps=1))
    answer(run, "robot_0")
    clock.advance(DEADLINE)
    run.tick()  # robot_1 missed: lost
    answer(run, "robot_0")  # step 1: robot_1 pre-filled, so all settled: commands applied
    assert run.phase is Phase.APPLIED
    answer(run, "robot_1")
    assert tape.kinds()[-1] == "actor_rejoined" and "duplicate_action" not in tape.kinds()
    run.tick()
    assert tape.stepped[-1][2][1].fallback  # this step ran on the fallback it was sent with


def test_actor_leaving_the_graph_is_lost_at_once() -> None:
    run, tape, _ = started(point_cfg(lost_after_steps=5))
    run.actor_left("robot_1")
    answer(run, "robot_0", step=0)
    assert tape.kinds() == ["actor_lost"]
    assert len(tape.stepped) == 0  # lost after the step opened: this step still waits for the deadline
    run.actor_left("robot_1")
    assert tape.kinds() == ["actor_lost"]


def test_realtime_tick_closes_the_step_and_late_answers_are_duplicates() -> None:
    run, tape, clock = started(point_cfg(realtime=True))
    answer(run, "robot_0")
    answer(run, "robot_1")
    assert run.phase is Phase.APPLIED and not tape.stepped
    answer(run, "robot_0")
    assert tape.kinds() == ["duplicate_action"]
    clock.advance(0.5)  # the 2 Hz tick
    run.tick()
    assert len(tape.stepped) == 1 and run.phase is Phase.AWAITING
    clock.advance(0.5)
    run.tick()  # nobody answered: fallbacks for both, step at the tick
    assert len(tape.stepped) == 2 and tape.kinds().count("deadline_miss") == 2


def test_realtime_tick_inside_the_window_leaves_the_agents_their_deadline() -> None:
    """After a stall the control timer catches up: a tick can come a moment after observations that went
    out late. It does not cut the window short: no miss, and the step follows the settlement at once."""
    run, tape, clock = started(point_cfg(realtime=True))
    clock.advance(0.01)
    run.tick()  # inside the step's 0.5 s window: nothing closes
    assert run.phase is Phase.AWAITING and not tape.stepped and not tape.events
    answer(run, "robot_0")
    clock.advance(0.2)
    answer(run, "robot_1")  # settled: the tick has passed, so it steps now
    assert len(tape.stepped) == 1 and not tape.events and run.phase is Phase.AWAITING
    assert {r.agent: r.fallback for r in tape.stepped[-1][2]} == {"robot_0": False, "robot_1": False}
    clock.advance(0.01)
    run.tick()  # again early; this time robot_1 stays silent: the miss comes at the deadline, not the tick
    answer(run, "robot_0")
    clock.advance(DEADLINE - 0.01 - 1e-9)  # the window opened 0.01 s before that tick
    run.poll()
    assert len(tape.stepped) == 1 and not tape.events
    clock.advance(1e-9)
    run.poll()
    assert len(tape.stepped) == 2 and tape.kinds() == ["deadline_miss"]
    assert tape.events[0].value == pytest.approx(DEADLINE)
    clock.advance(0.3)
    run.tick()  # the next tick after a step taken at its settlement: the window of the step after it is open
    assert len(tape.stepped) == 2 and run.phase is Phase.AWAITING


def test_an_answer_after_the_deadline_is_late_not_a_duplicate() -> None:
    """Real time: the deadline (0.5 s) comes before the tick (2 Hz: 0.5 s too, but the poll closes first);
    an answer between them found its fallback already applied: late (stale_action), not a duplicate."""
    run, tape, clock = started(point_cfg(realtime=True))
    answer(run, "robot_0")
    clock.advance(DEADLINE + 0.01)
    run.poll()
    assert run.phase is Phase.APPLIED and tape.kinds() == ["deadline_miss"]
    clock.advance(0.02)
    answer(run, "robot_1")
    assert tape.kinds() == ["deadline_miss", "stale_action"]
    assert tape.events[-1].value == pytest.approx(0.03)
    answer(run, "robot_0")  # robot_0 answered in time: a second answer is a duplicate
    assert tape.kinds()[-1] == "duplicate_action"
    run.tick()
    assert {r.agent: r.fallback for r in tape.stepped[-1][2]} == {"robot_0": False, "robot_1": True}


def test_agents_leaving_are_no_longer_asked() -> None:
    cfg = point_cfg()
    cfg = dataclasses.replace(cfg, env=dataclasses.replace(cfg.env, kwargs={"n_agents": 2, "max_cycles": 40}))
    run, tape, _ = started(cfg)
    while not run.finished:
        for agent in tape.sent[-1][2]:
            obs = run.team.obs_codecs[agent].unpack(tape.sent[-1][2][agent])
            answer(run, agent, tuple(np.clip(2 * (obs[2:4] - obs[:2]), -1, 1)))
    asked = [set(enc) for _, _, enc in tape.sent]
    assert asked[0] == {"robot_0", "robot_1"} and len(asked[-1]) == 1  # one reached its goal first
    assert tape.episodes[0].terminated == dict.fromkeys(["robot_0", "robot_1"], True)


def test_agents_joining_after_reset_are_asked_from_their_first_step() -> None:
    cfg = point_cfg()
    cfg = dataclasses.replace(cfg, env=dataclasses.replace(
        cfg.env, entry_point="late_joiner:parallel_env", kwargs={"join_at": 2, "max_cycles": 4}))
    run, tape, _ = started(cfg)
    while not run.finished:
        for agent in tape.sent[-1][2]:
            answer(run, agent, (0.5,))
    assert [sorted(enc) for _, _, enc in tape.sent] == [["scout"], ["scout"], ["helper", "scout"],
                                                        ["helper", "scout"]]
    rec = tape.episodes[0]
    assert rec.lengths == {"scout": 4, "helper": 2} and set(rec.observation_digest) == {"scout", "helper"}


def test_reset_service_aborts_and_uses_the_given_seed() -> None:
    run, tape, _ = started(point_cfg(episodes=2))
    answer(run, "robot_0")
    answer(run, "robot_1")
    assert run.reset(1234) == (True, "episode 1 started with seed 1234")
    assert tape.episodes[0].aborted and tape.sent[-1][:2] == (1, 0)


def test_a_long_run_keeps_the_last_episodes_whole_and_counts_every_one() -> None:
    """run.card_episodes bounds what the card lists (and memory); totals and per_agent count them all."""
    from marl_bridge.team.card import run_card

    cfg = point_cfg(episodes=5)
    cfg = dataclasses.replace(cfg, run=dataclasses.replace(cfg.run, card_episodes=2))
    run, tape, _ = started(cfg)
    while not run.finished:
        answer(run, "robot_0", (1.0, 0.0))
        answer(run, "robot_1", (0.0, 1.0))
    assert len(tape.episodes) == 5 and [r.episode for r in run.ledger.kept] == [3, 4]
    card = run_card(run, topology="single", ros_names={})
    assert [ep["episode"] for ep in card["episodes"]] == [3, 4] and card["totals"]["episodes"] == 5
    assert card["totals"]["steps"] == sum(r.steps for r in tape.episodes) == card["timing"]["steps"]
    returns = [r.returns["robot_0"] for r in tape.episodes]
    tally = card["per_agent"]["robot_0"]
    assert tally["episodes"] == 5 and tally["return_mean"] == pytest.approx(sum(returns) / 5)
    assert (tally["return_min"], tally["return_max"]) == (min(returns), max(returns))
    assert tally["steps"] == sum(r.lengths["robot_0"] for r in tape.episodes) and tally["fallbacks"] == 0


def test_interrupt_keeps_what_was_done() -> None:
    run, tape, _ = started(point_cfg())
    run.finish("interrupted: test")
    assert run.finished and tape.status == "interrupted: test"
    answer(run, "robot_0")  # after the end: nothing is stepped
    assert not tape.stepped


def test_a_run_mostly_on_fallbacks_ends_degraded_not_complete() -> None:
    run, tape, clock = started(point_cfg())
    while not run.finished:  # robot_1 never answers, robot_0 only every other step
        if run.step_index % 2 == 0:
            answer(run, "robot_0")
        clock.advance(DEADLINE)
        run.poll()
    assert tape.status == "degraded: 70% of agent-steps ran on fallbacks (run.max_fallback_share 50%)"
    run, tape, clock = started(point_cfg())
    while not run.finished:  # robot_1 silent: exactly half on fallbacks is not more than the bound
        answer(run, "robot_0")
        clock.advance(DEADLINE)
        run.poll()
    assert tape.status == "complete"


def test_exit_codes_follow_the_status() -> None:
    from marl_bridge.cli.main import exit_code

    assert [exit_code(s) for s in ("complete", "failed: env step raised", "degraded: 70% ...", "interrupted: signal")
            ] == [0, 3, 4, 130]
