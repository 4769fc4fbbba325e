"""Robot-team worlds: team tasks on planar mobile robots, simulated in MuJoCo or driven on hardware.

Entry points for `env.entry_point`: `marl_bridge.envs.robots:pursuit_env` and
`marl_bridge.envs.robots:handoff_env`. `backend="mujoco"` steps the MuJoCo world; `backend="hardware"`
reads each robot's odometry and sends its cmd_vel (see hardware.py; the supervisor binds it to its node
and picks MuJoCo instead when `env.backend: auto` finds no odometry).
"""

from __future__ import annotations

from typing import Any

from marl_bridge.envs.robots.tasks import DriveLimits, HandoffTask, PursuitTask, TeamTask
from marl_bridge.envs.robots.team_env import RobotTeamEnv
from marl_bridge.envs.robots.world import MujocoWorld


def mujoco_body(task: TeamTask, settings: dict[str, Any], hardware: Any) -> MujocoWorld:
    """The `mujoco` backend's body (registered in envs.backends)."""
    return MujocoWorld(task.agents, arena_half=settings["arena_half"], control_period_s=settings["control_period_s"],
                       substeps=settings["substeps"], obstacles=task.obstacles, markers=task.markers(),
                       mjcf_path=settings["mjcf_path"])


def _robot_env(task: TeamTask, settings: dict[str, Any], backend: str, hardware: Any,
               render_mode: str | None) -> RobotTeamEnv:
    from marl_bridge.config import ConfigError
    from marl_bridge.envs.backends import backend as find_backend
    from marl_bridge.envs.factory import load_entry_point

    try:
        entry = find_backend(backend, "backend")
    except ConfigError as exc:
        raise ValueError(str(exc)) from None
    if entry.body is None:
        raise ValueError(f"backend {backend!r} is decided by the supervisor; build the world with "
                         f"{entry.fallback or 'a backend that has a body'}")
    limits = DriveLimits(settings["drive"], settings["max_linear"], settings["max_angular"])
    settings = {**settings, "limits": limits}
    body = load_entry_point(entry.body, f"backend {backend!r}")(task, settings, hardware)
    del settings["limits"]
    env = RobotTeamEnv(task, body, limits, settings["max_steps"], backend=backend, render_mode=render_mode)
    env.settings = {**settings, "backend": backend, "reward_definition": task.reward_definition}
    return env


def _common(n_robots: int, max_steps: int, control_period_s: float, substeps: int, arena_half: float,
            sensing_radius: float, max_neighbours: int, drive: str, max_linear: float, max_angular: float,
            obstacles: Any, mjcf_path: str, collision_penalty: float) -> dict[str, Any]:
    if not 2 <= n_robots <= 32:
        raise ValueError(f"n_robots must be in [2, 32], got {n_robots}")
    return {"n_robots": n_robots, "max_steps": max_steps, "control_period_s": control_period_s,
            "substeps": substeps, "arena_half": arena_half, "sensing_radius": sensing_radius,
            "max_neighbours": max_neighbours, "drive": drive, "max_linear": max_linear,
            "max_angular": max_angular, "obstacles": [tuple(float(v) for v in o) for o in obstacles],
            "mjcf_path": mjcf_path, "collision_penalty": collision_penalty}


def pursuit_env(n_robots: int = 4, *, backend: str = "mujoco", hardware: Any = None, max_steps: int = 400,
                control_period_s: float = 0.05, substeps: int = 10, arena_half: float = 4.0,
                sensing_radius: float = 4.0, max_neighbours: int = 3, drive: str = "holonomic",
                max_linear: float = 1.0, max_angular: float = 2.0, obstacles: Any = (), mjcf_path: str = "",
                collision_penalty: float = 0.5, capture_radius: float = 0.8, capture_robots: int | None = None,
                target_speed: float = 0.5, capture_bonus: float = 10.0, distance_coef: float = 0.01,
                render_mode: str | None = None) -> RobotTeamEnv:
    """Pursuit: `n_robots` robots must surround an evading target (see tasks.PursuitTask)."""
    settings = _common(n_robots, max_steps, control_period_s, substeps, arena_half, sensing_radius,
                       max_neighbours, drive, max_linear, max_angular, obstacles, mjcf_path, collision_penalty)
    capture_robots = min(3, n_robots) if capture_robots is None else capture_robots
    settings.update(capture_radius=capture_radius, capture_robots=capture_robots, target_speed=target_speed,
                    capture_bonus=capture_bonus, distance_coef=distance_coef)
    task = PursuitTask([f"robot_{i}" for i in range(n_robots)], capture_radius=capture_radius,
                       capture_robots=capture_robots, target_speed=target_speed, capture_bonus=capture_bonus,
                       distance_coef=distance_coef, arena_half=arena_half, sensing_radius=sensing_radius,
                       max_neighbours=max_neighbours, collision_penalty=collision_penalty,
                       obstacles=settings["obstacles"])
    return _robot_env(task, settings, backend, hardware, render_mode)


def handoff_env(n_robots: int = 2, *, backend: str = "mujoco", hardware: Any = None, max_steps: int = 400,
                control_period_s: float = 0.05, substeps: int = 10, arena_half: float = 4.0,
                sensing_radius: float = 4.0, max_neighbours: int = 3, drive: str = "holonomic",
                max_linear: float = 1.0, max_angular: float = 2.0, obstacles: Any = (), mjcf_path: str = "",
                collision_penalty: float = 0.5, zone_radius: float = 0.6, pick_radius: float = 0.4,
                pick_bonus: float = 2.0, handoff_bonus: float = 5.0, delivery_bonus: float = 10.0,
                distance_coef: float = 0.01, render_mode: str | None = None) -> RobotTeamEnv:
    """Warehouse handoff: n_robots/2 picker/carrier pairs (see tasks.HandoffTask for the order contract)."""
    if n_robots % 2:
        raise ValueError(f"handoff needs picker/carrier pairs: n_robots must be even, got {n_robots}")
    settings = _common(n_robots, max_steps, control_period_s, substeps, arena_half, sensing_radius,
                       max_neighbours, drive, max_linear, max_angular, obstacles, mjcf_path, collision_penalty)
    settings.update(zone_radius=zone_radius, pick_radius=pick_radius, pick_bonus=pick_bonus,
                    handoff_bonus=handoff_bonus, delivery_bonus=delivery_bonus, distance_coef=distance_coef)
    agents = [f"{role}_{p}" for p in range(n_robots // 2) for role in ("picker", "carrier")]
    task = HandoffTask(agents, zone_radius=zone_radius, pick_radius=pick_radius, pick_bonus=pick_bonus,
                       handoff_bonus=handoff_bonus, delivery_bonus=delivery_bonus, distance_coef=distance_coef,
                       arena_half=arena_half, sensing_radius=sensing_radius, max_neighbours=max_neighbours,
                       collision_penalty=collision_penalty, obstacles=settings["obstacles"])
    return _robot_env(task, settings, backend, hardware, render_mode)


def handoff_turns_env(n_robots: int = 2, **kwargs: Any) -> Any:
    """The warehouse handoff as turns (AEC): each pair's picker answers, then its carrier; the world steps
    once per round (see turns.TurnTakingTeam). Same arguments as `handoff_env`."""
    from marl_bridge.envs.robots.turns import TurnTakingTeam

    return TurnTakingTeam(handoff_env(n_robots, **kwargs))
