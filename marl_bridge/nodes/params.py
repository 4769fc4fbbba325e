"""Config <-> ROS parameters for every node: the command line passes a RunConfig as parameter
overrides, launch files pass a parameter file; both end up as the same declared parameters."""

from __future__ import annotations

from rclpy.node import Node
from rclpy.parameter import Parameter

from marl_bridge import config as config_mod
from marl_bridge.config import RunConfig


def config_parameters(cfg: RunConfig) -> list[Parameter]:
    """A RunConfig as the parameter overrides a node built by the command line receives."""
    return [Parameter(name, value=value) for name, value in config_mod.to_flat(cfg).items()]


def config_from_node(node: Node) -> RunConfig:
    """Rebuild the RunConfig from a node's parameters (declared from overrides or a params file)."""
    flat = {name: p.value for name, p in node.get_parameters_by_prefix("").items()}
    return config_mod.from_flat(flat, source=f"ROS parameters of node {node.get_fully_qualified_name()}")
