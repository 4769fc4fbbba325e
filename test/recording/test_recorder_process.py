"""The recorder as its own process: the supervisor waits for it (required_listeners), SIGTERM closes
the bag cleanly, and after SIGKILL the finished episodes are still readable from the MCAP file."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from conftest import CONFIG_DIR

pytestmark = pytest.mark.ros
CLI = [sys.executable, "-P", "-m", "marl_bridge.cli"]


def _config(tmp_path: Path, team: str) -> Path:
    """A team name of its own: a recorder killed by another test lingers in DDS discovery for a while, and
    its stale subscriptions must not count as this test's listener."""
    path = tmp_path / "team.yaml"
    text = (CONFIG_DIR / "point_team.yaml").read_text()
    assert "      max_steps: 0\n" in text and "      team: team\n" in text
    path.write_text(text.replace("      max_steps: 0\n", "      max_steps: 0\n      required_listeners: 1\n")
                    .replace("      team: team\n", f"      team: {team}\n"))
    return path


def _record_then_run(tmp_path: Path, team: str) -> tuple[subprocess.Popen[str], Path, Path]:
    cfg = _config(tmp_path, f"{team}_{os.getpid()}")
    bag = tmp_path / "bag"
    env = {**os.environ, "RCUTILS_LOGGING_BUFFERED_STREAM": "0"}
    recorder = subprocess.Popen([*CLI, "record", "--config", str(cfg), "--out", str(bag), "--ros-args",
                                 "--log-level", "INFO"], env=env, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, text=True)
    run = subprocess.run([*CLI, "run", str(cfg), "--episodes", "2", "--out", str(tmp_path / "out"), "--no-progress"],
                         capture_output=True, text=True, timeout=120, env=os.environ.copy())
    assert run.returncode == 0, run.stderr
    assert recorder.stdout is not None
    watchdog = threading.Timer(60, recorder.kill)  # a silent recorder ends the wait below, not the suite
    watchdog.start()
    seen: list[str] = []
    try:
        for line in recorder.stdout:  # both episode summaries are on disk once checkpoint 2 is logged
            seen.append(line)
            if "checkpoint 2:" in line:
                break
        else:
            pytest.fail(f"recorder ended without a second checkpoint (rc {recorder.wait()}); it said:\n"
                        + "".join(seen) + "\nthe run said:\n" + run.stderr[-3000:])
    finally:
        watchdog.cancel()
    return recorder, bag, tmp_path / "out" / "run_card.json"


def test_sigterm_closes_the_bag_and_it_replays(tmp_path: Path) -> None:
    recorder, bag, card = _record_then_run(tmp_path, "sigterm")
    recorder.send_signal(signal.SIGTERM)
    assert recorder.wait(timeout=30) == 0
    assert (bag / "metadata.yaml").exists()
    replay = subprocess.run([*CLI, "replay", str(bag), "--card", str(card)], capture_output=True, text=True,
                            timeout=120, env=os.environ.copy())
    assert replay.returncode == 0, replay.stdout + replay.stderr
    assert "reproduced: 2 episodes" in replay.stdout


def test_sigkill_keeps_the_finished_episodes_readable_by_a_streaming_reader(tmp_path: Path) -> None:
    from mcap.exceptions import EndOfFile
    from mcap.reader import NonSeekingReader
    from mcap_ros2.decoder import DecoderFactory

    recorder, bag, _card = _record_then_run(tmp_path, "sigkill")
    recorder.kill()
    recorder.wait(timeout=30)
    assert not (bag / "metadata.yaml").exists()  # written only by a clean close: what SIGKILL loses
    (mcap_file,) = bag.glob("*.mcap")
    episodes = []
    with mcap_file.open("rb") as f:  # no footer: read it as a stream, record by record
        reader = NonSeekingReader(f, decoder_factories=[DecoderFactory()])
        with pytest.raises(EndOfFile):  # where the summary and footer would have been
            for _schema, channel, _message, decoded in reader.iter_decoded_messages(log_time_order=False):
                if channel.topic.endswith("/episode_summary"):
                    episodes.append(decoded.episode)
    assert episodes == [0, 1]
