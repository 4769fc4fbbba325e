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
