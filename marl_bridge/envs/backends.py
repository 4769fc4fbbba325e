"""Backends of robot worlds, by name: what runs the robots' bodies, and what the supervisor does about it.

A backend is a registry entry, not a string compared in many files: `mujoco` steps the package's MuJoCo
world, `hardware` drives real robots through odometry and cmd_vel, and `auto` is the supervisor's
decision between them (hardware when every robot's odometry appears in time, else MuJoCo). Third
parties add bodies under the entry-point group `marl_bridge.backends` (a `Backend`); see
docs/extending.md. This module stays light: bodies are imported only when one is built.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from marl_bridge.config import ConfigError
from marl_bridge.plugins import load_group

ENTRY_POINT_GROUP = "marl_bridge.backends"
MUJOCO, HARDWARE, AUTO = "mujoco", "hardware", "auto"


@dataclass(frozen=True)
class Backend:
    """One way to run a robot world.

    `body` is "module:callable" building the Body from (task, settings, hardware config); None for a
    backend that is only a decision (auto). `simulated` backends publish their physics time on /clock
    and may stand in for robots; `waits_for_robots` backends are started only once the supervisor heard
    every robot (else the run fails, or falls back to `fallback` when that is set)."""

    name: str
    summary: str
    body: str | None
    simulated: bool
    waits_for_robots: bool = False
    fallback: str | None = None
    starts_on: str | None = None  # a decision: the backend whose body listens for the robots meanwhile

    @property
    def robots_backend(self) -> str:
        """The backend built while the supervisor waits for the robots."""
        return self.starts_on or self.name


BUILT_IN = {
    MUJOCO: Backend(MUJOCO, "the package's MuJoCo world", "marl_bridge.envs.robots:mujoco_body",
                    simulated=True),
    HARDWARE: Backend(HARDWARE, "real robots: nav_msgs/Odometry in, geometry_msgs/Twist out",
                      "marl_bridge.envs.robots.hardware:hardware_body", simulated=False, waits_for_robots=True),
    AUTO: Backend(AUTO, "hardware when every robot's odometry appears in time, else MuJoCo", None,
                  simulated=False, waits_for_robots=True, fallback=MUJOCO, starts_on=HARDWARE),
}


@cache
def backends() -> dict[str, Backend]:
    """Built-ins first; a plug-in may not shadow one."""
    return load_group(ENTRY_POINT_GROUP, BUILT_IN, Backend, "backend")


def backend(name: str, where: str) -> Backend:
    """The backend named `name`; ConfigError listing the known ones otherwise."""
    known = backends()
    if name not in known:
        listing = "; ".join(f"{b.name} ({b.summary})" for b in known.values())
        raise ConfigError(f"{where}: unknown backend {name!r}; known: {listing}")
    return known[name]


def in_process(name: str) -> str:
    """The backend a run without ROS uses for `name`: a decision resolves to its simulated fallback."""
    entry = backend(name, "env.backend") if name else None
    return entry.fallback if entry is not None and entry.body is None and entry.fallback else name


def offline(name: str) -> str | None:
    """The backend to build a robot world with when no robot may be touched (agents and spaces for a
    check, a launch file or a driver's start pose): the named one if it is simulated, else MuJoCo.
    None for an env that is no robot world (no backend)."""
    if not name:
        return None
    entry = backend(name, "env.backend")
    return name if entry.simulated and entry.body is not None else MUJOCO
