"""One robot's policy node, as each robot of a real team runs it (same config file as the supervisor).

    ros2 launch marl_bridge actor.launch.py config:=FILE robot:=<agent> [use_sim_time:=false]
"""

from __future__ import annotations

from launch.actions import DeclareLaunchArgument, OpaqueFunction
from launch.substitutions import LaunchConfiguration

from launch import LaunchDescription
from marl_bridge.bringup.launch_actions import action_for
from marl_bridge.bringup.team import launch_flag, robot_actor


def _actor(context, *args, **kwargs):
    def arg(name: str) -> str:
        return LaunchConfiguration(name).perform(context)

    return [action_for(spec) for spec in robot_actor(arg("config"), arg("robot"),
                                                     launch_flag("use_sim_time", arg("use_sim_time"))).nodes]


def generate_launch_description() -> LaunchDescription:
    return LaunchDescription([
        DeclareLaunchArgument("config", description="the team's run config (same file as the supervisor's)"),
        DeclareLaunchArgument("robot", description="the agent this robot plays, e.g. robot_0 or picker_0"),
        DeclareLaunchArgument("use_sim_time", default_value="false", description="follow /clock"),
        OpaqueFunction(function=_actor),
    ])
