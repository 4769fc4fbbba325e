"""Scripted policies for the robot tasks, from each robot's local observation only.

Entry points for `kind: scripted`: `marl_bridge.envs.robots.scripted:pursuit_policy` and
`...:handoff_policy`. They are the baselines of the main job and the tests: no learning, no shared
state, nothing a robot could not compute on board.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from marl_bridge.envs.robots.tasks import SELF_FEATURES


def _to_action(goal_local: np.ndarray, obs: np.ndarray, gain: float, neighbours_at: int, clearance: float,
               n_actions: int) -> np.ndarray:
    """Head for a point given in the robot's frame while keeping `clearance` from sensed neighbours."""
    v = gain * goal_local
    nb = obs[neighbours_at:].reshape(-1, 3)
    d = np.hypot(nb[:, 0], nb[:, 1])
    close = (nb[:, 2] > 0) & (d > 1e-6) & (d < clearance)
    if close.any():
        v = v - 2.0 * (((clearance - d[close]) / d[close])[:, None] * nb[close, :2]).sum(axis=0)
    speed = float(np.hypot(v[0], v[1]))
    if speed > 1.0:
        v = v / speed
    if n_actions == 3:  # holonomic: translate, do not turn
        return np.array([v[0], v[1], 0.0], np.float32)
    heading = float(np.arctan2(v[1], v[0]))  # differential: turn toward the goal, drive when facing it
    return np.array([speed * max(np.cos(heading), 0.0), np.clip(2.0 * heading, -1, 1)], np.float32)


def pursuit_policy(agent: str, observation_space: Any, action_space: Any, **kwargs: Any) -> Any:
    """Close in on the target and hold `standoff` metres from it, spreading around it by keeping
    clear of neighbours; with the target out of sight, patrol a circle of `patrol_radius` around the
    arena centre (counter-clockwise), which brings the whole arena within sensing range."""
    standoff = float(kwargs.get("standoff", 0.5))
    gain = float(kwargs.get("gain", 2.0))
    clearance = float(kwargs.get("clearance", 0.55))
    patrol_radius = float(kwargs.get("patrol_radius", 2.5))
    n_actions = action_space.shape[0]
    t0 = SELF_FEATURES

    def act(obs: np.ndarray) -> np.ndarray:
        tx, ty, visible = obs[t0:t0 + 3]
        if visible:
            d = float(np.hypot(tx, ty))
            goal = np.array([tx, ty]) * (1.0 - standoff / d) if d > 1e-6 else np.zeros(2)
        else:
            x, y, c, s = obs[:4]
            phi = float(np.arctan2(y, x)) + 0.6
            gx, gy = patrol_radius * np.cos(phi) - x, patrol_radius * np.sin(phi) - y
            goal = np.array([c * gx + s * gy, -s * gx + c * gy])  # the next patrol point, robot frame
        return _to_action(goal, obs, gain, t0 + 3, clearance, n_actions)

    return act


def handoff_policy(agent: str, observation_space: Any, action_space: Any, **kwargs: Any) -> Any:
    """Drive to the current subgoal (shelf, zone, dock); a carrier without the item waits in the zone."""
    gain = float(kwargs.get("gain", 2.0))
    clearance = float(kwargs.get("clearance", 0.5))
    n_actions = action_space.shape[0]
    g0 = SELF_FEATURES + 3

    def act(obs: np.ndarray) -> np.ndarray:
        goal = np.array(obs[g0:g0 + 2])
        return _to_action(goal, obs, gain, SELF_FEATURES + 8, clearance, n_actions)

    return act


def ram_policy(agent: str, observation_space: Any, action_space: Any, **kwargs: Any) -> Any:
    """Drive at full speed at the nearest sensed robot (nothing else): a drill for the safety shield,
    which must keep such robots apart. Without a robot in range it stands still."""
    n_actions = action_space.shape[0]
    nb0 = int(kwargs.get("neighbours_at", observation_space.shape[0] - 3 * int(kwargs.get("max_neighbours", 3))))

    def act(obs: np.ndarray) -> np.ndarray:
        dx, dy, present = obs[nb0:nb0 + 3]
        if not present:
            return np.zeros(n_actions, np.float32)
        return _to_action(np.array([dx, dy]) * 100.0, obs, 1.0, len(obs), 0.0, n_actions)

    return act
