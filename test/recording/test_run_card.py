"""The run card file: written atomically, and nothing half-written left behind when writing fails."""

from __future__ import annotations

from pathlib import Path

import pytest


def test_a_run_card_that_cannot_be_written_leaves_no_temp_file(tmp_path: Path) -> None:
    from marl_bridge.recording.run_card import write_run_card

    class Unserialisable:
        def __str__(self) -> str:
            raise OSError(28, "No space left on device")  # what a full disk raises mid-write

    with pytest.raises(OSError, match="No space left"):
        write_run_card({"episodes": [Unserialisable()]}, tmp_path)
    assert list(tmp_path.iterdir()) == []


class Log:
    """A logger that keeps its errors."""

    def __init__(self) -> None:
        self.errors: list[str] = []

    def error(self, text: str) -> None:
        self.errors.append(text)


def test_every_episode_streams_to_episodes_jsonl_and_the_card_reads_them_back(tmp_path: Path) -> None:
    import json

    from marl_bridge.recording.run_card import CardWriter, card_episodes

    records = [{"episode": i, "seed": 10 + i, "returns": {"a": float(i)}} for i in range(5)]
    card = {"episodes": records[-2:], "totals": {"episodes": 5}}
    log = Log()
    writer = CardWriter(tmp_path, lambda: card, log, min_interval_s=1e9)
    for rec in records:
        writer.episode_ended(rec)
    writer.close()
    card["episodes_file"] = writer.episodes_file
    assert card["episodes_file"] == "episodes.jsonl" and not log.errors
    lines = (tmp_path / "episodes.jsonl").read_text().splitlines()
    assert [json.loads(line) for line in lines] == records
    assert card_episodes(card, tmp_path) == records  # the card lists 2, the file has all 5
    (tmp_path / "episodes.jsonl").write_text("\n".join(lines[:3]))
    from marl_bridge.config import ConfigError
    with pytest.raises(ConfigError, match="3 episode lines, the card counts 5"):
        card_episodes(card, tmp_path)


def test_a_full_disk_while_streaming_episodes_is_one_error_and_the_run_goes_on(tmp_path: Path) -> None:
    from marl_bridge.recording.run_card import CardWriter

    log = Log()
    writer = CardWriter(tmp_path, lambda: {}, log, min_interval_s=1e9,
                        episodes_path=Path("/dev/full"))  # every write: ENOSPC, as on a full disk
    for i in range(3):
        writer.episode_ended({"episode": i})
    assert len(log.errors) == 1 and "No space left" in log.errors[0]
    assert writer.episodes_file is None  # the card then says the file is not whole


def test_the_card_text_reads_back_as_the_card_with_each_episode_line_written_once() -> None:
    """card_text lays the card out for the C encoder; what it holds is what the card holds, numpy values,
    NaN and objects as the walk makes them, and the episodes' lines taken as episodes.jsonl has them
    (only for the card's own `episodes`: an e-stop that names an episode stays itself)."""
    import json

    import numpy as np

    from marl_bridge.recording.run_card import SCHEMA_VERSION, _jsonable, card_text

    card = {"status": "complete", "agents": ["a", "b"], "returns": {"a": [1.5, float("nan")], "b": [np.float32(2)]},
            "per_agent": {"a": {"return_mean": np.float64(0.25)}, "b": {}}, "empty": {}, "none": None,
            "episodes": [{"episode": 1, "seed": 5}, {"episode": 2, "seed": 6}],
            "estops": [{"episode": 1, "why": "operator"}], "spaces": {"a": (1, 2)}, "odd": {3: object()}}
    lines = {(1, 5, None): json.dumps({"episode": 1, "seed": 5, "from": "episodes.jsonl"}),
             (2, 99, None): json.dumps({"episode": 2, "seed": 99})}  # another run's episode 2: not this one
    text = card_text(card, lines)
    expected = json.loads(json.dumps(_jsonable({"schema_version": SCHEMA_VERSION, **card}), default=str))
    expected["episodes"][0]["from"] = "episodes.jsonl"  # the line, not the record encoded again
    assert json.loads(text) == expected
    assert json.loads(card_text(card))["episodes"] == [{"episode": 1, "seed": 5}, {"episode": 2, "seed": 6}]
    assert '    {"episode": 2, "seed": 6}' in text.splitlines()  # one line per episode, for the eye and for grep


def test_a_card_that_takes_long_to_write_is_written_less_often() -> None:
    """The card is written on the team's thread: a write of d seconds is followed by one only after
    d / duty (fake clock, exact: binary fractions), and never more often than min_interval_s."""
    import tempfile

    from marl_bridge.recording.run_card import CardWriter

    now, cost = [0.0], [2.0**-9]

    def card() -> dict:
        now[0] += cost[0]  # building and writing the card takes this long
        return {"episodes": []}

    with tempfile.TemporaryDirectory() as tmp:
        writer = CardWriter(Path(tmp), card, Log(), min_interval_s=1.0, clock=lambda: now[0], duty=2.0**-7)
        writer.episode_ended()
        assert (writer.interval_s, writer.last) == (1.0, 2.0**-9)  # 1/4 s would do: 1 s is the floor
        now[0], cost[0] = 2.0, 2.0**-4
        writer.episode_ended()  # due; 1/16 s this time, so the next one waits 8 s
        assert (writer.interval_s, writer.last) == (8.0, 2.0625)
        now[0] = 2.0625 + 7.5
        writer.episode_ended()
        assert writer.last == 2.0625  # not yet
        now[0] = 2.0625 + 8.0
        writer.episode_ended()
        assert writer.last == 10.125
