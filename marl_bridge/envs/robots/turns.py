"""Turn-based (AEC) robot teams: the agents of a robot world answer one after another.

`TurnTakingTeam` wraps a RobotTeamEnv: each agent in possible_agents order gets the turn, sees the
observation of the latest joint step and answers; when the last live agent of the round has answered,
the world steps once with the whole round's commands. For the warehouse handoff this is the order
contract as turns: the picker commits, then its carrier. Rewards, terminations and truncations of a
joint step reach every agent at the end of its round, through PettingZoo's cumulative rewards.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from gymnasium import spaces
from pettingzoo.utils.env import AECEnv

from marl_bridge.envs.robots.team_env import RobotTeamEnv


class TurnTakingTeam(AECEnv[str, np.ndarray, np.ndarray]):
    def __init__(self, world: RobotTeamEnv) -> None:
        super().__init__()
        self.world = world  # the RobotWorld the supervisor halts, clocks and traces
        self.metadata = {**world.metadata, "name": world.metadata["name"].replace("_v0", "_turns_v0"),
                         "is_parallelizable": True}
        self.render_mode = world.render_mode
        self.possible_agents = list(world.possible_agents)
        self.observation_spaces = {a: world.observation_space(a) for a in self.possible_agents}
        self.action_spaces = {a: world.action_space(a) for a in self.possible_agents}
        self.agents: list[str] = []

    def observation_space(self, agent: str) -> spaces.Space:
        return self.observation_spaces[agent]

    def action_space(self, agent: str) -> spaces.Space:
        return self.action_spaces[agent]

    def reset(self, seed: int | None = None, options: dict[str, Any] | None = None) -> None:
        obs, infos = self.world.reset(seed=seed, options=options)
        self._obs = dict(obs)
        self.agents = list(self.world.agents)
        self.rewards = dict.fromkeys(self.agents, 0.0)
        self._cumulative_rewards = dict.fromkeys(self.agents, 0.0)
        self.terminations = dict.fromkeys(self.agents, False)
        self.truncations = dict.fromkeys(self.agents, False)
        self.infos = {a: dict(infos.get(a, {})) for a in self.agents}
        self._round: dict[str, Any] = {}
        self.agent_selection = self.agents[0]

    def observe(self, agent: str) -> np.ndarray:
        return self._obs[agent]

    def state(self) -> np.ndarray:
        return self.world.state()

    def _live(self) -> list[str]:
        return [a for a in self.agents if not (self.terminations[a] or self.truncations[a])]

    def step(self, action: Any) -> None:
        agent = self.agent_selection
        if self.terminations[agent] or self.truncations[agent]:
            self._was_dead_step(action)
            return
        self._cumulative_rewards[agent] = 0.0
        self._round[agent] = action
        live = self._live()
        waiting = [a for a in live if a not in self._round]
        if waiting:
            self._clear_rewards()
            self.agent_selection = waiting[0]
        else:
            obs, rewards, terms, truncs, infos = self.world.step(self._round)
            self._round = {}
            self._obs.update(obs)
            for a in live:
                self.rewards[a] = float(rewards.get(a, 0.0))
                self.terminations[a] = bool(terms.get(a, False))
                self.truncations[a] = bool(truncs.get(a, False))
                self.infos[a] = dict(infos.get(a, {}))
            still = self._live()
            self.agent_selection = still[0] if still else self.agents[0]
            self._deads_step_first()
        self._accumulate_rewards()

    def render(self) -> Any:
        return self.world.render()

    def close(self) -> None:
        self.world.close()
