"""Starting ROS and spinning, robustly, with rclpy's EventsExecutor.

- In the rclpy of the PyPI wheels (Kilted), EventsExecutor.spin() and spin_until_future_complete()
  without a timeout busy-loop and never see SIGINT. With a timeout both behave, so we spin in bounded
  slices.
- A KeyboardInterrupt raised while the executor is inside native code can surface as a pybind
  "Unable to convert call argument" RuntimeError instead. So `ros_session` turns rclpy's signal
  handlers off and installs handlers that only set an event; the spin loops check it between slices.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import rclpy
from rclpy.executors import Executor
from rclpy.signals import SignalHandlerOptions
from rclpy.task import Future

SLICE_S = 0.25


@contextmanager
def ros_session(args: list[str] | None = None) -> Iterator[threading.Event]:
    """rclpy.init/shutdown; yields an event that SIGINT or SIGTERM sets (a stop request, not an exception)."""
    stop = threading.Event()
    previous = {sig: signal.signal(sig, lambda *_: stop.set()) for sig in (signal.SIGINT, signal.SIGTERM)}
    rclpy.init(args=args, signal_handler_options=SignalHandlerOptions.NO)
    try:
        yield stop
    finally:
        if rclpy.ok():
            rclpy.shutdown()
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def spin_until(executor: Executor, future: Future, stop: threading.Event | None = None) -> bool:
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


def spin_forever(executor: Executor, stop: threading.Event | None = None) -> None:
    """Spin until a stop is requested or ROS shuts down."""
    spin_until(executor, Future(), stop)
