"""Foreign commanders, pure: only the team on cmd_vel, only the first bases on odometry, each once."""

from __future__ import annotations

from marl_bridge.team.foreign import ForeignWatch


def test_foreign_publishers_are_reported_once_each() -> None:
    watch = ForeignWatch(["/supervisor"], ["/r0/cmd_vel", "/r1/cmd_vel"], ["/r0/odom", "/r1/odom"])
    graph = {"/r0/cmd_vel": {"/supervisor"}, "/r1/cmd_vel": {"/supervisor", "/rogue"},
             "/r0/odom": {"/r0/base"}, "/r1/odom": {"/r1/base"}}
    assert watch.check(graph) == [("/r1/cmd_vel", "/rogue")]  # odometry not judged before the bases are known
    watch.trust_odometry(graph)
    assert watch.check(graph) == []  # said once
    graph["/r0/odom"] = {"/r0/base", "/spoofer"}
    graph["/r0/cmd_vel"] = {"/supervisor", "/rogue"}
    assert watch.check(graph) == [("/r0/cmd_vel", "/rogue"), ("/r0/odom", "/spoofer")]
