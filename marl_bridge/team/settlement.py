"""The settlement of one step: who must answer, what each incoming answer becomes, and the close.

An answer is accepted, replaced (its fallback or, with the shield's clamp_to_bounds, its clipped value;
either way with an event), or ignored with an event (stale, future, duplicate, wrong agent). At the
deadline every agent still due gets its fallback and a deadline_miss. Illegal actions under an action
mask are invalid answers whose fallback is a legal action. Pure: no ROS, no clock of its own.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from marl_bridge.codec import CodecError, SpaceCodec
from marl_bridge.envs.episode import Episode
from marl_bridge.nodes.wire import Parsed
from marl_bridge.safety.action_gate import Verdict, check_action
from marl_bridge.safety.events import SafetyEventData
from marl_bridge.safety.fallback import Fallback
from marl_bridge.safety.shield import Shield
from marl_bridge.team.liveness import Liveness
from marl_bridge.team.stats import RunStats

Emit = Callable[[SafetyEventData], None]


class Settlement:
    """One step's answers. `pending` holds the action each agent will step with, `fallback` the agents
    whose action is a fallback; the step is settled when every agent due has an entry."""

    def __init__(self, act_codecs: dict[str, SpaceCodec], fallbacks: dict[str, Fallback], shield: Shield,
                 liveness: Liveness, stats: RunStats, emit: Emit, deadline_s: float,
                 lose: Callable[[str, str], None]) -> None:
        self.act_codecs, self.fallbacks, self.shield = act_codecs, fallbacks, shield
        self.liveness, self.stats, self.emit = liveness, stats, emit
        self.lose = lose  # called with (agent, why) when a miss makes an agent lost
        self.deadline_s = deadline_s
        self.known = frozenset(act_codecs)
        self.pending: dict[str, Any] = {}
        self.fallback: set[str] = set()
        self.missed: set[str] = set()  # given their fallback at the deadline: a later answer is late
        self.episode: Episode | None = None
        self.index = (0, 0)  # (episode, step) being settled
        self.t0 = 0.0

    def open(self, episode: Episode, index: tuple[int, int], t0: float) -> None:
        """A new step: the agents in `episode.encoded` must answer; lost ones get their fallback now
        (unless they are catching up: then they are waited for, see Liveness)."""
        self.episode, self.index, self.t0 = episode, index, t0
        self.pending, self.fallback, self.missed = {}, set(), set()
        self.stats.window_opened()
        liveness = self.liveness
        for agent in list(liveness.lost):  # a lost actor is not waited for; it still gets its observation
            if agent in episode.encoded and not liveness.waits_for(agent):
                self._fallback(agent)
        # (if every live agent is lost, the deadline steps on their fallbacks)

    @property
    def complete(self) -> bool:
        return self.episode is not None and len(self.pending) == len(self.episode.encoded)

    def offer(self, agent: str, msg: Parsed, now: float, answering: bool) -> None:
        """An action message from `agent`'s topic: decide what it becomes for this step (`answering`: the
        run takes answers to the step now, i.e. it is not held, between steps or finished). An answer to
        the step that comes after its deadline, before the periodic check closed the step, is a deadline
        miss all the same: the deadline is the one the config states, not the check's period."""
        codec = self.act_codecs[agent]
        episode = self.episode
        ep, step = self.index
        live = answering and episode is not None and agent in episode.encoded
        # the agent's own first answer to the step in flight
        answers = live and msg.step == step and msg.episode == ep and msg.agent == agent and agent not in self.pending
        if answers and self.overdue(now):
            self._miss(agent, now, f"answered {now - self.t0:.4f} s after the observation, after the "
                                   f"{self.deadline_s} s deadline; fallback ({self.fallbacks[agent].kind}) used")
            return
        if answers and msg.layout == codec.layout:
            # The common case, an on-time answer to the current step: only the data needs checking.
            try:
                action = codec.unpack_checked(msg.flat)  # small Boxes are checked without numpy
            except CodecError as exc:
                self._unusable(agent, msg.flat, SafetyEventData("invalid_action", agent, ep, step, str(exc)))
                return
        else:
            result = check_action(
                topic_agent=agent, msg_agent=msg.agent, msg_episode=msg.episode, msg_step=msg.step,
                layout=msg.layout, flat=msg.flat, episode=ep, step=step, live=live,
                answered=agent in self.pending, known_agents=self.known, codec=codec,
                late_s=now - self.t0 - self.deadline_s if agent in self.missed else None)
            if result.verdict is Verdict.IGNORE:
                assert result.event is not None
                self.emit(result.event)
                return
            if result.verdict is Verdict.FALLBACK:
                assert result.event is not None
                self._unusable(agent, msg.flat if msg.layout == codec.layout else None, result.event)
                return
            action = result.action
        assert episode is not None
        if episode.masks and not episode.legal(agent, action):
            self._replace(agent, SafetyEventData("invalid_action", agent, ep, step,
                                                 f"action {action} is masked out (illegal) at this step"))
            return
        self.liveness.answered(agent)
        self.pending[agent] = action
        self.fallbacks[agent].remember(action)
        self.stats.latency[agent].recent.append(now - self.t0)
        if msg.entropy == msg.entropy:  # not NaN: the policy reported its distribution
            self.stats.entropy_sum[agent] += msg.entropy
            self.stats.entropy_n[agent] += 1

    def _unusable(self, agent: str, data: Any, event: SafetyEventData) -> None:
        """An answer for this step that cannot be used as sent: the shield clips it to the space when it
        may (clamp_to_bounds, right layout and size, finite), else the fallback stands in."""
        clamped = self.shield.clamp(agent, data) if data is not None else None
        if clamped is None:
            self._replace(agent, event)
            return
        self.emit(self.shield.clamped(agent, *self.index))
        self.pending[agent] = clamped
        self.liveness.answered(agent)

    def _replace(self, agent: str, event: SafetyEventData) -> None:
        self.emit(event)
        self._fallback(agent)

    def _fallback(self, agent: str) -> None:
        action = self.fallbacks[agent].action()
        episode = self.episode
        if episode is not None and episode.masks and not episode.legal(agent, action):
            action = episode.first_legal(agent)  # a masked env gets a legal fallback
        self.pending[agent] = action
        self.fallback.add(agent)

    def unfill(self, agent: str) -> None:
        """Take back the fallback a lost agent was given for this step: it answered the step after all."""
        self.pending.pop(agent, None)
        self.fallback.discard(agent)

    def overdue(self, now: float) -> bool:
        return now - self.t0 >= self.deadline_s

    def close(self, now: float) -> None:
        """The deadline: every agent still due gets its fallback and a deadline_miss."""
        assert self.episode is not None
        for agent in self.episode.encoded:
            if agent not in self.pending:
                self._miss(agent, now, f"no action within {self.deadline_s} s; fallback "
                                       f"({self.fallbacks[agent].kind}) used")

    def _miss(self, agent: str, now: float, detail: str) -> None:
        """A deadline miss: counted, `lose` first for an agent whose misses make it lost, then the event
        and the fallback; a later answer to the step is late."""
        self.stats.deadline_misses[agent] += 1
        if not self.missed:  # the step's first miss: one late step however many agents miss it
            self.stats.late_step(now, now - self.t0)
        why = self.liveness.missed(agent)
        if why is not None:
            self.lose(agent, why)
        ep, step = self.index
        self.emit(SafetyEventData("deadline_miss", agent, ep, step, detail, now - self.t0))
        self._fallback(agent)
        self.missed.add(agent)
