"""The safety shield on the MuJoCo world: each rule, its interventions, and robots rammed at each other."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from conftest import CONFIG_DIR
from hypothesis import given, settings
from hypothesis import strategies as st

from marl_bridge.codec import SpaceCodec
from marl_bridge.config import ConfigError, PolicyConfig, ShieldConfig, TeamPolicyConfig, load, with_overrides
from marl_bridge.envs.robots import pursuit_env
from marl_bridge.rollout import direct_rollout
from marl_bridge.safety.shield import Shield, outside_depth

RAM = PolicyConfig(kind="scripted", entry_point="marl_bridge.envs.robots.scripted:ram_policy")


def _shield(env, **rules: object) -> Shield:
    codecs = {a: SpaceCodec(env.action_space(a)) for a in env.possible_agents}
    return Shield(ShieldConfig(**rules), env, codecs, "test")


def _env_at(poses: list[list[float]], **kwargs: object):
    env = pursuit_env(n_robots=len(poses), **kwargs)
    env.reset(seed=0)
    env.body.start(np.array(poses, dtype=np.float64))
    return env


def test_speed_and_acceleration_limits() -> None:
    env = _env_at([[0, 0, 0], [2, 2, 0]])
    full = {"robot_0": np.array([1, 0, 0], np.float32), "robot_1": np.array([0.2, 0, 0], np.float32)}
    out, events = _shield(env, max_speed_mps=0.5).filter(full, 0, 0)
    assert out["robot_0"][0] == pytest.approx(0.5) and out["robot_1"][0] == pytest.approx(0.2)
    assert [(e.agent, e.kind) for e in events] == [("robot_0", "speed_limit")]
    out, events = _shield(env, max_accel_mps2=2.0).filter(full, 0, 0)  # at rest: at most 2 * 0.05 m/s
    assert out["robot_0"][0] == pytest.approx(0.1) and out["robot_1"][0] == pytest.approx(0.1)


def test_geofence_stops_a_robot_at_the_boundary_and_lets_it_back() -> None:
    env = _env_at([[1.99, 0, 0], [0, 0, np.pi]])  # robot_1 faces west: its +x action points away from x = 2
    shield = _shield(env, geofence=(-2.0, -2.0, 2.0, 2.0))
    out, events = shield.filter({"robot_0": np.array([1, 0, 0], np.float32),
                                 "robot_1": np.array([1, 0, 0], np.float32)}, 0, 0)
    assert out["robot_0"][0] < 0.25 and out["robot_1"][0] == pytest.approx(1.0)
    assert [(e.agent, e.kind) for e in events] == [("robot_0", "geofence")]
    back, events = shield.filter({"robot_0": np.array([-1, 0, 0], np.float32)}, 0, 1)
    assert back["robot_0"][0] == pytest.approx(-1.0) and events == []
    poly = np.array([[0, 0], [2, 0], [0, 2]], dtype=np.float64)  # polygons, too
    assert outside_depth(poly, np.array([[0.5, 0.5], [2.0, 2.0]])).tolist() == pytest.approx([0.0, np.sqrt(2)])


def test_min_separation_brakes_both_robots_of_a_closing_pair() -> None:
    env = _env_at([[-0.4, 0, 0], [0.4, 0, np.pi], [3, 3, 0]])
    out, events = _shield(env, min_separation_m=0.75).filter(
        {a: np.array([1, 0, 0], np.float32) for a in env.possible_agents}, 0, 0)
    assert out["robot_0"][0] < 1.0 and out["robot_1"][0] < 1.0 and out["robot_2"][0] == pytest.approx(1.0)
    assert sorted(e.agent for e in events if e.kind == "separation_brake") == ["robot_0", "robot_1"]


@settings(max_examples=150, deadline=None)
@given(xs=st.lists(st.floats(-1.6, 1.6), min_size=6, max_size=6),
       acts=st.lists(st.floats(-1, 1), min_size=9, max_size=9))
def test_shielded_actions_stay_in_the_space_and_never_close_a_violating_gap(xs: list[float],
                                                                           acts: list[float]) -> None:
    poses = [[xs[2 * i], xs[2 * i + 1], 0.3 * i] for i in range(3)]
    env = _env_at(poses)
    actions = {a: np.array(acts[3 * i:3 * i + 3], np.float32) for i, a in enumerate(env.possible_agents)}
    shield = _shield(env, max_speed_mps=0.8, min_separation_m=0.6, geofence=(-1.8, -1.8, 1.8, 1.8))
    out, _ = shield.filter(actions, 0, 0)
    p, _ = env.robot_states()
    vel = env.to_body(np.array([out[a] for a in env.possible_agents]))
    c, s = np.cos(p[:, 2]), np.sin(p[:, 2])
    world = np.column_stack([c * vel[:, 0] - s * vel[:, 1], s * vel[:, 0] + c * vel[:, 1]])
    ahead = p[:, :2] + world * env.control_period_s
    for a in env.possible_agents:
        assert env.action_space(a).contains(out[a])
    assert (np.hypot(vel[:, 0], vel[:, 1]) <= 0.8 + 1e-6).all()
    for i in range(3):
        for j in range(i + 1, 3):
            now, nxt = np.hypot(*(p[i, :2] - p[j, :2])), np.hypot(*(ahead[i] - ahead[j]))
            assert nxt >= min(now, 0.6) - 1e-6


def _ram_config(shield: ShieldConfig):
    cfg = with_overrides(load(CONFIG_DIR / "mujoco_pursuit.yaml"), episodes=1, seed=1)
    env = dataclasses.replace(cfg.env, kwargs={"n_robots": 2, "capture_robots": 2, "capture_radius": 0.0,
                                               "max_steps": 80, "sensing_radius": 12.0})
    return dataclasses.replace(cfg, env=env, policy=TeamPolicyConfig(shared=True, default=RAM),
                               safety=dataclasses.replace(cfg.safety, shield=shield))


def test_rammed_robots_collide_without_the_shield_and_not_with_it() -> None:
    (bare,) = direct_rollout(_ram_config(ShieldConfig()))
    assert sum(bare.collisions.values()) > 0  # the drill is real: unshielded, they hit each other
    (shielded,) = direct_rollout(_ram_config(ShieldConfig(min_separation_m=0.6)))
    assert sum(shielded.collisions.values()) == 0


def test_robot_rules_on_a_non_robot_env_are_a_config_error() -> None:
    cfg = load(CONFIG_DIR / "point_team.yaml")
    cfg = dataclasses.replace(cfg, safety=dataclasses.replace(cfg.safety, shield=ShieldConfig(max_speed_mps=1.0)))
    with pytest.raises(ConfigError, match="not a robot world"):
        direct_rollout(cfg)


def test_event_kinds_match_the_message_constants() -> None:
    from marl_bridge.msg import SafetyEvent
    from marl_bridge.safety.events import KINDS

    constants = {getattr(SafetyEvent, n) for n in dir(SafetyEvent) if n.startswith("KIND_")}
    assert constants == set(KINDS)


@pytest.mark.ros
def test_rammed_robots_over_dds_are_kept_apart_with_interventions_counted(tmp_path) -> None:
    from marl_bridge.cli.team import run_team

    cfg = with_overrides(_ram_config(ShieldConfig(min_separation_m=0.6, near_miss_m=0.7)), topology="multiprocess")
    card = run_team(cfg, tmp_path)
    (direct,) = direct_rollout(cfg)
    assert card["status"] == "complete"
    assert card["collisions"] == {"robot_0": 0, "robot_1": 0}
    brakes = {a: card["interventions"].get(a, {}).get("separation_brake", 0) for a in card["agents"]}
    assert all(n > 0 for n in brakes.values()), card["interventions"]
    by_agent = card["safety_events"]["by_agent"]
    assert all(by_agent[a]["separation_brake"] == brakes[a] for a in card["agents"])
    assert card["episodes"][0]["returns"] == direct.returns  # the shield acts alike through ROS and directly
