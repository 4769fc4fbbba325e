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
