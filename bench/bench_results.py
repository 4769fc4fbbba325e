"""The one writer of benchmark results: every bench's JSON starts with the same head (which bench, when,
the commit, the machine), is written to bench/results/<name>-latest.json (or the name a README table
reads) plus a dated copy, so results of different runs and machines can be put side by side."""

from __future__ import annotations

import json
import os
import platform
import statistics
import subprocess
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "bench" / "results"


def commit() -> str:
    """Short hash of HEAD, with "-dirty" when the working tree has uncommitted changes."""
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True, text=True,
                              check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=REPO,
                               capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return f"{head}-dirty" if dirty else head


def machine() -> dict[str, Any]:
    return {"platform": platform.platform(), "cpus": os.cpu_count(), "python": platform.python_version(),
            "processor": platform.processor() or platform.machine()}


def spread(values: list[float], prefix: str = "") -> dict[str, float]:
    """Median, min and max of per-round values (keys prefixed, e.g. "ratio_median"): how every bench
    reports a run-to-run spread."""
    return {f"{prefix}median": statistics.median(values), f"{prefix}min": min(values), f"{prefix}max": max(values)}


def write(bench: str, result: dict[str, Any], latest: str = "") -> Path:
    """Write `result` under the common head; returns the path of the latest file."""
    doc = {"bench": bench, "when": time.strftime("%Y-%m-%dT%H:%M:%S"), "commit": commit(), "machine": machine(),
           **result}
    RESULTS.mkdir(parents=True, exist_ok=True)
    text = json.dumps(doc, indent=1, default=str)
    path = RESULTS / (latest or f"{bench}-latest.json")
    path.write_text(text)
    (RESULTS / f"{bench}-{time.strftime('%Y%m%d-%H%M%S')}.json").write_text(text)
    return path
