"""The bring-up the launch files perform, checked and run without launch_ros.

Mirrors marl_bridge/bringup/team.py: the node specs name only installed executables and only
parameters the nodes declare, and the sim bring-up, started with the exact command lines launch_ros
would use (installed shims, --params-file), runs the team to a run card and leaves nothing running.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from conftest import CONFIG_DIR, skip_unless_ci
from processes import descendants

from marl_bridge import config as config_mod
from marl_bridge.bringup.commands import command, executable_path
from marl_bridge.bringup.team import NodeSpec, hardware_team, launch_flag, robot_actor, sim_team
from marl_bridge.config import ConfigError
from marl_bridge.nodes.robot_driver import PARAMETERS as DRIVER_PARAMETERS

INSTALLED = (Path(sys.prefix) / "lib" / "marl_bridge" / "supervisor").exists()


def _parameters(spec: NodeSpec) -> dict[str, object]:
    """The flat parameter set a node receives (params files then dicts, like launch_ros)."""
    flat: dict[str, object] = {}

    def walk(prefix: str, value: object) -> None:
        if isinstance(value, dict):
            for k, v in value.items():
                walk(f"{prefix}.{k}" if prefix else k, v)
        else:
            flat[prefix] = value

    for p in spec.parameters:
        if isinstance(p, dict):
            flat.update(p)
        else:
            (body,) = yaml.safe_load(Path(p).read_text()).values()
            walk("", body["ros__parameters"])
    return flat


def _check_spec(spec: NodeSpec) -> None:
    if spec.cmd:
        return
    if INSTALLED:
        path = executable_path(spec)
        assert path.exists() and os.access(path, os.X_OK), f"{spec.name}: {path} is not installed"
    if spec.executable in ("record", "guard"):  # they read the effective config file they are given
        assert spec.arguments[0] == "--config" and not spec.parameters
        config_mod.load(spec.arguments[1])
        return
    params = _parameters(spec)
    if spec.executable == "robot_driver":
        assert set(params) <= set(DRIVER_PARAMETERS), set(params) - set(DRIVER_PARAMETERS)
        return
    allowed_roots = {*config_mod.SECTIONS, "use_sim_time"}
    for key in params:
        assert key.split(".")[0] in allowed_roots or key == "actor.agent", f"{spec.name}: undeclared {key}"
    cfg = config_mod.from_flat(params, source=spec.name)  # a node rebuilds exactly this config
    known = set(config_mod.to_flat(cfg))
    for key in params:
        if key.split(".")[0] in config_mod.SECTIONS and ".kwargs." not in f".{key}." and ".robots." not in key:
            assert key in known, f"{spec.name}: {key} is not a config parameter"
    if spec.executable == "actor":
        assert params["actor.agent"] in spec.namespace


def test_sim_specs_apply_the_launch_arguments(tmp_path: Path) -> None:
    b = sim_team(CONFIG_DIR / "mujoco_pursuit.yaml", n_robots=3, seed=99, out_dir=str(tmp_path),
                 use_sim_time=True, recorder="marl_bridge", record_dir=str(tmp_path / "bag"))
    assert b.agents == ["robot_0", "robot_1", "robot_2"]
    assert [s.executable for s in b.nodes] == ["supervisor", "actor", "actor", "actor", "record"]
    assert b.cfg.run.seed == 99 and b.cfg.env.kwargs["n_robots"] == 3 and b.cfg.supervisor.required_listeners == 1
    assert b.config_path == tmp_path / "launch_config.yaml"
    for spec in b.nodes:
        _check_spec(spec)
    assert [s.namespace for s in b.nodes[1:4]] == [f"pursuit/robot_{i}" for i in range(3)]
    assert {b.nodes[0].namespace, b.nodes[4].namespace} == {"pursuit"}  # supervisor and recorder: the team's


def test_hardware_specs_with_drivers_and_ros2_bag(tmp_path: Path) -> None:
    b = hardware_team(CONFIG_DIR / "hardware_handoff.yaml", out_dir=str(tmp_path), drivers=True, actors=False,
                      recorder="ros2bag", record_dir=str(tmp_path / "bag"))
    names = [s.name for s in b.nodes]
    assert names == ["supervisor", "driver_picker_0", "driver_carrier_0", "picker_0_guard", "carrier_0_guard",
                     "ros2_bag"]
    assert b.cfg.hardware is not None and b.cfg.hardware.team_cmd_topic == "/{robot}/team/cmd_vel"
    assert b.nodes[3].arguments == ["--config", str(b.config_path), "--robot", "picker_0"]
    unguarded = hardware_team(CONFIG_DIR / "hardware_handoff.yaml", out_dir=str(tmp_path / "u"), guards=False)
    assert "guard" not in {s.executable for s in unguarded.nodes}
    assert b.nodes[-1].cmd[:6] == ["ros2", "bag", "record", "-s", "mcap", "-o"]
    assert "/handoff/picker_0/observation" in b.nodes[-1].cmd
    assert {s.namespace for s in b.nodes[:-1]} == {"handoff"}  # every team node in the team's namespace
    pushed = hardware_team(CONFIG_DIR / "hardware_handoff.yaml", out_dir=str(tmp_path / "p"), recorder="ros2bag",
                           record_dir=str(tmp_path / "pbag"), outer_ns="/site_a")
    assert "/site_a/handoff/picker_0/observation" in pushed.nodes[-1].cmd  # a pushed namespace moves the bag's
    for spec in b.nodes:
        _check_spec(spec)


def test_robot_actor_spec_and_bad_launch_arguments(tmp_path: Path) -> None:
    (spec,) = robot_actor(CONFIG_DIR / "hardware_handoff.yaml", "carrier_0").nodes
    _check_spec(spec)
    assert spec.namespace == "handoff/carrier_0"
    with pytest.raises(ConfigError, match=r"robot:='carrier_9' is not an agent.*picker_0, carrier_0"):
        robot_actor(CONFIG_DIR / "hardware_handoff.yaml", "carrier_9")
    with pytest.raises(ConfigError, match="record_dir is required"):
        sim_team(CONFIG_DIR / "mujoco_pursuit.yaml", out_dir=str(tmp_path), recorder="marl_bridge")
    with pytest.raises(ConfigError, match=r"needs a robot world's env\.backend \(hardware, auto or mujoco\)"):
        hardware_team(CONFIG_DIR / "mujoco_pursuit.yaml", out_dir=str(tmp_path))
    with pytest.raises(ConfigError, match=r"drivers:=true .* has nothing to drive"):
        hardware_team(CONFIG_DIR / "hardware_handoff.yaml", out_dir=str(tmp_path), backend="mujoco", drivers=True)


def test_hardware_bringup_on_mujoco_and_strict_launch_flags(tmp_path: Path) -> None:
    b = hardware_team(CONFIG_DIR / "hardware_handoff.yaml", out_dir=str(tmp_path), backend="mujoco")
    assert b.cfg.env.backend == "mujoco" and b.cfg.supervisor.mode == "realtime"
    assert [s.name for s in b.nodes] == ["supervisor", "actor", "actor"]
    assert [launch_flag("actors", v) for v in ("true", "True", "1", "yes", "false", "0", "off")] == \
        [True, True, True, True, False, False, False]
    for bad in ("", "2", "maybe"):
        with pytest.raises(ConfigError, match=rf"launch argument actors:={bad!r} is not a boolean"):
            launch_flag("actors", bad)


@pytest.mark.ros
def test_sim_bringup_from_launch_command_lines_runs_to_a_run_card(tmp_path: Path) -> None:
    if not INSTALLED:
        skip_unless_ci(f"marl_bridge is not installed into {sys.prefix} (run `make install`)")
    b = sim_team(CONFIG_DIR / "mujoco_pursuit.yaml", n_robots=3, seed=4, out_dir=str(tmp_path / "out"))
    before = descendants()
    procs = {s.name + s.namespace: subprocess.Popen(command(s, tmp_dir=tmp_path), env=os.environ.copy())
             for s in b.nodes}
    supervisor = procs.pop("supervisorpursuit")
    try:
        assert supervisor.wait(timeout=120) == 0  # the run ended on its own
    finally:
        for p in procs.values():  # what launch does on shutdown
            p.send_signal(signal.SIGINT)
        codes = {name: p.wait(timeout=20) for name, p in procs.items()}
    assert codes == dict.fromkeys(procs, 0)
    card = json.loads((tmp_path / "out" / "run_card.json").read_text())
    assert card["status"] == "complete" and len(card["episodes"]) == b.cfg.run.episodes
    assert card["topology"] == "external" and card["agents"] == ["robot_0", "robot_1", "robot_2"]
    assert all(p["reported"] != "not ready" for p in card["policies"].values())  # every actor came up
    assert (tmp_path / "out" / "episode_000_trajectory.png").exists()
    assert descendants() <= before
