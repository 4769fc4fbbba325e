"""Direct rollout: the same TeamRun the supervisor node wraps, driven in-process without ROS.

Each agent's policy answers as its actor would: it sees its spaces rebuilt from the JSON the supervisor
publishes, decodes its observation and encodes its action with the actor's codec, and resets with the
same derived seed per episode. The answers go through the same settlement, gate, masks, shield and
fallbacks as over ROS, so a run through ROS must reproduce this one bit for bit
(test/nodes/test_equivalence.py), and bench/ uses it as the "direct env" reference.
"""

from __future__ import annotations

import math
from array import array

from marl_bridge.codec import SpaceCodec
from marl_bridge.config import RunConfig, with_overrides
from marl_bridge.envs.episode import EpisodeRecord
from marl_bridge.envs.team import build_team
from marl_bridge.nodes.wire import Parsed
from marl_bridge.seeds import policy_seed
from marl_bridge.team.clock import FakeClock
from marl_bridge.team.run import Phase, QuietOutlet, TeamRun


class _Inbox(QuietOutlet):
    """The Outlet of an in-process run: keeps the observations to answer next and the finished episodes."""

    def __init__(self) -> None:
        self.due: tuple[int, int, dict[str, array]] | None = None
        self.records: list[EpisodeRecord] = []

    def observations(self, episode: int, step: int, encoded: dict[str, array]) -> None:
        self.due = (episode, step, dict(encoded))

    def episode_end(self, rec: EpisodeRecord) -> None:
        self.records.append(rec)


def direct_rollout(cfg: RunConfig, episodes: int | None = None) -> list[EpisodeRecord]:
    cfg = with_overrides(cfg, episodes=episodes)
    team = build_team(cfg)
    policies = team.build_policies(cfg)
    spaces = {a: team.actor_spaces(a) for a in team.agents}  # as the actors see them (from the JSON spec)
    actor_obs = {a: SpaceCodec(obs) for a, (obs, _act) in spaces.items()}
    actor_act = {a: SpaceCodec(act) for a, (_obs, act) in spaces.items()}
    inbox = _Inbox()
    clock = FakeClock()  # time passes only when a policy fails to answer: then the deadline settles the step
    run = TeamRun(cfg, team, inbox, clock=clock)
    for agent in team.agents:
        run.ready[agent] = policies[agent].description
    started: dict[str, int] = {}
    run.start([])
    while not run.finished:
        assert inbox.due is not None, "the run holds without an e-stop or pause"
        episode, step, encoded = inbox.due
        inbox.due = None
        for agent, data in encoded.items():
            if started.get(agent) != episode:
                started[agent] = episode
                policies[agent].reset(policy_seed(cfg.run.seed, agent, episode))
            policy = policies[agent]
            try:
                action = actor_act[agent].pack(policy.act(actor_obs[agent].unpack(data)))
            except Exception:  # the actor node sends nothing then (and logs why)
                continue
            entropy = float(getattr(policy, "last_entropy", math.nan))
            run.offer(agent, Parsed(0, 0, agent, episode, step, actor_act[agent].layout, action, entropy))
        if inbox.due is None and run.phase is Phase.AWAITING:
            clock.advance(cfg.supervisor.step_deadline_s)
            run.poll()
        if run.phase is Phase.APPLIED:  # real-time: the control tick steps
            clock.advance(1.0 / cfg.supervisor.control_rate_hz)
            run.tick()
    team.env.close()
    return inbox.records
