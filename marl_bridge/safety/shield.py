"""The safety shield: filters the team's actions before the robots (simulated or real) get them.

Rules (each off at its zero value, see config.ShieldConfig), applied in this order:
1. clamp_to_bounds: an out-of-bounds Box action is clipped instead of replaced by the fallback;
2. max_speed_mps: planar speed limit;
3. max_accel_mps2: the commanded planar velocity may differ from the measured one by at most
   max_accel * control period;
4. geofence: a robot whose centre would leave the workspace within one control period is slowed (to
   1/2, 1/4, then 0 of its command) until it would not; one already outside may only move back in;
5. min_separation_m: for pairs predicted (one control period ahead, from poses and commanded
   velocities) to come closer than the separation while closing in, the closing part of each robot's
   velocity is removed first (they may still slide past each other); pairs that still violate are braked
   the same way as at the fence, both robots, until they do not: stopped robots cannot close in, so the
   rule always ends.
Rules 2-5 work from the robots' state as odometry reports it (`env.robot_states()`), so the shield
acts the same on the MuJoCo world and on the hardware adapter. Every change to an agent's action is an
intervention: counted per agent and rule, and returned as a safety event.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import numpy as np
from gymnasium import spaces

from marl_bridge.codec import Flat, SpaceCodec
from marl_bridge.config import ConfigError, ShieldConfig
from marl_bridge.envs.world import world_of
from marl_bridge.safety.events import SafetyEventData

BRAKE_LEVELS = (1.0, 0.5, 0.25, 0.0)


def fence_polygon(fence: tuple[float, ...]) -> np.ndarray:
    if len(fence) == 4:
        x0, y0, x1, y1 = fence
        return np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]])
    return np.asarray(fence, dtype=np.float64).reshape(-1, 2)


class Fence:
    """The workspace robot centres must stay in: a box (fast path) or any simple polygon."""

    def __init__(self, fence: tuple[float, ...]) -> None:
        self.polygon = fence_polygon(fence)
        self.box = (np.array(fence[:2]), np.array(fence[2:])) if len(fence) == 4 else None
        self._a = self.polygon
        self._ab = np.roll(self.polygon, -1, axis=0) - self.polygon
        self._ab2 = np.maximum((self._ab * self._ab).sum(-1), 1e-12)

    def depth(self, points: np.ndarray) -> np.ndarray:
        """0 for points inside, else their distance to the fence (vectorised over points)."""
        if self.box is not None:
            lo, hi = self.box
            out = np.maximum(np.maximum(lo - points, points - hi), 0.0)
            return np.hypot(out[:, 0], out[:, 1])
        a, ab = self._a[None], self._ab[None]
        p = points[:, None, :]
        b = a + ab
        cond = (a[..., 1] > p[..., 1]) != (b[..., 1] > p[..., 1])
        with np.errstate(divide="ignore", invalid="ignore"):
            x_cross = a[..., 0] + (p[..., 1] - a[..., 1]) * ab[..., 0] / ab[..., 1]
        inside = (np.count_nonzero(cond & (p[..., 0] < x_cross), axis=1) % 2) == 1
        t = np.clip(((p - a) * ab).sum(-1) / self._ab2[None], 0.0, 1.0)
        rel = p - (a + t[..., None] * ab)
        return np.where(inside, 0.0, np.hypot(rel[..., 0], rel[..., 1]).min(axis=1))


def outside_depth(poly: np.ndarray, points: np.ndarray) -> np.ndarray:
    """0 for points inside a polygon of at least 3 vertices (rows), else their distance to it."""
    return Fence(tuple(np.asarray(poly, dtype=np.float64).ravel())).depth(points)


class Shield:
    """Filters one joint action at a time; keeps intervention and near-miss counts for the run card."""

    def __init__(self, cfg: ShieldConfig, env: Any, act_codecs: dict[str, SpaceCodec], where: str) -> None:
        self.cfg = cfg
        self.act_codecs = act_codecs
        self.world = world_of(env)
        self.robots = self.world is not None
        if cfg.needs_robots and not self.robots:
            raise ConfigError(f"{where}: safety.shield speed, acceleration, separation, near-miss and geofence "
                              "rules act on robots' state; this env is not a robot world "
                              "(marl_bridge.envs.robots); only clamp_to_bounds applies to it")
        self.active = cfg.needs_robots or cfg.clamp_to_bounds
        self.index = {a: i for i, a in enumerate(act_codecs)}  # possible_agents order: the robots' rows
        self.fence = Fence(cfg.geofence) if cfg.geofence else None
        self.interventions: dict[str, Counter[str]] = {}
        self._near: set[tuple[int, int]] = set()

    def rebind(self, env: Any) -> None:
        """The supervisor swapped the env (backend fallback): same agents and spaces, new state source."""
        self.world = world_of(env)
        self._near = set()

    # -- rule 1 ----------------------------------------------------------------------------------
    def clamp(self, agent: str, data: Flat) -> Any | None:
        """A clipped action for out-of-bounds Box data (finite, right sizes), or None if not clampable."""
        codec = self.act_codecs[agent]
        if not self.cfg.clamp_to_bounds or not isinstance(codec.space, spaces.Box) or data.sizes() != codec.sizes:
            return None
        flat = codec.as_f64(data)
        if not np.isfinite(flat).all():
            return None
        space = codec.space
        low = np.broadcast_to(space.low, space.shape).ravel()
        high = np.broadcast_to(space.high, space.shape).ravel()
        return codec.decode_checked(np.clip(flat, low, high))

    # -- rules 2-5 -------------------------------------------------------------------------------
    def filter(self, actions: dict[str, Any], episode: int, step: int) -> tuple[dict[str, Any], list[SafetyEventData]]:
        """The actions the robots may execute, and one event per agent and rule that changed them."""
        if not (self.robots and self.cfg.needs_robots) or not actions:
            return actions, []
        env, cfg = self.world, self.cfg
        assert env is not None
        agents = list(actions)
        rows = np.array([self.index[a] for a in agents])
        poses, twists = env.robot_states()
        dt = env.control_period_s
        body = env.to_body(np.array([np.asarray(actions[a], dtype=np.float64) for a in agents]))
        yaw = poses[rows, 2]
        c, s = np.cos(yaw), np.sin(yaw)
        changed: dict[str, list[str]] = {}

        def note(mask: np.ndarray, rule: str, detail: str) -> None:
            for k in np.flatnonzero(mask):
                changed.setdefault(agents[k], []).append(f"{rule}: {detail}")

        v = body[:, :2].copy()
        if cfg.max_speed_mps:
            speed = np.hypot(v[:, 0], v[:, 1])
            over = speed > cfg.max_speed_mps + 1e-9
            v[over] *= (cfg.max_speed_mps / speed[over])[:, None]
            note(over, "speed_limit", f"speed capped at {cfg.max_speed_mps} m/s")
        if cfg.max_accel_mps2:
            dv = v - twists[rows, :2]
            size = np.hypot(dv[:, 0], dv[:, 1])
            limit = cfg.max_accel_mps2 * dt
            over = size > limit + 1e-9
            v[over] = twists[rows[over], :2] + dv[over] * (limit / size[over])[:, None]
            note(over, "speed_limit", f"acceleration capped at {cfg.max_accel_mps2} m/s^2")
        world = np.column_stack([c * v[:, 0] - s * v[:, 1], s * v[:, 0] + c * v[:, 1]])
        scale = np.ones(len(agents))
        if self.fence is not None:
            now = self.fence.depth(poses[rows, :2])
            for level in BRAKE_LEVELS[1:]:
                ahead = self.fence.depth(poses[rows, :2] + scale[:, None] * world * dt)
                bad = (ahead > 0) & (ahead >= now - 1e-12) & (scale > 0)
                if not bad.any():
                    break
                scale[bad] = level
            note(scale < 1, "geofence", "slowed or stopped at the workspace boundary")
        if cfg.min_separation_m and len(poses) > 1:
            fence_scale = scale.copy()
            levels = np.array(BRAKE_LEVELS)
            level = np.searchsorted(-levels, -scale)  # each robot's current brake level (index)
            all_v = np.zeros((len(poses), 2))
            d_now = np.hypot(*(poses[:, None, :2] - poses[None, :, :2]).transpose(2, 0, 1))
            steered = world.copy()
            for _ in range(3):  # first remove only the closing part of each velocity: robots may slide past
                all_v[rows] = scale[:, None] * world
                ahead = poses[:, :2] + all_v * dt
                d_ahead = np.hypot(*(ahead[:, None] - ahead[None, :]).transpose(2, 0, 1))
                np.fill_diagonal(d_ahead, np.inf)
                violating = (d_ahead < cfg.min_separation_m) & (d_ahead < d_now - 1e-12)
                if not violating.any():
                    break
                for k, i in enumerate(rows):
                    for j in np.flatnonzero(violating[i]):
                        n = (poses[j, :2] - poses[i, :2]) / max(d_now[i, j], 1e-9)
                        closing = float(world[k] @ n)
                        if closing > 0:
                            world[k] = world[k] - closing * n
            moved = np.hypot(*(world - steered).T) > 1e-9
            while True:  # ends: every pass brakes someone one level harder, and stopped robots cannot close
                all_v[rows] = scale[:, None] * world
                ahead = poses[:, :2] + all_v * dt
                d_ahead = np.hypot(*(ahead[:, None] - ahead[None, :]).transpose(2, 0, 1))
                np.fill_diagonal(d_ahead, np.inf)
                violating = (d_ahead < cfg.min_separation_m) & (d_ahead < d_now - 1e-12)
                involved = violating.any(axis=1)[rows] & (scale > 0)
                if not involved.any():
                    break
                level[involved] += 1
                scale[involved] = np.minimum(scale[involved], levels[level[involved]])
            note((scale < fence_scale) | moved, "separation_brake",
                 f"steered or braked to keep {cfg.min_separation_m} m from another robot")
        if not changed:
            return actions, []
        world *= scale[:, None]
        body[:, 0] = c * world[:, 0] + s * world[:, 1]
        body[:, 1] = -s * world[:, 0] + c * world[:, 1]
        filtered = env.to_action(body)
        out = dict(actions)
        events = []
        for agent, reasons in changed.items():
            k = agents.index(agent)
            codec = self.act_codecs[agent]
            out[agent] = codec.decode(codec.encode(filtered[k]))
            for reason in reasons:
                rule = reason.split(":", 1)[0]
                self.interventions.setdefault(agent, Counter())[rule] += 1
                events.append(SafetyEventData(rule, agent, episode, step, reason))
        return out, events

    def clamped(self, agent: str, episode: int, step: int) -> SafetyEventData:
        self.interventions.setdefault(agent, Counter())["action_clamped"] += 1
        return SafetyEventData("action_clamped", agent, episode, step,
                               f"action outside {self.act_codecs[agent].space}; clipped to its bounds")

    # -- measurement after the step --------------------------------------------------------------
    def near_misses(self, episode: int, step: int) -> list[SafetyEventData]:
        """Onsets of robot pairs closer than near_miss_m (centre distance), one event per robot."""
        if not (self.robots and self.cfg.near_miss_m):
            return []
        assert self.world is not None
        poses, _ = self.world.robot_states()
        d = np.hypot(*(poses[:, None, :2] - poses[None, :, :2]).transpose(2, 0, 1))
        close = {(int(i), int(j)) for i, j in zip(*np.nonzero(np.triu(d < self.cfg.near_miss_m, 1)), strict=True)}
        agents = list(self.index)
        events = [SafetyEventData("near_miss", agents[a], episode, step,
                                  f"{d[i, j]:.3f} m from {agents[b]} (near miss below {self.cfg.near_miss_m} m)",
                                  float(d[i, j]))
                  for i, j in sorted(close - self._near) for a, b in ((i, j), (j, i))]
        self._near = close
        return events

    def reset(self) -> None:
        self._near = set()

    def to_dict(self) -> dict[str, dict[str, int]] | None:
        if not self.active:
            return None
        return {a: dict(sorted(c.items())) for a, c in sorted(self.interventions.items())}
