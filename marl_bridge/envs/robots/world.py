"""The MuJoCo physics of a robot team: planar mobile bases in a walled arena, with real contacts.

The model is composed from the MJCF data files beside this module (assets/arena.xml, assets/robot.xml)
or read from a user's own MJCF that meets the robot contract stated in assets/robot.xml. The world knows
nothing about tasks: it takes body-frame velocity commands, advances by one control period (a fixed
number of physics substeps) and reports poses, body-frame twists and contact onsets per robot. The
hardware adapter (hardware.py) offers the same interface from odometry, so tasks run on either.
"""

from __future__ import annotations

import copy
import os
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

if not os.environ.get("DISPLAY"):
    # Offscreen rendering without a display needs EGL; set before mujoco is imported (MuJoCo reads it once).
    os.environ.setdefault("MUJOCO_GL", "egl")

import mujoco

from marl_bridge.safety.events import SafetyEventData

ASSETS = Path(__file__).resolve().parent / "assets"


@dataclass(frozen=True)
class Marker:
    """A visual task marker (target, zone, shelf, dock): no contacts. `mocap` markers can move."""

    name: str
    pos: tuple[float, float]
    radius: float
    rgba: tuple[float, float, float, float]
    mocap: bool = False


def build_mjcf(robots: list[str], arena_half: float, obstacles: list[tuple[float, float, float]],
               markers: list[Marker], timestep: float) -> str:
    """Compose the team world's MJCF from the data files: walls, obstacles, one robot.xml per robot."""
    root = ET.parse(ASSETS / "arena.xml").getroot()
    root.find("option").set("timestep", repr(timestep))  # type: ignore[union-attr]
    world = root.find("worldbody")
    assert world is not None
    t, h = 0.1, 0.15  # wall half-thickness and half-height
    for name, pos, size in (("wall_n", (0, arena_half + t), (arena_half + 2 * t, t)),
                            ("wall_s", (0, -arena_half - t), (arena_half + 2 * t, t)),
                            ("wall_e", (arena_half + t, 0), (t, arena_half)),
                            ("wall_w", (-arena_half - t, 0), (t, arena_half))):
        ET.SubElement(world, "geom", name=name, attrib={"class": "wall"},
                      pos=f"{pos[0]} {pos[1]} {h}", size=f"{size[0]} {size[1]} {h}")
    for i, (x, y, r) in enumerate(obstacles):
        ET.SubElement(world, "geom", name=f"obstacle_{i}", type="cylinder", pos=f"{x} {y} 0.2",
                      size=f"{r} 0.2", rgba="0.55 0.4 0.3 1")
    for m in markers:
        rgba = " ".join(str(c) for c in m.rgba)
        if m.mocap:
            body = ET.SubElement(world, "body", name=m.name, mocap="true", pos=f"{m.pos[0]} {m.pos[1]} 0.1")
            ET.SubElement(body, "geom", attrib={"class": "marker"}, type="sphere", size=f"{m.radius}",
                          rgba=rgba)
        else:
            ET.SubElement(world, "site", name=m.name, type="cylinder", pos=f"{m.pos[0]} {m.pos[1]} 0.002",
                          size=f"{m.radius} 0.002", rgba=rgba)
    template = ET.parse(ASSETS / "robot.xml").getroot()
    actuator = root.find("actuator")
    if actuator is None:
        actuator = ET.SubElement(root, "actuator")
    for robot in robots:
        for src, dst in ((template.find("body"), world), (template.find("actuator"), actuator)):
            assert src is not None
            part = copy.deepcopy(src)
            for el in part.iter():
                for key, value in el.attrib.items():
                    if "ROBOT" in value:
                        el.set(key, value.replace("ROBOT", robot))
            if part.tag == "body":
                dst.append(part)
            else:
                dst.extend(list(part))
    return ET.tostring(root, encoding="unicode")


class MujocoWorld:
    """N planar bases stepped by MuJoCo. Commands are body-frame (vx, vy, wz); poses are (x, y, yaw)."""

    def __init__(self, robots: list[str], *, arena_half: float, control_period_s: float, substeps: int,
                 obstacles: list[tuple[float, float, float]] | None = None, markers: list[Marker] | None = None,
                 mjcf_path: str = "") -> None:
        if substeps < 1:
            raise ValueError(f"substeps must be >= 1, got {substeps}")
        if control_period_s <= 0:
            raise ValueError(f"control_period_s must be > 0, got {control_period_s}")
        self.robots = list(robots)
        self.control_period_s = control_period_s
        self.substeps = substeps
        timestep = control_period_s / substeps
        if mjcf_path:
            self.model = mujoco.MjModel.from_xml_path(mjcf_path)
            self.model.opt.timestep = timestep
        else:
            self.model = mujoco.MjModel.from_xml_string(
                build_mjcf(self.robots, arena_half, list(obstacles or []), list(markers or []), timestep))
        self.data = mujoco.MjData(self.model)
        m = self.model

        def lookup(kind: mujoco.mjtObj, name: str) -> int:
            idx = mujoco.mj_name2id(m, kind, name)
            if idx < 0:
                where = mjcf_path or "the generated world"
                raise ValueError(f"{where}: no {kind.name.removeprefix('mjOBJ_').lower()} named {name!r}; each "
                                 "robot r needs joints r_x, r_y, r_yaw, a geom r_base and actuators r_vx, r_vy, r_wz "
                                 "(see marl_bridge/envs/robots/assets/robot.xml)")
            return idx

        joints = [[lookup(mujoco.mjtObj.mjOBJ_JOINT, f"{r}_{j}") for j in ("x", "y", "yaw")] for r in robots]
        self._qadr = np.array([[m.jnt_qposadr[j] for j in row] for row in joints])
        self._dadr = np.array([[m.jnt_dofadr[j] for j in row] for row in joints])
        self._act = np.array([[lookup(mujoco.mjtObj.mjOBJ_ACTUATOR, f"{r}_{a}") for a in ("vx", "vy", "wz")]
                              for r in robots])
        bodies = [lookup(mujoco.mjtObj.mjOBJ_BODY, r) for r in robots]
        self._body_robot = np.full(m.nbody, -1)
        self._body_robot[bodies] = np.arange(len(robots))
        self._geom_robot = self._body_robot[m.geom_bodyid]
        base = [lookup(mujoco.mjtObj.mjOBJ_GEOM, f"{r}_base") for r in robots]
        self.robot_radius = float(m.geom_size[base, 0].max())  # bounding radius of the largest base
        self._mocap = {mk.name: m.body_mocapid[lookup(mujoco.mjtObj.mjOBJ_BODY, mk.name)]
                       for mk in (markers or []) if mk.mocap}
        self._touching: set[tuple[int, int]] = set()
        self.new_contacts = np.zeros(len(robots), dtype=np.int64)  # contact onsets in the last period
        self.contact_pairs: list[tuple[str, str]] = []  # (robot, other) onsets in the last period
        self.events: list[SafetyEventData] = []  # a simulation raises none of its own

    @property
    def time(self) -> float:
        return float(self.data.time)

    def set_poses(self, poses: np.ndarray) -> np.ndarray:
        """Place the robots (teleport, at rest) and return the poses they now have."""
        mujoco.mj_resetData(self.model, self.data)
        self.data.qpos[self._qadr] = poses
        mujoco.mj_forward(self.model, self.data)
        self._touching = set()
        self.new_contacts[:] = 0
        self.contact_pairs = []
        return self.poses()

    start = set_poses  # the Body interface: a simulation can put robots where the task wants them
    senses_contacts = True

    def halt(self) -> None:
        self.command(np.zeros((len(self.robots), 3)))

    def bind(self, node: Any) -> None:
        """Nothing to bind: the simulation needs no ROS interface."""

    def topics(self) -> dict[str, tuple[str, str]]:
        return {}  # a simulated world has no robot topics of its own here

    def missing(self) -> list[str]:
        return []

    def set_marker(self, name: str, xy: np.ndarray) -> None:
        self.data.mocap_pos[self._mocap[name], :2] = xy

    def command(self, body_cmd: np.ndarray) -> None:
        """Body-frame (vx, vy, wz) per robot -> world-frame velocity targets, held for the control period."""
        yaw = self.data.qpos[self._qadr[:, 2]]
        c, s = np.cos(yaw), np.sin(yaw)
        ctrl = self.data.ctrl
        ctrl[self._act[:, 0]] = c * body_cmd[:, 0] - s * body_cmd[:, 1]
        ctrl[self._act[:, 1]] = s * body_cmd[:, 0] + c * body_cmd[:, 1]
        ctrl[self._act[:, 2]] = body_cmd[:, 2]

    def advance(self) -> None:
        """One control period: `substeps` physics steps, then contact bookkeeping."""
        mujoco.mj_step(self.model, self.data, nstep=self.substeps)
        self._update_contacts()

    def _update_contacts(self) -> None:
        d, gr = self.data, self._geom_robot
        now: set[tuple[int, int]] = set()
        for k in range(d.ncon):
            c = d.contact[k]
            if c.exclude:
                continue
            g1, g2 = int(c.geom1), int(c.geom2)
            if gr[g1] >= 0 or gr[g2] >= 0:
                now.add((min(g1, g2), max(g1, g2)))
        self.new_contacts[:] = 0
        self.contact_pairs = []
        for g1, g2 in now - self._touching:
            for g, other in ((g1, g2), (g2, g1)):
                r = gr[g]
                if r >= 0:
                    self.new_contacts[r] += 1
                    o = gr[other]
                    self.contact_pairs.append((self.robots[r], self.robots[o] if o >= 0 else
                                               mujoco.mj_id2name(self.model, mujoco.mjtObj.mjOBJ_GEOM, other)
                                               or f"geom_{other}"))
        self._touching = now

    def poses(self) -> np.ndarray:
        return self.data.qpos[self._qadr].copy()

    def twists(self) -> np.ndarray:
        """Body-frame (vx, vy, wz) per robot, as a base's odometry reports it."""
        v = self.data.qvel[self._dadr]
        yaw = self.data.qpos[self._qadr[:, 2]]
        c, s = np.cos(yaw), np.sin(yaw)
        return np.stack([c * v[:, 0] + s * v[:, 1], -s * v[:, 0] + c * v[:, 1], v[:, 2]], axis=1)
