"""Team tasks on planar robots: what each robot observes, earns and when it is done.

A task sees the robots only through their poses (x, y, yaw), body-frame twists and contact onsets, the
same things a real base's odometry and bumpers report, so one task runs unchanged on the MuJoCo world
and on the hardware adapter. Observations are local: each robot gets itself, and the others and the
task objects within its sensing radius, in its own frame. The task owns no RNG: the env passes its own.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from gymnasium import spaces

from marl_bridge.envs.robots.world import Marker

SELF_FEATURES = 7  # x, y, cos(yaw), sin(yaw), vx, vy, wz (body frame)


@dataclass(frozen=True)
class DriveLimits:
    """How actions become body-frame velocity commands: holonomic (vx, vy, wz) or differential (v, wz),
    each component in [-1, 1] scaled by the maximum speeds."""

    drive: str = "holonomic"
    max_linear: float = 1.0  # m/s
    max_angular: float = 2.0  # rad/s

    def __post_init__(self) -> None:
        if self.drive not in ("holonomic", "differential"):
            raise ValueError(f"drive must be 'holonomic' or 'differential', got {self.drive!r}")
        if self.max_linear <= 0 or self.max_angular <= 0:
            raise ValueError(f"max_linear and max_angular must be > 0, got {self.max_linear}, {self.max_angular}")

    @property
    def action_space(self) -> spaces.Box:
        return spaces.Box(-1.0, 1.0, (3 if self.drive == "holonomic" else 2,), np.float32)

    def to_body(self, actions: np.ndarray) -> np.ndarray:
        """Actions (M, 3 or 2) -> body-frame commands (M, 3), clipped to [-1, 1] first."""
        a = np.clip(np.asarray(actions, dtype=np.float64), -1.0, 1.0)
        out = np.zeros((len(a), 3))
        out[:, :2 if self.drive == "holonomic" else 1] = a[:, :2 if self.drive == "holonomic" else 1]
        out[:, :2] *= self.max_linear
        out[:, 2] = a[:, -1] * self.max_angular
        return out

    def to_action(self, body: np.ndarray) -> np.ndarray:
        """Inverse of to_body: body-frame commands (M, 3) -> actions (M, 3 or 2) in [-1, 1]."""
        b = np.asarray(body, dtype=np.float64)
        lin, ang = b[:, :2] / self.max_linear, b[:, 2:3] / self.max_angular
        out = np.hstack([lin, ang]) if self.drive == "holonomic" else np.hstack([lin[:, :1], ang])
        return np.clip(out, -1.0, 1.0).astype(np.float32)


def in_frame(poses: np.ndarray, points: np.ndarray) -> np.ndarray:
    """Points (N, 2) or (N, M, 2) in each robot's own frame (relative position, rotated by -yaw)."""
    rel = points - (poses[:, None, :2] if points.ndim == 3 else poses[:, :2])
    c, s = np.cos(poses[:, 2]), np.sin(poses[:, 2])
    if points.ndim == 3:
        c, s = c[:, None], s[:, None]
    return np.stack([c * rel[..., 0] + s * rel[..., 1], -s * rel[..., 0] + c * rel[..., 1]], axis=-1)


def self_features(poses: np.ndarray, twists: np.ndarray) -> np.ndarray:
    return np.column_stack([poses[:, :2], np.cos(poses[:, 2]), np.sin(poses[:, 2]), twists])


def sensed(poses: np.ndarray, points: np.ndarray, radius: float) -> np.ndarray:
    """(dx, dy, visible) of one point per robot, zeros beyond the sensing radius."""
    local = in_frame(poses, points)
    visible = np.hypot(local[:, 0], local[:, 1]) <= radius
    return np.column_stack([local * visible[:, None], visible.astype(np.float64)])


def neighbours(poses: np.ndarray, radius: float, k: int) -> np.ndarray:
    """The k nearest other robots within the sensing radius: (dx, dy, present) each, nearest first."""
    n = len(poses)
    out = np.zeros((n, k, 3))
    k_eff = min(k, n - 1)
    if k_eff <= 0:
        return out.reshape(n, 3 * k)
    rel = poses[None, :, :2] - poses[:, None, :2]  # rel[i, j]: robot j seen from robot i (world axes)
    dist = np.hypot(rel[..., 0], rel[..., 1])
    np.fill_diagonal(dist, np.inf)
    order = np.argsort(dist, axis=1)[:, :k_eff]
    rows = np.arange(n)[:, None]
    near, d = rel[rows, order], dist[rows, order]
    c, s = np.cos(poses[:, 2])[:, None], np.sin(poses[:, 2])[:, None]
    present = d <= radius
    out[:, :k_eff, 0] = (c * near[..., 0] + s * near[..., 1]) * present
    out[:, :k_eff, 1] = (-s * near[..., 0] + c * near[..., 1]) * present
    out[:, :k_eff, 2] = present
    return out.reshape(n, 3 * k)


def spread_poses(rng: np.random.Generator, n: int, lo: np.ndarray, hi: np.ndarray, min_gap: float,
                 avoid: list[tuple[float, float, float]] | None = None) -> np.ndarray:
    """n poses uniformly in the box [lo, hi] at least `min_gap` apart and clear of `avoid` circles."""
    poses = np.zeros((n, 3))
    placed = 0
    for _ in range(10_000):
        xy = rng.uniform(lo, hi)
        yaw = rng.uniform(-np.pi, np.pi)
        if placed and np.min(np.hypot(*(poses[:placed, :2] - xy).T)) < min_gap:
            continue
        if any(np.hypot(xy[0] - x, xy[1] - y) < r + min_gap / 2 for x, y, r in (avoid or [])):
            continue
        poses[placed] = (xy[0], xy[1], yaw)
        placed += 1
        if placed == n:
            return poses
    raise ValueError(f"cannot place {n} robots {min_gap} m apart in [{lo}, {hi}]: the arena is too small")


@dataclass
class Transition:
    """One control period's outcome for every robot (live or not; the env picks the live ones)."""

    rewards: np.ndarray
    terminated: np.ndarray
    infos: list[dict[str, Any]] = field(default_factory=list)


class TeamTask:
    """Base of the robot-team tasks. Subclasses say where robots start, what they see and earn."""

    name = "team_task"
    goal = "done"  # what reaching the task's end is called (plot titles)
    reward_definition = ""

    def __init__(self, agents: list[str], *, arena_half: float, sensing_radius: float, max_neighbours: int,
                 collision_penalty: float, obstacles: list[tuple[float, float, float]]) -> None:
        self.agents = agents
        self.n = len(agents)
        self.arena_half = arena_half
        self.sensing_radius = sensing_radius
        self.max_neighbours = max_neighbours
        self.collision_penalty = collision_penalty
        self.obstacles = obstacles
        dim = SELF_FEATURES + self.extra_features + 3 * max_neighbours
        self.observation_space = spaces.Box(-np.inf, np.inf, (dim,), np.float64)

    extra_features = 0

    def markers(self) -> list[Marker]:
        return []

    def moving_markers(self) -> dict[str, np.ndarray]:
        return {}

    def sample_poses(self, rng: np.random.Generator, robot_radius: float) -> np.ndarray:
        raise NotImplementedError

    def begin(self, rng: np.random.Generator, poses: np.ndarray) -> None:
        """Start an episode from the robots' actual poses (on hardware, wherever they stand)."""
        raise NotImplementedError

    def extra_observation(self, poses: np.ndarray) -> np.ndarray:
        return np.zeros((self.n, 0))

    def observe(self, poses: np.ndarray, twists: np.ndarray) -> np.ndarray:
        return np.hstack([self_features(poses, twists), self.extra_observation(poses),
                          neighbours(poses, self.sensing_radius, self.max_neighbours)])

    def transition(self, rng: np.random.Generator, poses: np.ndarray, live: np.ndarray,
                   new_contacts: np.ndarray, dt: float) -> Transition:
        raise NotImplementedError

    def state(self, poses: np.ndarray, twists: np.ndarray) -> np.ndarray:
        return np.concatenate([poses.ravel(), twists.ravel()])


class PursuitTask(TeamTask):
    """Robots surround and capture an evading target: capture needs `capture_robots` of them within
    `capture_radius` of it at once. The target flees from the robots it senses and from the walls."""

    name = "pursuit"
    goal = "captured"
    extra_features = 3  # target (dx, dy, visible)

    def __init__(self, agents: list[str], *, capture_radius: float, capture_robots: int, target_speed: float,
                 capture_bonus: float, distance_coef: float, **common: Any) -> None:
        super().__init__(agents, **common)
        if not 1 <= capture_robots <= len(agents):
            raise ValueError(f"capture_robots must be in [1, {len(agents)}], got {capture_robots}")
        self.capture_radius = capture_radius
        self.capture_robots = capture_robots
        self.target_speed = target_speed
        self.capture_bonus = capture_bonus
        self.distance_coef = distance_coef
        self.target = np.zeros(2)
        self.heading = 0.0
        self.reward_definition = (
            f"per robot each step: -{distance_coef} * distance to the target, -{self.collision_penalty} per "
            f"new contact; team term: +{capture_bonus} to every robot when {capture_robots} robots are within "
            f"{capture_radius} m of the target (capture ends the episode for all)")

    def markers(self) -> list[Marker]:
        return [Marker("target", (0.0, 0.0), 0.15, (0.9, 0.2, 0.2, 1.0), mocap=True)]

    def moving_markers(self) -> dict[str, np.ndarray]:
        return {"target": self.target}

    def sample_poses(self, rng: np.random.Generator, robot_radius: float) -> np.ndarray:
        h = self.arena_half - robot_radius - 0.1
        return spread_poses(rng, self.n, np.array([-h, -h]), np.array([h, h]), 3 * robot_radius, self.obstacles)

    def begin(self, rng: np.random.Generator, poses: np.ndarray) -> None:
        h = self.arena_half - 0.5
        for _ in range(1000):  # start the target away from every robot
            xy = rng.uniform(-h, h, 2)
            if np.min(np.hypot(*(poses[:, :2] - xy).T)) > 2 * self.capture_radius:
                break
        self.target = xy
        self.heading = float(rng.uniform(-np.pi, np.pi))

    def extra_observation(self, poses: np.ndarray) -> np.ndarray:
        return sensed(poses, np.broadcast_to(self.target, (self.n, 2)), self.sensing_radius)

    def _move_target(self, rng: np.random.Generator, poses: np.ndarray, dt: float) -> None:
        rel = self.target - poses[:, :2]
        dist = np.maximum(np.hypot(rel[:, 0], rel[:, 1]), 1e-6)
        near = dist < self.sensing_radius
        push = (rel[near] / dist[near, None] ** 2).sum(axis=0) if near.any() else np.zeros(2)
        h = self.arena_half
        margin = 1.0
        lo = np.maximum(self.target + h, 0.05)  # distance to the west/south and east/north walls
        hi = np.maximum(h - self.target, 0.05)
        push += np.where(lo < margin, 1 / lo - 1 / margin, 0.0) - np.where(hi < margin, 1 / hi - 1 / margin, 0.0)
        self.heading += float(rng.normal(0.0, 0.5))
        wander = 0.3 * np.array([np.cos(self.heading), np.sin(self.heading)])
        v = push + wander
        norm = np.hypot(*v)
        if norm > 1e-9:
            self.target = self.target + v / norm * self.target_speed * dt
        self.target = np.clip(self.target, -h + 0.5, h - 0.5)  # room around it for robots, even at a wall

    def transition(self, rng: np.random.Generator, poses: np.ndarray, live: np.ndarray,
                   new_contacts: np.ndarray, dt: float) -> Transition:
        self._move_target(rng, poses, dt)
        dist = np.hypot(*(poses[:, :2] - self.target).T)
        close = int(np.sum((dist <= self.capture_radius) & live))
        captured = close >= self.capture_robots
        rewards = -self.distance_coef * dist - self.collision_penalty * new_contacts
        if captured:
            rewards = rewards + self.capture_bonus
        term = np.full(self.n, captured)
        infos = [{"target_distance": float(dist[i]), "robots_close": close, "captured": captured}
                 for i in range(self.n)]
        return Transition(rewards, term, infos)

    def state(self, poses: np.ndarray, twists: np.ndarray) -> np.ndarray:
        return np.concatenate([poses.ravel(), twists.ravel(), self.target])


class HandoffTask(TeamTask):
    """Warehouse handoff in pairs: picker_i fetches an item at shelf_i and brings it to zone_i, where
    carrier_i takes it over and delivers it to dock_i.

    Order contract: the picker acts first. The handoff happens at the first step in which the picker,
    holding the item, and the carrier are both inside the zone; it is resolved before anything else in
    that step, so the picker ends its episode (terminated) there and the carrier, now holding the item,
    goes on. A carrier that waits in the zone before the picker arrives gets nothing for it. The carrier
    terminates on delivery; both truncate at the time limit.
    """

    name = "handoff"
    goal = "delivered"
    extra_features = 8  # role, has_item, stage; subgoal (dx, dy); partner (dx, dy, visible)

    def __init__(self, agents: list[str], *, zone_radius: float, pick_radius: float, pick_bonus: float,
                 handoff_bonus: float, delivery_bonus: float, distance_coef: float, **common: Any) -> None:
        super().__init__(agents, **common)
        self.pairs = self.n // 2
        self.zone_radius = zone_radius
        self.pick_radius = pick_radius
        self.pick_bonus = pick_bonus
        self.handoff_bonus = handoff_bonus
        self.delivery_bonus = delivery_bonus
        self.distance_coef = distance_coef
        h = self.arena_half
        ys = np.linspace(-h, h, self.pairs + 2)[1:-1]
        self.shelves = np.column_stack([np.full(self.pairs, -h + 0.6), ys])
        self.zones = np.column_stack([np.zeros(self.pairs), ys])
        self.docks = np.column_stack([np.full(self.pairs, h - 0.6), ys])
        self.is_picker = np.array([i % 2 == 0 for i in range(self.n)])
        self.pair = np.arange(self.n) // 2
        self.partner = np.arange(self.n) ^ 1
        self.stage = np.zeros(self.n, dtype=np.int64)  # picker: 0 fetch, 1 bring; carrier: 0 wait, 1 deliver
        self.reward_definition = (
            f"per robot each step: -{distance_coef} * distance to its current subgoal (picker: shelf, then "
            f"zone; carrier: zone, then dock), -{self.collision_penalty} per new contact; picker +{pick_bonus} "
            f"on picking; team term: +{handoff_bonus} to both robots of the pair at the handoff (picker "
            f"first: it ends there), +{delivery_bonus} to the carrier on delivery (it ends there)")

    def markers(self) -> list[Marker]:
        out = []
        for p in range(self.pairs):
            out += [Marker(f"shelf_{p}", tuple(self.shelves[p]), self.pick_radius, (0.9, 0.7, 0.1, 0.6)),
                    Marker(f"zone_{p}", tuple(self.zones[p]), self.zone_radius, (0.2, 0.8, 0.3, 0.4)),
                    Marker(f"dock_{p}", tuple(self.docks[p]), self.pick_radius, (0.3, 0.3, 0.9, 0.6))]
        return out

    def sample_poses(self, rng: np.random.Generator, robot_radius: float) -> np.ndarray:
        h = self.arena_half - robot_radius - 0.1
        poses = np.zeros((self.n, 3))
        left = spread_poses(rng, self.pairs, np.array([-h, -h]), np.array([-h / 3, h]), 3 * robot_radius,
                            self.obstacles)
        right = spread_poses(rng, self.pairs, np.array([h / 3, -h]), np.array([h, h]), 3 * robot_radius,
                             self.obstacles)
        poses[0::2], poses[1::2] = left, right
        return poses

    def begin(self, rng: np.random.Generator, poses: np.ndarray) -> None:
        self.stage[:] = 0

    def _subgoals(self) -> np.ndarray:
        goals = np.where((self.stage == 0)[:, None], self.shelves[self.pair], self.zones[self.pair])
        carrier_goal = np.where((self.stage == 0)[:, None], self.zones[self.pair], self.docks[self.pair])
        return np.where(self.is_picker[:, None], goals, carrier_goal)

    def extra_observation(self, poses: np.ndarray) -> np.ndarray:
        has_item = (self.stage == 1).astype(np.float64)  # picker: fetched it; carrier: took it over
        return np.column_stack([self.is_picker.astype(np.float64), has_item, self.stage.astype(np.float64),
                                in_frame(poses, self._subgoals()),
                                sensed(poses, poses[self.partner, :2], self.sensing_radius)])

    def transition(self, rng: np.random.Generator, poses: np.ndarray, live: np.ndarray,
                   new_contacts: np.ndarray, dt: float) -> Transition:
        rewards = -self.collision_penalty * new_contacts.astype(np.float64)
        term = np.zeros(self.n, dtype=bool)
        events = [""] * self.n
        in_zone = np.hypot(*(poses[:, :2] - self.zones[self.pair]).T) <= self.zone_radius
        for p in range(self.pairs):
            pk, cr = 2 * p, 2 * p + 1
            # handoff first (picker first), then pick-up at the shelf and delivery at the dock
            if live[pk] and live[cr] and self.stage[pk] == 1 and in_zone[pk] and in_zone[cr]:
                term[pk] = True
                self.stage[cr] = 1
                rewards[[pk, cr]] += self.handoff_bonus
                events[pk] = events[cr] = "handoff"
            elif live[pk] and self.stage[pk] == 0 and np.hypot(*(poses[pk, :2] - self.shelves[p])) <= self.pick_radius:
                self.stage[pk] = 1
                rewards[pk] += self.pick_bonus
                events[pk] = "pick"
            if live[cr] and self.stage[cr] == 1 and not events[cr] and \
                    np.hypot(*(poses[cr, :2] - self.docks[p])) <= self.pick_radius:
                term[cr] = True
                rewards[cr] += self.delivery_bonus
                events[cr] = "delivery"
        dist = np.hypot(*(poses[:, :2] - self._subgoals()).T)
        rewards -= self.distance_coef * dist
        infos = [{"subgoal_distance": float(dist[i]), "stage": int(self.stage[i]), "event": events[i]}
                 for i in range(self.n)]
        return Transition(rewards, term, infos)

    def state(self, poses: np.ndarray, twists: np.ndarray) -> np.ndarray:
        return np.concatenate([poses.ravel(), twists.ravel(), self.stage.astype(np.float64)])
