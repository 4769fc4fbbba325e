"""Launch a team from one config file: the supervisor and one actor node per agent, each actor in its
own process and namespace (/<team>/<agent>), all configured by the same ROS parameter file.

    ros2 launch marl_bridge team.launch.py config:=/path/to/config.yaml

The agent list comes from building the config's env once at launch time (simulation envs). The sim and
hardware launch files build on this one.
"""

from __future__ import annotations

import os

from ament_index_python.packages import get_package_share_directory
from launch.actions import DeclareLaunchArgument, OpaqueFunction
from launch.substitutions import LaunchConfiguration
from launch_ros.actions import Node

from launch import LaunchDescription
from marl_bridge.config import load
from marl_bridge.envs.factory import make_env
from marl_bridge.nodes.topics import agent_ns


def _team(context, *args, **kwargs):
    config_path = LaunchConfiguration("config").perform(context)
    cfg = load(config_path)
    agents = list(make_env(cfg.env).possible_agents)
    nodes = [Node(package="marl_bridge", executable="supervisor", name="supervisor", output="screen",
                  parameters=[config_path])]
    for agent in agents:
        nodes.append(Node(package="marl_bridge", executable="actor", name="actor", output="screen",
                          namespace=agent_ns(cfg.supervisor.team, agent).lstrip("/"),
                          parameters=[config_path, {"actor.agent": agent}]))
    return nodes


def generate_launch_description() -> LaunchDescription:
    default = os.path.join(get_package_share_directory("marl_bridge"), "config", "point_team.yaml")
    return LaunchDescription([
        DeclareLaunchArgument("config", default_value=default, description="run config (ROS parameter file)"),
        OpaqueFunction(function=_team),
    ])
