"""Recorder node: the team's topics into a rosbag2 directory (MCAP storage), written with `rosbags`.

Subscriptions are raw (`raw=True`): rclpy hands over the CDR bytes and they go into the bag as they
are, nothing is deserialised. The custom types' definitions come from the installed .msg files, so
other readers (rosbags, mcap + mcap-ros2-support, ros2 bag) can decode them. Timestamps are the node's
clock, i.e. sim time when `use_sim_time` is set.

Kill safety: after every episode summary the recorder closes the pending MCAP chunk and flushes it,
so a recorder killed with SIGKILL leaves an MCAP file whose finished episodes a streaming MCAP reader
still reads (no metadata.yaml and no summary section: rosbags' reader and `ros2 bag` need those; the
`mcap` library's StreamReader does not). What is lost: the unfinished episode's messages.

Loss: a team that expects a recorder (`supervisor.keeps_history`: `required_listeners` > 0, as the launch
files set with a recorder, or `late_readers`) has its writers keep the last 1000 messages per topic for
late readers (transient local) and the recorder, given the same config, asks for them, so the bag is
complete as long as the recorder matches each writer, and then lags, by fewer than 1000 messages on each
topic (an actor process that answered its first steps before the recorder matched it does not lose
them); the run card's per-topic counts show what was recorded. Without it the writers are volatile and
the recorder reads what comes after it matched. bench/recorder.py measures what it keeps up with (no
loss at 20,000 msg/s on one topic on the 2-core VM); a team that produces more than that for long can
outrun it, since the team is not paced to the recorder.
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from pathlib import Path
from typing import Any

from rclpy.event_handler import PublisherEventCallbacks
from rclpy.node import Node
from rclpy.qos import QoSProfile
from rclpy.task import Future
from rosbags.typesys import Stores, get_types_from_msg, get_typestore
from rosgraph_msgs.msg import Clock
from std_msgs.msg import String

from marl_bridge.msg import Action as ActionMsg
from marl_bridge.msg import ActorStatus, EpisodeSummary, Observation, SafetyEvent, StepResult
from marl_bridge.nodes.topics import EVENTS_OUT_QOS, LATCHED_QOS, TeamNames, stream_out_qos, team_names
from marl_bridge.recording.tap import BagFile, typename

PACKAGE = "marl_bridge"


def msg_definitions() -> dict[str, str]:
    """ROS type name -> .msg text of every marl_bridge message, from the installed share/ directory."""
    candidates = [Path(sys.prefix) / "share" / PACKAGE / "msg"]
    try:
        from ament_index_python.packages import get_package_share_directory
        candidates.append(Path(get_package_share_directory(PACKAGE)) / "msg")
    except Exception:
        pass
    for directory in candidates:
        files = sorted(directory.glob("*.msg"))
        if files:
            return {f"{PACKAGE}/msg/{f.stem}": f.read_text() for f in files}
    raise FileNotFoundError(f"no {PACKAGE} .msg files under {', '.join(map(str, candidates))}; "
                            "is the package installed (pip install . or colcon build)?")


def team_typestore() -> Any:
    """A Kilted typestore that also knows marl_bridge's messages."""
    store = get_typestore(Stores.ROS2_KILTED)
    types: dict[str, Any] = {}
    for name, text in msg_definitions().items():
        types.update(get_types_from_msg(text, name))
    store.register(types)
    return store


TAKE_BATCH = 256  # messages taken per executor wake-up at most, so one busy topic cannot starve the rest


def recorded_topics(names: TeamNames, agents: list[str], keep_history: bool = False
                    ) -> list[tuple[str, type, QoSProfile]]:
    """Every topic of a team the recorder keeps (also what `ros2 bag record` is given in launch files), with
    the QoS to read it: `keep_history` as the team's `supervisor.keeps_history` (a reader asking for
    history matches only writers that keep it; one that does not matches either, without the history)."""
    agent_topic, team_topic = names.agent, names.team
    stream = stream_out_qos(keep_history)
    topics: list[tuple[str, type, QoSProfile]] = []
    for agent in agents:
        topics += [(agent_topic(agent, "observation"), Observation, stream),
                   (agent_topic(agent, "action"), ActionMsg, stream),
                   (agent_topic(agent, "step_result"), StepResult, stream),
                   (agent_topic(agent, "final_observation"), Observation, stream),
                   (agent_topic(agent, "status"), ActorStatus, LATCHED_QOS),
                   (agent_topic(agent, "stop"), ActionMsg, LATCHED_QOS)]  # the actor watchdog's
    topics += [(team_topic("run_header"), String, LATCHED_QOS),
               (team_topic("run_status"), String, LATCHED_QOS),
               (team_topic("safety_events"), SafetyEvent, EVENTS_OUT_QOS),
               (team_topic("episode_summary"), EpisodeSummary, stream),
               # simulation time, when a backend publishes it: the supervisor publishes it reliably with the
               # team's depth, so the bag holds every tick (best effort with depth 10 lost some under load);
               # a best-effort /clock of another tool does not match this reader
               ("/clock", Clock, stream)]
    return topics


class RecorderNode(Node):
    """Records one team's observations, actions, step results, statuses, safety events and summaries.

    Spin it with a SingleThreadedExecutor on a thread of its own (`needs_own_executor` tells `run_team`):
    when it was written, rclpy's EventsExecutor (PyPI Kilted) failed to hand it raw messages ("Unable to
    convert call argument"). The team's own raw subscriptions (nodes/wire.py) do run on the
    EventsExecutor now; moving the recorder there waits for its throughput to be measured there.
    """

    needs_own_executor = True

    def __init__(self, team: str, agents: list[str], bag_dir: str | Path, namespace: str | None = None,
                 keep_history: bool = False) -> None:
        """`keep_history`: the team's `supervisor.keeps_history` (its writers keep history for this reader)."""
        super().__init__("recorder", namespace=team if namespace is None else namespace)  # __ns overrides
        self.bag: BagFile | None = None  # until it is open: destroy_node must not close what never opened
        self.bag_dir = Path(bag_dir)
        self._expected: tuple[int, int, Future] | None = None
        names = team_names(self.get_namespace(), team)
        topics = recorded_topics(names, agents, keep_history)
        self.bag = BagFile(self.bag_dir, [(topic, typename(msg_type)) for topic, msg_type, _qos in topics])
        # who records, and where: the supervisor puts it on the run card and notices when this node leaves
        # (latched, and again to every reader that matches: a latched sample for a reader that matched after
        # it was written was seen to arrive only much later, and a live one to be missed by a reader still
        # completing its match)
        self._announcement = String(data=json.dumps({"bag": str(self.bag_dir.resolve()), "storage": "mcap",
                                                     "node": self.get_fully_qualified_name()}))
        self.announce = self.create_publisher(
            String, names.team("recorder"), LATCHED_QOS,
            event_callbacks=PublisherEventCallbacks(matched=self._announce_to_new_readers))
        self.announce.publish(self._announcement)
        # ... and once a second: a reader whose match raced the sample above still hears it soon
        self.announce_timer = self.create_timer(1.0, lambda: self.announce.publish(self._announcement))
        for topic, msg_type, qos in topics:
            subs: list[Any] = []
            subs.append(self.create_subscription(msg_type, topic, self._writer_for(topic, subs), qos, raw=True))

    def _announce_to_new_readers(self, info: Any) -> None:
        if info.current_count_change > 0:
            self.announce.publish(self._announcement)

    @property
    def counts(self) -> Counter[str]:
        assert self.bag is not None
        return self.bag.counts

    def _writer_for(self, topic: str, subs: list[Any]) -> Any:
        # on disk at once: every summary (kill safety, see above) and the run header, which a bag needs to
        # be replayed on its own
        checkpoint = topic.endswith(("/episode_summary", "/run_header"))
        batch = 1 if checkpoint else TAKE_BATCH  # a checkpoint follows every summary, one at a time
        clock = self.get_clock()
        assert self.bag is not None
        write_batch = self.bag.write_batch

        def write(data: bytes) -> None:
            # The executor hands over one message per wake-up, which costs far more than writing it:
            # take what else is queued on this subscription now, up to a batch (rclpy's own take call;
            # the executor's next take then finds nothing and calls nobody), and write them together.
            entries = [(topic, clock.now().nanoseconds, data)]
            sub = subs[0]
            while len(entries) < batch:
                with sub.handle:
                    taken = sub.handle.take_message(sub.msg_type, True)
                if taken is None:
                    break
                entries.append((topic, clock.now().nanoseconds, taken[0]))
            write_batch(entries)
            if checkpoint:
                self.checkpoint()
            if self._expected is not None:
                self._check()
        return write

    def checkpoint(self) -> None:
        """Everything written so far on disk as complete MCAP chunks (see kill safety above)."""
        assert self.bag is not None
        self.bag.checkpoint()
        self.get_logger().info(f"checkpoint {self.bag.checkpoints}: {sum(self.counts.values())} messages on disk")

    def expect(self, card: dict[str, Any]) -> Future:
        """A future done once every step result and episode summary of `card` is in the bag."""
        totals = card["totals"]
        self._expected = (totals["step_results"], totals["episodes"], Future())
        self._check()
        return self._expected[2]

    def _check(self) -> None:
        if self._expected is None or self._expected[2].done():
            return
        results, summaries, future = self._expected
        got_results = sum(n for topic, n in self.counts.items() if topic.endswith("/step_result"))
        got_summaries = sum(n for topic, n in self.counts.items() if topic.endswith("/episode_summary"))
        if got_results >= results and got_summaries >= summaries:
            future.set_result(True)

    def close(self) -> dict[str, Any]:
        """Finish the bag (metadata.yaml, MCAP summary); return what the run card records of it."""
        if self.bag is None:
            return {"bag": str(self.bag_dir), "storage": "mcap", "messages": {}}
        return self.bag.close()

    def destroy_node(self) -> None:
        self.close()
        super().destroy_node()
