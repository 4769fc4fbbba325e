"""In-process delivery between the nodes of one process: rclcpp's intra-process communication, for the
two messages of the lockstep's hot path (Observation and Action).

In the `single` topology the supervisor and every actor share a process and an executor. Over DDS each
observation and each action was packed to bytes, written, taken and parsed again, twice per agent-step.
Here a publisher hands the parsed fields (nodes/wire.Parsed) to the subscriptions of its topic in the
same process directly. The graph does not change: both ends keep their DDS endpoint, so readiness,
liveness and `ros2 topic info` see what they saw, publishers elsewhere (actors in other processes, a
rogue) still reach the subscription over DDS, and as soon as a reader elsewhere listens on the topic
(another process, `ros2 topic echo`, a recorder node) the publisher sends over DDS instead, to every
reader alike (a reader never gets a message twice). What went in-process is not in the DDS writer's
history, so a reader joining mid-run gets no history from that part of the run (`run --record` records
from the supervisor and misses nothing).

Callbacks never run inside the publisher's call: deliveries wait in their executor's queue and one
executor task hands them over, after what the executor had queued already, as a message from DDS would
arrive. Nothing crosses a link, so an in-process delivery carries no authentication tag: the team key
protects what travels over DDS (docs/security.md).
"""

from __future__ import annotations

import weakref
from collections import deque
from collections.abc import Callable
from typing import Any

from rclpy.context import Context
from rclpy.event_handler import PublisherEventCallbacks
from rclpy.executors import Executor
from rclpy.node import Node
from rclpy.qos import QoSProfile


class Deliveries:
    """One executor's pending in-process deliveries, handed over by one executor task at a time."""

    def __init__(self, executor: Executor) -> None:
        self.executor = executor
        self.queue: deque[tuple[Callable[[Any], None], Any]] = deque()
        self.scheduled = False

    def push(self, callback: Callable[[Any], None], item: Any) -> None:
        self.queue.append((callback, item))
        if not self.scheduled:
            self.scheduled = True
            self.executor.create_task(self.drain)

    def drain(self) -> None:
        """Hand over what was queued when the task started; what those callbacks queue waits for the next
        task (the executor serves its other events in between)."""
        self.scheduled = False
        queue = self.queue
        try:
            for _ in range(len(queue)):
                callback, item = queue.popleft()
                callback(item)
        finally:
            if queue and not self.scheduled:  # a callback raised: the rest still goes out
                self.scheduled = True
                self.executor.create_task(self.drain)


_DELIVERIES: weakref.WeakKeyDictionary[Executor, Deliveries] = weakref.WeakKeyDictionary()
_LOCAL: weakref.WeakKeyDictionary[Context, dict[str, list[IntraSubscription]]] = weakref.WeakKeyDictionary()


def _local(context: Context, topic: str) -> list[IntraSubscription]:
    """The in-process subscriptions of `topic` (a list kept in place: publishers hold it)."""
    return _LOCAL.setdefault(context, {}).setdefault(topic, [])


class IntraSubscription:
    """A raw DDS subscription (`on_raw(bytes)`, for publishers elsewhere) that also takes in-process
    deliveries (`on_local(Parsed)`, from an IntraPublisher of the same topic in this process)."""

    def __init__(self, node: Node, msg_type: Any, topic: str, qos: QoSProfile,
                 on_raw: Callable[[bytes], None], on_local: Callable[[Any], None], *, local: bool = True) -> None:
        self.node, self.on_local = node, on_local
        self._deliveries: Deliveries | None = None  # its executor's queue, once found
        self.dds = node.create_subscription(msg_type, topic, on_raw, qos, raw=True)
        self._peers = _local(node.context, self.dds.topic_name)
        if local:
            self._peers.append(self)

    def deliver(self, item: Any) -> None:
        executor = self.node.executor
        deliveries = self._deliveries
        if deliveries is None or deliveries.executor is not executor:  # first time, or moved to another
            if executor is None:  # not spun (yet): like a reader not matched yet, it misses the message
                return
            deliveries = _DELIVERIES.get(executor)
            if deliveries is None:
                deliveries = _DELIVERIES[executor] = Deliveries(executor)
            self._deliveries = deliveries
        deliveries.push(self.on_local, item)

    def get_publisher_count(self) -> int:
        return self.dds.get_publisher_count()

    def leave(self) -> None:
        """Before the node goes: no more in-process deliveries (publishers fall back to DDS)."""
        if self in self._peers:
            self._peers.remove(self)


class ReaderCount:
    """A publisher's matched readers, kept by its matched event (pass `events()` when creating it), so a
    step loop that asks "does anyone read this?" never asks the middleware."""

    def __init__(self) -> None:
        self.n = 0

    def __call__(self, info: Any) -> None:
        self.n = info.current_count

    def events(self) -> PublisherEventCallbacks:
        return PublisherEventCallbacks(matched=self)


class IntraPublisher:
    """A DDS publisher that hands a message to the in-process subscriptions of its topic while they are
    its only readers (`in_process`, then `hand_over` the parsed fields); else `publish` (the plain DDS
    publish, bytes or a typed message: the message is serialized only then)."""

    def __init__(self, node: Node, msg_type: Any, topic: str, qos: QoSProfile, *, local: bool = True) -> None:
        self.readers = ReaderCount()  # DDS readers matched, in-process ones included
        self.dds = node.create_publisher(msg_type, topic, qos, event_callbacks=self.readers.events())
        self.publish = self.dds.publish
        self.local = _local(node.context, self.dds.topic_name) if local else []

    @property
    def in_process(self) -> bool:
        """Every reader of the topic is in this process: messages are handed over, not published."""
        return bool(self.local) and self.readers.n <= len(self.local)

    def hand_over(self, item: Any) -> None:
        """Deliver `item` (parsed fields) to the in-process readers (while `in_process`)."""
        for sub in self.local:
            sub.deliver(item)

    def get_subscription_count(self) -> int:
        return self.dds.get_subscription_count()

    def wait_for_all_acked(self, timeout: Any) -> bool:
        return self.dds.wait_for_all_acked(timeout)
