"""Spinning helpers around rclpy.experimental.EventsExecutor.

In the rclpy of the PyPI wheels (Kilted), EventsExecutor.spin() and spin_until_future_complete()
without a timeout busy-loop and never see SIGINT. With a timeout both behave, so we spin in bounded
slices: a completed future or Ctrl-C is noticed within one slice.
"""

from __future__ import annotations

import rclpy
from rclpy.executors import Executor
from rclpy.task import Future

SLICE_S = 0.25


def spin_until(executor: Executor, future: Future, context: object | None = None) -> None:
    """Spin until `future` is done or the ROS context shuts down (raises KeyboardInterrupt on SIGINT)."""
    while not future.done() and rclpy.ok(context=context):
        executor.spin_until_future_complete(future, timeout_sec=SLICE_S)


def spin_forever(executor: Executor, context: object | None = None) -> None:
    """Spin until the ROS context shuts down."""
    spin_until(executor, Future(), context)
