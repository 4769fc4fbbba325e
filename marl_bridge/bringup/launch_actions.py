"""Node specs -> launch_ros actions. Imported only by the launch files (launch and launch_ros come with
a full ROS 2 install, not from PyPI)."""

from __future__ import annotations

from typing import Any

from launch.actions import (
    DeclareLaunchArgument,
    EmitEvent,
    ExecuteProcess,
    GroupAction,
    OpaqueFunction,
    RegisterEventHandler,
)
from launch.event_handlers import OnProcessExit
from launch.events import Shutdown
from launch.substitutions import LaunchConfiguration
from launch_ros.actions import Node, PushROSNamespace

from marl_bridge.bringup.team import Bringup, NodeSpec
from marl_bridge.cli.main import EXIT_BAD_CONFIG, EXIT_DEGRADED, EXIT_FAILED, EXIT_INTERRUPTED


class RunFailed(RuntimeError):
    """The supervisor ended the run failed, degraded or interrupted: `ros2 launch` then exits non-zero."""


# the supervisor's exit codes (marl_bridge.cli.main.exit_code)
RUN_ENDINGS = {0: "complete", EXIT_BAD_CONFIG: "refused its config", EXIT_FAILED: "failed",
               EXIT_DEGRADED: "degraded", EXIT_INTERRUPTED: "interrupted"}


def _run_over(event: Any, context: Any) -> list[Any]:
    """The supervisor exited: the run is over, so is the launch. A run that did not complete makes the
    launch fail: launch turns an exception raised here into its exit code 1 (its only failure code), after
    shutting everything down; the run card and the supervisor's log say which ending it was."""
    code = event.returncode
    if code != 0:
        raise RunFailed(f"the team's run did not complete: {event.action.name} exited with code {code} "
                        f"({RUN_ENDINGS.get(code, 'crashed')}); see its run card")
    return [EmitEvent(event=Shutdown(reason="run finished"))]


def actions_for(bringup: Bringup) -> list[Any]:
    """One action per spec; the supervisor's exit (the run is over) shuts the whole launch down."""
    actions: list[Any] = []
    for spec in bringup.nodes:
        action = action_for(spec)
        actions.append(action)
        if spec.ends_launch:
            actions.append(RegisterEventHandler(OnProcessExit(target_action=action, on_exit=_run_over)))
    return actions


def in_namespace(team: OpaqueFunction) -> GroupAction:
    """The team's actions under the `namespace` launch argument (empty: the team's own at the root)."""
    return GroupAction([PushROSNamespace(LaunchConfiguration("namespace")), team])


def action_for(spec: NodeSpec) -> Any:
    if spec.cmd:
        return ExecuteProcess(cmd=spec.cmd, name=spec.name, output="screen")
    return Node(package="marl_bridge", executable=spec.executable, name=spec.name,
                namespace=spec.namespace or None, parameters=spec.parameters,
                arguments=spec.arguments or None, output="screen")


def run_arguments() -> list[Any]:
    """The launch arguments every team bring-up takes (seed, outputs, recording)."""
    return [
        DeclareLaunchArgument("namespace", default_value="",
                              description="namespace in front of the team's (<namespace>/<team>/...): two teams "
                                          "on one domain"),
        DeclareLaunchArgument("seed", default_value="", description="run seed (default: the config's)"),
        DeclareLaunchArgument("out_dir", default_value="", description="run card directory (default: run.out_dir)"),
        DeclareLaunchArgument("recorder", default_value="", description="'', marl_bridge or ros2bag"),
        DeclareLaunchArgument("record_dir", default_value="", description="new rosbag2 directory when recording"),
    ]
