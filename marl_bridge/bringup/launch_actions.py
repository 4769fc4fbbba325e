"""Node specs -> launch_ros actions. Imported only by the launch files (launch and launch_ros come with
a full ROS 2 install, not from PyPI)."""

from __future__ import annotations

from typing import Any

from launch.actions import DeclareLaunchArgument, EmitEvent, ExecuteProcess, RegisterEventHandler
from launch.event_handlers import OnProcessExit
from launch.events import Shutdown
from launch_ros.actions import Node

from marl_bridge.bringup.team import Bringup, NodeSpec


def actions_for(bringup: Bringup) -> list[Any]:
    """One action per spec; the supervisor's exit (the run is over) shuts the whole launch down."""
    actions: list[Any] = []
    for spec in bringup.nodes:
        action = action_for(spec)
        actions.append(action)
        if spec.ends_launch:
            actions.append(RegisterEventHandler(OnProcessExit(
                target_action=action, on_exit=[EmitEvent(event=Shutdown(reason="run finished"))])))
    return actions


def action_for(spec: NodeSpec) -> Any:
    if spec.cmd:
        return ExecuteProcess(cmd=spec.cmd, name=spec.name, output="screen")
    return Node(package="marl_bridge", executable=spec.executable, name=spec.name,
                namespace=spec.namespace or None, parameters=spec.parameters,
                arguments=spec.arguments or None, output="screen")


def run_arguments() -> list[Any]:
    """The launch arguments every team bring-up takes (seed, outputs, recording)."""
    return [
        DeclareLaunchArgument("seed", default_value="", description="run seed (default: the config's)"),
        DeclareLaunchArgument("out_dir", default_value="", description="run card directory (default: run.out_dir)"),
        DeclareLaunchArgument("recorder", default_value="", description="'', marl_bridge or ros2bag"),
        DeclareLaunchArgument("record_dir", default_value="", description="new rosbag2 directory when recording"),
    ]
