"""Foreign commanders: who publishes on the robots' cmd_vel and odometry besides the team.

On each robot's cmd_vel only the team may publish (the supervisor's node, and a guard where one runs).
Odometry comes from each robot's base: the publishers present when the robots were first heard are
trusted, any that appears later is foreign. Each foreign (topic, node) is reported once. Pure: the
supervisor node reads the graph and passes what it found, per topic each publisher's endpoint id and node.

Publishers are told apart by their endpoint, not their node's name: while discovery is still going rmw
names a node `_NODE_NAMESPACE_UNKNOWN_/_NODE_NAME_UNKNOWN_`. A base seen under that name when the robots
were first heard is still that base once its name arrives (judged by name, it was taken for a foreign
node and stopped the team); a publisher whose name is not known yet is judged once it is.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

UNKNOWN_NODE = "_NODE_NAMESPACE_UNKNOWN_/_NODE_NAME_UNKNOWN_"  # rmw's name for a node not yet discovered
Graph = Mapping[str, Mapping[bytes, str]]  # topic -> {endpoint id: fully qualified node name}


class ForeignWatch:
    def __init__(self, commanders: Iterable[str], cmd_topics: Iterable[str], odom_topics: Iterable[str]) -> None:
        self.commanders = set(commanders)  # fully qualified node names allowed on cmd_vel
        self.cmd_topics, self.odom_topics = list(cmd_topics), list(odom_topics)
        self.trusted_odom: dict[str, set[bytes]] | None = None  # per odometry topic, the bases' endpoints
        self.reported: set[tuple[str, str]] = set()

    def trust_odometry(self, publishers: Graph) -> None:
        """The bases: whoever publishes odometry when the robots are first heard (named yet or not)."""
        self.trusted_odom = {t: set(publishers.get(t, {})) for t in self.odom_topics}

    def check(self, publishers: Graph) -> list[tuple[str, str]]:
        """New foreign (topic, node) pairs in `publishers`."""
        found = []
        for topic in self.cmd_topics:
            found += [(topic, n) for n in publishers.get(topic, {}).values()
                      if n not in self.commanders and n != UNKNOWN_NODE]
        if self.trusted_odom is not None:
            for topic in self.odom_topics:
                trusted = self.trusted_odom[topic]
                found += [(topic, n) for gid, n in publishers.get(topic, {}).items()
                          if gid not in trusted and n != UNKNOWN_NODE]
        new = [f for f in sorted(set(found)) if f not in self.reported]
        self.reported.update(new)
        return new
