"""Per-agent bookkeeping of one episode, for Parallel and AEC (turn-based) envs alike.

The team core (marl_bridge.team) steps every env through one of these classes, whichever way it is
driven (ROS, the direct rollout), so "the same seed gives the same rollout" is checked on identical
accounting: returns, lengths, terminations, truncations, fallback counts and a digest of every
observation each agent was given.

`encoded` always names the agents that must answer now with their observation: every live agent of a
Parallel env; only `agent_selection` of an AEC env (done agents are stepped with None here, as the AEC
API asks, and never wait for an actor).
"""

from __future__ import annotations

import hashlib
from array import array
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from marl_bridge.codec import SpaceCodec


@dataclass(slots=True)
class AgentResult:
    """One agent's outcome of one joint step (Parallel) or one turn (AEC)."""

    agent: str
    reward: float
    episode_return: float
    terminated: bool
    truncated: bool
    fallback: bool
    info: dict[str, Any]
    acted: bool = True  # AEC: False for the agents that did not have the turn
    final: array | None = None  # the agent's observation after its last step (it left or the episode ended)


@dataclass
class EpisodeRecord:
    """What the run card keeps of one episode."""

    episode: int
    seed: int
    agents: list[str]
    steps: int = 0
    returns: dict[str, float] = field(default_factory=dict)
    lengths: dict[str, int] = field(default_factory=dict)  # steps (AEC: turns) each agent acted
    results: dict[str, int] = field(default_factory=dict)  # step results published per agent (AEC: every turn)
    terminated: dict[str, bool] = field(default_factory=dict)
    truncated: dict[str, bool] = field(default_factory=dict)
    fallbacks: dict[str, int] = field(default_factory=dict)
    collisions: dict[str, int] = field(default_factory=dict)  # contact onsets, where the env reports them
    observation_digest: dict[str, str] = field(default_factory=dict)
    capped: bool = False  # ended by supervisor.max_steps rather than by the env
    aborted: bool = False  # cut short by the reset service or the e-stop

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)

    def join(self, agent: str) -> None:
        """An agent that appears after reset (the Parallel API allows it) starts its accounting now."""
        self.agents.append(agent)
        self.returns[agent], self.lengths[agent], self.fallbacks[agent], self.results[agent] = 0.0, 0, 0, 0
        self.terminated[agent] = self.truncated[agent] = False


def action_mask(observation: Any, info: Any) -> np.ndarray | None:
    """PettingZoo's action mask of one agent: in its observation dict, else in its info dict."""
    for holder in (observation, info):
        if isinstance(holder, dict) and "action_mask" in holder:
            return np.asarray(holder["action_mask"])
    return None


class Episode:
    """What both APIs share: the record, observation digests, masks and the episode cap."""

    api = ""

    def __init__(self, env: Any, obs_codecs: dict[str, SpaceCodec], max_steps: int) -> None:
        self.env = env
        self.obs_codecs = obs_codecs
        self.max_steps = max_steps
        self.record: EpisodeRecord | None = None
        self.encoded: dict[str, array] = {}  # who must answer now -> flat float64 observation data
        self.masks: dict[str, np.ndarray] = {}  # agent -> its action mask, for envs that give one
        self._digests: dict[str, Any] = {}

    def _open(self, episode: int, seed: int, agents: list[str]) -> None:
        self.record = EpisodeRecord(
            episode=episode, seed=seed, agents=list(agents),
            returns=dict.fromkeys(agents, 0.0), lengths=dict.fromkeys(agents, 0),
            results=dict.fromkeys(agents, 0), terminated=dict.fromkeys(agents, False),
            truncated=dict.fromkeys(agents, False), fallbacks=dict.fromkeys(agents, 0), collisions={})
        self._digests = {a: hashlib.blake2b(digest_size=16) for a in agents}

    def _give(self, agent: str, observation: Any, info: Any) -> None:
        """Encode `agent`'s observation (it must answer it) and note its mask."""
        if agent not in self._digests:
            assert self.record is not None
            self.record.join(agent)
            self._digests[agent] = hashlib.blake2b(digest_size=16)
        data = self.obs_codecs[agent].pack(observation)  # the message's typed sequences as they are
        self.encoded[agent] = data
        digest = self._digests[agent]
        for buffer in data.buffers():  # the buffers themselves, no copy
            digest.update(buffer)
        if isinstance(observation, dict) or info:
            mask = action_mask(observation, info)
            if mask is not None:
                self.masks[agent] = mask

    def legal(self, agent: str, action: Any) -> bool:
        """False only for a Discrete action its mask forbids (other spaces' masks are not enforced)."""
        mask = self.masks.get(agent)
        if mask is None or not isinstance(action, int | np.integer):
            return True
        index = int(action) - int(getattr(self.env.action_space(agent), "start", 0))
        return 0 <= index < mask.size and bool(mask[index])

    def first_legal(self, agent: str) -> Any | None:
        mask = self.masks.get(agent)
        if mask is None or not mask.any():
            return None
        return np.int64(int(np.flatnonzero(mask)[0]) + int(getattr(self.env.action_space(agent), "start", 0)))

    @property
    def done(self) -> bool:
        assert self.record is not None
        return not self.env.agents or self.record.capped

    def finish(self) -> EpisodeRecord:
        rec = self.record
        assert rec is not None
        rec.observation_digest = {a: d.hexdigest() for a, d in self._digests.items()}
        return rec

    def _count(self, rec: EpisodeRecord, agent: str, info: Any) -> None:
        if isinstance(info, dict) and isinstance(info.get("collisions"), int):
            rec.collisions[agent] = rec.collisions.get(agent, 0) + info["collisions"]


class ParallelEpisode(Episode):
    """Every live agent answers every joint step."""

    api = "parallel"

    def reset(self, episode: int, seed: int) -> dict[str, array]:
        """Reset the env with `seed`; return each live agent's encoded observation."""
        obs, infos = self.env.reset(seed=seed)
        self._open(episode, seed, list(self.env.agents))
        self._take(obs, infos)
        return self.encoded

    def _take(self, obs: dict[str, Any], infos: dict[str, Any]) -> None:
        self.encoded = {}
        self.masks = {}
        give = self._give
        for agent in self.env.agents:
            give(agent, obs[agent], infos.get(agent) if infos else None)

    def step(self, actions: dict[str, Any], fallback: set[str]) -> list[AgentResult]:
        """Step with one action per live agent; `fallback` names agents given their fallback."""
        rec = self.record
        assert rec is not None
        acting = list(self.encoded)
        obs, rewards, terms, truncs, infos = self.env.step(
            actions if len(actions) == len(acting) else {a: actions[a] for a in acting})
        rec.steps += 1
        rec.capped = capped = bool(self.max_steps and rec.steps >= self.max_steps and self.env.agents)
        returns, lengths, terminated, truncated = rec.returns, rec.lengths, rec.terminated, rec.truncated
        counted = rec.results
        results = []
        for agent in acting:  # hot loop: locals, no attribute lookups per agent
            reward = float(rewards.get(agent, 0.0))
            returns[agent] += reward
            lengths[agent] += 1
            counted[agent] += 1
            term, trunc = bool(terms.get(agent, False)), bool(truncs.get(agent, False))
            trunc = trunc or (capped and not term)
            terminated[agent] = term
            truncated[agent] = trunc
            used_fallback = agent in fallback
            if used_fallback:
                rec.fallbacks[agent] += 1
            info = infos.get(agent, {})
            if info:
                self._count(rec, agent, info)
            result = AgentResult(agent, reward, returns[agent], term, trunc, used_fallback, info)
            if (term or trunc) and agent in obs:
                result.final = self.obs_codecs[agent].pack(obs[agent])
            results.append(result)
        if self.env.agents and not capped:
            self._take(obs, infos)
        else:
            self.encoded = {}
        return results


class AECEpisode(Episode):
    """Turn by turn: only `agent_selection` answers. Rewards are summed from `env.rewards` after every
    `env.step` (the live turn and the None steps of done agents), which is exactly what PettingZoo's
    cumulative rewards hand each agent through `last()`."""

    api = "aec"

    def __init__(self, env: Any, obs_codecs: dict[str, SpaceCodec], max_steps: int) -> None:
        super().__init__(env, obs_codecs, max_steps)
        self.turn_order: list[str] = []  # who acted, in order, until the first agent's second turn

    def reset(self, episode: int, seed: int) -> dict[str, array]:
        self.env.reset(seed=seed)
        self._open(episode, seed, list(self.env.agents))
        self.turn_order = []
        self._order_open = True
        self._skip_dead(set())
        self._select()
        return self.encoded

    def _select(self) -> None:
        self.encoded = {}
        self.masks = {}
        if self.env.agents and not (self.record is not None and self.record.capped):
            agent = self.env.agent_selection
            self._give(agent, self.env.observe(agent), self.env.infos.get(agent))

    def _skip_dead(self, touched: set[str]) -> None:
        """Step every done agent with None, adding the rewards those steps hand out."""
        env = self.env
        while env.agents:
            agent = env.agent_selection
            if not (env.terminations.get(agent) or env.truncations.get(agent)):
                return
            env.step(None)
            self._add_rewards(touched)

    def _add_rewards(self, touched: set[str]) -> None:
        rec = self.record
        assert rec is not None
        for agent, reward in self.env.rewards.items():
            if agent not in rec.returns:
                rec.join(agent)
                self._digests.setdefault(agent, hashlib.blake2b(digest_size=16))
            rec.returns[agent] += float(reward)
            touched.add(agent)

    def step(self, actions: dict[str, Any], fallback: set[str]) -> list[AgentResult]:
        """Play the selected agent's action (the only key `actions` needs), then every done agent's None."""
        rec = self.record
        assert rec is not None
        env = self.env
        (actor,) = self.encoded
        if self._order_open:
            if actor in self.turn_order:
                self._order_open = False
            else:
                self.turn_order.append(actor)
        before = {a: float(rec.returns.get(a, 0.0)) for a in env.agents}
        touched: set[str] = set()
        env.step(actions[actor])
        self._add_rewards(touched)
        rec.steps += 1
        rec.lengths[actor] += 1
        if actor in fallback:
            rec.fallbacks[actor] += 1
        ends = {a: (bool(env.terminations.get(a, False)), bool(env.truncations.get(a, False))) for a in before}
        infos = {a: env.infos.get(a, {}) for a in before}
        finals = {a: self.obs_codecs[a].pack(env.observe(a)) for a in before if any(ends[a])}
        self._skip_dead(touched)
        rec.capped = capped = bool(self.max_steps and rec.steps >= self.max_steps and env.agents)
        results = []
        for agent in before:
            term, trunc = ends[agent]
            trunc = trunc or (capped and not term)
            rec.terminated[agent], rec.truncated[agent] = term, trunc
            rec.results[agent] += 1
            info = infos[agent]
            if info:
                self._count(rec, agent, info)
            final = finals.get(agent)
            if final is None and trunc:  # capped: its observation now is its last
                final = self.obs_codecs[agent].pack(env.observe(agent))
            results.append(AgentResult(agent, rec.returns[agent] - before[agent], rec.returns[agent], term, trunc,
                                       agent == actor and actor in fallback, info, acted=agent == actor,
                                       final=final))
        self._select()
        return results


def open_episode(env: Any, obs_codecs: dict[str, SpaceCodec], max_steps: int) -> Episode:
    """The episode bookkeeping for the env's API (see envs.api.env_api)."""
    from marl_bridge.envs.api import env_api

    return (AECEpisode if env_api(env) == "aec" else ParallelEpisode)(env, obs_codecs, max_steps)

