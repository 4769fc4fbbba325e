"""ros_session's signal handling: a second signal arriving inside the first handler must not hang the
process (it did when the stop flag was a threading.Event: its set() takes a lock, and the handler,
re-entered in the same thread, waited on that lock forever; a benchmark left such an actor behind)."""

from __future__ import annotations

import subprocess
import sys
import textwrap

CHILD = textwrap.dedent("""
    import signal, sys
    from marl_bridge.nodes.spin import ros_session

    with ros_session() as stop:
        handler = signal.getsignal(signal.SIGINT)
        state = {"inside": False, "nested": False}

        def second_signal(frame, event, arg):
            # Deliver the second signal at the worst moment: right after the first handler's first call
            # into C (for a threading.Event, that is taking its lock).
            if state["inside"] and not state["nested"] and event == "c_return":
                state["nested"] = True
                handler(signal.SIGTERM, None)

        def first_signal():
            state["inside"] = True
            sys.setprofile(second_signal)
            try:
                handler(signal.SIGINT, None)
            finally:
                sys.setprofile(None)

        first_signal()
        assert stop.is_set()
    print("stopped")
""")


def test_a_signal_inside_the_stop_handler_does_not_hang() -> None:
    done = subprocess.run([sys.executable, "-P", "-c", CHILD], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "stopped"
