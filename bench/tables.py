"""The README's benchmark tables, printed as markdown from the results files (bench/results/), so every
table in the README is what a results file says.

    python -P bench/tables.py lockstep|mujoco|realtime [--file bench/results/...json]
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).resolve().parent / "results"


Column = tuple[str, str, Callable[[dict[str, Any]], str]]  # header, alignment ("---" or "---:"), cell


def _ci(value: float, ci: list[float]) -> str:
    return f"{value:.2f} ({ci[0]:.2f}-{ci[1]:.2f})"


def _spread(s: dict[str, float]) -> str:
    return f"{s['median']:.2f} ({s['min']:.2f}-{s['max']:.2f})"


def _render(columns: list[Column], rows: list[dict[str, Any]]) -> list[str]:
    return ["| " + " | ".join(h for h, _a, _c in columns) + " |", "|" + "|".join(a for _h, a, _c in columns) + "|",
            *("| " + " | ".join(cell(r) for _h, _a, cell in columns) + " |" for r in rows)]


R = "---:"
LOCKSTEP: list[Column] = [
    ("env", "---", lambda r: r["env"]), ("N", R, lambda r: str(r["n"])), ("topology", "---", lambda r: r["topology"]),
    ("direct steps/s", R, lambda r: f"{r['direct']['steps_per_s']:,.0f}"),
    ("hand-written steps/s", R, lambda r: f"{r['hand']['steps_per_s']:,.0f}"),
    ("hand-written raw steps/s", R, lambda r: f"{r['hand_raw']['steps_per_s']:,.0f}"),
    ("bridge steps/s", R, lambda r: f"{r['bridge']['steps_per_s']:,.0f}"),
    ("bridge / hand-written (95% CI)", R, lambda r: _ci(r["bridge_over_hand"], r["bridge_over_hand_ci95"])),
    ("bridge / hand raw (95% CI)", R, lambda r: _ci(r["bridge_over_hand_raw"], r["bridge_over_hand_raw_ci95"])),
    ("bridge / direct", R, lambda r: f"{r['bridge_over_direct']:.3f}"),
    ("bridge p50 ms", R, lambda r: f"{r['bridge']['p50_ms']:.2f}"),
    ("bridge p99 ms", R, lambda r: f"{r['bridge']['p99_ms']:.2f}")]
MUJOCO: list[Column] = [
    ("N", R, lambda r: str(r["n"])), ("env steps/s", R, lambda r: f"{r['direct']['env_steps_per_s']:,.0f}"),
    ("loop steps/s", R, lambda r: f"{r['direct']['loop_steps_per_s']:,.0f}"),
    ("bridge steps/s", R, lambda r: f"{r['bridge']['steps_per_s']:,.0f}"),
    ("over DDS steps/s", R, lambda r: f"{r['dds']['steps_per_s']:,.0f}"),
    ("bridge / env (min-max)", R, lambda r: _spread(r["bridge_over_env"])),
    ("bridge / loop", R, lambda r: f"{r['bridge_over_loop']['median']:.2f}"),
    ("over DDS / env", R, lambda r: f"{r['dds_over_env']['median']:.2f}"),
    ("bridge p99 ms", R, lambda r: f"{r['bridge']['p99_ms']:.2f}")]
REALTIME: list[Column] = [
    ("topology", "---", lambda r: r["topology"]), ("N", R, lambda r: str(r["n"])),
    ("Hz", R, lambda r: f"{r['rate_hz']:.0f}"), ("deadline ms", R, lambda r: f"{r['deadline_ms']:.0f}"),
    ("joint steps", R, lambda r: f"{r['steps']:,}"), ("agent-steps", R, lambda r: f"{r['agent_steps']:,}"),
    ("deadline misses", R, lambda r: f"{r['deadline_misses']:,}"), ("share", R, lambda r: f"{r['miss_share']:.2%}"),
    ("late steps", R, lambda r: f"{r['late_steps']:,}" if "late_steps" in r else "-"),
    ("p50 ms", R, lambda r: f"{r['p50_ms']:.2f}"), ("p99 ms", R, lambda r: f"{r['p99_ms']:.2f}"),
    ("max ms", R, lambda r: f"{r['max_ms']:.2f}"),
    ("window cpu p50 ms", R, lambda r: f"{r['window_thread_cpu_ms']['p50']:.2f}" if r.get("window_thread_cpu_ms")
     else "-"),
    ("machine paused (longest ms)", R, lambda r: (f"{r['machine']['machine_pauses']} "
                                                  f"({r['machine']['longest_machine_pause_ms']:.1f})"
                                                  if r.get("machine") else "-")),
    ("late steps: computing / queued / machine stopped", R,
     lambda r: " / ".join(str(v) for v in r["late_step_causes"].values()) if r.get("late_step_causes") else "-")]


def lockstep(doc: dict[str, Any]) -> list[str]:
    return _render(LOCKSTEP, doc["rows"])


def mujoco(doc: dict[str, Any]) -> list[str]:
    return _render(MUJOCO, doc["rows"])


def realtime(doc: dict[str, Any]) -> list[str]:
    # the deadline is per row since the control period became an option (earlier files: one for all)
    rows = [{"deadline_ms": doc.get("deadline_ms"), **r} for r in [*doc["single"], *doc["multiprocess"]]]
    return _render(REALTIME, rows)


TABLES: dict[str, tuple[str, Callable[[dict[str, Any]], list[str]]]] = {
    "lockstep": ("latest.json", lockstep), "mujoco": ("mujoco-latest.json", mujoco),
    "realtime": ("realtime-latest.json", realtime)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("table", choices=sorted(TABLES))
    parser.add_argument("--file", type=Path, help="a results file (default: the bench's latest)")
    args = parser.parse_args()
    name, render = TABLES[args.table]
    path = args.file or RESULTS / name
    doc = json.loads(path.read_text())
    print(f"<!-- {path.name}: {doc.get('bench', args.table)}, {doc.get('when')}, commit {doc.get('commit')} -->")
    print("\n".join(render(doc)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
