"""A recorder that dies mid-run is noticed: a recorder_lost event, and the run card says where its bag is
and where it ends; the run itself goes on."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from conftest import CONFIG_DIR
from rclpy.experimental import EventsExecutor
from rclpy.node import Node
from rclpy.task import Future
from std_msgs.msg import String

from marl_bridge.msg import EpisodeSummary, SafetyEvent
from marl_bridge.nodes.spin import ros_session, spin_until
from marl_bridge.nodes.topics import EVENTS_QOS, LATCHED_QOS, STREAM_QOS, team_topic

pytestmark = pytest.mark.ros


def _cli(*args: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-P", "-m", "marl_bridge.cli", *args], env=os.environ.copy(),
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


@contextlib.contextmanager
def _watching(name: str, setup: Callable[[Node], None]) -> Iterator[Callable[[Future], bool]]:
    """A listener node set up by `setup`, spun on demand: yields spin(future) -> whether it completed
    (within 120 s in all)."""
    with ros_session([]) as stop:
        watcher = Node(name)
        setup(watcher)
        executor = EventsExecutor()
        executor.add_node(watcher)
        give_up = threading.Timer(120.0, stop.set)
        give_up.start()
        try:
            yield lambda future: spin_until(executor, future, stop)
        finally:
            give_up.cancel()
            executor.remove_node(watcher)
            watcher.destroy_node()
            executor.shutdown()


def test_a_killed_recorder_is_an_event_and_on_the_card(tmp_path: Path) -> None:
    config = CONFIG_DIR / "mujoco_pursuit.yaml"
    recorder = _cli("record", "--config", str(config), "--out", str(tmp_path / "bag"))
    run = _cli("run", str(config), "--episodes", "100000", "--out", str(tmp_path / "out"), "--no-progress")
    announced, lost = Future(), Future()
    card_file = tmp_path / "out" / "run_card.json"

    def setup(watcher: Node) -> None:
        watcher.create_subscription(String, team_topic("pursuit", "recorder"),
                                    lambda m: announced.done() or announced.set_result(json.loads(m.data)),
                                    LATCHED_QOS)
        watcher.create_subscription(SafetyEvent, team_topic("pursuit", "safety_events"),
                                    lambda m: m.kind == "recorder_lost" and not lost.done() and lost.set_result(m),
                                    EVENTS_QOS)

        def check_card() -> None:  # the supervisor knows of the recorder once its card (rewritten as the run
            with contextlib.suppress(OSError, ValueError):  # goes) names the bag: checked on the executor
                if json.loads(card_file.read_text()).get("recording") and not known.done():
                    known.set_result(True)
        watcher.create_timer(0.05, check_card)
    known: Future = Future()
    try:
        with _watching("recorder_watch", setup) as spin:
            assert spin(announced), "the recorder never announced itself"
            assert spin(known), "the supervisor never named the recorder"
            recorder.send_signal(signal.SIGKILL)  # no chance to close its bag
            assert spin(lost), "the supervisor never noticed the recorder leave"
        run.send_signal(signal.SIGINT)
        assert run.wait(timeout=60) == 130
    finally:
        for proc in (recorder, run):
            if proc.poll() is None:
                proc.kill()
            proc.wait()
    assert announced.result()["bag"] == str((tmp_path / "bag").resolve())
    assert "recorder /pursuit/recorder left" in lost.result().detail
    card = json.loads((tmp_path / "out" / "run_card.json").read_text())
    assert card["recording"]["bag"] == str((tmp_path / "bag").resolve())
    assert card["recording"]["recorder"] == "/pursuit/recorder"
    (gone,) = card["recording"]["lost"]
    assert gone["node"] == "/pursuit/recorder" and gone["episode"] >= 0
    assert card["safety_events"]["by_agent"]["<team>"]["recorder_lost"] == 1


def _children(pid: int) -> list[tuple[int, str]]:
    out = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError):
            if int(stat.read_text().rsplit(")", 1)[1].split()[1]) == pid:
                out.append((int(stat.parent.name), (stat.parent / "cmdline").read_bytes().decode(errors="replace")))
    return out


def test_run_record_whose_bag_writer_dies_says_so_and_goes_on(tmp_path: Path) -> None:
    """`run --record` records from the supervisor through a writer process: SIGKILL that process mid-run and
    the run reports recorder_lost, keeps going, and its cut bag still replays what reached the disk."""
    config = CONFIG_DIR / "mujoco_pursuit.yaml"
    run = _cli("run", str(config), "--episodes", "100000", "--out", str(tmp_path / "out"), "--no-progress",
               "--record", str(tmp_path / "bag"))
    summaries, lost = Future(), Future()
    seen = [0]

    def on_summary(_msg: object) -> None:
        seen[0] += 1
        if seen[0] >= 3 and not summaries.done():  # a few episodes on disk (checkpointed after each summary)
            summaries.set_result(True)
    def setup(watcher: Node) -> None:
        watcher.create_subscription(EpisodeSummary, team_topic("pursuit", "episode_summary"), on_summary,
                                    STREAM_QOS)
        watcher.create_subscription(SafetyEvent, team_topic("pursuit", "safety_events"),
                                    lambda m: m.kind == "recorder_lost" and not lost.done() and lost.set_result(m),
                                    EVENTS_QOS)
    try:
        with _watching("writer_watch", setup) as spin:
            assert spin(summaries), "no episode ended"
            (writer,) = [pid for pid, cmd in _children(run.pid) if "marl_bridge.recording.tap" in cmd]
            os.kill(writer, signal.SIGKILL)
            assert spin(lost), "the supervisor never noticed its bag writer die"
        run.send_signal(signal.SIGINT)
        assert run.wait(timeout=60) == 130
    finally:
        if run.poll() is None:
            run.kill()
        run.wait()
    card = json.loads((tmp_path / "out" / "run_card.json").read_text())
    assert card["recording"]["lost"] and "gone" in card["recording"]["writer_lost"]
    assert card["safety_events"]["by_agent"]["<team>"]["recorder_lost"] == 1
    replay = subprocess.run([sys.executable, "-P", "-m", "marl_bridge.cli", "replay", str(tmp_path / "bag")],
                            capture_output=True, text=True, timeout=120, env=os.environ.copy())
    assert replay.returncode == 0 and "damaged bag, replaying its readable part" in replay.stdout, replay.stdout
