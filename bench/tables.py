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


def _ci(value: float, ci: list[float]) -> str:
    return f"{value:.2f} ({ci[0]:.2f}-{ci[1]:.2f})"


def lockstep(doc: dict[str, Any]) -> list[str]:
    lines = ["| env | N | topology | direct steps/s | hand-written steps/s | hand-written raw steps/s | "
             "bridge steps/s | bridge / hand-written (95% CI) | bridge / hand raw (95% CI) | bridge / direct | "
             "bridge p50 ms | bridge p99 ms |", "|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in doc["rows"]:
        b = r["bridge"]
        lines.append(f"| {r['env']} | {r['n']} | {r['topology']} | {r['direct']['steps_per_s']:,.0f} | "
                     f"{r['hand']['steps_per_s']:,.0f} | {r['hand_raw']['steps_per_s']:,.0f} | "
                     f"{b['steps_per_s']:,.0f} | "
                     f"{_ci(r['bridge_over_hand'], r['bridge_over_hand_ci95'])} | "
                     f"{_ci(r['bridge_over_hand_raw'], r['bridge_over_hand_raw_ci95'])} | "
                     f"{r['bridge_over_direct']:.3f} | {b['p50_ms']:.2f} | {b['p99_ms']:.2f} |")
    return lines


def mujoco(doc: dict[str, Any]) -> list[str]:
    lines = ["| N | env steps/s | loop steps/s | bridge steps/s | over DDS steps/s | bridge / env (min-max) | "
             "bridge / loop | over DDS / env | bridge p99 ms |", "|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in doc["rows"]:
        b = r["bridge_over_env"]
        lines.append(f"| {r['n']} | {r['direct']['env_steps_per_s']:,.0f} | {r['direct']['loop_steps_per_s']:,.0f} | "
                     f"{r['bridge']['steps_per_s']:,.0f} | {r['dds']['steps_per_s']:,.0f} | "
                     f"{b['median']:.2f} ({b['min']:.2f}-{b['max']:.2f}) | {r['bridge_over_loop']['median']:.2f} | "
                     f"{r['dds_over_env']['median']:.2f} | {r['bridge']['p99_ms']:.2f} |")
    return lines


def realtime(doc: dict[str, Any]) -> list[str]:
    lines = ["| topology | N | Hz | deadline ms | joint steps | agent-steps | deadline misses | share | p50 ms | "
             "p99 ms | max ms |", "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in [*doc["single"], *doc["multiprocess"]]:
        deadline = r.get("deadline_ms", doc.get("deadline_ms"))  # per row since the period became an option
        lines.append(f"| {r['topology']} | {r['n']} | {r['rate_hz']:.0f} | {deadline:.0f} | {r['steps']:,} | "
                     f"{r['agent_steps']:,} | {r['deadline_misses']:,} | {r['miss_share']:.2%} | {r['p50_ms']:.2f} | "
                     f"{r['p99_ms']:.2f} | {r['max_ms']:.2f} |")
    return lines


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
