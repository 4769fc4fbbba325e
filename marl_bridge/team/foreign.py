"""Foreign commanders: who publishes on the robots' cmd_vel and odometry besides the team.

On each robot's cmd_vel only the team may publish (the supervisor's node, and a guard where one runs).
Odometry comes from each robot's base: the publishers present when the robots were first heard are
trusted, any that appears later is foreign. Each foreign (topic, node) is reported once. Pure: the
supervisor node reads the graph and passes what it found.
"""

from __future__ import annotations

from collections.abc import Iterable


class ForeignWatch:
    def __init__(self, commanders: Iterable[str], cmd_topics: Iterable[str], odom_topics: Iterable[str]) -> None:
        self.commanders = set(commanders)  # fully qualified node names allowed on cmd_vel
        self.cmd_topics, self.odom_topics = list(cmd_topics), list(odom_topics)
        self.trusted_odom: dict[str, set[str]] | None = None
        self.reported: set[tuple[str, str]] = set()

    def trust_odometry(self, publishers: dict[str, set[str]]) -> None:
        """The bases: whoever publishes odometry when the robots are first heard."""
        self.trusted_odom = {t: set(publishers.get(t, ())) for t in self.odom_topics}

    def check(self, publishers: dict[str, set[str]]) -> list[tuple[str, str]]:
        """New foreign (topic, node) pairs in `publishers` (topic -> fully qualified node names)."""
        found = []
        for topic in self.cmd_topics:
            found += [(topic, n) for n in publishers.get(topic, ()) if n not in self.commanders]
        if self.trusted_odom is not None:
            for topic in self.odom_topics:
                found += [(topic, n) for n in publishers.get(topic, ()) if n not in self.trusted_odom[topic]]
        new = [f for f in sorted(found) if f not in self.reported]
        self.reported.update(new)
        return new
