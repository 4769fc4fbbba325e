"""What a robot world offers the team core beyond the PettingZoo API, declared once.

The supervisor and the team core never probe an env attribute by attribute: an env is a `RobotWorld`
when it implements this protocol (or an AEC turn wrapper exposes one as `.world`), and only then do
halting, real-time commands, /clock, the shield's robot rules, trajectories and body events apply.
`robot_world_contract_test` (envs/contract.py) checks a new body or backend against it.
"""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

import numpy as np

from marl_bridge.safety.events import SafetyEventData


@runtime_checkable
class RobotWorld(Protocol):
    """A team of planar robots, simulated or real, behind a PettingZoo env."""

    possible_agents: list[str]
    backend: str  # a name from envs.backends
    sim_time: float | None  # simulated seconds (None on hardware): published on /clock
    settings: dict[str, Any]  # every effective env argument, for the run card
    render_mode: str | None

    @property
    def control_period_s(self) -> float: ...
    @property
    def robot_radius(self) -> float: ...
    def robot_states(self) -> tuple[np.ndarray, np.ndarray]: ...
    def to_body(self, actions: np.ndarray) -> np.ndarray: ...
    def to_action(self, body: np.ndarray) -> np.ndarray: ...
    def apply(self, actions: dict[str, Any]) -> None: ...
    def halt(self) -> None: ...
    def bind_ros(self, node: Any) -> None: ...
    def missing_robots(self) -> list[str]: ...
    def robot_topics(self) -> dict[str, tuple[str, str]]: ...
    def drain_events(self) -> list[SafetyEventData]: ...
    def episode_trace(self) -> dict[str, Any]: ...
    def render(self) -> Any: ...


def world_of(env: Any) -> RobotWorld | None:
    """The env's robot world, if it is one (directly, or the `.world` an AEC turn wrapper declares)."""
    if isinstance(env, RobotWorld):
        return env
    inner = getattr(env, "world", None)
    return inner if isinstance(inner, RobotWorld) else None
