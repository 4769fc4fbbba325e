"""Topic names and QoS profiles shared by the supervisor, actors and tests.

The team lives in its namespace, `<outer>/<team>`: the supervisor, recorder and guards sit in it, each
actor in `<team>/<agent>` below it, and every team name is taken from the node's own namespace
(`TeamNames`), so a namespace pushed in front of the team (launch's PushRosNamespace, `__ns`) moves the
whole team and two teams share a domain without touching. `agent_topic` and `team_topic` give the names
for a team at the root (tools, tests). `/clock` stays global, as every ROS tool expects it.

Per agent, under /<team>/<agent>/: observation, action, step_result, final_observation (reliable;
written transient local, so a recorder that matched late still gets the history), spec and status
(reliable, transient local, depth 1). Team-wide: /<team>/safety_events, /<team>/episode_summary,
/<team>/run_status and /<team>/run_header (the run's effective config and spaces as JSON, latched: what
a bag needs to be replayed on its own); services /<team>/reset, pause, resume, step, estop_*.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from rclpy.qos import DurabilityPolicy, HistoryPolicy, QoSProfile, ReliabilityPolicy

from marl_bridge.config import ConfigError

# depth 1000: a reader may lag up to 1000 messages per topic (a Python recorder behind a fast lockstep,
# or a burst) before the writer's history overwrites samples it has not acknowledged. Memory grows with
# use only (Fast DDS reallocates history on demand).
STREAM_QOS = QoSProfile(reliability=ReliabilityPolicy.RELIABLE, durability=DurabilityPolicy.VOLATILE,
                        history=HistoryPolicy.KEEP_LAST, depth=1000)
# A team that expects late readers (`supervisor.keeps_history`: a recorder in another process) has its
# writers of streams (observations, actions, step results, final observations, summaries, /clock) keep
# their history for them: a recorder that matches a writer after its first samples (an actor process
# that came up first) still gets them, up to the depth. Otherwise they are volatile (STREAM_QOS):
# transient local writers cost the lockstep over DDS a sixth of its speed. Readers that must not see the
# past (the supervisor's action readers, actors) stay volatile, which matches either.
KEPT_STREAM_QOS = QoSProfile(reliability=ReliabilityPolicy.RELIABLE, durability=DurabilityPolicy.TRANSIENT_LOCAL,
                             history=HistoryPolicy.KEEP_LAST, depth=1000)


def stream_out_qos(keep_history: bool) -> QoSProfile:
    """The team's stream writers' QoS, and a recorder's readers' (asking for history matches only writers
    that keep it)."""
    return KEPT_STREAM_QOS if keep_history else STREAM_QOS


# An actor keeps only the newest observation: after a link outage the samples queued during the cut
# are superseded, never answered (the supervisor's writer still holds up to 1000 for a lagging recorder).
NEWEST_QOS = QoSProfile(reliability=ReliabilityPolicy.RELIABLE, durability=DurabilityPolicy.VOLATILE,
                        history=HistoryPolicy.KEEP_LAST, depth=1)
LATCHED_QOS = QoSProfile(reliability=ReliabilityPolicy.RELIABLE,
                         durability=DurabilityPolicy.TRANSIENT_LOCAL,
                         history=HistoryPolicy.KEEP_LAST, depth=1)
EVENTS_QOS = QoSProfile(reliability=ReliabilityPolicy.RELIABLE, durability=DurabilityPolicy.VOLATILE,
                        history=HistoryPolicy.KEEP_LAST, depth=100)
EVENTS_OUT_QOS = QoSProfile(reliability=ReliabilityPolicy.RELIABLE, durability=DurabilityPolicy.TRANSIENT_LOCAL,
                            history=HistoryPolicy.KEEP_LAST, depth=100)

_BAD = re.compile(r"[^A-Za-z0-9_]")


def ros_name(agent: str) -> str:
    """A ROS-safe name token for a PettingZoo agent id ("player-1" -> "player_1", "0" -> "a_0")."""
    token = _BAD.sub("_", agent)
    return f"a_{token}" if not token or token[0].isdigit() else token


def ros_names(agents: list[str]) -> dict[str, str]:
    """Map every agent to its ROS name; refuse two agents that would share a topic."""
    names = {a: ros_name(a) for a in agents}
    seen: dict[str, str] = {}
    for agent, name in names.items():
        if name in seen:
            raise ConfigError(f"agents {seen[name]!r} and {agent!r} both map to ROS name {name!r}")
        seen[name] = agent
    return names


def agent_ns(team: str, agent: str) -> str:
    return f"/{team}/{ros_name(agent)}"


def agent_topic(team: str, agent: str, leaf: str) -> str:
    return f"{agent_ns(team, agent)}/{leaf}"


def team_topic(team: str, leaf: str) -> str:
    return f"/{team}/{leaf}"


@dataclass(frozen=True)
class TeamNames:
    """One team's topic and service names as its nodes resolve them."""

    root: str  # the team's namespace, absolute: /pursuit, or /site_a/pursuit under a pushed namespace

    def team(self, leaf: str) -> str:
        return f"{self.root}/{leaf}"

    def agent(self, agent: str, leaf: str) -> str:
        return f"{self.root}/{ros_name(agent)}/{leaf}"

    def node(self, name: str) -> str:
        """The fully qualified name of one of the team's nodes (the supervisor is `supervisor`)."""
        return f"{self.root}/{name}"


def team_names(namespace: str, team: str, agent: str | None = None) -> TeamNames:
    """The names of `team` for a node in `namespace`: a node inside the team's namespace (the supervisor in
    .../<team>, an actor in .../<team>/<agent>) finds the team there; a node elsewhere (the root, a tool)
    puts the team below its own namespace."""
    ns = namespace.rstrip("/")
    tail = f"/{team}" + (f"/{ros_name(agent)}" if agent is not None else "")
    if ns.endswith(tail):
        return TeamNames(ns[:len(ns) - len(tail)] + f"/{team}")
    return TeamNames(f"{ns}/{team}")
