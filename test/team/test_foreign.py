"""Foreign commanders, pure: only the team on cmd_vel, only the first bases on odometry, each once."""

from __future__ import annotations

from marl_bridge.team.foreign import UNKNOWN_NODE, ForeignWatch


def _graph(**topics: dict[str, str]) -> dict[str, dict[bytes, str]]:
    """topic (with / for _) -> {endpoint id: node}."""
    return {"/" + t.replace("__", "/"): {gid.encode(): n for gid, n in eps.items()} for t, eps in topics.items()}


def test_foreign_publishers_are_reported_once_each() -> None:
    watch = ForeignWatch(["/supervisor"], ["/r0/cmd_vel", "/r1/cmd_vel"], ["/r0/odom", "/r1/odom"])
    graph = _graph(r0__cmd_vel={"s0": "/supervisor"}, r1__cmd_vel={"s1": "/supervisor", "x": "/rogue"},
                   r0__odom={"b0": "/r0/base"}, r1__odom={"b1": "/r1/base"})
    assert watch.check(graph) == [("/r1/cmd_vel", "/rogue")]  # odometry not judged before the bases are known
    watch.trust_odometry(graph)
    assert watch.check(graph) == []  # said once
    graph["/r0/odom"][b"sp"] = "/spoofer"
    graph["/r0/cmd_vel"][b"x0"] = "/rogue"
    assert watch.check(graph) == [("/r0/cmd_vel", "/rogue"), ("/r0/odom", "/spoofer")]


def test_a_publisher_is_known_by_its_endpoint_and_judged_once_its_node_is_named() -> None:
    """Found in CI: a base's node was not named yet when the robots were first heard; named a moment later
    it was taken for a foreign publisher and latched the e-stop."""
    watch = ForeignWatch(["/supervisor"], ["/r0/cmd_vel"], ["/r0/odom"])
    watch.trust_odometry(_graph(r0__odom={"b0": UNKNOWN_NODE}))
    graph = _graph(r0__cmd_vel={"s0": "/supervisor", "g": UNKNOWN_NODE}, r0__odom={"b0": "/driver_r0",
                                                                                  "sp": UNKNOWN_NODE})
    assert watch.check(graph) == []  # the base, now named; the others not named yet
    graph["/r0/odom"][b"sp"] = "/spoofer"
    graph["/r0/cmd_vel"][b"g"] = "/rogue"
    assert watch.check(graph) == [("/r0/cmd_vel", "/rogue"), ("/r0/odom", "/spoofer")]
