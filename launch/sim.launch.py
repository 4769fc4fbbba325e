"""A team in simulation: the supervisor on the MuJoCo world (or the config's env) and one actor node
per robot, each in its own process and namespace (/<team>/<agent>), all reading one effective config.

    ros2 launch marl_bridge sim.launch.py [config:=FILE] [n_robots:=N] [seed:=S] [out_dir:=DIR]
        [use_sim_time:=true] [recorder:=marl_bridge|ros2bag record_dir:=NEW_DIR] [namespace:=NS]

Every node sits in the team's namespace (/<team>, actors in /<team>/<agent>), under `namespace` when
given: two teams run side by side on one domain with namespace:=site_a and namespace:=site_b.
The launch ends when the supervisor finishes the run (run card in out_dir) and exits non-zero when the run
did not complete (failed, degraded or interrupted; the card says which).
"""

from __future__ import annotations

import os

from ament_index_python.packages import get_package_share_directory
from launch.actions import DeclareLaunchArgument, OpaqueFunction
from launch.substitutions import LaunchConfiguration

from launch import LaunchDescription
from marl_bridge.bringup.launch_actions import actions_for, in_namespace, run_arguments
from marl_bridge.bringup.team import launch_flag, sim_team


def _arg(context, name: str) -> str:
    return LaunchConfiguration(name).perform(context)


def _team(context, *args, **kwargs):
    n = _arg(context, "n_robots")
    seed = _arg(context, "seed")
    return actions_for(sim_team(
        _arg(context, "config"), n_robots=int(n) if n else None, seed=int(seed) if seed else None,
        out_dir=_arg(context, "out_dir") or None,
        use_sim_time=launch_flag("use_sim_time", _arg(context, "use_sim_time")),
        recorder=_arg(context, "recorder"), record_dir=_arg(context, "record_dir"),
        outer_ns=context.launch_configurations.get("ros_namespace", "")))


def generate_launch_description() -> LaunchDescription:
    default = os.path.join(get_package_share_directory("marl_bridge"), "config", "mujoco_pursuit.yaml")
    return LaunchDescription([
        DeclareLaunchArgument("config", default_value=default, description="run config (ROS parameter file)"),
        DeclareLaunchArgument("n_robots", default_value="",
                              description="team size (default: the config's; a pursuit capture_robots above it is "
                                          "lowered to it)"),
        DeclareLaunchArgument("use_sim_time", default_value="false", description="nodes follow /clock"),
        *run_arguments(),
        in_namespace(OpaqueFunction(function=_team)),
    ])
