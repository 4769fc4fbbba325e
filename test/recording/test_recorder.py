"""`marl-bridge run --record`: a real rosbag2 (MCAP) directory that other readers decode."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

import pytest
from conftest import CONFIG_DIR

pytestmark = pytest.mark.ros


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict, Path]:
    out = tmp_path_factory.mktemp("run")
    bag = out / "bag"
    proc = subprocess.run([sys.executable, "-P", "-m", "marl_bridge.cli", "run", str(CONFIG_DIR / "point_team.yaml"),
                           "--episodes", "2", "--out", str(out), "--record", str(bag), "--no-progress"],
                          capture_output=True, text=True, timeout=120, env=os.environ.copy())
    assert proc.returncode == 0, proc.stderr
    return json.loads((out / "run_card.json").read_text()), bag


def test_run_card_points_at_the_bag_with_counts(recorded: tuple[dict, Path]) -> None:
    card, bag = recorded
    rec = card["recording"]
    assert rec["bag"] == str(bag) and rec["storage"] == "mcap"
    assert (bag / "metadata.yaml").exists() and list(bag.glob("*.mcap"))
    for agent in card["agents"]:
        steps = sum(ep["lengths"][agent] for ep in card["episodes"])
        assert rec["messages"][f"/team/{agent}/step_result"] == steps
        assert rec["messages"][f"/team/{agent}/action"] == steps
    assert rec["messages"]["/team/episode_summary"] == 2


def test_rosbags_reads_every_message_and_the_rewards_add_up(recorded: tuple[dict, Path]) -> None:
    from rosbags.highlevel import AnyReader

    card, bag = recorded
    returns: dict[tuple[int, str], float] = defaultdict(float)
    counts: dict[str, int] = defaultdict(int)
    with AnyReader([bag]) as reader:
        for connection, _timestamp, raw in reader.messages():
            msg = reader.deserialize(raw, connection.msgtype)
            counts[connection.topic] += 1
            if connection.msgtype == "marl_bridge/msg/StepResult":
                returns[(msg.episode, msg.agent)] += msg.reward
    assert dict(counts) == card["recording"]["messages"]
    for ep in card["episodes"]:
        for agent, ret in ep["returns"].items():
            assert returns[(ep["episode"], agent)] == pytest.approx(ret, abs=1e-9)


def test_mcap_ros2_reader_decodes_the_custom_types(recorded: tuple[dict, Path]) -> None:
    from mcap.reader import make_reader
    from mcap_ros2.decoder import DecoderFactory

    card, bag = recorded
    (path,) = bag.glob("*.mcap")
    summaries = []
    with path.open("rb") as f:
        for _schema, _channel, _message, decoded in make_reader(f, decoder_factories=[DecoderFactory()]
                                                               ).iter_decoded_messages(topics=["/team/episode_summary"]):
            summaries.append(decoded)
    assert [s.episode for s in summaries] == [0, 1]
    assert list(summaries[0].agents) == card["agents"]
    assert list(summaries[1].returns) == pytest.approx([card["episodes"][1]["returns"][a] for a in card["agents"]])


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-P", "-m", "marl_bridge.cli", *args], capture_output=True, text=True,
                          timeout=120, env=os.environ.copy())


def test_replay_reproduces_the_recorded_run(recorded: tuple[dict, Path]) -> None:
    _card, bag = recorded
    proc = _cli("replay", str(bag))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "reproduced: 2 episodes" in proc.stdout


def test_turn_based_run_records_every_turn_and_replays(tmp_path: Path) -> None:
    """tictactoe (AEC): each turn's step results reach every agent, all of them are in the bag, and
    the replay reproduces the games turn by turn."""
    bag = tmp_path / "bag"
    proc = subprocess.run([sys.executable, "-P", "-m", "marl_bridge.cli", "run", str(CONFIG_DIR / "tictactoe.yaml"),
                           "--episodes", "3", "--out", str(tmp_path), "--record", str(bag), "--no-progress"],
                          capture_output=True, text=True, timeout=120, env=os.environ.copy())
    assert proc.returncode == 0, proc.stderr
    card = json.loads((tmp_path / "run_card.json").read_text())
    assert card["env"]["api"] == "aec"
    for agent in card["agents"]:
        assert card["recording"]["messages"][f"/tictactoe/{agent}/step_result"] == sum(
            ep["results"][agent] for ep in card["episodes"])
        assert card["recording"]["messages"][f"/tictactoe/{agent}/action"] == sum(
            ep["lengths"][agent] for ep in card["episodes"])
    proc = _cli("replay", str(bag))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "reproduced: 3 episodes" in proc.stdout
