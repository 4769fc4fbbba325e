"""The tap's deferred serialization (recording/tap.py): what the supervisor hands over as fields, the
writer process turns into the bytes the supervisor would have made, through the pipe's pickling."""

from __future__ import annotations

import pickle
import select
from array import array
from pathlib import Path

from marl_bridge.codec import Flat
from marl_bridge.nodes.wire import ActionWriter, ObservationWriter, Parsed, StepResultWriter, parse_action
from marl_bridge.recording.run_card import info_json
from marl_bridge.recording.tap import (
    OBSERVATION,
    STEP_RESULT,
    BagFile,
    BagTap,
    Packers,
    observation_row,
    step_result_row,
)


class _Collecting(BagTap):
    """A BagTap without a writer process: batches are pickled as the pipe would carry them."""

    def __init__(self) -> None:
        self.batch, self.lost, self.clock_ns, self.messages = [], "", lambda: 7, 0
        self.sent: list[tuple[str, int, object]] = []
        self.flushed: list[int] = []  # messages per hand-over

    def flush(self) -> bool:
        self.sent += pickle.loads(pickle.dumps(self.batch, protocol=pickle.HIGHEST_PROTOCOL))
        self.flushed.append(self.messages)
        self.batch, self.messages = [], 0
        return True


def _flat() -> Flat:
    return Flat(f64=array("d", [1.5, -2.25]), i64=array("q", [2**62]), f32=array("f", [0.125]), u8=b"\x00\xff\x07")


def test_the_writer_process_makes_the_bytes_the_supervisor_would_have() -> None:
    tap, flat = _Collecting(), _flat()
    other = Flat(f64=array("d", [0.25]))
    tap.add_step(OBSERVATION, 10, 20, 2, 5, [observation_row("/t/a/observation", "robot_1", 3, flat),
                                             observation_row("/t/b/observation", "robot_2", 1, other)])
    action = Parsed(11, 21, "robot_1", 2, 5, 4, flat, 0.5)
    tap.add_action("/t/a/action", action)
    info = {"k": 1, "x": float("nan"), "s": "text"}  # plain: travels as the dict, made JSON by the writer
    odd = {"arr": array("d", [1.0]), 3: None}  # not plain: travels as its JSON text
    fields = (-0.5, 3.25, False, True, False, array("d", [0.1, 0.2]))
    tap.add_step(STEP_RESULT, 12, 22, 2, 5, [step_result_row("/t/a/step_result", "robot_1", *fields, info),
                                             step_result_row("/t/b/step_result", "robot_2", *fields, {}),
                                             step_result_row("/t/c/step_result", "robot_3", *fields, odd)])
    tap.add("/t/a/raw", b"\x00\x01\x00\x00raw")
    tap.checkpoint()
    tap.add("/t/a/raw", b"\x00\x01\x00\x00two")
    tap.flush()
    runs = list(Packers().unpack(tap.sent))  # as the writer process takes the batches: a run per checkpoint
    assert [[(t, s) for t, s, _ in run] for run in runs] == [
        [("/t/a/observation", 7), ("/t/b/observation", 7), ("/t/a/action", 7), ("/t/a/step_result", 7),
         ("/t/b/step_result", 7), ("/t/c/step_result", 7), ("/t/a/raw", 7)], [("/t/a/raw", 7)]]
    raw = [data for _t, _s, data in runs[0]]
    assert raw[0] == ObservationWriter("robot_1", 3).pack(10, 20, 2, 5, flat)
    assert raw[1] == ObservationWriter("robot_2", 1).pack(10, 20, 2, 5, other)
    assert raw[2] == ActionWriter("robot_1", 4).pack(11, 21, 2, 5, flat, 0.5)
    assert raw[3] == StepResultWriter("robot_1").pack(12, 22, 2, 5, *fields, info_json(info))
    assert raw[4] == StepResultWriter("robot_2").pack(12, 22, 2, 5, *fields, "{}")
    assert raw[5] == StepResultWriter("robot_3").pack(12, 22, 2, 5, *fields, info_json(odd))
    assert raw[6] == b"\x00\x01\x00\x00raw" and runs[1][0][2] == b"\x00\x01\x00\x00two"
    back = parse_action(raw[2])  # and it reads back whole
    assert (back.flat, back.entropy, back.counter, back.tag) == (flat, 0.5, 0, b"")


def test_a_batch_goes_to_the_writer_every_tap_batch_messages_a_group_counted_by_its_messages() -> None:
    from marl_bridge.recording.tap import TAP_BATCH

    tap, flat = _Collecting(), _flat()
    rows = [observation_row("/t/a/observation", "robot_1", 3, flat)] * 4
    steps = 0
    while not tap.flushed:  # a step: a group of four observations, four raw messages
        tap.add_step(OBSERVATION, 1, 2, 0, steps, rows)
        for _ in range(4):
            tap.add("/t/a/raw", b"\x00\x01\x00\x00")
        steps += 1
    assert tap.flushed == [TAP_BATCH] and steps == TAP_BATCH // 8
    assert len(tap.sent) == 5 * steps  # entries: one per group, one per raw message


def test_a_batch_writes_the_bag_rosbags_would_write_message_by_message(tmp_path: Path) -> None:
    """BagFile.write_batch appends to rosbags' open chunk itself: the MCAP file and metadata.yaml must be
    byte for byte those of rosbags' own write, across a chunk boundary (1 MiB) and a checkpoint."""
    topics = [("/t/robot_0/observation", "marl_bridge/msg/Observation"),
              ("/t/robot_0/action", "marl_bridge/msg/Action")]
    entries = [(topics[i % 2][0], 1_000 + (i * 7919) % 5_000, bytes([i % 251]) * (50 + (i * 31) % 4_000))
               for i in range(900)]  # about 1.8 MB: the first chunk closes on the way; stamps out of order
    one, batch = BagFile(tmp_path / "one" / "bag", topics), BagFile(tmp_path / "batch" / "bag", topics)
    for topic, stamp, data in entries[:500]:
        one.write(topic, stamp, data)
    one.checkpoint()
    for topic, stamp, data in entries[500:]:
        one.write(topic, stamp, data)
    batch.write_batch(entries[:500])
    batch.checkpoint()
    batch.write_batch(entries[500:])
    assert one.close()["messages"] == batch.close()["messages"] == {t: 450 for t, _ in topics}
    for name in ("bag.mcap", "metadata.yaml"):  # the same name in two places: the same bytes
        assert (tmp_path / "batch" / "bag" / name).read_bytes() == (tmp_path / "one" / "bag" / name).read_bytes()


def test_the_writer_says_when_the_bag_is_open_and_its_summary_still_reads(tmp_path: Path) -> None:
    """The supervisor starts the run only once its writer process opened the bag (READY on the writer's
    output); the summary after it reads the same whether READY was taken first or not."""
    topics = [("/t/robot_0/observation", "marl_bridge/msg/Observation")]
    first = BagTap(tmp_path / "a", topics)
    assert select.select([first.proc.stdout], [], [], 60)[0]  # the writer's first line is there
    assert first.ready() and first.ready()  # read once, then remembered
    first.add_step(OBSERVATION, 1, 2, 0, 0, [observation_row(topics[0][0], "robot_0", 3, _flat())])
    assert first.close()["messages"] == {topics[0][0]: 1}
    second = BagTap(tmp_path / "b", topics)  # closed without anyone asking: READY is still in its output
    second.add_step(OBSERVATION, 1, 2, 0, 0, [observation_row(topics[0][0], "robot_0", 3, _flat())])
    assert second.close()["messages"] == {topics[0][0]: 1}
