"""The run card: one JSON file per run with everything needed to judge and reproduce it.

Written atomically (temp file + rename) at the end of a run and also when a run is interrupted, so
the data of a run that failed is kept. `SCHEMA_VERSION` changes whenever a field changes meaning.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

SCHEMA_VERSION = 1


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, float) and not np.isfinite(value):
        return str(value)
    return value


def info_json(info: Any) -> str:
    """An agent's info dict as JSON text; values JSON cannot hold become strings."""
    return json.dumps(_jsonable(info), default=str, sort_keys=True)


def write_run_card(card: dict[str, Any], out_dir: str | Path, name: str = "run_card.json") -> Path:
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    path = out / name
    fd, tmp = tempfile.mkstemp(dir=out, prefix=".run_card", suffix=".json")
    try:
        with os.fdopen(fd, "w") as f:
            json.dump(_jsonable({"schema_version": SCHEMA_VERSION, **card}), f, indent=2, default=str)
            f.write("\n")
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
    leaves the previous card in place."""

    def __init__(self, out_dir: Path, card: Any, logger: Any, min_interval_s: float = 1.0,
                 clock: Any = time.monotonic) -> None:
        self.out_dir, self.card, self.logger = out_dir, card, logger
        self.min_interval_s, self.clock = min_interval_s, clock
        self.last = -float("inf")
        self.failed = ""
        self.path: Path | None = None

    def episode_ended(self) -> None:
        if self.clock() - self.last >= self.min_interval_s:
            self.write(self.card())

    def write(self, card: dict[str, Any]) -> bool:
        self.last = self.clock()
        try:
            self.path = write_run_card(card, self.out_dir)
        except OSError as exc:
            if not self.failed:
                self.logger.error(f"cannot write the run card to {self.out_dir}: {exc}; the last card written "
                                  f"({self.path or 'none yet'}) stays as it was")
            self.failed = str(exc)
            return False
        return True


def per_agent_table(card: dict[str, Any]) -> str:
    """Plain-text table: one row per agent (mean return, mean length, fallbacks, safety events)."""
    episodes = card.get("episodes", [])
    agents = card.get("agents", [])
    safety = card.get("safety_events", {}).get("by_agent", {})
    rows = [("agent", "policy", "mean return", "min", "max", "mean len", "fallbacks", "events")]
    for agent in agents:
        rets = [ep["returns"][agent] for ep in episodes if agent in ep["returns"]]
        lens = [ep["lengths"][agent] for ep in episodes if agent in ep["lengths"]]
        fb = sum(ep["fallbacks"].get(agent, 0) for ep in episodes)
        ev = sum(safety.get(agent, {}).values())
        rows.append((agent, card.get("policies", {}).get(agent, {}).get("policy", "?"),
                     f"{np.mean(rets):.3f}" if rets else "-", f"{min(rets):.3f}" if rets else "-",
                     f"{max(rets):.3f}" if rets else "-", f"{np.mean(lens):.1f}" if lens else "-",
                     str(fb), str(ev)))
    return format_table(rows, text_columns=2)


def format_table(rows: list[tuple[str, ...]], text_columns: int) -> str:
    """Header row, a rule, then rows; the first `text_columns` columns left-aligned, numbers right."""
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(c.ljust(w) if i < text_columns else c.rjust(w)
                       for i, (c, w) in enumerate(zip(r, widths, strict=True))) for r in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)
