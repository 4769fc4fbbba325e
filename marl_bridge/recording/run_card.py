"""The run card: one JSON file per run with everything needed to judge and reproduce it.

Written atomically (temp file + rename) at the end of a run and also when a run is interrupted, so
the data of a run that failed is kept. `SCHEMA_VERSION` changes whenever a field changes meaning.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

SCHEMA_VERSION = 2  # 2: "episodes" lists the last run.card_episodes; totals, per_agent and episodes.jsonl
EPISODES_FILE = "episodes.jsonl"  # every episode record, one JSON line each, beside the card


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, float) and not math.isfinite(value):  # math's: numpy's costs 1 us a number
        return str(value)
    return value


_PLAIN = (float, int, str, bool, type(None))
_FLAT_INFO = json.JSONEncoder(sort_keys=True, allow_nan=False)  # made once: json.dumps with options makes one a call
_STRICT = json.JSONEncoder(allow_nan=False)  # fails on what _jsonable would change (numpy, NaN, objects)


def flat_plain(info: Any) -> bool:
    """A dict of text keys and plain values (most infos): JSON's C encoder and pickle take it as it is."""
    return type(info) is dict and (not info or all(type(k) is str and type(v) in _PLAIN for k, v in info.items()))


def info_json(info: Any) -> str:
    """An agent's info dict as JSON text; values JSON cannot hold become strings. A flat dict of plain
    values with text keys (most infos) is dumped as it is: the same text, without the walk (every agent,
    every step)."""
    if not info and type(info) is dict:
        return "{}"  # most infos: what the encoder makes of it
    if flat_plain(info):
        try:
            return _FLAT_INFO.encode(info)
        except ValueError:  # NaN or inf: as strings, below
            pass
    return json.dumps(_jsonable(info), default=str, sort_keys=True)


def episode_key(record: dict[str, Any]) -> tuple[Any, ...]:
    """What tells an episode record's JSON line from another's: its number, seed and length."""
    return record.get("episode"), record.get("seed"), record.get("steps")


def card_text(card: dict[str, Any], episode_lines: Mapping[tuple[Any, ...], str] | None = None) -> str:
    """A card as JSON text, cheap enough to write while the team runs: one top-level entry per line, inside
    it one line per key (a dict) or per item (a list of dicts), each value compact. Why: json's indenting
    encoder is Python; it took 70 ms for a card of 1,000 episodes, on the team's thread, every second (a
    stall no deadline survives); the C encoder does every value here. An episode record already encoded
    for episodes.jsonl is reused (`episode_lines`: `episode_key` -> its line)."""
    def item(value: Any, lines: Mapping[tuple[Any, ...], str] | None = None) -> str:
        if lines and type(value) is dict:
            line = lines.get(episode_key(value))
            if line is not None:
                return line
        try:  # plain values (most of a card) straight to the C encoder; the walk for numpy, NaN, objects
            return _STRICT.encode(value)
        except (TypeError, ValueError):
            return json.dumps(_jsonable(value), default=str)

    def entry(key: str, value: Any) -> str:
        if isinstance(value, dict) and value:
            return "{\n" + ",\n".join(f"    {json.dumps(str(k))}: {item(v)}" for k, v in value.items()) + "\n  }"
        if isinstance(value, list | tuple) and any(isinstance(v, dict) for v in value):
            lines = episode_lines if key == "episodes" else None
            return "[\n" + ",\n".join(f"    {item(v, lines)}" for v in value) + "\n  ]"
        return item(value)

    full = {"schema_version": SCHEMA_VERSION, **card}
    return "{\n" + ",\n".join(f"  {json.dumps(str(k))}: {entry(str(k), v)}" for k, v in full.items()) + "\n}\n"


def write_run_card(card: dict[str, Any], out_dir: str | Path, name: str = "run_card.json",
                   episode_lines: Mapping[tuple[Any, ...], str] | None = None) -> Path:
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    path = out / name
    fd, tmp = tempfile.mkstemp(dir=out, prefix=".run_card", suffix=".json")
    try:
        with os.fdopen(fd, "w") as f:
            f.write(card_text(card, episode_lines))
        os.replace(tmp, path)
    except BaseException:  # a full disk or a signal: no truncated temp file beside the cards already written
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    return path


class CardWriter:
    """Writes a run's card while it runs: after an episode ends (at most once per `min_interval_s`; the
    next episode's end catches up) and at the end. Each write is atomic, so the file on disk is always a
    whole card of the episodes finished by then; a write that fails (a full disk) is logged once and
    leaves the previous card in place.

    The writes happen on the team's thread, so they are kept cheap: each episode is encoded once (its
    episodes.jsonl line, reused by the card; the last `keep` of them are kept) and a card that still takes
    long is written less often (at most `duty` of the time: a write of d seconds waits d / duty)."""

    def __init__(self, out_dir: Path, card: Any, logger: Any, min_interval_s: float = 1.0,
                 clock: Any = time.monotonic, episodes_path: Path | None = None, keep: int = 1000,
                 duty: float = 0.01) -> None:
        self.out_dir, self.card, self.logger = out_dir, card, logger
        self.episodes_path = episodes_path or out_dir / EPISODES_FILE
        self.min_interval_s, self.clock = min_interval_s, clock
        self.last = -float("inf")
        self.failed = ""
        self.path: Path | None = None
        self._episodes: Any = None  # episodes.jsonl, opened (truncated) at the first episode's end
        self.episodes_failed = ""
        self.lines: dict[tuple[Any, ...], str] = {}  # episode_key -> its JSON line, the last `keep`
        self.keep, self.duty = keep, duty
        self.interval_s = min_interval_s  # grows with what a write costs

    @property
    def episodes_file(self) -> str | None:
        """The name of the file every episode record went to, None when none (or not all) could be written."""
        return self.episodes_path.name if self._episodes is not None and not self.episodes_failed else None

    def episode_ended(self, record: dict[str, Any] | None = None) -> None:
        if record is not None:
            self._stream(record)
        start = self.clock()
        if start - self.last >= self.interval_s and self.write(self.card()):
            self.interval_s = max(self.min_interval_s, (self.last - start) / self.duty)

    def _stream(self, record: dict[str, Any]) -> None:
        """One line per episode, flushed: the card lists only the last episodes of a long run."""
        line = json.dumps(_jsonable(record), default=str)
        lines = self.lines
        if isinstance(record.get("episode"), int):
            lines[episode_key(record)] = line
            while len(lines) > self.keep:
                del lines[next(iter(lines))]
        if self.episodes_failed:
            return
        try:
            if self._episodes is None:
                self.episodes_path.parent.mkdir(parents=True, exist_ok=True)
                self._episodes = self.episodes_path.open("w")
            self._episodes.write(line + "\n")
            self._episodes.flush()
        except OSError as exc:
            self.episodes_failed = str(exc)
            self.logger.error(f"cannot write {self.episodes_path}: {exc}; the lines written stay, "
                              "the card's totals and per_agent still count every episode")

    def close(self) -> None:
        if self._episodes is not None:
            with contextlib.suppress(OSError):
                self._episodes.close()

    def write(self, card: dict[str, Any]) -> bool:
        written = False
        try:
            self.path = write_run_card(card, self.out_dir, episode_lines=self.lines)
            written = True
        except OSError as exc:
            if not self.failed:
                self.logger.error(f"cannot write the run card to {self.out_dir}: {exc}; the last card written "
                                  f"({self.path or 'none yet'}) stays as it was")
            self.failed = str(exc)
        self.last = self.clock()  # when the write ended: the next waits from here
        return written


def card_episodes(card: dict[str, Any], card_dir: Path) -> list[dict[str, Any]]:
    """Every episode record of a run: the card's own list, or episodes.jsonl beside it when the card lists
    only the last ones (a ConfigError when that file is missing or short)."""
    from marl_bridge.config import ConfigError

    episodes = card.get("episodes", [])
    total = card.get("totals", {}).get("episodes", len(episodes))
    if total == len(episodes):
        return episodes
    path = card_dir / (card.get("episodes_file") or EPISODES_FILE)
    try:
        lines = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    except (OSError, ValueError) as exc:
        raise ConfigError(f"{path}: the card lists {len(episodes)} of {total} episodes and the rest cannot be "
                          f"read ({exc})") from exc
    if len(lines) < total:
        raise ConfigError(f"{path}: {len(lines)} episode lines, the card counts {total}")
    return lines[:total]


def per_agent_table(card: dict[str, Any]) -> str:
    """Plain-text table: one row per agent (mean return, mean length, fallbacks, safety events), over every
    episode of the run (the card's per_agent tallies)."""
    agents = card.get("agents", [])
    safety = card.get("safety_events", {}).get("by_agent", {})
    rows = [("agent", "policy", "mean return", "min", "max", "mean len", "fallbacks", "events")]
    for agent in agents:
        t = card["per_agent"][agent]
        rows.append((agent, card.get("policies", {}).get(agent, {}).get("policy", "?"),
                     _num(t["return_mean"], "{:.3f}"), _num(t["return_min"], "{:.3f}"),
                     _num(t["return_max"], "{:.3f}"), _num(t["length_mean"], "{:.1f}"), str(t["fallbacks"]),
                     str(sum(safety.get(agent, {}).values()))))
    return format_table(rows, text_columns=2)


def _num(value: float | None, fmt: str) -> str:
    return fmt.format(value) if value is not None else "-"


def format_table(rows: list[tuple[str, ...]], text_columns: int) -> str:
    """Header row, a rule, then rows; the first `text_columns` columns left-aligned, numbers right."""
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(c.ljust(w) if i < text_columns else c.rjust(w)
                       for i, (c, w) in enumerate(zip(r, widths, strict=True))) for r in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)
