"""TeamRun: the decision logic of a team run, driven by events, reading time from an injected clock.

Inputs are what happens to a run: actors ready (`start`), an action message (`offer`), the periodic
deadline check (`poll`), the real-time control tick (`tick`), the services (reset, pause, resume, step,
e-stop engage and release) and an actor leaving the graph. Outputs go to an `Outlet`: observations for
the agents that must answer, per-agent step results, safety events (counted and rate limited here),
episode summaries, the simulated time, and the end of the run. The supervisor node is ROS wiring around
one TeamRun; the direct rollout drives one in-process, so "ROS == direct" holds by construction.

One action travels one way: parse (wire) -> check (gate, mask) -> decide (settlement, shield) -> step
(episode) -> publish (outlet) -> record (run card, recorder).
"""

from __future__ import annotations

import dataclasses
from array import array
from collections.abc import Callable
from enum import Enum
from typing import Any, Protocol

from marl_bridge.config import RunConfig
from marl_bridge.envs.backends import backend as find_backend
from marl_bridge.envs.episode import AgentResult, EpisodeRecord, open_episode
from marl_bridge.envs.team import Team
from marl_bridge.nodes.wire import Parsed
from marl_bridge.safety.events import SafetyEventData
from marl_bridge.safety.shield import Shield
from marl_bridge.seeds import episode_seed
from marl_bridge.team.clock import Clock, ThreadClock, ThreadTimes, monotonic
from marl_bridge.team.events import EventDesk
from marl_bridge.team.holds import EStopLatch, Grants
from marl_bridge.team.ledger import EpisodeLedger
from marl_bridge.team.liveness import Liveness
from marl_bridge.team.settlement import Settlement
from marl_bridge.team.stats import RunStats

PICTURES = 8  # robot worlds: trajectory plots of the first episodes, plus the latest trajectory


class Phase(Enum):
    STARTING = "starting"  # waiting for the actors (and, on hardware, the robots)
    AWAITING = "awaiting"  # observations are out; answers are being gathered
    APPLIED = "applied"  # real-time: the step's commands went to the robots; the tick steps
    HELD = "held"  # the next observations wait (paused without grants, or e-stopped)
    STEPPING = "stepping"  # inside the joint step (transient)
    FINISHED = "finished"


class Outlet(Protocol):
    """Where a TeamRun's outputs go (ROS publishers in the supervisor node, in-process elsewhere)."""

    def observations(self, episode: int, step: int, encoded: dict[str, array]) -> None: ...
    def results(self, episode: int, step: int, results: list[AgentResult], actions: dict[str, Any]) -> None: ...
    def event(self, ev: SafetyEventData) -> None: ...
    def episode_end(self, rec: EpisodeRecord) -> None: ...
    def sim_time(self, seconds: float) -> None: ...
    def run_status(self, status: str) -> None: ...  # "running" or "held" (paused, e-stopped), on change
    def ended(self, status: str) -> None: ...


class QuietOutlet:
    """An Outlet that drops everything: drivers without ROS override what they need."""

    def observations(self, episode: int, step: int, encoded: dict[str, array]) -> None:
        pass

    def results(self, episode: int, step: int, results: list[AgentResult], actions: dict[str, Any]) -> None:
        pass

    def event(self, ev: SafetyEventData) -> None:
        pass

    def episode_end(self, rec: EpisodeRecord) -> None:
        pass

    def sim_time(self, seconds: float) -> None:
        pass

    def run_status(self, status: str) -> None:
        pass

    def ended(self, status: str) -> None:
        pass


class TeamRun:
    def __init__(self, cfg: RunConfig, team: Team, outlet: Outlet, *, clock: Clock = monotonic,
                 thread_clock: ThreadClock | None = None, backend_used: str = "",
                 backend_why: str = "configured") -> None:
        self.cfg, self.outlet, self.clock = cfg, outlet, clock
        self.agents = team.agents
        self.realtime = cfg.supervisor.mode == "realtime"
        self.tick_passed = False  # real time: the control tick came while the step in flight was in its window
        self.phase = Phase.STARTING
        self.status = "starting"
        self.backend_requested = cfg.env.backend
        self.backend_used, self.backend_why = backend_used or cfg.env.backend, backend_why
        self.desk = EventDesk(cfg.safety.event_rate_limit, clock, outlet.event)
        self.stats = RunStats(self.agents, clock(), thread_clock or (ThreadTimes() if self.realtime else None))
        self.liveness = Liveness(self.agents, cfg.safety.lost_after_steps)
        self.latch = EStopLatch()
        self.grants = Grants()
        self.recorder_lost: list[dict[str, Any]] = []  # recorders that left mid-run: where their bags end
        self.foreigners: list[dict[str, Any]] = []  # foreign publishers on the robots' topics, as found
        self.ledger = EpisodeLedger(cfg.run.card_episodes)  # every episode counted; the last ones kept whole
        self.traces: list[dict[str, Any]] = []  # per episode, from robot worlds
        self.ready: dict[str, str] = {}  # agent -> policy its actor reported
        self.episode_index = -1
        self.step_index = 0
        self.seed_override: int | None = None
        self._said = ""  # the run status last sent out
        self.shield = Shield(cfg.safety.shield, team.env, team.act_codecs, cfg.source)
        self._bind(team)

    def _bind(self, team: Team) -> None:
        self.team, self.env, self.world = team, team.env, team.world
        self.episode = open_episode(team.env, team.obs_codecs, self.cfg.supervisor.max_steps)
        self.shield.rebind(team.env)
        self.settlement = Settlement(team.act_codecs, team.fallbacks, self.shield, self.liveness, self.stats,
                                     self.desk, self.cfg.supervisor.step_deadline_s, self._lose)
        self._simulated = self.world is not None and find_backend(self.world.backend, "env").simulated

    @property
    def running(self) -> bool:
        return self.phase not in (Phase.STARTING, Phase.FINISHED)

    @property
    def finished(self) -> bool:
        return self.phase is Phase.FINISHED

    @property
    def answering(self) -> bool:
        """Answers to the step in flight are classified (real time: until the tick; once applied, a second
        answer is a duplicate and one after the deadline is late)."""
        return self.phase in (Phase.AWAITING, Phase.APPLIED)

    # -- start and episodes --------------------------------------------------------------------
    def swap_backend(self, team: Team, used: str, why: str) -> None:
        """Before start: run `team` (the simulated fallback of a silent hardware team) instead."""
        for agent in self.agents:
            if (team.obs_codecs[agent].json != self.team.obs_codecs[agent].json
                    or team.act_codecs[agent].json != self.team.act_codecs[agent].json):
                raise RuntimeError(f"{used} fallback has other spaces than {self.backend_used} for {agent!r}")
        self.env.close()  # zero commands to the robots that did answer
        self._bind(team)
        self.backend_used, self.backend_why = used, why

    def settle_backend(self, silent: list[str], waited: float, wait_s: float,
                       rebuild: Callable[[str], Team]) -> bool | None:
        """A backend that waits for robots: True once every robot was heard (or its simulated fallback
        runs instead, with a backend_fallback event), None to keep waiting, False when the run failed."""
        entry = find_backend(self.backend_requested, "env.backend")
        if silent and waited < wait_s:
            return None
        if not silent:
            self.backend_used, self.backend_why = entry.robots_backend, "odometry from every robot"
            return True
        why = f"no odometry from {', '.join(silent)} within {wait_s} s"
        if entry.fallback is None:
            self.backend_used, self.backend_why = "none", why
            self.fail("stale_observation", f"{why}; backend {entry.name} has no fallback configured (backend: auto "
                      "would run MuJoCo)", f"failed: {why}")
            return False
        self.swap_backend(rebuild(entry.fallback), entry.fallback, f"fallback: {why}")
        self.desk(SafetyEventData("backend_fallback", "", 0, 0, f"{why}; running the {entry.fallback} world of the "
                                  "same task instead", waited))
        return True

    def start(self, missing: list[str], why_missing: str = "") -> None:
        """Actors are ready (those in `missing` are not: they run on their fallback until they answer)."""
        for agent in missing:
            self.desk(SafetyEventData("actor_lost", agent, 0, 0, f"actor not ready {why_missing}; running on "
                                      "its fallback action"))
        self.status = "running"
        self.stats.stepping_since = self.clock()
        self._begin_episode()

    def _begin_episode(self) -> None:
        self.episode_index += 1
        if self.seed_override is not None:
            seed, self.seed_override = self.seed_override, None
        else:
            seed = episode_seed(self.cfg.run.seed, self.episode_index)
        for fb in self.team.fallbacks.values():
            fb.reset()
        self.shield.reset()
        try:
            self.episode.reset(self.episode_index, seed)
        except Exception as exc:  # the env is user code: its failure ends the run, the card stays
            self.finish(f"failed: env reset (episode {self.episode_index}) raised {type(exc).__name__}: {exc}")
            return
        self.step_index = 0
        if self._simulated:
            self.outlet.sim_time(self.world.sim_time or 0.0)  # type: ignore[union-attr]
        self._proceed()

    def _proceed(self) -> None:
        """Send the next observations, unless e-stopped or paused without grants (then hold them: the
        robots get a stop command and the team waits)."""
        if self.phase is Phase.FINISHED:
            return
        if self.latch.engaged or not self.grants.take():
            self.phase = Phase.HELD
            if self.world is not None:
                self.world.halt()
            self._say("held")
            return
        self._say("running")
        self.phase = Phase.AWAITING
        self.tick_passed = False
        self.outlet.observations(self.episode_index, self.step_index, self.episode.encoded)
        self.settlement.open(self.episode, (self.episode_index, self.step_index), self.clock())

    # -- answers -------------------------------------------------------------------------------
    def offer(self, agent: str, msg: Parsed) -> None:
        """An action message arrived on `agent`'s action topic."""
        if agent in self.liveness.lost and msg.agent == agent and self._rejoins(agent, msg):
            return
        settlement = self.settlement
        settlement.offer(agent, msg, self.clock(), self.answering)
        if self.phase is Phase.AWAITING and settlement.complete:
            self._settled()

    def _rejoins(self, agent: str, msg: Parsed) -> bool:
        """A lost agent's message: it rejoins on an answer to the step in flight (which then counts, in
        place of the fallback it was given); an answer to an earlier step makes it a candidate, waited
        for at the next step. True when the message needs nothing more."""
        if (msg.episode, msg.step) != (self.episode_index, self.step_index) or not self.answering:
            self.liveness.candidates.add(agent)
            return False  # the gate calls it stale (or future) with its event
        why = self.liveness.rejoin(agent, self.episode_index, self.step_index)
        self.desk(SafetyEventData("actor_rejoined", agent, self.episode_index, self.step_index,
                                  f"answered the step in flight (was lost: {why})"))
        if self.phase is Phase.APPLIED:
            return True  # the commands went out on its fallback already; it is waited for from the next step
        self.settlement.unfill(agent)
        return False

    def foreign_publisher(self, topic: str, node: str) -> None:
        """A node outside the team publishes on a robot's cmd_vel or odometry: said, listed on the card and,
        unless safety.foreign_publisher is "event", the e-stop is latched (the robots stop)."""
        self.foreigners.append({"topic": topic, "node": node, "episode": self.episode_index, "step": self.step_index,
                                "wall_s": self._wall()})
        self.desk(SafetyEventData("foreign_publisher", "", self.episode_index, self.step_index,
                                  f"node {node} publishes on {topic}; only the team may"))
        if self.cfg.safety.foreign_publisher == "estop":
            self.engage(f"foreign publisher {node} on {topic}")

    def recorder_left(self, node: str) -> None:
        """A recorder of this run left the graph (killed, crashed, its disk full): its bag ends here. Said and
        kept on the card; the run goes on (its card and episodes.jsonl keep what it does)."""
        self.recorder_lost.append({"node": node, "episode": self.episode_index, "step": self.step_index,
                                   "wall_s": self._wall()})
        self.desk(SafetyEventData("recorder_lost", "", self.episode_index, self.step_index,
                                  f"recorder {node} left: its bag ends near episode {self.episode_index} step "
                                  f"{self.step_index}"))

    def unauthenticated(self, agent: str, detail: str) -> None:
        """A message or request without a valid tag, or replayed: dropped before anything acts on it."""
        self.desk(SafetyEventData("unauthenticated", agent, self.episode_index, self.step_index, detail))

    def unreadable(self, agent: str, detail: str) -> None:
        """Bytes on `agent`'s action topic that answer no step that can be told: said, then left to the deadline."""
        self.desk(SafetyEventData("invalid_action", agent, self.episode_index, self.step_index,
                                  f"unreadable message on {agent!r}'s action topic: {detail}"))

    def _settled(self) -> None:
        """Every agent due has its action: the shield filters them; lockstep steps now; real-time sends
        the commands now (the robots act until the tick) and steps at the tick."""
        self.stats.window_settled()
        pending = self.settlement.pending
        if self.shield.active:
            pending, events = self.shield.filter(pending, self.episode_index, self.step_index)
            self.settlement.pending = pending
            for ev in events:
                self.desk(ev)
        if not self.realtime:
            self._step()
        else:
            self.phase = Phase.APPLIED  # later answers to this step are duplicates
            if self.world is not None:
                self.world.apply(pending)
            if self.tick_passed:  # its tick came inside the window (see tick): step now
                self._step()

    def poll(self) -> None:
        """Periodic: a step in flight past its deadline is settled with fallbacks for the agents due."""
        if self.phase is Phase.AWAITING and self.settlement.overdue(self.clock()):
            self.settlement.close(self.clock())
            self._settled()

    def tick(self) -> None:
        """Real-time control tick: close the step in flight (late agents get fallbacks) and step.

        A tick inside the step's window does not cut it short: after a stall the timer catches up, and its
        next tick can come a moment after observations that went out late. The agents keep their whole
        deadline; the step follows as soon as it is settled (every answer in, or the deadline)."""
        if self.phase is Phase.AWAITING:
            if not self.settlement.overdue(self.clock()):
                self.tick_passed = True
                return
            self.settlement.close(self.clock())
            self._settled()
        if self.phase is Phase.APPLIED:
            self._step()

    # -- the joint step ------------------------------------------------------------------------
    def _step(self) -> None:
        self.phase = Phase.STEPPING
        settlement = self.settlement
        self.stats.stepped(self.clock(), settlement.t0)
        try:
            results = self.episode.step(settlement.pending, settlement.fallback)
        except Exception as exc:  # the env is user code: its failure ends the run, the card stays
            self.finish(f"failed: env step (episode {self.episode_index}, step {self.step_index}) raised "
                        f"{type(exc).__name__}: {exc}")
            return
        if self.world is not None:  # /clock and the events only robot worlds raise
            if self._simulated:
                self.outlet.sim_time(self.world.sim_time or 0.0)
            self._world_events(results)
        self.outlet.results(self.episode_index, self.step_index, results, settlement.pending)
        if self.phase is Phase.FINISHED:  # an outlet may end the run (replay at a divergence)
            return
        if self.episode.done:
            self._end_episode()
        else:
            self.step_index += 1
            self._proceed()

    def _world_events(self, results: list[AgentResult]) -> None:
        """Safety events the world knows of: contact onsets it reports, and what its body raised."""
        for r in results:
            hits = r.info.get("collisions") if isinstance(r.info, dict) else None
            if hits:
                self.desk(SafetyEventData("collision", r.agent, self.episode_index, self.step_index,
                                          f"{hits} new contact(s)", float(hits)))
        for ev in self.shield.near_misses(self.episode_index, self.step_index):
            self.desk(ev)
        assert self.world is not None
        for ev in self.world.drain_events():
            self.desk(dataclasses.replace(ev, episode=self.episode_index, step=self.step_index))

    def _end_episode(self, aborted: bool = False) -> None:
        if self.ledger.last is not None and self.ledger.last is self.episode.record:
            return  # already ended (an e-stop with end_episode, then a reset)
        if aborted:
            assert self.episode.record is not None
            self.episode.record.aborted = True
        rec = self.episode.finish()
        self.ledger.add(rec)
        self._keep_artifacts(rec)
        self.outlet.episode_end(rec)
        if aborted:
            return
        if self.ledger.count >= self.cfg.run.episodes:
            self.finish("complete")
        else:
            self._begin_episode()

    def _keep_artifacts(self, rec: EpisodeRecord) -> None:
        """The trajectory of robot worlds, for the first PICTURES episodes and the latest one (memory stays
        bounded however long the run). Nothing is rendered here: video comes after the run, from the bag
        (`marl-bridge replay BAG --video DIR`), never inside the team's loop."""
        if self.world is None:
            return
        ending = "terminated" if all(rec.terminated.values()) else \
            "truncated" if any(rec.truncated.values()) else "ended"
        trace = {"episode": rec.episode, "seed": rec.seed, "ending": ending, **self.world.episode_trace()}
        if len(self.traces) > PICTURES:
            self.traces[-1] = trace
        else:
            self.traces.append(trace)

    def finish(self, status: str) -> None:
        if self.phase is Phase.FINISHED:
            return
        if status == "complete":
            status = self._judged()
        self.phase = Phase.FINISHED
        self.status = status
        self.desk.flush(self.episode_index, self.step_index)
        if self.world is not None:
            self.world.halt()  # robots stop when the run ends, whatever ended it
        self.outlet.ended(status)

    def _judged(self) -> str:
        """"complete", or "degraded: ..." when more agent-steps than run.max_fallback_share ran on fallbacks."""
        steps, fallbacks = self.ledger.agent_steps, self.ledger.fallback_steps
        bound = self.cfg.run.max_fallback_share
        if steps and fallbacks / steps > bound:
            return (f"degraded: {fallbacks / steps:.0%} of agent-steps ran on fallbacks (run.max_fallback_share "
                    f"{bound:.0%})")
        return "complete"

    def fail(self, kind: str, detail: str, status: str) -> None:
        """The run cannot start (e.g. no robot answered and no fallback is configured)."""
        self.desk(SafetyEventData(kind, "", 0, 0, detail, self.clock() - self.stats.started_at))
        self.finish(status)

    # -- services ------------------------------------------------------------------------------
    def reset(self, seed: int | None) -> tuple[bool, str]:
        """End the episode in flight (aborted) and start the next, with `seed` if given."""
        if not self.running:
            return False, f"supervisor is {self.status}; reset applies while running"
        self.seed_override = seed
        self._end_episode(aborted=True)
        self._begin_episode()
        assert self.episode.record is not None
        return True, f"episode {self.episode_index} started with seed {self.episode.record.seed}"

    def pause(self) -> tuple[bool, str]:
        self.grants.pause()
        if self.phase is Phase.HELD:
            return not self.finished, f"paused at step {self.step_index}"
        return not self.finished, f"pausing after step {self.step_index} (the step in flight completes)"

    def resume(self) -> tuple[bool, str]:
        was = self.grants.resume()
        if self.phase is Phase.HELD and not self.latch.engaged:
            self._proceed()
        return not self.finished, "resumed" if was else "was not paused"

    def grant(self, steps: int) -> tuple[bool, str]:
        if self.finished:
            return False, "run ended"
        if not self.grants.paused:
            return False, "step applies while paused (call pause first)"
        self.grants.grant(steps)
        if self.phase is Phase.HELD and not self.latch.engaged:
            self._proceed()
        return True, f"{steps} more step(s) granted"

    def engage(self, source: str) -> bool:
        """Latch the e-stop: robots stop now; the step in flight is dropped (after release its observations
        go out again) or, with estop_action end_episode, the episode ends."""
        if not self.latch.engage(source, self.episode_index, self.step_index, self._wall()):
            return False
        if self.world is not None:
            self.world.halt()
        end = self.cfg.safety.estop_action == "end_episode"
        self.desk(SafetyEventData("estop_engaged", "", self.episode_index, self.step_index,
                                  f"engaged by {source}; robots stopped; episode "
                                  f"{'ended' if end else 'paused'} until released"))
        if not self.running:
            return True
        if self.answering:  # the step in flight is dropped: its answers are stale from now on
            self.phase = Phase.HELD
        if end and self.phase is Phase.HELD and not self.episode.done:
            self._end_episode(aborted=True)  # held with no episode until released
        return True

    def release(self, source: str) -> bool:
        if not self.latch.release(self.episode_index, self.step_index, self._wall()):
            return False
        self.desk(SafetyEventData("estop_released", "", self.episode_index, self.step_index,
                                  f"released by {source}"))
        if not self.running:
            return True
        if self.cfg.safety.estop_action == "end_episode":
            if self.ledger.count < self.cfg.run.episodes:
                self._begin_episode()
            else:
                self.finish("complete")
        elif self.phase is Phase.HELD:
            self._proceed()  # the interrupted step's observations again; actors answer repeats alike
        return True

    # -- liveness ------------------------------------------------------------------------------
    def _lose(self, agent: str, why: str) -> None:
        if self.liveness.lose(agent, why, self.episode_index, self.step_index):
            self.desk(SafetyEventData("actor_lost", agent, self.episode_index, self.step_index,
                                      f"{why}; running on its fallback ({self.team.fallbacks[agent].kind}) "
                                      "until it answers again"))

    def actor_left(self, agent: str) -> None:
        """The agent's action publisher left the graph: lost now, without waiting K steps."""
        if self.running and agent not in self.liveness.lost:
            self._lose(agent, "its action publisher left the graph")

    def _say(self, status: str) -> None:
        if status != self._said:
            self._said = status
            self.outlet.run_status(status)

    def _wall(self) -> float:
        return self.clock() - self.stats.started_at
