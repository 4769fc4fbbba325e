"""Direct rollout: the same team stepped in-process, without ROS.

It mirrors exactly what the bridge does: spaces travel through their JSON form, observations and
actions through the codec, policies reset with the same derived seeds, invalid actions get the same
fallback. So a run through ROS must reproduce it bit for bit (test/nodes/test_equivalence.py), and
bench/ uses it as the "direct env" reference.
"""

from __future__ import annotations

from marl_bridge.codec import CodecError, SpaceCodec
from marl_bridge.config import RunConfig
from marl_bridge.envs.episode import EpisodeRecord, TeamEpisode
from marl_bridge.envs.team import build_team
from marl_bridge.safety.shield import Shield
from marl_bridge.seeds import episode_seed, policy_seed


def direct_rollout(cfg: RunConfig, episodes: int | None = None) -> list[EpisodeRecord]:
    team = build_team(cfg)
    env, agents, obs_codecs, act_codecs = team.env, team.agents, team.obs_codecs, team.act_codecs
    # What an actor sees: spaces rebuilt from the JSON the supervisor publishes.
    actor_obs = {a: SpaceCodec(team.actor_spaces(a)[0]) for a in agents}
    actor_act = {a: SpaceCodec(team.actor_spaces(a)[1]) for a in agents}
    policies = team.build_policies(cfg)
    fallbacks = team.fallbacks
    episode = TeamEpisode(env, obs_codecs, cfg.supervisor.max_steps)
    shield = Shield(cfg.safety.shield, env, act_codecs, cfg.source)
    records = []
    for index in range(cfg.run.episodes if episodes is None else episodes):
        encoded = episode.reset(index, episode_seed(cfg.run.seed, index))
        for agent in agents:
            policies[agent].reset(policy_seed(cfg.run.seed, agent, index))
            fallbacks[agent].reset()
        shield.reset()
        step = 0
        while not episode.done:
            actions, used_fallback = {}, set()
            for agent, data in encoded.items():
                raw = None
                try:
                    raw = actor_act[agent].encode(policies[agent].act(actor_obs[agent].decode(data)))
                    actions[agent] = act_codecs[agent].decode_checked(raw)
                    fallbacks[agent].remember(actions[agent])
                except (CodecError, ValueError, TypeError):
                    clamped = shield.clamp(agent, raw) if raw is not None else None
                    if clamped is None:
                        actions[agent] = fallbacks[agent].action()
                        used_fallback.add(agent)
                    else:
                        actions[agent] = clamped
            if shield.active:  # what the supervisor does before the env sees the actions
                actions, _events = shield.filter(actions, index, step)
            episode.step(actions, used_fallback)
            shield.near_misses(index, step)
            step += 1
            encoded = episode.encoded
        records.append(episode.finish())
    env.close()
    return records
