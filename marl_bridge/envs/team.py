"""The env of a run config with everything each agent needs around it, built and checked once.

The supervisor, the direct rollout, replay and `marl-bridge check` all start from `build_team`, so a
config that one of them accepts, all of them accept.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from gymnasium import spaces

from marl_bridge.codec import SpaceCodec, space_from_json
from marl_bridge.config import ConfigError, RunConfig
from marl_bridge.envs.api import codecs_for, env_api
from marl_bridge.envs.backends import in_process
from marl_bridge.envs.factory import make_env
from marl_bridge.envs.world import RobotWorld, world_of
from marl_bridge.safety.fallback import Fallback

if TYPE_CHECKING:
    from marl_bridge.policies import Policy


@dataclass
class Team:
    env: Any  # a PettingZoo ParallelEnv or AECEnv
    agents: list[str]  # possible_agents: every one gets an actor up front
    obs_codecs: dict[str, SpaceCodec]
    act_codecs: dict[str, SpaceCodec]
    fallbacks: dict[str, Fallback]
    api: str  # "parallel" or "aec" (envs.api)
    world: RobotWorld | None  # the robot world behind the env, if it is one

    def actor_spaces(self, agent: str) -> tuple[spaces.Space, spaces.Space]:
        """The agent's spaces as its actor sees them: rebuilt from the JSON the supervisor publishes."""
        return (space_from_json(json.loads(self.obs_codecs[agent].json)),
                space_from_json(json.loads(self.act_codecs[agent].json)))

    def build_policies(self, cfg: RunConfig) -> dict[str, Policy]:
        """Every agent's policy, built as its actor builds it: model files are opened and checked against
        the spaces here, so a bad one is a ConfigError before any node starts."""
        from marl_bridge.policies import make_policy

        return {a: make_policy(cfg.policy.for_agent(a), a, *self.actor_spaces(a)) for a in self.agents}


def build_team(cfg: RunConfig, backend: str | None = None) -> Team:
    """Build the env, codecs and fallbacks; refuse configs naming unknown agents or leaving one without
    a policy, agent ids that would share a ROS name, spaces the bridge cannot carry, and features the
    env's API cannot have (ConfigError names the file and the key).

    `backend` overrides cfg.env.backend; without ROS (direct rollout, replay, check) a backend that is a
    decision (auto) runs its simulated fallback.
    """
    from marl_bridge.nodes.topics import ros_names  # topic naming rules live with the nodes

    if backend is None:
        backend = in_process(cfg.env.backend)
    env = make_env(cfg.env, f"{cfg.source}: env", backend=backend, hardware=cfg.hardware)
    api = env_api(env)
    agents = list(env.possible_agents)
    ros_names(agents)
    for agent in sorted(set(cfg.supervisor.fallback_per_agent) | set(cfg.policy.per_agent)):
        if agent not in agents:
            raise ConfigError(f"{cfg.source}: config names agent {agent!r}, which the env does not have; "
                              f"agents are {', '.join(agents)}")
    for agent in agents:  # every agent needs a policy: say so now, not at the end of the run
        cfg.policy.for_agent(agent)
    if api == "aec" and cfg.supervisor.mode != "lockstep":
        raise ConfigError(f"{cfg.source}: supervisor.mode {cfg.supervisor.mode!r} needs a Parallel env; "
                          f"{cfg.env.entry_point} is turn-based (AEC), which runs lockstep")
    if api == "aec" and cfg.safety.shield.needs_robots:
        raise ConfigError(f"{cfg.source}: safety.shield robot rules act on a joint command; "
                          f"{cfg.env.entry_point} is turn-based (AEC): use clamp_to_bounds only")
    obs, act = codecs_for(env, agents, cfg.source)
    fallbacks = {a: Fallback(cfg.supervisor.fallback_for(a), act[a], a) for a in agents}
    return Team(env, agents, obs, act, fallbacks, api, world_of(env))
