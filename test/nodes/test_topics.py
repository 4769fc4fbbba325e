"""Team names follow the node's namespace: a namespace pushed in front of the team moves all of it."""

from __future__ import annotations

import pytest

from marl_bridge.nodes.topics import team_names


@pytest.mark.parametrize(("namespace", "agent", "root"), [
    ("/", None, "/pursuit"),                        # a tool or test at the root
    ("/pursuit", None, "/pursuit"),                 # the supervisor in the team's namespace
    ("/site_a/pursuit", None, "/site_a/pursuit"),   # ... under a pushed namespace
    ("/site_a", None, "/site_a/pursuit"),           # a node in the pushed namespace only
    ("/pursuit/robot_0", "robot_0", "/pursuit"),    # an actor
    ("/site_a/pursuit/robot_0", "robot_0", "/site_a/pursuit"),
    ("/", "robot_0", "/pursuit"),                   # an actor started without __ns
    ("/pursuit_b/robot_0", "robot_0", "/pursuit_b/robot_0/pursuit"),  # a lookalike is not the team
])
def test_team_root_from_the_node_namespace(namespace: str, agent: str | None, root: str) -> None:
    names = team_names(namespace, "pursuit", agent)
    assert names.root == root
    assert names.agent("robot-1", "observation") == f"{root}/robot_1/observation"
    assert names.team("run_status") == f"{root}/run_status" and names.node("supervisor") == f"{root}/supervisor"
