"""Recording from inside the supervisor (`marl-bridge run --record`): the bytes it sends and receives go
to a bag writer in a process of its own, in batches, without another DDS reader on the team's topics.

Why: every extra reader of the team's topics costs the team (each message delivered once more, with
acknowledgements): a reader that only counted cut a 4-agent lockstep from 5,300 to 2,100 steps/s here,
in the same process or in another. The supervisor already holds every message of the team as bytes: the
observations it sends, the actions it receives (all of them, as they arrived on the topic, valid or
not), step results, final observations, events, summaries, the run header and status, /clock, each
actor's status and watchdog stop. So it appends (topic, time, bytes) to a list and hands the list to the
writer process every TAP_BATCH messages (one pickle, one pipe write). The writer is the same rosbag2
MCAP writer the recorder node uses (BagFile), on the other core. What the supervisor never had to
serialize (observations and actions handed over in-process, step results nobody reads over DDS) it
passes as their fields, and the writer process serializes them (nodes/wire.py, the same bytes): the
team's core does not pay for the bag's serialization.

Nothing is lost: a full pipe makes the supervisor wait, it never drops. The writer checkpoints after
every episode summary (complete MCAP chunks on disk); if the supervisor dies the writer reads the end of
its input and closes the bag properly; if the writer dies, the supervisor's next hand-over fails and the
run says so (recorder_lost) and goes on.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import pickle
import select
import signal
import struct
import subprocess
import sys
import time
from array import array
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from marl_bridge.codec import Flat
from marl_bridge.nodes.wire import ActionWriter, ObservationWriter, Parsed, StepResultWriter
from marl_bridge.recording.run_card import flat_plain, info_json

TAP_BATCH = 256  # messages per hand-over to the writer process
PIPE_BYTES = 1 << 20  # the pipe to the writer (Linux's limit for a user, /proc/sys/fs/pipe-max-size)
READY = b"READY\n"  # the writer's first line: the bag is open
CHECKPOINT = ""  # a batch entry with this topic: put everything so far on disk (after an episode summary)
# an MCAP Message record's head: opcode, record length, channel id, sequence, log time, publish time
_MCAP_MESSAGE = struct.Struct("<BQHIQQ")
_CHUNK_BYTES = 1 << 20
# A batch entry is (topic, time, data): data is bytes, or one message's fields (kind, agent, layout, *fields)
# for the writer process to serialize; under the topic GROUP, data is a step's messages of one kind
# (kind, sec, nanosec, episode, step, rows), a row per agent (`observation_row`, `step_result_row`): what
# the agents share travels once.
OBSERVATION, ACTION, STEP_RESULT = "observation", "action", "step_result"
GROUP = "*"


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
        self._ids = {topic: conn.id for topic, conn in self.connections.items()}  # MCAP channel ids
        self.checkpoints = 0
        # rosbags' MCAP storage, when it has the internals `write_batch` and `checkpoint` use (no public API
        # flushes a chunk or appends many messages); without them both fall back to the public writer
        storage = getattr(self.writer, "storage", None)
        internals = all(hasattr(storage, n) for n in ("chunk", "close_chunk", "channel_stats", "bio"))
        self._storage = storage if internals and hasattr(self.writer, "counts") else None

    def write(self, topic: str, stamp_ns: int, data: bytes) -> None:
        self.writer.write(self.connections[topic], stamp_ns, data)
        self.counts[topic] += 1

    def write_batch(self, entries: list[tuple[str, int, bytes]]) -> None:
        """Many messages at once, appended to the open MCAP chunk as rosbags' own write would append them
        (the same Message records, chunk index and counts) without its per-message checks and BytesIO: about
        1 us a message instead of about 10, which decided how fast a recorded team could go. Guarded like
        `checkpoint`: a rosbags without these internals gets one `write` per message."""
        writer, storage = self.writer, self._storage
        if storage is None:
            for topic, stamp, data in entries:
                self.write(topic, stamp, data)
            return
        if not entries:
            return
        ids, head, head_bytes = self._ids, _MCAP_MESSAGE.pack, _MCAP_MESSAGE.size
        chunk = storage.chunk
        pos, parts, msgs = chunk.bio.tell(), [], chunk.msgs
        start = 0  # entries[start:] go into the current chunk, `parts` not written yet
        for i, (topic, stamp, data) in enumerate(entries):
            cid = ids[topic]
            msgs[cid].append((stamp, pos))
            parts += (head(0x05, 22 + len(data), cid, 0, stamp, stamp), data)
            pos += head_bytes + len(data)
            if pos > _CHUNK_BYTES:  # as rosbags does: a chunk closes past 1 MiB
                chunk.bio.write(b"".join(parts))
                _times(chunk, entries[start:i + 1])
                storage.close_chunk()
                chunk, start = storage.chunk, i + 1
                pos, parts, msgs = chunk.bio.tell(), [], chunk.msgs
        if start < len(entries):
            chunk.bio.write(b"".join(parts))
            _times(chunk, entries[start:])
        counts = Counter(topic for topic, _s, _d in entries)
        for topic, n in counts.items():
            storage.channel_stats[ids[topic]] += n
            writer.counts[ids[topic]] += n
        first, last = min(e[1] for e in entries), max(e[1] for e in entries)
        storage.message_start_time = min(storage.message_start_time, first)
        storage.message_end_time = max(storage.message_end_time, last)
        writer.min_timestamp = min(writer.min_timestamp, first)
        writer.max_timestamp = max(writer.max_timestamp, last)
        self.counts.update(counts)

    def checkpoint(self) -> None:
        """Put everything written so far on disk as complete MCAP chunks, so a killed writer's bag still
        reads up to here (rosbags' MCAP writer has no public flush; it closes a chunk itself every 1 MiB).
        Guarded: a rosbags without these internals just checkpoints less often."""
        storage = self._storage
        if storage is None:
            return
        if storage.chunk.bio.tell():
            storage.close_chunk()
        storage.bio.flush()
        self.checkpoints += 1

    def close(self) -> dict[str, Any]:
        """Finish the bag (metadata.yaml, MCAP summary); what the run card records of it."""
        if self._open:
            self.writer.close()
            self._open = False
        return {"bag": str(self.bag_dir), "storage": "mcap", "messages": dict(sorted(self.counts.items()))}


def _times(chunk: Any, entries: list[tuple[str, int, bytes]]) -> None:
    """A chunk's first and last message times, with `entries` written into it."""
    chunk.message_start_time = min(chunk.message_start_time, min(e[1] for e in entries))
    chunk.message_end_time = max(chunk.message_end_time, max(e[1] for e in entries))


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
        with contextlib.suppress(OSError, AttributeError):  # room for a second of a fast team (64 KiB: 40 ms)
            fcntl.fcntl(self.proc.stdin.fileno(), fcntl.F_SETPIPE_SZ, PIPE_BYTES)  # type: ignore[union-attr]
        self.batch: list[tuple[str, int, Any]] = []
        self.messages = 0  # in the batch (a group entry holds many)
        self.lost = ""  # why the writer stopped taking data, once it did
        self._ready = False

    def ready(self) -> bool:
        """The writer process has started and opened the bag (it says READY on its output; about 0.7 s of
        imports here). The supervisor starts the run only then: batches sent earlier filled the pipe and
        held the team's first steps. A writer that died counts as ready (the first hand-over says it)."""
        if not self._ready:
            out = self.proc.stdout
            if self.proc.poll() is not None or out is None:
                self._ready = True
            elif select.select([out], [], [], 0)[0]:
                self._ready = out.readline() == READY or self.proc.poll() is not None
        return self._ready

    def add(self, topic: str, data: bytes | tuple[Any, ...]) -> None:
        """A message as bytes, or as its fields for the writer process to serialize (`Packers`)."""
        self.batch.append((topic, self.clock_ns(), data))
        self.messages += 1
        if self.messages >= TAP_BATCH:
            self.flush()

    def add_step(self, kind: str, sec: int, nanosec: int, episode: int, step: int, rows: list[tuple[Any, ...]]) -> None:
        """A step's messages of one kind (observations or step results) as one entry, a row per agent: one
        time stamp, and the stamp, episode and step pickled once. The team's side of a recorded step is
        what decides what recording costs."""
        self.batch.append((GROUP, self.clock_ns(), (kind, sec, nanosec, episode, step, rows)))
        self.messages += len(rows)
        if self.messages >= TAP_BATCH:
            self.flush()

    # Arrays travel as bytes: pickling an array cost about 0.6 us, its bytes a tenth of that.
    def add_action(self, topic: str, msg: Parsed) -> None:
        flat = msg.flat
        self.add(topic, (ACTION, msg.agent, msg.layout, msg.sec, msg.nanosec, msg.episode, msg.step,
                         flat.f64.tobytes(), flat.i64.tobytes(), flat.f32.tobytes(), bytes(flat.u8), msg.entropy))

    def checkpoint(self) -> None:
        self.batch.append((CHECKPOINT, 0, b""))
        self.flush()

    def flush(self) -> bool:
        """Hand the collected messages over (waits while the pipe is full: nothing is dropped). False once
        the writer is gone (then `lost` says why; later messages are not recorded)."""
        batch, self.batch, self.messages = self.batch, [], 0
        if not batch or self.lost:
            return not self.lost
        stdin = self.proc.stdin
        assert stdin is not None
        try:  # one write of the whole pickle (through the file object's buffer it cost half as much again)
            data = memoryview(pickle.dumps(batch, protocol=pickle.HIGHEST_PROTOCOL))
            fd = stdin.fileno()
            while data:
                data = data[os.write(fd, data):]
        except (BrokenPipeError, OSError, ValueError) as exc:
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
        with contextlib.suppress(ValueError):  # its last line (READY comes first, if not read yet)
            summary.update(json.loads(out.decode().strip().rsplit("\n", 1)[-1] or "{}"))
        summary["recorder"] = f"supervisor (writer process {self.proc.pid})"
        if self.lost:
            summary["lost"] = self.lost
        return summary


def observation_row(topic: str, agent: str, layout: int, flat: Flat) -> tuple[Any, ...]:
    """An observation for `BagTap.add_step`: its topic, agent, layout and the flat's parts as bytes."""
    return (topic, agent, layout, flat.f64.tobytes(), flat.i64.tobytes(), flat.f32.tobytes(), bytes(flat.u8))


def step_result_row(topic: str, agent: str, reward: float, episode_return: float, terminated: bool,
                    truncated: bool, fallback: bool, action: array, info: Any) -> tuple[Any, ...]:
    """A step result for `BagTap.add_step`: StepResultWriter.pack's own fields with the applied action as
    bytes, and the info as it is where pickling keeps it exactly (a flat dict of plain values: the writer
    process makes info_json's text of it), else its JSON text already."""
    return (topic, agent, reward, episode_return, terminated, truncated, fallback, action.tobytes(),
            info if flat_plain(info) else info_json(info))


class Packers:
    """The writer process's serializers, one per (kind, agent, layout): the bytes the supervisor would have
    made (untagged: what went in-process crossed no link)."""

    def __init__(self) -> None:
        self.cache: dict[tuple[str, str, int], Any] = {}

    def pack(self, entry: tuple[Any, ...]) -> bytes:
        """`entry`: an action's (ACTION, agent, layout, sec, nanosec, episode, step, the flat's four parts as
        bytes, entropy), as `BagTap.add_action` made it."""
        agent, layout = entry[1], entry[2]
        pack = self.cache.get((ACTION, agent, layout))
        if pack is None:
            pack = self.cache[ACTION, agent, layout] = ActionWriter(agent, layout).pack
        return pack(*entry[3:7], _FlatBytes(entry[7:11]), entry[11])  # type: ignore[arg-type]

    def pack_step(self, kind: str, sec: int, nanosec: int, episode: int, step: int, row: tuple[Any, ...]) -> bytes:
        """One agent's message of a step group (`BagTap.add_step`)."""
        if kind == OBSERVATION:
            agent, layout = row[1], row[2]
            pack = self.cache.get((kind, agent, layout))
            if pack is None:
                pack = self.cache[kind, agent, layout] = ObservationWriter(agent, layout).pack
            return pack(sec, nanosec, episode, step, _FlatBytes(row[3:7]))  # type: ignore[arg-type]
        agent, info = row[1], row[8]
        pack = self.cache.get((kind, agent, 0))
        if pack is None:
            pack = self.cache[kind, agent, 0] = StepResultWriter(agent).pack
        return pack(sec, nanosec, episode, step, *row[2:7], array("d", row[7]),
                    info if type(info) is str else info_json(info))

    def unpack(self, batch: list[tuple[str, int, Any]]) -> Iterator[list[tuple[str, int, bytes]]]:
        """A batch as the bag takes it: runs of (topic, time, bytes), a run ending at each checkpoint (an
        empty run may come before one)."""
        run: list[tuple[str, int, bytes]] = []
        for topic, stamp, data in batch:
            if topic == CHECKPOINT:
                yield run
                run = []
            elif topic == GROUP:
                kind, sec, nanosec, episode, step, rows = data
                run += [(row[0], stamp, self.pack_step(kind, sec, nanosec, episode, step, row)) for row in rows]
            else:
                run.append((topic, stamp, data if type(data) is bytes else self.pack(data)))
        yield run


class _FlatBytes:
    """A Flat's four parts as bytes (f64, i64, f32, u8), as the wire's writers take a Flat: no arrays made."""

    __slots__ = ("parts",)

    def __init__(self, parts: tuple[bytes, ...]) -> None:
        self.parts = parts

    def buffers(self) -> tuple[bytes, ...]:
        return self.parts

    def sizes(self) -> tuple[int, int, int, int]:
        f64, i64, f32, u8 = self.parts
        return len(f64) >> 3, len(i64) >> 3, len(f32) >> 2, len(u8)


def main() -> int:
    """The writer process: batches from stdin into the bag until the input ends; the summary on stdout.
    Ctrl-C is for the supervisor: the writer ends when its input does, after the supervisor's last batch."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    with contextlib.suppress(OSError):  # the team's threads first: this catches up in their idle moments
        os.nice(5)
    spec = json.loads(sys.argv[1])
    bag = BagFile(Path(spec["bag"]), [tuple(t) for t in spec["topics"]])
    sys.stdout.buffer.write(READY)
    sys.stdout.flush()
    stdin = sys.stdin.buffer
    packers = Packers()
    try:
        while True:
            try:
                batch = pickle.load(stdin)
            except EOFError:
                break
            runs = packers.unpack(batch)
            bag.write_batch(next(runs))
            for run in runs:  # each after a checkpoint
                bag.checkpoint()
                bag.write_batch(run)
    finally:
        summary = bag.close()
    sys.stdout.write(json.dumps(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
