"""RobotTeamEnv: a PettingZoo ParallelEnv of a team task on a robot body (MuJoCo world or hardware).

The env owns its RNG (seeded by `reset(seed=...)`), turns each live agent's action into a body-frame
velocity command, lets the body advance one control period and asks the task what each agent observes,
earns and whether it is done. Robots whose agent has left the episode get a zero command. The env also
keeps what the run's artifacts need: per-robot collision onsets (`infos[agent]["collisions"]`), the
simulated time for /clock, the episode's trajectory for the top-down plot, and safety events the body
raised (stale odometry on hardware), drained by the supervisor with `drain_events()`.
"""

from __future__ import annotations

from typing import Any, Protocol

import numpy as np
from gymnasium import spaces
from pettingzoo.utils.env import ParallelEnv

from marl_bridge.envs.robots.tasks import DriveLimits, TeamTask
from marl_bridge.safety.events import SafetyEventData


class Body(Protocol):
    """What a task needs of the robots: MujocoWorld and HardwareBody both provide all of it, so the env
    never asks a body what it can do. A backend (envs/backends.py) builds one."""

    robot_radius: float
    control_period_s: float
    new_contacts: np.ndarray  # contact onsets per robot in the last period
    senses_contacts: bool  # False: no bumpers modelled (hardware); no collision penalty or event
    events: list[SafetyEventData]  # raised by the body (stale odometry), drained by the env
    model: Any  # the MuJoCo model to render, or None

    @property
    def time(self) -> float | None: ...  # simulated seconds, None on real robots
    def start(self, poses: np.ndarray) -> np.ndarray: ...
    def command(self, body_cmd: np.ndarray) -> None: ...
    def advance(self) -> None: ...
    def poses(self) -> np.ndarray: ...
    def twists(self) -> np.ndarray: ...
    def halt(self) -> None: ...
    def bind(self, node: Any) -> None: ...  # ROS interfaces on the supervisor's node (real robots)
    def missing(self) -> list[str]: ...  # robots not heard from yet
    def topics(self) -> dict[str, tuple[str, str]]: ...  # robot -> (odometry, cmd_vel) topics (real robots)
    def set_marker(self, name: str, xy: np.ndarray) -> None: ...


class RobotTeamEnv(ParallelEnv[str, np.ndarray, np.ndarray]):
    """A team task on robots. `backend` is "mujoco" or "hardware" (see marl_bridge.envs.robots)."""

    metadata = {"name": "robot_team_v0", "render_modes": ["rgb_array"], "is_parallelizable": True}

    def __init__(self, task: TeamTask, body: Body, limits: DriveLimits, max_steps: int, *, backend: str,
                 render_mode: str | None = None) -> None:
        if max_steps < 1:
            raise ValueError(f"max_steps must be >= 1, got {max_steps}")
        if render_mode not in (None, "rgb_array"):
            raise ValueError(f"render_mode must be None or 'rgb_array', got {render_mode!r}")
        self.task = task
        self.body = body
        self.limits = limits
        self.max_steps = max_steps
        self.backend = backend
        self.render_mode = render_mode
        self.metadata = {**self.metadata, "name": f"robot_{task.name}_v0"}
        self.possible_agents = list(task.agents)
        self.agents: list[str] = []
        self._index = {a: i for i, a in enumerate(self.possible_agents)}
        self._act_space = limits.action_space
        self._rng = np.random.default_rng()
        self._t = 0
        self._live = np.zeros(task.n, dtype=bool)
        self._cmd = np.zeros((task.n, 3))
        self._applied: dict[str, Any] | None = None
        self._trace: list[np.ndarray] = []
        self._target_trace: list[np.ndarray] = []
        self._renderer: Any = None
        self._contacts = body.senses_contacts
        self.sim_time: float | None = body.time  # simulated seconds (None on real robots)

    # -- spaces --------------------------------------------------------------------------------
    def observation_space(self, agent: str) -> spaces.Box:
        return self.task.observation_space

    def action_space(self, agent: str) -> spaces.Box:
        return self._act_space

    # -- episode -------------------------------------------------------------------------------
    def reset(self, seed: int | None = None, options: dict[str, Any] | None = None
              ) -> tuple[dict[str, np.ndarray], dict[str, dict[str, Any]]]:
        if seed is not None:
            self._rng = np.random.default_rng(seed)
        wanted = self.task.sample_poses(self._rng, self.body.robot_radius)
        poses = self.body.start(wanted)  # the MuJoCo world places them; real robots stay where they are
        self.task.begin(self._rng, poses)
        self._t = 0
        self._live[:] = True
        self._cmd[:] = 0.0
        self._applied = None
        self.agents = list(self.possible_agents)
        self._trace = [poses[:, :2].copy()]
        self._target_trace = [m.copy() for m in self.task.moving_markers().values()][:1]
        self._sync_markers()
        obs = self.task.observe(poses, self.body.twists())
        self.sim_time = self.body.time
        return {a: obs[i] for i, a in enumerate(self.possible_agents)}, {a: {} for a in self.agents}

    def apply(self, actions: dict[str, Any]) -> None:
        """Send the commands now (real-time mode: the robots act while the supervisor waits for the
        tick); the next `step` with the same actions only senses. Absent agents' robots get zero."""
        self._cmd[:] = 0.0
        acting = [a for a in self.agents if a in actions]
        if acting:
            rows = [self._index[a] for a in acting]
            self._cmd[rows] = self.limits.to_body(np.array([actions[a] for a in acting], dtype=np.float64))
        self.body.command(self._cmd)
        self._applied = actions

    def step(self, actions: dict[str, Any]) -> tuple[
            dict[str, np.ndarray], dict[str, float], dict[str, bool], dict[str, bool], dict[str, dict]]:
        if self._applied is not actions:
            self.apply(actions)
        self._applied = None
        self.body.advance()
        self._t += 1
        poses, twists = self.body.poses(), self.body.twists()
        contacts = self.body.new_contacts
        tr = self.task.transition(self._rng, poses, self._live, contacts, self.body.control_period_s)
        self._trace.append(poses[:, :2].copy())
        moving = list(self.task.moving_markers().values())
        if moving:
            self._target_trace.append(moving[0].copy())
        self._sync_markers()
        obs_all = self.task.observe(poses, twists)
        truncate = self._t >= self.max_steps
        obs, rewards, terms, truncs, infos = {}, {}, {}, {}, {}
        for agent in self.agents:
            i = self._index[agent]
            obs[agent] = obs_all[i]
            rewards[agent] = float(tr.rewards[i])
            terms[agent] = bool(tr.terminated[i])
            truncs[agent] = truncate and not terms[agent]
            infos[agent] = {**tr.infos[i], "collisions": int(contacts[i])} if self._contacts else tr.infos[i]
        self.agents = [a for a in self.agents if not (terms[a] or truncs[a])]
        for agent in obs:
            if agent not in self.agents:
                self._live[self._index[agent]] = False
        self.sim_time = self.body.time
        return obs, rewards, terms, truncs, infos

    def state(self) -> np.ndarray:
        return self.task.state(self.body.poses(), self.body.twists())

    # -- the robots' state, for the safety shield ----------------------------------------------
    @property
    def control_period_s(self) -> float:
        return self.body.control_period_s

    @property
    def robot_radius(self) -> float:
        return self.body.robot_radius

    def robot_states(self) -> tuple[np.ndarray, np.ndarray]:
        """Poses (x, y, yaw) and body twists (vx, vy, wz) of every robot, in possible_agents order: what
        odometry reports, on the MuJoCo world and on hardware alike."""
        return self.body.poses(), self.body.twists()

    def commanded(self) -> np.ndarray:
        """The body commands (vx, vy, wz) last sent to every robot (zero for robots out of the episode)."""
        return self._cmd

    def to_body(self, actions: np.ndarray) -> np.ndarray:
        return self.limits.to_body(actions)

    def to_action(self, body: np.ndarray) -> np.ndarray:
        return self.limits.to_action(body)

    # -- hardware ------------------------------------------------------------------------------
    def bind_ros(self, node: Any) -> None:
        """Give a hardware body its ROS interfaces on the supervisor's node (no-op in simulation)."""
        self.body.bind(node)

    def robot_topics(self) -> dict[str, tuple[str, str]]:
        """Each robot's (odometry, cmd_vel) topics on the hardware path (none in simulation)."""
        return self.body.topics()

    def missing_robots(self) -> list[str]:
        """Robots that have not reported their state yet (always none in simulation)."""
        return self.body.missing()

    def halt(self) -> None:
        """Stop every robot now (hardware: zero cmd_vel; simulation: zero velocity targets)."""
        self.body.halt()

    # -- artifacts -----------------------------------------------------------------------------
    def drain_events(self) -> list[SafetyEventData]:
        """Safety events the body raised since the last call (the supervisor publishes them)."""
        events = list(self.body.events)
        self.body.events.clear()
        return events

    def episode_trace(self) -> dict[str, Any]:
        """The episode so far, for the top-down plot: robot paths, target path, markers, arena."""
        return {"agents": self.possible_agents, "arena_half": self.task.arena_half,
                "robots": np.array(self._trace), "target": np.array(self._target_trace) if self._target_trace else None,
                "markers": [(m.name, m.pos, m.radius, m.rgba) for m in self.task.markers() if not m.mocap],
                "obstacles": self.task.obstacles, "robot_radius": self.body.robot_radius,
                "backend": self.backend, "task": self.task.name, "goal": self.task.goal,
                "period_s": self.body.control_period_s}

    def _sync_markers(self) -> None:
        for name, xy in self.task.moving_markers().items():
            self.body.set_marker(name, xy)

    def render(self) -> np.ndarray | None:
        """Top-down RGB frame from the MuJoCo world (raises RuntimeError where offscreen GL is missing)."""
        if self.render_mode is None:
            return None
        model = self.body.model
        if model is None:
            raise RuntimeError(f"backend {self.backend!r} has no simulation to render")
        if self._renderer is None:
            import mujoco

            try:
                self._renderer = mujoco.Renderer(model, 480, 480)
            except Exception as exc:  # no EGL/OSMesa/display: say so, the run goes on
                raise RuntimeError(f"offscreen MuJoCo rendering is not available here ({exc}); "
                                   "set MUJOCO_GL=egl or osmesa where those libraries exist") from None
        self._renderer.update_scene(self.body.data, camera="top")  # type: ignore[attr-defined]
        return self._renderer.render()

    def close(self) -> None:
        self.halt()
        if self._renderer is not None:
            self._renderer.close()
            self._renderer = None
