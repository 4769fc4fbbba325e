"""A team on hardware: the supervisor with the hardware adapter (real time; backend auto falls back to
MuJoCo when no robot's odometry appears), actor nodes, optional simulated bases and recorder.

    ros2 launch marl_bridge hardware.launch.py [config:=FILE] [backend:=auto|hardware|mujoco]
        [actors:=true|false] [drivers:=false|true] [guards:=true|false] [seed:=S] [out_dir:=DIR]
        [recorder:=marl_bridge|ros2bag record_dir:=NEW_DIR] [namespace:=NS]

On a real team each robot runs its own actor (actors:=false here, and on each robot
`ros2 launch marl_bridge actor.launch.py config:=FILE robot:=<agent>`). drivers:=true starts one
MuJoCo-simulated base per robot (cmd_vel in, odom out) for trying it without robots. guards:=true (the
default) puts a dead-man guard per robot between the team and its base (`marl-bridge guard`: only the
supervisor's commands pass; zero when the supervisor dies); on a real team run each guard on its robot.
"""

from __future__ import annotations

import os

from ament_index_python.packages import get_package_share_directory
from launch.actions import DeclareLaunchArgument, OpaqueFunction
from launch.substitutions import LaunchConfiguration

from launch import LaunchDescription
from marl_bridge.bringup.launch_actions import actions_for, in_namespace, run_arguments
from marl_bridge.bringup.team import hardware_team, launch_flag


def _team(context, *args, **kwargs):
    def arg(name: str) -> str:
        return LaunchConfiguration(name).perform(context)

    seed = arg("seed")
    return actions_for(hardware_team(
        arg("config"), backend=arg("backend") or None, seed=int(seed) if seed else None,
        out_dir=arg("out_dir") or None, actors=launch_flag("actors", arg("actors")),
        drivers=launch_flag("drivers", arg("drivers")), recorder=arg("recorder"), record_dir=arg("record_dir"),
        guards=launch_flag("guards", arg("guards")), outer_ns=context.launch_configurations.get("ros_namespace", "")))


def generate_launch_description() -> LaunchDescription:
    default = os.path.join(get_package_share_directory("marl_bridge"), "config", "hardware_handoff.yaml")
    return LaunchDescription([
        DeclareLaunchArgument("config", default_value=default, description="run config with a hardware section"),
        DeclareLaunchArgument("backend", default_value="", description="auto | hardware | mujoco (default: config)"),
        DeclareLaunchArgument("actors", default_value="true", description="start every robot's actor here"),
        DeclareLaunchArgument("drivers", default_value="false", description="simulated bases instead of robots"),
        DeclareLaunchArgument("guards", default_value="true",
                              description="a dead-man guard per robot between the team and its base"),
        *run_arguments(),
        in_namespace(OpaqueFunction(function=_team)),
    ])
