"""Run configuration: one dataclass per component, mirrored in YAML under config/.

Files may be plain YAML or ROS parameter files (`/**: ros__parameters: {...}`), so the same file
serves `marl-bridge run`, `--ros-args --params-file` and launch files. Nodes receive the config as
ROS parameters (dotted names, e.g. `supervisor.step_deadline_s`) and rebuild it with `from_flat`.
Everything that changes results (seed, episodes, deadline, fallback, policies, reward definition) must
be stated: there are no silent defaults for it. Errors name the file and the key.
"""

from __future__ import annotations

import dataclasses
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

TOPOLOGIES = ("single", "actors", "multiprocess")
MODES = ("lockstep", "realtime")
SECTIONS = ("run", "env", "policy", "supervisor", "hardware", "safety")
ESTOP_ACTIONS = ("pause", "end_episode")
FALLBACK_KINDS = ("zero", "hold", "value")
_REQUIRED = object()


class ConfigError(ValueError):
    """A config file or parameter set is wrong; the message names where and what was expected."""


@dataclass(frozen=True)
class EnvConfig:
    """Which PettingZoo ParallelEnv to build, and how its rewards are defined (copied to the run card)."""

    entry_point: str  # "module:callable", e.g. "pettingzoo.sisl:pursuit_v5.parallel_env"
    reward_definition: str  # what each agent's reward means, as the user states it
    kwargs: dict[str, Any] = field(default_factory=dict)
    name: str = ""  # label for reports; defaults to the entry point
    # Robot-team worlds (marl_bridge.envs.robots) only: mujoco | hardware | auto (hardware if every
    # robot's odometry appears within hardware.wait_s, else MuJoCo with the same task).
    backend: str = ""


@dataclass(frozen=True)
class PolicyConfig:
    """One policy plugin, by kind (marl_bridge/policies/registry.py): random (seeded), scripted (entry
    point), mlp (weights in .npz), onnx (an ONNX model), or a kind another package registers."""

    kind: str
    entry_point: str = ""  # scripted: "module:callable" returning a Policy or an act(obs) function
    path: str = ""  # mlp: .npz with W0, b0, W1, b1, ... (no pickle); onnx: the .onnx model file
    deterministic: bool = True  # argmax / distribution mean (True) or a seeded sample (False)
    kwargs: dict[str, Any] = field(default_factory=dict)  # kind-specific options (see the kind's module)

    def describe(self) -> str:
        detail = self.entry_point or self.path
        return f"{self.kind}({detail})" if detail else self.kind


@dataclass(frozen=True)
class TeamPolicyConfig:
    """Policy per agent. shared=true: every agent runs `default` with the same parameters."""

    shared: bool
    default: PolicyConfig | None = None
    per_agent: dict[str, PolicyConfig] = field(default_factory=dict)

    def for_agent(self, agent: str) -> PolicyConfig:
        if self.shared:
            assert self.default is not None
            return self.default
        if agent in self.per_agent:
            return self.per_agent[agent]
        if self.default is not None:
            return self.default
        raise ConfigError(f"policy: no policy for agent {agent!r}: add policy.per_agent.{agent} "
                          "or policy.default")


@dataclass(frozen=True)
class FallbackConfig:
    """What the env receives when an agent's action is missing, late or bad.

    zero: the space's zero/lowest value (Discrete: start); hold: the agent's last valid action
    (zero before it has one); value: `value`, a flat encoded action (see marl_bridge.codec).
    """

    kind: str
    value: tuple[float, ...] = ()


@dataclass(frozen=True)
class HardwareConfig:
    """The real robots behind the hardware adapter: topics, command limits, odometry timing.

    `{robot}` in a topic pattern becomes the robot's name (`robots[agent]`, else the agent's ROS name).
    Odometry must be in the shared world frame of the task (localisation or motion capture output).
    """

    max_linear_mps: float  # every cmd_vel is clamped to these, whatever the policy asks
    max_angular_rps: float
    odom_topic: str = "/{robot}/odom"
    cmd_vel_topic: str = "/{robot}/cmd_vel"
    robots: dict[str, str] = field(default_factory=dict)  # agent -> robot name
    wait_s: float = 5.0  # startup: wait this long for every robot's odometry (auto: then fall back)
    stale_after_s: float = 0.5  # odometry older than this at a control tick is a safety event
    # Guards (marl-bridge guard, one per robot): when set, the supervisor commands this topic and each
    # robot's guard forwards the team's commands to cmd_vel_topic, drops everyone else's, and commands
    # zero and holds when the supervisor's liveliness lapses or commands stop for guard_timeout_s.
    team_cmd_topic: str = ""
    guard_timeout_s: float = 0.3
    liveliness_lease_s: float = 0.1  # the supervisor's command writers assert liveliness within this

    def robot_name(self, agent: str, ros_name: str) -> str:
        return self.robots.get(agent, ros_name)


@dataclass(frozen=True)
class SupervisorConfig:
    """The joint step: topics, deadline, fallbacks, episode cap, lockstep or real-time."""

    step_deadline_s: float  # how long to wait for the live agents' actions each step (checked every
    #                         quarter deadline, at most every 50 ms: a miss is called up to that much later)
    fallback: FallbackConfig
    max_steps: int  # per-episode cap on joint steps (0: none; the env's own truncation applies)
    team: str = "team"  # topic prefix: /<team>/<agent>/observation
    startup_timeout_s: float = 30.0  # wait this long for actors to be ready, then run on fallbacks
    fallback_per_agent: dict[str, FallbackConfig] = field(default_factory=dict)
    # Also wait (within startup_timeout_s) until this many nodes besides the actors subscribe to every
    # team topic the supervisor publishes: a recorder or monitor in another process then sees it all.
    required_listeners: int = 0
    # The team's stream writers (observations, actions, step results, summaries, /clock) keep their last
    # 1000 samples for readers that match late (transient local durability): a recorder in another
    # process then still gets an actor's first actions even if it matched that actor after them. On when
    # listeners are required (a recorder beside the team) or asked for here; off, writers are volatile,
    # which ran the lockstep over DDS 1.2x faster (bench/lockstep.py's method, one run).
    late_readers: bool = False
    # lockstep: step as soon as every live agent answered (or at the deadline). realtime: step at a fixed
    # control_rate_hz; actions that arrive within step_deadline_s of the observation count, the rest
    # are deadline misses. The hardware backend always runs realtime.
    mode: str = "lockstep"
    control_rate_hz: float = 0.0

    def fallback_for(self, agent: str) -> FallbackConfig:
        return self.fallback_per_agent.get(agent, self.fallback)

    @property
    def keeps_history(self) -> bool:
        """The stream writers keep history for late readers (see `late_readers`)."""
        return self.late_readers or self.required_listeners > 0


@dataclass(frozen=True)
class ShieldConfig:
    """The action filter between the actors and the robots (marl_bridge/safety/shield.py).

    Every rule is off at its zero value. Speed, acceleration, separation and geofence need a robot
    world (they act on the robots' state); clamp_to_bounds works on any Box action space.
    """

    clamp_to_bounds: bool = False  # out-of-bounds Box actions are clipped (an intervention), not replaced
    max_speed_mps: float = 0.0  # planar speed limit
    max_accel_mps2: float = 0.0  # change of planar velocity per second, from the robot's measured twist
    min_separation_m: float = 0.0  # centre distance robots must keep, predicted one control period ahead
    near_miss_m: float = 0.0  # centre distance below which a near_miss event is raised (measured)
    # workspace for robot centres: [xmin, ymin, xmax, ymax], or a polygon [x0, y0, x1, y1, x2, y2, ...]
    geofence: tuple[float, ...] = ()

    @property
    def needs_robots(self) -> bool:
        return bool(self.max_speed_mps or self.max_accel_mps2 or self.min_separation_m or self.near_miss_m
                    or self.geofence)


@dataclass(frozen=True)
class SafetyConfig:
    """Shield, emergency stop, liveness and the actors' watchdog."""

    shield: ShieldConfig = field(default_factory=ShieldConfig)
    estop_action: str = "pause"  # while the e-stop is engaged: pause the episode, or end it (end_episode)
    # On unless a config turns them off (0): an actor silent this many steps in a row is lost (also when its
    # action publisher leaves the graph); an actor without observations this long while the run is
    # running (not paused, e-stopped or ended) publishes a stop action and says so.
    lost_after_steps: int = 5
    actor_watchdog_s: float = 2.0
    event_rate_limit: int = 50  # published events per agent and kind per second; all are counted
    # Authenticated team traffic (marl_bridge/trust): a team key file (supervisor; actors may use it too) or,
    # for one robot's actor, that robot's key file. Empty: unauthenticated (a warning, `authenticated: false`).
    key_file: str = ""
    # A publisher on a robot's cmd_vel or odom that is not the team's: "estop" (event and e-stop) or "event"
    foreign_publisher: str = "estop"


FOREIGN_PUBLISHER_ACTIONS = ("estop", "event")


@dataclass(frozen=True)
class RunSettings:
    """A run: how many episodes from which seed, and how the nodes are spread over processes."""

    seed: int
    episodes: int
    topology: str = "single"  # single | actors | multiprocess
    out_dir: str = "runs"
    # A run that finishes with more than this share of its agent-steps on fallbacks ends "degraded"
    # (exit code 4), not "complete": a team that mostly ran without its policies did not do the job.
    max_fallback_share: float = 0.5
    # The run card lists the last `card_episodes` episodes whole; every episode streams to episodes.jsonl
    # beside it as it ends, and the card's per_agent and totals count them all (a long run's memory and
    # card stay bounded; nothing is lost).
    card_episodes: int = 1000
    # Nodes in one process (the `single` topology) hand observations and actions to each other directly,
    # as rclcpp's intra-process communication does; false sends them over DDS as between processes. The
    # same messages either way: results do not change (marl_bridge/nodes/intra.py).
    intra_process: bool = True


@dataclass(frozen=True)
class RunConfig:
    run: RunSettings
    env: EnvConfig
    policy: TeamPolicyConfig
    supervisor: SupervisorConfig
    hardware: HardwareConfig | None = None
    safety: SafetyConfig = field(default_factory=SafetyConfig)
    source: str = "<memory>"  # where it came from, for error messages and the run card

    def to_dict(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data.pop("source")
        return data


# -- parsing --------------------------------------------------------------------------------------

def _section(data: Any, key: str, source: str) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise ConfigError(f"{source}: key {key!r} must be a mapping, got {type(data).__name__}")
    return data


def _build(cls: type, data: Any, key: str, source: str, nested: dict[str, Any] | None = None) -> Any:
    """Build dataclass `cls` from a mapping, rejecting unknown keys and missing required ones."""
    data = _section(data, key, source)
    nested = nested or {}
    fields = {f.name: f for f in dataclasses.fields(cls) if f.name != "source"}
    unknown = sorted(set(data) - set(fields))
    if unknown:
        raise ConfigError(f"{source}: unknown key {key}.{unknown[0]}; expected one of "
                          f"{', '.join(sorted(fields))}")
    values: dict[str, Any] = {}
    for name, f in fields.items():
        path = f"{key}.{name}"
        if name not in data or (data[name] is None and f.default is None):
            if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
                raise ConfigError(f"{source}: missing required key {path}")
            continue
        raw = data[name]
        if name in nested:
            values[name] = nested[name](raw, path)
        else:
            values[name] = _coerce(raw, f.type, path, source)
    return cls(**values)


def _coerce(raw: Any, type_name: Any, path: str, source: str) -> Any:
    expected = str(type_name)
    if expected == "str":
        if not isinstance(raw, str):
            raise ConfigError(f"{source}: {path} must be a string, got {raw!r}")
        return raw
    if expected == "bool":
        if not isinstance(raw, bool):
            raise ConfigError(f"{source}: {path} must be true or false, got {raw!r}")
        return raw
    if expected == "int":
        if isinstance(raw, bool) or not isinstance(raw, int):
            raise ConfigError(f"{source}: {path} must be an integer, got {raw!r}")
        if not -(2**63) <= raw < 2**63:  # what a ROS integer parameter (int64) can carry
            raise ConfigError(f"{source}: {path} must be a 64-bit integer, got {raw}")
        return raw
    if expected == "float":
        if isinstance(raw, bool) or not isinstance(raw, int | float):
            raise ConfigError(f"{source}: {path} must be a number, got {raw!r}")
        if not math.isfinite(raw):
            raise ConfigError(f"{source}: {path} must be a finite number, got {raw!r}")
        return float(raw)
    if expected.startswith("dict"):
        if isinstance(raw, str):  # ROS parameters carry free-form mappings as JSON text
            try:
                raw = json.loads(raw) if raw.strip() else {}
            except json.JSONDecodeError as exc:
                raise ConfigError(f"{source}: {path} is not valid JSON: {exc}") from None
        return dict(_section(raw, path, source))
    if expected.startswith("tuple"):
        if not isinstance(raw, list | tuple) or not all(
                isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v) for v in raw):
            raise ConfigError(f"{source}: {path} must be a list of finite numbers, got {raw!r}")
        return tuple(float(v) for v in raw)
    return raw


def _policy(raw: Any, path: str, source: str) -> PolicyConfig:
    from marl_bridge.policies.registry import policy_kind

    cfg: PolicyConfig = _build(PolicyConfig, raw, path, source)
    kind = policy_kind(cfg.kind, f"{source}: {path}")
    kind.validate(cfg, f"{source}: {path}")
    if cfg.path and not Path(cfg.path).is_absolute() and Path(source).is_file():
        # a model file named in a config file is relative to that file, wherever the run starts
        cfg = dataclasses.replace(cfg, path=str((Path(source).parent / cfg.path).resolve()))
    return cfg


parse_policy = _policy  # public name for other config files (evaluation panels)


def parse_team_policy(raw: Any, key: str, source: str) -> TeamPolicyConfig:
    """A policy section (shared + default, or per_agent) at `key` of `source`."""
    policy: TeamPolicyConfig = _build(TeamPolicyConfig, raw, key, source, nested={
        "default": lambda r, path: _policy(r, path, source),
        "per_agent": _per_agent(_policy, source),
    })
    if policy.shared and (policy.default is None or policy.per_agent):
        raise ConfigError(f"{source}: {key}.shared is true: give {key}.default and no {key}.per_agent")
    if not policy.shared and policy.default is None and not policy.per_agent:
        raise ConfigError(f"{source}: {key} needs {key}.default or {key}.per_agent")
    return policy


def _fallback(raw: Any, path: str, source: str) -> FallbackConfig:
    cfg: FallbackConfig = _build(FallbackConfig, raw, path, source)
    if cfg.kind not in FALLBACK_KINDS:
        raise ConfigError(f"{source}: {path}.kind is {cfg.kind!r}; expected one of "
                          f"{', '.join(FALLBACK_KINDS)}")
    if cfg.kind == "value" and not cfg.value:
        raise ConfigError(f"{source}: {path}.value must list the flat action for kind 'value'")
    return cfg


def _per_agent(build: Any, source: str) -> Any:
    def parse(raw: Any, path: str) -> dict[str, Any]:
        return {agent: build(v, f"{path}.{agent}", source) for agent, v in _section(raw, path, source).items()}
    return parse


def from_dict(data: Any, source: str = "<memory>") -> RunConfig:
    """Validate a nested mapping into a RunConfig (ConfigError names `source` and the key)."""
    data = _section(data, "<top>", source)
    if "/**" in data or any(isinstance(v, dict) and "ros__parameters" in v for v in data.values()):
        node = next((k for k, v in data.items() if isinstance(v, dict) and "ros__parameters" in v), None)
        if node is None:
            raise ConfigError(f"{source}: key '/**' must hold a mapping with ros__parameters")
        data = _section(data[node]["ros__parameters"], f"{node}.ros__parameters", source)
    unknown = sorted(set(data) - set(SECTIONS))
    if unknown:
        raise ConfigError(f"{source}: unknown top-level key {unknown[0]!r}; expected one of "
                          f"{', '.join(SECTIONS)}")
    for key in ("run", "env", "policy", "supervisor"):
        if key not in data:
            raise ConfigError(f"{source}: missing required section {key!r}")

    run: RunSettings = _build(RunSettings, data["run"], "run", source)
    if run.topology not in TOPOLOGIES:
        raise ConfigError(f"{source}: run.topology is {run.topology!r}; expected one of {', '.join(TOPOLOGIES)}")
    if run.episodes < 1:
        raise ConfigError(f"{source}: run.episodes must be at least 1, got {run.episodes}")
    if not 0.0 <= run.max_fallback_share <= 1.0:
        raise ConfigError(f"{source}: run.max_fallback_share must be in [0, 1], got {run.max_fallback_share}")
    if run.card_episodes < 1:
        raise ConfigError(f"{source}: run.card_episodes must be at least 1, got {run.card_episodes}")
    if not 0 <= run.seed < 2**63:
        raise ConfigError(f"{source}: run.seed must be in [0, 2**63), got {run.seed}")

    env: EnvConfig = _build(EnvConfig, data["env"], "env", source)
    if ":" not in env.entry_point:
        raise ConfigError(f"{source}: env.entry_point must be 'module:callable', got {env.entry_point!r}")
    from marl_bridge.envs.backends import backend as find_backend  # the registry imports this module

    # "": the env exactly as its entry point builds it (any env other than the robot-team worlds)
    chosen = find_backend(env.backend, f"{source}: env.backend") if env.backend else None
    hardware: HardwareConfig | None = None
    if data.get("hardware") is not None:
        hardware = _build(HardwareConfig, data["hardware"], "hardware", source)
        if hardware.max_linear_mps <= 0 or hardware.max_angular_rps <= 0:
            raise ConfigError(f"{source}: hardware.max_linear_mps and hardware.max_angular_rps must be > 0")
        if hardware.wait_s <= 0 or hardware.stale_after_s <= 0:
            raise ConfigError(f"{source}: hardware.wait_s and hardware.stale_after_s must be > 0")
    if chosen is not None and chosen.waits_for_robots and hardware is None:
        raise ConfigError(f"{source}: env.backend {env.backend!r} needs a 'hardware' section (at least "
                          "max_linear_mps and max_angular_rps: the limits every cmd_vel is clamped to)")

    policy = parse_team_policy(data["policy"], "policy", source)

    sup: SupervisorConfig = _build(SupervisorConfig, data["supervisor"], "supervisor", source, nested={
        "fallback": lambda raw, path: _fallback(raw, path, source),
        "fallback_per_agent": _per_agent(_fallback, source),
    })
    if sup.step_deadline_s <= 0:
        raise ConfigError(f"{source}: supervisor.step_deadline_s must be > 0, got {sup.step_deadline_s}")
    if sup.required_listeners < 0:
        raise ConfigError(f"{source}: supervisor.required_listeners must be >= 0, got {sup.required_listeners}")
    if sup.max_steps < 0:
        raise ConfigError(f"{source}: supervisor.max_steps must be >= 0, got {sup.max_steps}")
    if sup.mode not in MODES:
        raise ConfigError(f"{source}: supervisor.mode is {sup.mode!r}; expected one of {', '.join(MODES)}")
    if sup.mode == "realtime":
        if sup.control_rate_hz <= 0:
            raise ConfigError(f"{source}: supervisor.control_rate_hz must be > 0 in realtime mode, "
                              f"got {sup.control_rate_hz}")
        if sup.step_deadline_s > 1.0 / sup.control_rate_hz + 1e-12:
            raise ConfigError(f"{source}: supervisor.step_deadline_s ({sup.step_deadline_s} s) must not exceed "
                              f"the control period 1/control_rate_hz ({1.0 / sup.control_rate_hz:.4g} s)")
    if chosen is not None and chosen.waits_for_robots and sup.mode != "realtime":
        raise ConfigError(f"{source}: env.backend {env.backend!r} needs supervisor.mode realtime: real "
                          "robots do not wait for a lockstep")
    if not _valid_name(sup.team):
        raise ConfigError(f"{source}: supervisor.team {sup.team!r} is not a valid ROS name token "
                          "(letters, digits, underscores; not starting with a digit)")
    safety = _safety(data.get("safety") or {}, source)
    return RunConfig(run=run, env=env, policy=policy, supervisor=sup, hardware=hardware, safety=safety,
                     source=source)


def _safety(raw: Any, source: str) -> SafetyConfig:
    cfg: SafetyConfig = _build(SafetyConfig, raw, "safety", source, nested={
        "shield": lambda r, path: _build(ShieldConfig, r, path, source)})
    sh = cfg.shield
    for name in ("max_speed_mps", "max_accel_mps2", "min_separation_m", "near_miss_m"):
        if getattr(sh, name) < 0:
            raise ConfigError(f"{source}: safety.shield.{name} must be >= 0 (0 turns it off), got {getattr(sh, name)}")
    fence = sh.geofence
    if fence and not (len(fence) == 4 or (len(fence) >= 6 and len(fence) % 2 == 0)):
        raise ConfigError(f"{source}: safety.shield.geofence must be [xmin, ymin, xmax, ymax] or a polygon of "
                          f"at least 3 points [x0, y0, x1, y1, x2, y2, ...]; got {len(fence)} numbers")
    if len(fence) == 4 and not (fence[0] < fence[2] and fence[1] < fence[3]):
        raise ConfigError(f"{source}: safety.shield.geofence box needs xmin < xmax and ymin < ymax, got {list(fence)}")
    if cfg.estop_action not in ESTOP_ACTIONS:
        raise ConfigError(f"{source}: safety.estop_action is {cfg.estop_action!r}; expected one of "
                          f"{', '.join(ESTOP_ACTIONS)}")
    if cfg.foreign_publisher not in FOREIGN_PUBLISHER_ACTIONS:
        raise ConfigError(f"{source}: safety.foreign_publisher is {cfg.foreign_publisher!r}; expected one of "
                          f"{', '.join(FOREIGN_PUBLISHER_ACTIONS)}")
    if cfg.lost_after_steps < 0 or cfg.actor_watchdog_s < 0 or cfg.event_rate_limit < 1:
        raise ConfigError(f"{source}: safety.lost_after_steps and actor_watchdog_s must be >= 0 and "
                          "event_rate_limit >= 1")
    return cfg


def _valid_name(token: str) -> bool:
    return bool(token) and not token[0].isdigit() and all(c.isalnum() or c == "_" for c in token)


def load(path: str | Path) -> RunConfig:
    """Read and validate a YAML config file."""
    data = read_yaml(Path(path), "config file")
    return from_dict(data if data is not None else {}, source=str(path))


def read_yaml(path: Path, what: str) -> Any:
    """A YAML file's data (aliases bounded: parse_yaml); an unreadable file is a ConfigError naming it."""
    try:
        text = path.read_text()
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read {what}: {exc.strerror}") from None
    return parse_yaml(text, str(path))


MAX_YAML_NODES = 100_000  # a config is a few hundred values; aliases must not multiply it past this


def parse_yaml(text: str, source: str) -> Any:
    """YAML -> data with anchors and aliases bounded: a file whose aliases expand past MAX_YAML_NODES values
    (an 'alias bomb': a few hundred bytes that expand to billions) is refused before anything walks it."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError(f"{source}: not valid YAML: {exc}") from None
    sizes: dict[int, int] = {}

    def size(value: Any) -> int:  # expanded size, each shared object counted once per use, computed once
        if not isinstance(value, dict | list):
            return 1
        key = id(value)
        if key not in sizes:
            sizes[key] = 0  # a self-referencing alias counts as one node, not forever
            items = list(value.keys()) + list(value.values()) if isinstance(value, dict) else value
            sizes[key] = 1 + sum(size(v) for v in items)
        return sizes[key]

    if size(data) > MAX_YAML_NODES:
        raise ConfigError(f"{source}: YAML expands to more than {MAX_YAML_NODES} values through its aliases; "
                          "write the values out")
    return data


def with_overrides(cfg: RunConfig, **run_overrides: Any) -> RunConfig:
    """Copy with some `run` settings replaced (command-line --seed, --episodes, ...)."""
    changes = {k: v for k, v in run_overrides.items() if v is not None}
    return dataclasses.replace(cfg, run=dataclasses.replace(cfg.run, **changes)) if changes else cfg


def _prune(value: Any) -> Any:
    """Drop empty mappings/lists and None (ROS parameter files cannot type them)."""
    if isinstance(value, dict):
        out = {k: _prune(v) for k, v in value.items()}
        return {k: v for k, v in out.items() if v not in (None, {}, [])}
    if isinstance(value, tuple | list):
        return [_prune(v) for v in value]
    return value


def dump_yaml(cfg: RunConfig, path: str | Path) -> Path:
    """Write the effective config as a ROS parameter file that `load` and `--params-file` both read."""
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    data = _prune(cfg.to_dict())
    for section in ("env",):  # ROS parameters hold no nested lists or mappings: such kwargs go as JSON text
        kwargs = data.get(section, {}).get("kwargs")
        if kwargs and any(isinstance(v, dict) or (isinstance(v, list) and any(isinstance(i, list | dict) for i in v))
                          for v in kwargs.values()):
            data[section]["kwargs"] = json.dumps(kwargs, sort_keys=True)
    body = {"/**": {"ros__parameters": data}}
    p.write_text(f"# effective config of a marl_bridge run (from {cfg.source})\n"
                 + yaml.safe_dump(body, sort_keys=False))
    return p


# -- ROS parameters -------------------------------------------------------------------------------

def to_flat(cfg: RunConfig) -> dict[str, Any]:
    """Dotted ROS parameter names -> values. Free-form mappings (kwargs) travel as JSON strings."""
    flat: dict[str, Any] = {}

    def walk(prefix: str, value: Any) -> None:
        if isinstance(value, dict) and prefix.rsplit(".", 1)[-1] in ("kwargs", "robots"):
            flat[prefix] = json.dumps(value, sort_keys=True)
        elif isinstance(value, dict):
            for k, v in value.items():
                walk(f"{prefix}.{k}" if prefix else k, v)
        elif value is None:
            return
        elif isinstance(value, tuple | list):
            if value:
                flat[prefix] = [float(v) for v in value]
        else:
            flat[prefix] = value

    walk("", cfg.to_dict())
    return flat


def from_flat(flat: dict[str, Any], source: str) -> RunConfig:
    """Inverse of `to_flat`: dotted names (as ROS parameters) back to a validated RunConfig."""
    nested: dict[str, Any] = {}
    for name, value in flat.items():
        if name.split(".", 1)[0] not in SECTIONS:
            continue  # use_sim_time and other ROS-owned parameters
        parts = name.split(".")
        if "kwargs" in parts:  # a kwargs mapping may arrive as JSON text or as dotted leaves
            i = parts.index("kwargs")
            node = nested
            for p in parts[:i]:
                node = node.setdefault(p, {})
            if i == len(parts) - 1:
                node["kwargs"] = value
            else:
                kw = node.setdefault("kwargs", {})
                for p in parts[i + 1:-1]:
                    kw = kw.setdefault(p, {})
                kw[parts[-1]] = value
            continue
        node = nested
        for p in parts[:-1]:
            node = node.setdefault(p, {})
        node[parts[-1]] = list(value) if isinstance(value, tuple | list) else value
    return from_dict(nested, source=source)
