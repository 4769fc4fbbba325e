"""Memory of a long run: bytes the team core keeps per joint step (the issue measured ~200 bytes/step,
94 -> 230 MB over 756k steps, before latencies folded into histograms and episodes streamed to disk).

The core (TeamRun) runs PointTeam in lockstep with a fake clock, every agent answering at once (no DDS:
what grows is the core's own bookkeeping, and nothing else runs). tracemalloc samples what is still
allocated every 10,000 steps: bounded memory means the peak of the last third is no higher than the peak
of the first third (latencies fold every 65,536 steps, so the samples saw-tooth below a ceiling).
Results: bench/results/memory-latest.json.
"""

from __future__ import annotations

import argparse
import dataclasses
import gc
import sys
import tracemalloc
from array import array
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_results import write

from marl_bridge.codec import Flat
from marl_bridge.config import load
from marl_bridge.envs.team import build_team
from marl_bridge.nodes.wire import Parsed
from marl_bridge.team import FakeClock, TeamRun
from marl_bridge.team.run import QuietOutlet

CONFIG = Path(__file__).resolve().parents[1] / "config" / "point_team.yaml"


class Answering(QuietOutlet):
    def __init__(self) -> None:
        self.due: tuple[int, int, list[str]] | None = None

    def observations(self, episode: int, step: int, encoded: dict) -> None:
        self.due = (episode, step, list(encoded))


def run(steps: int, every: int = 10_000) -> dict[str, float]:
    cfg = load(CONFIG)
    cfg = dataclasses.replace(cfg, run=dataclasses.replace(cfg.run, episodes=10**9, card_episodes=100))
    team = build_team(cfg)
    out = Answering()
    team_run = TeamRun(cfg, team, out, clock=FakeClock())
    layouts = {a: team.act_codecs[a].layout for a in team.agents}
    action = Flat(f32=array("f", [0.1, -0.1]))
    team_run.start([])
    marks: list[int] = []
    tracemalloc.start()
    for i in range(steps):
        assert out.due is not None
        episode, step, agents = out.due
        for agent in agents:
            team_run.offer(agent, Parsed(0, 0, agent, episode, step, layouts[agent], action))
        if (i + 1) % every == 0:
            gc.collect()
            marks.append(tracemalloc.get_traced_memory()[0])
    tracemalloc.stop()
    team.env.close()
    third = max(len(marks) // 3, 1)
    first, last = max(marks[:third]), max(marks[-third:])
    return {"steps": steps, "sample_every": every, "held_bytes": marks, "first_third_peak_bytes": first,
            "last_third_peak_bytes": last, "last_over_first": last / first,
            "episodes": team_run.ledger.count, "episodes_in_card": len(team_run.ledger.kept)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=300_000)
    args = parser.parse_args()
    result = run(args.steps)
    print(f"team core, PointTeam (4 agents), {result['steps']} steps, {result['episodes']} episodes: peak held "
          f"{result['first_third_peak_bytes'] / 1e6:.2f} MB in the first third, "
          f"{result['last_third_peak_bytes'] / 1e6:.2f} MB in the last (ratio {result['last_over_first']:.2f})")
    print(f"results: {write('memory', result)}")


if __name__ == "__main__":
    main()
