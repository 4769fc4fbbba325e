"""Scripted policies for the robot tasks, from each robot's local observation only.

Entry points for `kind: scripted`: `marl_bridge.envs.robots.scripted:pursuit_policy` and
`...:handoff_policy`. They are the baselines of the main job and the tests: no learning, no shared
state, nothing a robot could not compute on board.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from marl_bridge.envs.robots.tasks import SELF_FEATURES


def _to_action(gx: float, gy: float, obs: list[float], gain: float, neighbours_at: int, clearance: float,
               n_actions: int) -> np.ndarray:
    """Head for a point (gx, gy) given in the robot's frame while keeping `clearance` from sensed
    neighbours. Plain floats: a robot's few numbers cost less in Python than in numpy's small arrays."""
    vx, vy = gain * gx, gain * gy
    px = py = 0.0
    for i in range(neighbours_at, len(obs) - 2, 3):  # (x, y, seen) per neighbour slot
        nx, ny, seen = obs[i], obs[i + 1], obs[i + 2]
        if seen > 0:
            d = math.hypot(nx, ny)
            if 1e-6 < d < clearance:
                k = (clearance - d) / d
                px, py = px + k * nx, py + k * ny
    vx, vy = vx - 2.0 * px, vy - 2.0 * py
    speed = math.hypot(vx, vy)
    if speed > 1.0:
        vx, vy = vx / speed, vy / speed
    if n_actions == 3:  # holonomic: translate, do not turn
        return np.array((vx, vy, 0.0), np.float32)
    heading = math.atan2(vy, vx)  # differential: turn toward the goal, drive when facing it
    return np.array((speed * max(math.cos(heading), 0.0), min(max(2.0 * heading, -1.0), 1.0)), np.float32)


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
        o = obs.tolist()
        tx, ty, visible = o[t0:t0 + 3]
        if visible:
            d = math.hypot(tx, ty)
            scale = 1.0 - standoff / d if d > 1e-6 else 0.0
            return _to_action(tx * scale, ty * scale, o, gain, t0 + 3, clearance, n_actions)
        x, y, c, s = o[:4]
        phi = math.atan2(y, x) + 0.6
        gx, gy = patrol_radius * math.cos(phi) - x, patrol_radius * math.sin(phi) - y
        # the next patrol point, in the robot's frame
        return _to_action(c * gx + s * gy, -s * gx + c * gy, o, gain, t0 + 3, clearance, n_actions)

    return act


def handoff_policy(agent: str, observation_space: Any, action_space: Any, **kwargs: Any) -> Any:
    """Drive to the current subgoal (shelf, zone, dock); a carrier without the item waits in the zone."""
    gain = float(kwargs.get("gain", 2.0))
    clearance = float(kwargs.get("clearance", 0.5))
    n_actions = action_space.shape[0]
    g0 = SELF_FEATURES + 3

    def act(obs: np.ndarray) -> np.ndarray:
        o = obs.tolist()
        return _to_action(o[g0], o[g0 + 1], o, gain, SELF_FEATURES + 8, clearance, n_actions)

    return act


def ram_policy(agent: str, observation_space: Any, action_space: Any, **kwargs: Any) -> Any:
    """Drive at full speed at the nearest sensed robot (nothing else): a drill for the safety shield,
    which must keep such robots apart. Without a robot in range it stands still."""
    n_actions = action_space.shape[0]
    nb0 = int(kwargs.get("neighbours_at", observation_space.shape[0] - 3 * int(kwargs.get("max_neighbours", 3))))

    def act(obs: np.ndarray) -> np.ndarray:
        o = obs.tolist()
        dx, dy, present = o[nb0:nb0 + 3]
        if not present:
            return np.zeros(n_actions, np.float32)
        return _to_action(dx * 100.0, dy * 100.0, o, 1.0, len(o), 0.0, n_actions)

    return act
