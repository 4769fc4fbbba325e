"""Recording from inside the supervisor (`marl-bridge run --record`): the bytes it sends and receives go
to a bag writer in a process of its own, in batches, without another DDS reader on the team's topics.

Why: every extra reader of the team's topics costs the team (each message delivered once more, with
acknowledgements): a reader that only counted cut a 4-agent lockstep from 5,300 to 2,100 steps/s here,
in the same process or in another. The supervisor already holds every message of the team as bytes: the
observations it sends, the actions it receives (all of them, as they arrived on the topic, valid or
not), step results, final observations, events, summaries, the run header and status, /clock, each
actor's status and watchdog stop. So it appends (topic, time, bytes) to a list and hands the list to the
writer process every TAP_BATCH messages (one pickle, one pipe write). The writer is the same rosbag2
MCAP writer the recorder node uses (BagFile), on the other core.

Nothing is lost: a full pipe makes the supervisor wait, it never drops. The writer checkpoints after
every episode summary (complete MCAP chunks on disk); if the supervisor dies the writer reads the end of
its input and closes the bag properly; if the writer dies, the supervisor's next hand-over fails and the
run says so (recorder_lost) and goes on.
"""

from __future__ import annotations

import contextlib
import json
import os
import pickle
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

TAP_BATCH = 256  # messages per hand-over to the writer process
CHECKPOINT = ""  # a batch entry with this topic: put everything so far on disk (after an episode summary)


class BagFile:
    """A rosbag2 directory (MCAP storage) with one connection per topic, written from raw CDR bytes."""

    def __init__(self, bag_dir: Path, topics: list[tuple[str, str]]) -> None:
        from rosbags.rosbag2 import StoragePlugin, Writer

        from marl_bridge.recording.recorder import team_typestore

        self.bag_dir = bag_dir
        self.counts: Counter[str] = Counter()
        self.writer = Writer(bag_dir, version=9, storage_plugin=StoragePlugin.MCAP)
        self.writer.open()
        self._open = True
        store = team_typestore()
        self.connections = {topic: self.writer.add_connection(topic, typename, typestore=store)
                            for topic, typename in topics}
        self.checkpoints = 0

    def write(self, topic: str, stamp_ns: int, data: bytes) -> None:
        self.writer.write(self.connections[topic], stamp_ns, data)
        self.counts[topic] += 1

    def checkpoint(self) -> None:
        """Put everything written so far on disk as complete MCAP chunks, so a killed writer's bag still
        reads up to here (rosbags' MCAP writer has no public flush; it closes a chunk itself every 1 MiB).
        Guarded: a rosbags without these internals just checkpoints less often."""
        storage = getattr(self.writer, "storage", None)
        chunk = getattr(storage, "chunk", None)
        if storage is None or chunk is None or not hasattr(storage, "close_chunk"):
            return
        if chunk.bio.tell():
            storage.close_chunk()
        storage.bio.flush()
        self.checkpoints += 1

    def close(self) -> dict[str, Any]:
        """Finish the bag (metadata.yaml, MCAP summary); what the run card records of it."""
        if self._open:
            self.writer.close()
            self._open = False
        return {"bag": str(self.bag_dir), "storage": "mcap", "messages": dict(sorted(self.counts.items()))}


def typename(msg_type: type) -> str:
    return f"{msg_type.__module__.split('.')[0]}/msg/{msg_type.__name__}"


class BagTap:
    """The supervisor's side: collects what the team sends and receives, hands it to the writer process."""

    def __init__(self, bag_dir: Path, topics: list[tuple[str, str]], clock_ns: Any = time.time_ns) -> None:
        self.bag_dir = bag_dir
        self.clock_ns = clock_ns
        spec = json.dumps({"bag": str(bag_dir), "topics": topics})
        self.proc = subprocess.Popen([sys.executable, "-P", "-m", "marl_bridge.recording.tap", spec],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        self.batch: list[tuple[str, int, bytes]] = []
        self.lost = ""  # why the writer stopped taking data, once it did

    def add(self, topic: str, data: bytes) -> None:
        batch = self.batch
        batch.append((topic, self.clock_ns(), data))
        if len(batch) >= TAP_BATCH:
            self.flush()

    def checkpoint(self) -> None:
        self.batch.append((CHECKPOINT, 0, b""))
        self.flush()

    def flush(self) -> bool:
        """Hand the collected messages over (waits while the pipe is full: nothing is dropped). False once
        the writer is gone (then `lost` says why; later messages are not recorded)."""
        batch, self.batch = self.batch, []
        if not batch or self.lost:
            return not self.lost
        stdin = self.proc.stdin
        assert stdin is not None
        try:
            pickle.dump(batch, stdin, protocol=pickle.HIGHEST_PROTOCOL)
            stdin.flush()
        except (BrokenPipeError, OSError) as exc:
            code = self.proc.poll()
            self.lost = f"bag writer process {self.proc.pid} gone (exit code {code}): {exc}"
            return False
        return True

    def close(self, timeout_s: float = 60.0) -> dict[str, Any]:
        """Hand over the rest, let the writer finish the bag; its summary for the run card."""
        self.flush()
        try:
            out, _ = self.proc.communicate(timeout=timeout_s)  # closes its input: the writer finishes
        except subprocess.TimeoutExpired:
            self.proc.kill()
            out, _ = self.proc.communicate()
        except (BrokenPipeError, ValueError, OSError) as exc:  # the writer is gone already
            self.lost = self.lost or f"bag writer process {self.proc.pid} gone before the bag was closed: {exc}"
            out = self.proc.stdout.read() if self.proc.stdout is not None else b""
            self.proc.wait()
        summary: dict[str, Any] = {"bag": str(self.bag_dir), "storage": "mcap"}
        with contextlib.suppress(ValueError):
            summary.update(json.loads(out.decode() or "{}"))
        summary["recorder"] = f"supervisor (writer process {self.proc.pid})"
        if self.lost:
            summary["lost"] = self.lost
        return summary


def main() -> int:
    """The writer process: batches from stdin into the bag until the input ends; the summary on stdout.
    Ctrl-C is for the supervisor: the writer ends when its input does, after the supervisor's last batch."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    with contextlib.suppress(OSError):  # the team's threads first: this catches up in their idle moments
        os.nice(5)
    spec = json.loads(sys.argv[1])
    bag = BagFile(Path(spec["bag"]), [tuple(t) for t in spec["topics"]])
    stdin = sys.stdin.buffer
    try:
        while True:
            try:
                batch = pickle.load(stdin)
            except EOFError:
                break
            for topic, stamp, data in batch:
                if topic == CHECKPOINT:
                    bag.checkpoint()
                else:
                    bag.write(topic, stamp, data)
    finally:
        summary = bag.close()
    sys.stdout.write(json.dumps(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
