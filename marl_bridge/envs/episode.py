"""Per-agent bookkeeping of one episode, shared by the supervisor node and the direct rollout.

Because both paths step the env through this class, "the same seed gives the same rollout, stepped
directly or through ROS" is checked on identical accounting: returns, lengths, terminations,
truncations, fallback counts and a digest of every observation each agent was given.
"""

from __future__ import annotations

import hashlib
from array import array
from dataclasses import dataclass, field
from typing import Any

from pettingzoo.utils.env import ParallelEnv

from marl_bridge.codec import SpaceCodec


@dataclass(slots=True)
class AgentResult:
    """One agent's outcome of one joint step."""

    agent: str
    reward: float
    episode_return: float
    terminated: bool
    truncated: bool
    fallback: bool
    info: dict[str, Any]


@dataclass
class EpisodeRecord:
    """What the run card keeps of one episode."""

    episode: int
    seed: int
    agents: list[str]
    steps: int = 0
    returns: dict[str, float] = field(default_factory=dict)
    lengths: dict[str, int] = field(default_factory=dict)
    terminated: dict[str, bool] = field(default_factory=dict)
    truncated: dict[str, bool] = field(default_factory=dict)
    fallbacks: dict[str, int] = field(default_factory=dict)
    collisions: dict[str, int] = field(default_factory=dict)  # contact onsets, where the env reports them
    observation_digest: dict[str, str] = field(default_factory=dict)
    capped: bool = False  # ended by supervisor.max_steps rather than by the env
    aborted: bool = False  # cut short by the reset service

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


class TeamEpisode:
    """Steps a ParallelEnv for one episode and keeps per-agent accounting."""

    def __init__(self, env: ParallelEnv, obs_codecs: dict[str, SpaceCodec], max_steps: int) -> None:
        self.env = env
        self.obs_codecs = obs_codecs
        self.max_steps = max_steps
        self.record: EpisodeRecord | None = None
        self.encoded: dict[str, array] = {}  # flat float64 observation data per live agent
        self._digests: dict[str, Any] = {}

    def reset(self, episode: int, seed: int) -> dict[str, array]:
        """Reset the env with `seed`; return each live agent's encoded observation."""
        obs, _infos = self.env.reset(seed=seed)
        agents = list(self.env.agents)
        self.record = EpisodeRecord(
            episode=episode, seed=seed, agents=agents,
            returns=dict.fromkeys(agents, 0.0), lengths=dict.fromkeys(agents, 0),
            terminated=dict.fromkeys(agents, False), truncated=dict.fromkeys(agents, False),
            fallbacks=dict.fromkeys(agents, 0), collisions={})
        self._digests = {a: hashlib.blake2b(digest_size=16) for a in agents}
        self._take(obs)
        return self.encoded

    @property
    def live_agents(self) -> list[str]:
        return list(self.env.agents)

    @property
    def done(self) -> bool:
        assert self.record is not None
        return not self.env.agents or self.record.capped

    def _take(self, obs: dict[str, Any]) -> None:
        self.encoded = encoded = {}
        codecs, digests = self.obs_codecs, self._digests
        for agent in self.env.agents:
            data = codecs[agent].pack(obs[agent])  # the message's data field as is
            encoded[agent] = data
            digests[agent].update(data)  # the float64 buffer itself, no copy

    def step(self, actions: dict[str, Any], fallback: set[str]) -> list[AgentResult]:
        """Step with one action per live agent; `fallback` names agents given their fallback."""
        rec = self.record
        assert rec is not None
        acting = list(self.env.agents)
        obs, rewards, terms, truncs, infos = self.env.step(
            actions if len(actions) == len(acting) else {a: actions[a] for a in acting})
        rec.steps += 1
        rec.capped = capped = bool(self.max_steps and rec.steps >= self.max_steps and self.env.agents)
        returns, lengths, terminated, truncated = rec.returns, rec.lengths, rec.terminated, rec.truncated
        results = []
        for agent in acting:  # hot loop: locals, no attribute lookups per agent
            reward = float(rewards.get(agent, 0.0))
            returns[agent] += reward
            lengths[agent] += 1
            term, trunc = bool(terms.get(agent, False)), bool(truncs.get(agent, False))
            trunc = trunc or (capped and not term)
            terminated[agent] = term
            truncated[agent] = trunc
            used_fallback = agent in fallback
            if used_fallback:
                rec.fallbacks[agent] += 1
            info = infos.get(agent, {})
            if isinstance(info, dict) and isinstance(info.get("collisions"), int):
                rec.collisions[agent] = rec.collisions.get(agent, 0) + info["collisions"]
            results.append(AgentResult(agent, reward, returns[agent], term, trunc, used_fallback, info))
        if self.env.agents and not rec.capped:
            self._take(obs)
        else:
            self.encoded = {}
        return results

    def finish(self) -> EpisodeRecord:
        rec = self.record
        assert rec is not None
        rec.observation_digest = {a: d.hexdigest() for a, d in self._digests.items()}
        return rec
