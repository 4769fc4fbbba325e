"""Turn-based (AEC) teams: accounting against PettingZoo's own semantics, masks, and the AEC handoff."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from conftest import CONFIG_DIR
from flats import flat_for
from pettingzoo.classic import connect_four_v3, tictactoe_v3
from pettingzoo.test import api_test, seed_test
from tape import Tape

from marl_bridge.codec import SpaceCodec
from marl_bridge.config import load
from marl_bridge.envs.api import env_api
from marl_bridge.envs.episode import AECEpisode
from marl_bridge.envs.robots import handoff_env, handoff_turns_env
from marl_bridge.envs.team import build_team
from marl_bridge.nodes.wire import Parsed
from marl_bridge.rollout import direct_rollout
from marl_bridge.team import FakeClock, TeamRun


def reference_returns(make, seed: int, actions_seed: int) -> tuple[dict[str, float], list[str]]:
    """Returns as PettingZoo hands them out: the reward of `last()` at each turn, summed per agent."""
    env = make()
    env.reset(seed=seed)
    rng = np.random.default_rng(actions_seed)
    returns: dict[str, float] = {a: 0.0 for a in env.agents}
    turns = []
    for agent in env.agent_iter():
        obs, reward, term, trunc, _ = env.last()
        returns[agent] += reward
        if term or trunc:
            env.step(None)
            continue
        turns.append(agent)
        legal = np.flatnonzero(obs["action_mask"]) if isinstance(obs, dict) else None
        env.step(int(rng.choice(legal)) if legal is not None else env.action_space(agent).sample())
    return returns, turns


@pytest.mark.parametrize("make", [tictactoe_v3.env, connect_four_v3.env])
@pytest.mark.parametrize("seed", [0, 1, 2, 3, 4, 5])
def test_aec_episode_returns_equal_pettingzoo_cumulative_rewards(make, seed: int) -> None:
    expected, turns = reference_returns(make, seed, actions_seed=seed)
    env = make()
    assert env_api(env) == "aec"
    team_obs = {a: SpaceCodec(env.observation_space(a)) for a in env.possible_agents}
    episode = AECEpisode(env, team_obs, max_steps=0)
    episode.reset(0, seed)
    rng = np.random.default_rng(seed)
    played = []
    while not episode.done:
        (agent,) = episode.encoded
        played.append(agent)
        legal = np.flatnonzero(episode.masks[agent])
        episode.step({agent: int(rng.choice(legal))}, set())
    rec = episode.finish()
    assert played == turns
    assert rec.returns == expected
    assert sum(rec.lengths.values()) == rec.steps == len(turns)


def test_illegal_action_is_invalid_with_a_legal_fallback() -> None:
    cfg = load(CONFIG_DIR / "tictactoe.yaml")
    tape = Tape()
    run = TeamRun(cfg, build_team(cfg), tape, clock=FakeClock())
    run.start([])

    def play(square: int) -> None:
        (agent,) = tape.sent[-1][2]
        run.offer(agent, Parsed(0, 0, agent, run.episode_index, run.step_index,
                                run.team.act_codecs[agent].layout, flat_for(run.team.act_codecs[agent], [square])))
    play(4)
    play(4)  # taken: masked out
    assert [e.kind for e in tape.events] == ["invalid_action"] and "masked out" in tape.events[0].detail
    result = next(r for r in tape.stepped[-1][2] if r.acted)
    assert result.fallback and tape.stepped[-1][3][result.agent] == 0  # zero: square 0, which is free
    play(1)
    play(0)  # taken by the fallback
    assert int(tape.stepped[-1][3][next(r for r in tape.stepped[-1][2] if r.acted).agent]) == 2  # first free


@pytest.mark.parametrize("config", ["tictactoe.yaml", "connect_four.yaml"])
def test_random_policies_play_only_legal_moves(config: str) -> None:
    cfg = load(CONFIG_DIR / config)
    records = direct_rollout(dataclasses.replace(cfg, run=dataclasses.replace(cfg.run, episodes=20)))
    assert len(records) == 20 and not any(r.fallbacks[a] for r in records for a in r.agents)
    # both games are zero-sum: the per-agent accounting must be too
    assert all(sum(r.returns.values()) == 0 for r in records)


def test_handoff_turns_passes_pettingzoo_api_and_seed_tests() -> None:
    api_test(handoff_turns_env(max_steps=40), num_cycles=200)
    seed_test(lambda: handoff_turns_env(max_steps=40), num_cycles=100)


def test_handoff_turns_round_equals_one_joint_step_of_the_parallel_world() -> None:
    """A round of turns is one joint step: same observations, same per-agent returns, same endings."""
    turns, world = handoff_turns_env(n_robots=4, max_steps=60), handoff_env(n_robots=4, max_steps=60)
    codecs = {a: SpaceCodec(world.observation_space(a)) for a in world.possible_agents}
    episode = AECEpisode(turns, codecs, max_steps=0)
    episode.reset(0, 9)
    obs, _ = world.reset(seed=9)
    rng = np.random.default_rng(9)
    returns = dict.fromkeys(world.possible_agents, 0.0)
    while world.agents:
        joint = {a: rng.uniform(-1, 1, 3).astype(np.float32) for a in world.agents}
        for agent in world.agents:
            assert list(episode.encoded) == [agent]
            assert episode.encoded[agent] == codecs[agent].pack(obs[agent])
            episode.step({agent: joint[agent]}, set())
        obs, rewards, *_ = world.step(joint)
        for a, r in rewards.items():
            returns[a] += r
    assert episode.done
    assert episode.finish().returns == returns


def test_turn_based_envs_refuse_what_needs_a_joint_command() -> None:
    from marl_bridge.config import ConfigError, ShieldConfig

    cfg = load(CONFIG_DIR / "mujoco_handoff_turns.yaml")
    realtime = dataclasses.replace(cfg, supervisor=dataclasses.replace(cfg.supervisor, mode="realtime",
                                                                       control_rate_hz=10.0, step_deadline_s=0.1))
    with pytest.raises(ConfigError, match=r"supervisor\.mode 'realtime' needs a Parallel env"):
        build_team(realtime)
    shielded = dataclasses.replace(cfg, safety=dataclasses.replace(cfg.safety, shield=ShieldConfig(max_speed_mps=0.5)))
    with pytest.raises(ConfigError, match=r"turn-based \(AEC\): use clamp_to_bounds only"):
        build_team(shielded)
    team = build_team(cfg)
    assert team.api == "aec" and team.world is not None and team.world.backend == "mujoco"
