"""Node specs for a team bring-up: simulation, hardware, and one robot's actor.

Data flows one way: the user's config file plus the launch arguments become one effective config,
written once as a ROS parameter file beside the run's outputs; every node gets that file (plus its own
`actor.agent` or driver parameters). So the supervisor, the actors and the recorder cannot disagree on
the team, the agents or the seed.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from marl_bridge.config import ConfigError, RunConfig, dump_yaml, from_dict, load
from marl_bridge.envs.backends import backend as find_backend
from marl_bridge.envs.backends import offline
from marl_bridge.envs.team import build_team
from marl_bridge.nodes.topics import agent_ns, team_names

RECORDERS = ("", "marl_bridge", "ros2bag")


@dataclass(frozen=True)
class NodeSpec:
    """One node of the bring-up: a package executable, or an external command (`cmd`)."""

    name: str
    executable: str = ""  # under lib/marl_bridge (the shims setup.py installs)
    namespace: str = ""
    parameters: list[Any] = field(default_factory=list)  # params-file paths and {name: value} dicts
    arguments: list[str] = field(default_factory=list)  # before --ros-args
    cmd: list[str] = field(default_factory=list)  # external process instead of an executable
    ends_launch: bool = False  # the run is over when this one exits (the supervisor)


@dataclass(frozen=True)
class Bringup:
    cfg: RunConfig
    config_path: Path  # the effective config every node reads
    agents: list[str]
    nodes: list[NodeSpec]


def effective_config(config: str | Path, *, n_robots: int | None = None, seed: int | None = None,
                     out_dir: str | None = None, backend: str | None = None,
                     required_listeners: int | None = None) -> RunConfig:
    """The config file with the launch arguments applied, validated again as a whole."""
    cfg = load(config)
    data = cfg.to_dict()
    if n_robots is not None:
        kwargs = {**data["env"]["kwargs"], "n_robots": n_robots}
        if isinstance(kwargs.get("capture_robots"), int) and kwargs["capture_robots"] > n_robots:
            kwargs["capture_robots"] = n_robots  # pursuit: a capture needs no more robots than the team has
        data["env"]["kwargs"] = kwargs
    if seed is not None:
        data["run"]["seed"] = seed
    if out_dir:
        data["run"]["out_dir"] = out_dir
    if backend:
        data["env"]["backend"] = backend
    if required_listeners is not None:
        data["supervisor"]["required_listeners"] = required_listeners
    data = {k: v for k, v in data.items() if v is not None}
    return from_dict(data, source=f"{config} with launch arguments")


def _write(cfg: RunConfig) -> Path:
    return dump_yaml(cfg, Path(cfg.run.out_dir) / "launch_config.yaml")


def _team_agents(cfg: RunConfig) -> list[str]:
    team = build_team(cfg, backend=offline(cfg.env.backend))
    team.env.close()
    return team.agents


def _supervisor(cfg: RunConfig, path: Path, use_sim_time: bool) -> NodeSpec:
    return NodeSpec(name="supervisor", executable="supervisor", namespace=cfg.supervisor.team,
                    parameters=[str(path), {"use_sim_time": use_sim_time}], ends_launch=True)


def actor_spec(cfg: RunConfig, path: Path, agent: str, use_sim_time: bool) -> NodeSpec:
    return NodeSpec(name="actor", executable="actor", namespace=agent_ns(cfg.supervisor.team, agent).lstrip("/"),
                    parameters=[str(path), {"actor.agent": agent, "use_sim_time": use_sim_time}])


def _recorder(cfg: RunConfig, path: Path, agents: list[str], recorder: str, bag_dir: str, outer_ns: str
              ) -> list[NodeSpec]:
    if not recorder:
        return []
    if recorder not in RECORDERS:
        raise ConfigError(f"launch argument recorder:={recorder!r}; expected marl_bridge or ros2bag")
    if not bag_dir:
        raise ConfigError("launch argument record_dir is required when recording (a new directory)")
    if Path(bag_dir).exists():
        raise ConfigError(f"record_dir {bag_dir}: already exists; a bag directory must be new")
    if recorder == "marl_bridge":
        return [NodeSpec(name="recorder", executable="record", namespace=cfg.supervisor.team,
                         arguments=["--config", str(path), "--out", bag_dir])]
    from marl_bridge.recording.recorder import recorded_topics

    topics = [t for t, _, _ in recorded_topics(team_names(outer_ns or "/", cfg.supervisor.team), agents)]
    return [NodeSpec(name="ros2_bag", cmd=["ros2", "bag", "record", "-s", "mcap", "-o", bag_dir, *topics])]


def sim_team(config: str | Path, *, n_robots: int | None = None, seed: int | None = None,
             out_dir: str | None = None, use_sim_time: bool = False, recorder: str = "",
             record_dir: str = "", outer_ns: str = "") -> Bringup:
    """Supervisor on the config's simulation (MuJoCo for robot worlds) and one actor per agent."""
    cfg = effective_config(config, n_robots=n_robots, seed=seed, out_dir=out_dir,
                           backend=offline(load(config).env.backend),
                           required_listeners=1 if recorder else None)
    path = _write(cfg)
    agents = _team_agents(cfg)
    nodes = [_supervisor(cfg, path, use_sim_time), *(actor_spec(cfg, path, a, use_sim_time) for a in agents),
             *_recorder(cfg, path, agents, recorder, record_dir, outer_ns)]
    return Bringup(cfg, path, agents, nodes)


_TRUE, _FALSE = ("true", "1", "yes", "on"), ("false", "0", "no", "off")


def launch_flag(name: str, value: str) -> bool:
    """A boolean launch argument: true/false (also 1/0, yes/no, on/off); anything else is an error, never a
    silent false (`actors:=1` used to mean no actors, and a run on fallbacks only)."""
    v = value.strip().lower()
    if v in _TRUE or v in _FALSE:
        return v in _TRUE
    raise ConfigError(f"launch argument {name}:={value!r} is not a boolean; expected true or false")


GUARDED_CMD_TOPIC = "/{robot}/team/cmd_vel"  # what the team commands when guards run and the config names none


def hardware_team(config: str | Path, *, backend: str | None = None, seed: int | None = None,
                  out_dir: str | None = None, actors: bool = True, drivers: bool = False, recorder: str = "",
                  record_dir: str = "", guards: bool = True, outer_ns: str = "") -> Bringup:
    """Supervisor on the hardware adapter (backend hardware or auto; mujoco runs the same real-time team
    on the MuJoCo world instead of robots), actors unless each robot runs its own (actors:=false),
    simulated bases in place of robots when asked (drivers:=true), and a dead-man guard per robot
    between the team and its base (guards:=true, the default)."""
    cfg = effective_config(config, seed=seed, out_dir=out_dir, backend=backend,
                           required_listeners=1 if recorder else None)
    if guards and cfg.hardware is not None and not cfg.hardware.team_cmd_topic:
        cfg = dataclasses.replace(cfg, hardware=dataclasses.replace(cfg.hardware, team_cmd_topic=GUARDED_CMD_TOPIC))
    if not guards and cfg.hardware is not None:
        cfg = dataclasses.replace(cfg, hardware=dataclasses.replace(cfg.hardware, team_cmd_topic=""))
    chosen = find_backend(cfg.env.backend, f"{cfg.source}: env.backend") if cfg.env.backend else None
    if chosen is None or cfg.hardware is None:
        raise ConfigError(f"{cfg.source}: hardware bring-up needs a robot world's env.backend (hardware, auto "
                          "or mujoco) and a hardware section")
    if chosen.simulated and drivers:
        raise ConfigError(f"{cfg.source}: backend:=mujoco simulates the robots in the supervisor; drivers:=true "
                          "(simulated bases for the hardware adapter) has nothing to drive")
    path = _write(cfg)
    agents = _team_agents(cfg)
    nodes = [_supervisor(cfg, path, False)]
    if actors:
        nodes += [actor_spec(cfg, path, a, False) for a in agents]
    if drivers:
        nodes += driver_specs(cfg)
    if cfg.hardware.team_cmd_topic and not chosen.simulated:
        nodes += guard_specs(cfg, path, agents)
    nodes += _recorder(cfg, path, agents, recorder, record_dir, outer_ns)
    return Bringup(cfg, path, agents, nodes)


def guard_specs(cfg: RunConfig, path: Path, agents: list[str]) -> list[NodeSpec]:
    """A dead-man guard per robot between the team and its base (hardware.team_cmd_topic set; see
    nodes/guard.py). On a real team each robot runs its own guard, beside its base."""
    from marl_bridge.nodes.topics import ros_name

    assert cfg.hardware is not None
    robots = [cfg.hardware.robot_name(a, ros_name(a)) for a in agents]
    return [NodeSpec(name=f"{r}_guard", executable="guard", namespace=cfg.supervisor.team,
                     arguments=["--config", str(path), "--robot", r]) for r in robots]


def robot_actor(config: str | Path, robot: str, use_sim_time: bool = False) -> Bringup:
    """The one node a robot runs: its agent's actor, with the team's config file."""
    cfg = load(config)
    agents = _team_agents(cfg)
    if robot not in agents:
        raise ConfigError(f"launch argument robot:={robot!r} is not an agent of {cfg.env.entry_point}; agents "
                          f"are {', '.join(agents)}")
    path = Path(config).resolve()
    return Bringup(cfg, path, [robot], [actor_spec(cfg, path, robot, use_sim_time)])


def driver_specs(cfg: RunConfig) -> list[NodeSpec]:
    """A simulated base per robot at the first episode's start poses (see envs/robots/drivers.py)."""
    from marl_bridge.envs.robots.drivers import driver_parameters

    return [NodeSpec(name=f"driver_{p['robot']}", executable="robot_driver", namespace=cfg.supervisor.team,
                     parameters=[p])
            for p in driver_parameters(cfg).values()]
