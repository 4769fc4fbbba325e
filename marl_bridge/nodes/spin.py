"""Starting ROS and spinning, robustly, with rclpy's EventsExecutor.

- In the rclpy of the PyPI wheels (Kilted), EventsExecutor.spin() and spin_until_future_complete()
  without a timeout busy-loop and never see SIGINT. With a timeout both behave, so we spin in bounded
  slices.
- A KeyboardInterrupt raised while the executor is inside native code can surface as a pybind
  "Unable to convert call argument" RuntimeError instead. So `ros_session` turns rclpy's signal
  handlers off and installs handlers that only set a flag; the spin loops check it between slices.
- The flag is a `StopRequest`, not a threading.Event: Event.set() takes a lock, and a second signal
  landing inside the first handler (Ctrl-C to a process group, then the parent's death signal) ran
  the handler again in the same thread, which then waited on that lock forever (found as a hung
  actor process after a benchmark).
"""

from __future__ import annotations

import gc
import signal
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import rclpy
from rclpy.executors import Executor
from rclpy.node import Node
from rclpy.signals import SignalHandlerOptions
from rclpy.task import Future

from marl_bridge.nodes.dds_profile import use_team_profile

SLICE_S = 0.25


class StopRequest:
    """A stop flag set from signal handlers: a plain attribute, so setting it takes no lock and a
    handler re-entered by a second signal cannot deadlock its own thread."""

    def __init__(self) -> None:
        self._requested = False

    def set(self) -> None:
        self._requested = True

    def is_set(self) -> bool:
        return self._requested


def install_stop_handlers(stop: StopRequest) -> dict[int, object]:
    """SIGINT and SIGTERM set `stop`; returns the previous handlers (to restore them)."""
    return {sig: signal.signal(sig, lambda *_: stop.set()) for sig in (signal.SIGINT, signal.SIGTERM)}


@contextmanager
def ros_session(args: list[str] | None = None) -> Iterator[StopRequest]:
    """rclpy.init/shutdown; yields a flag that SIGINT or SIGTERM sets (a stop request, not an exception).
    The team's Fast DDS timing applies to the session (nodes/dds_profile.py)."""
    use_team_profile()
    stop = StopRequest()
    previous = install_stop_handlers(stop)
    rclpy.init(args=args, signal_handler_options=SignalHandlerOptions.NO)
    try:
        yield stop
    finally:
        if rclpy.ok():
            rclpy.shutdown()
        for sig, handler in previous.items():
            signal.signal(sig, handler)  # type: ignore[arg-type]


def freeze_startup_objects() -> None:
    """Before the control loop: move everything allocated so far (modules, the env, the middleware's
    objects) out of the garbage collector's view. A full collection walks every tracked object; in a
    32-robot team process one took 20-50 ms, several 100 Hz steps. What the loop
    allocates afterwards is collected as usual. No collection first: it would cost each actor of a large
    single-process team a full walk at startup; startup garbage simply stays."""
    gc.freeze()


def spin_until(executor: Executor, future: Future, stop: StopRequest | None = None) -> bool:
    """Spin until `future` is done (True), or a stop is requested or ROS shuts down (False).

    A busy executor may not return at the slice timeout, so a stop request is also noticed by a timer
    callback (on the executor's first node) that completes the future being spun on.
    """
    waiter = Future()
    future.add_done_callback(lambda _f: waiter.done() or waiter.set_result(True))
    guard = None
    nodes = executor.get_nodes()
    if stop is not None and nodes:
        guard = nodes[0].create_timer(0.1, lambda: stop.is_set() and not waiter.done() and waiter.set_result(False))
    try:
        while not waiter.done():
            if (stop is not None and stop.is_set()) or not rclpy.ok():
                return False
            executor.spin_until_future_complete(waiter, timeout_sec=SLICE_S)
        return bool(waiter.result())
    finally:
        if guard is not None:
            nodes[0].destroy_timer(guard)


def spin_forever(executor: Executor, stop: StopRequest | None = None) -> None:
    """Spin until a stop is requested or ROS shuts down."""
    spin_until(executor, Future(), stop)


def retire(executor: Executor, nodes: list[Node]) -> None:
    """Take the nodes off the executor, then destroy them, then shut the executor down. Destroying a node
    whose publishers or subscriptions have event callbacks while an EventsExecutor still holds it is a
    known crash or hang of rclpy (ros2/rclpy#1644); off the executor first, it is an ordinary teardown."""
    for node in nodes:
        if node in executor.get_nodes():
            executor.remove_node(node)
        node.destroy_node()
    executor.shutdown()


def spin_node(make_node: Callable[[], Node], make_executor: Callable[[], Executor],
              ros_args: list[str] | None = None, on_stop: Callable[[Node], None] | None = None) -> int:
    """One node in its own process until Ctrl-C: a ROS session, the node on an executor (both made inside
    the session: an executor binds the context when it is made), and on the way out `on_stop(node)`
    (e.g. a last command) before the node is destroyed."""
    with ros_session(ros_args) as stop:
        node = make_node()
        executor = make_executor()
        executor.add_node(node)
        try:
            spin_forever(executor, stop)
        finally:
            if on_stop is not None:
                on_stop(node)
            retire(executor, [node])
    return 0
