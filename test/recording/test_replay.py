"""`marl-bridge replay`: the bag alone is enough, every recorded message is checked, and a damaged bag
replays its readable part or is a clear error (exit 5), never a traceback.

One recorded run (PointTeam, 2 episodes, real DDS); each case rewrites a copy of its bag with one
message changed or dropped and names the exact divergence the replay must report."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from conftest import CONFIG_DIR

pytestmark = pytest.mark.ros
Edit = Callable[[str, Any], Any]  # (topic, decoded message) -> message to write, or None to drop it


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict, Path]:
    out = tmp_path_factory.mktemp("run")
    bag = out / "bag"
    proc = _cli("run", str(CONFIG_DIR / "point_team.yaml"), "--episodes", "2", "--out", str(out), "--record",
                str(bag), "--no-progress")
    assert proc.returncode == 0, proc.stderr
    return json.loads((out / "run_card.json").read_text()), bag


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-P", "-m", "marl_bridge.cli", *args], capture_output=True, text=True,
                          timeout=120, env=os.environ.copy())


def _rewrite(bag: Path, out: Path, edit: Edit) -> Path:
    from rosbags.highlevel import AnyReader
    from rosbags.rosbag2 import StoragePlugin, Writer

    with AnyReader([bag]) as reader, Writer(out, version=9, storage_plugin=StoragePlugin.MCAP) as writer:
        conns = {c.id: writer.add_connection(c.topic, c.msgtype, typestore=reader.typestore)
                 for c in reader.connections}
        for c, timestamp, raw in reader.messages():
            msg = edit(c.topic, reader.deserialize(raw, c.msgtype))
            if msg is not None:
                writer.write(conns[c.id], timestamp, reader.typestore.serialize_cdr(msg, c.msgtype))
    return out


def _target(card: dict) -> tuple[int, int, str]:
    agent = next(a for a, n in card["episodes"][1]["lengths"].items() if n > 4)
    return 1, 3, agent  # episode, step, agent: still live there


def _at(topic: str, msg: Any, leaf: str, key: tuple[int, int, str]) -> bool:
    return topic.endswith(f"/{leaf}") and (msg.episode, msg.step, getattr(msg, "agent", "")) == key


def _changed(field: str, change: Callable[[Any], Any], leaf: str = "step_result") -> Callable[..., Edit]:
    def make(key: tuple[int, int, str]) -> Edit:
        def edit(topic: str, msg: Any) -> Any:
            if _at(topic, msg, leaf, key):
                setattr(msg, field, change(getattr(msg, field)))
            return msg
        return edit
    return make


def _dropped(leaf: str) -> Callable[..., Edit]:
    def make(key: tuple[int, int, str]) -> Edit:
        return lambda topic, msg: None if _at(topic, msg, leaf, key) else msg
    return make


def test_the_bag_alone_replays_with_its_header(recorded: tuple[dict, Path], tmp_path: Path) -> None:
    _card, bag = recorded
    alone = tmp_path / "bag"
    shutil.copytree(bag, alone)  # no run card beside it
    proc = _cli("replay", str(alone))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "reproduced: 2 episodes" in proc.stdout and "config from the bag's run header)" in proc.stdout


@pytest.mark.parametrize(("tamper", "field", "recorded_value"), [
    (_dropped("observation"), "observation", "'missing from the bag'"),
    (_dropped("action"), "actor action", "'missing from the bag'"),
    (_changed("data_f32", lambda d: -d, leaf="action"), "applied action[0]", None),  # the actor's answer (float32)
    (_changed("data_f32", lambda d: d + 1, leaf="observation"), "observation f32[0]", None),  # in its dtype
    (_changed("action", lambda d: -d), "applied action[0]", None),  # what the env received
    # the replay lets the fallback stand in where the bag says so: the action it gives is not the one recorded
    (_changed("fallback", lambda f: not f), "applied action[0]", None),
    (_changed("info_json", lambda _j: '{"forged": 1}'), "info_json", "'{\"forged\": 1}'"),
    (_changed("episode_return", lambda r: r + 1.0), "episode_return", None),
    (_changed("reward", lambda r: r + 1.0), "reward", None),
], ids=["observation_dropped", "action_dropped", "actor_action_changed", "observation_changed",
        "applied_action_changed", "fallback_flag_flipped", "info_changed", "return_changed", "reward_changed"])
def test_every_tampered_message_is_named(recorded: tuple[dict, Path], tmp_path: Path, tamper: Callable[..., Edit],
                                         field: str, recorded_value: str | None) -> None:
    card, bag = recorded
    episode, step, agent = key = _target(card)
    tampered = _rewrite(bag, tmp_path / "bag", tamper(key))
    proc = _cli("replay", str(tampered))
    assert proc.returncode == 1, proc.stdout + proc.stderr
    expected = f"first divergence: agent {agent!r}, episode {episode}, step {step}: {field} recorded "
    assert expected + (recorded_value or "") in proc.stdout, proc.stdout


def test_a_dropped_episode_summary_or_a_short_card_is_named(recorded: tuple[dict, Path], tmp_path: Path) -> None:
    card, bag = recorded
    for episode in (0, 1):
        tampered = _rewrite(bag, tmp_path / f"bag{episode}",
                            lambda t, m, e=episode: None if t.endswith("/episode_summary") and m.episode == e else m)
        proc = _cli("replay", str(tampered))
        assert proc.returncode == 1, proc.stdout + proc.stderr
        assert f"agent '<team>', episode {episode}, step 0: episode summary recorded 'missing from the bag'" in \
            proc.stdout, proc.stdout
    short = tmp_path / "short_card.json"
    short.write_text(json.dumps({**card, "episodes": card["episodes"][:1],
                                 "totals": {**card["totals"], "episodes": 1}}))
    proc = _cli("replay", str(bag), "--card", str(short))
    assert proc.returncode == 1 and "episodes in the run card recorded 1, replayed 2" in proc.stdout, proc.stdout


def test_a_bag_whose_recorder_was_killed_replays_its_readable_part(recorded: tuple[dict, Path],
                                                                  tmp_path: Path) -> None:
    """What SIGKILL leaves: no metadata.yaml, an MCAP cut short. The finished episodes replay, and the
    unfinished one as far as the bag goes."""
    from mcap.reader import NonSeekingReader

    _card, bag = recorded
    (mcap,) = bag.glob("*.mcap")
    whole = tmp_path / "whole"
    whole.mkdir()
    shutil.copy(mcap, whole / mcap.name)  # complete MCAP, metadata.yaml missing
    proc = _cli("replay", str(whole))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "reproduced: 2 episodes" in proc.stdout
    with mcap.open("rb") as f:  # the end of the chunk that holds episode 0's summary (the recorder's checkpoint)
        end = next(f.tell() for _s, c, m in NonSeekingReader(f).iter_messages(log_time_order=False)
                   if c.topic.endswith("/episode_summary"))
    cut = tmp_path / "cut"
    cut.mkdir()
    (cut / mcap.name).write_bytes(mcap.read_bytes()[: end + 40])  # and the start of the next record
    proc = _cli("replay", str(cut))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "damaged bag, replaying its readable part" in proc.stdout, proc.stdout
    assert "reproduced: 1 episodes" in proc.stdout, proc.stdout


@pytest.mark.parametrize("make", ["empty_folder", "not_a_folder", "garbage_mcap"])
def test_an_unreadable_bag_is_exit_5_without_a_traceback(tmp_path: Path, make: str) -> None:
    bag = tmp_path / "bag"
    if make == "not_a_folder":
        bag.write_text("not a bag")
    else:
        bag.mkdir()
        if make == "garbage_mcap":
            (bag / "bag_0.mcap").write_bytes(b"\x89MCAP0\r\n" + os.urandom(200))
    proc = _cli("replay", str(bag))
    assert proc.returncode == 5, proc.stdout + proc.stderr
    assert "cannot replay" in proc.stderr and "Traceback" not in proc.stderr, proc.stderr
