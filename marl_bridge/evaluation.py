"""Evaluation panels: judge a team per agent on fixed-seed panels, through the bridge.

An eval file names a run config and panels; each panel is that config with some policies swapped
(held-out partners from a pool) and/or env kwargs changed (a task variant):

    base: pursuit.yaml            # run config, relative to this file
    episodes: 5
    seed: 100
    contribution: true            # leave-one-out: replace each agent by the zero policy, one at a time
    panels:
      same_partner: {}
      held_out_partner: {policies: {pursuer_1: {kind: random}}}
      changed_goal: {env_kwargs: {n_evaders: 10}}

Per panel and agent: mean and spread of return, episode length, fallbacks, deadline misses, safety
events, policy entropy (mean nats per step, where the policy reports its action distribution), and
(with `contribution`) how much the team's return drops when that agent is replaced by a
zero/no-op policy. A coasting agent shows a contribution near zero however good the team return looks.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from marl_bridge.config import ConfigError, PolicyConfig, RunConfig, TeamPolicyConfig, load, parse_policy
from marl_bridge.recording.run_card import format_table

ZERO = PolicyConfig(kind="scripted", entry_point="marl_bridge.policies.scripts:zero")


@dataclasses.dataclass(frozen=True)
class Panel:
    name: str
    policies: dict[str, PolicyConfig]
    env_kwargs: dict[str, Any]


@dataclasses.dataclass(frozen=True)
class EvalConfig:
    base: RunConfig
    episodes: int
    seed: int
    contribution: bool
    panels: list[Panel]
    source: str


def load_eval(path: str | Path) -> EvalConfig:
    p = Path(path)
    try:
        data = yaml.safe_load(p.read_text()) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"{p}: cannot read eval file: {exc}") from None
    unknown = sorted(set(data) - {"base", "episodes", "seed", "contribution", "panels"})
    if unknown:
        raise ConfigError(f"{p}: unknown key {unknown[0]!r}; expected base, episodes, seed, contribution, panels")
    for key in ("base", "episodes", "seed", "panels"):
        if key not in data:
            raise ConfigError(f"{p}: missing required key {key!r}")
    if not isinstance(data["panels"], dict) or not data["panels"]:
        raise ConfigError(f"{p}: panels must map panel names to {{policies, env_kwargs}}")
    base = load(p.parent / data["base"])
    panels = []
    for name, spec in data["panels"].items():
        spec = spec or {}
        bad = sorted(set(spec) - {"policies", "env_kwargs"})
        if bad:
            raise ConfigError(f"{p}: unknown key panels.{name}.{bad[0]}; expected policies, env_kwargs")
        policies = {agent: parse_policy(raw, f"panels.{name}.policies.{agent}", str(p))
                    for agent, raw in (spec.get("policies") or {}).items()}
        panels.append(Panel(name, policies, dict(spec.get("env_kwargs") or {})))
    return EvalConfig(base, int(data["episodes"]), int(data["seed"]), bool(data.get("contribution", False)),
                      panels, str(p))


def panel_config(ev: EvalConfig, panel: Panel, swap: dict[str, PolicyConfig] | None = None) -> RunConfig:
    """The base config with the panel's (and an extra) policy swap and env variant, fixed seeds."""
    base = ev.base
    swaps = {**panel.policies, **(swap or {})}
    if swaps:
        agents_policy = {**base.policy.per_agent, **swaps}
        policy = TeamPolicyConfig(shared=False, default=base.policy.default, per_agent=agents_policy)
    else:
        policy = base.policy
    env = dataclasses.replace(base.env, kwargs={**base.env.kwargs, **panel.env_kwargs})
    run = dataclasses.replace(base.run, seed=ev.seed, episodes=ev.episodes, topology="single")
    return dataclasses.replace(base, run=run, env=env, policy=policy)


def _team_return(card: dict[str, Any]) -> float:
    return float(np.mean([sum(ep["returns"].values()) for ep in card["episodes"]]))


def summarize(card: dict[str, Any]) -> dict[str, dict[str, Any]]:
    out = {}
    safety = card["safety_events"]["by_agent"]
    collisions, interventions = card.get("collisions"), card.get("interventions")
    for agent in card["agents"]:
        rets = [ep["returns"][agent] for ep in card["episodes"]]
        lens = [ep["lengths"][agent] for ep in card["episodes"]]
        out[agent] = {
            "policy": card["policies"][agent]["policy"],
            "return_mean": float(np.mean(rets)), "return_std": float(np.std(rets)),
            "return_min": float(np.min(rets)), "return_max": float(np.max(rets)),
            "length_mean": float(np.mean(lens)),
            "fallbacks": int(sum(ep["fallbacks"][agent] for ep in card["episodes"])),
            "deadline_misses": int(card["deadline_misses"][agent]),
            "safety_events": int(sum(safety.get(agent, {}).values())),
            "policy_entropy": card["policy_entropy"][agent],
            # per agent; None where nothing measures them (no contact model, no shield)
            "collisions": None if collisions is None else collisions.get(agent, 0),
            "interventions": None if interventions is None else sum(interventions.get(agent, {}).values()),
        }
    return out


def run_eval(ev: EvalConfig, out_dir: Path) -> dict[str, Any]:
    from marl_bridge.cli.team import run_team

    report: dict[str, Any] = {"eval": ev.source, "base": ev.base.source, "seed": ev.seed, "episodes": ev.episodes,
                              "panels": {}}
    for panel in ev.panels:
        card = run_team(panel_config(ev, panel), out_dir / panel.name)
        if card["status"] != "complete":
            raise RuntimeError(f"panel {panel.name}: run {card['status']}")
        agents = summarize(card)
        team = _team_return(card)
        if ev.contribution:
            for agent in card["agents"]:
                alone = run_team(panel_config(ev, panel, {agent: ZERO}), out_dir / panel.name / f"without_{agent}")
                agents[agent]["contribution"] = team - _team_return(alone)
        report["panels"][panel.name] = {"team_return_mean": team, "agents": agents,
                                        "episode_seeds": card["seeds"]["episode_seeds"]}
    return report


def report_table(report: dict[str, Any]) -> str:
    rows = [("panel", "agent", "policy", "return", "+-", "len", "contrib", "entropy", "fallbacks", "events",
             "collisions", "interventions")]
    for name, panel in report["panels"].items():
        for agent, m in panel["agents"].items():
            contrib = m.get("contribution")
            rows.append((name, agent, m["policy"], f"{m['return_mean']:.3f}", f"{m['return_std']:.3f}",
                         f"{m['length_mean']:.1f}", "-" if contrib is None else f"{contrib:.3f}",
                         "-" if m["policy_entropy"] is None else f"{m['policy_entropy']:.3f}",
                         str(m["fallbacks"]), str(m["safety_events"]),
                         "-" if m["collisions"] is None else str(m["collisions"]),
                         "-" if m["interventions"] is None else str(m["interventions"])))
    return format_table(rows, text_columns=3)


def report_figure(report: dict[str, Any], path: Path) -> Path:
    """Per-agent bars per panel: return (with spread) and, when measured, contribution."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    panels = list(report["panels"])
    agents = list(next(iter(report["panels"].values()))["agents"])
    has_contrib = all("contribution" in m for p in report["panels"].values() for m in p["agents"].values())
    fig, axes = plt.subplots(1, 2 if has_contrib else 1, figsize=(11 if has_contrib else 6, 4), squeeze=False)
    width = 0.8 / len(panels)
    x = np.arange(len(agents))
    for i, name in enumerate(panels):
        ms = report["panels"][name]["agents"]
        axes[0][0].bar(x + i * width, [ms[a]["return_mean"] for a in agents], width,
                       yerr=[ms[a]["return_std"] for a in agents], label=name, capsize=3)
        if has_contrib:
            axes[0][1].bar(x + i * width, [ms[a]["contribution"] for a in agents], width, label=name)
    titles = ["return per agent (mean, std)", "contribution (team return drop without the agent)"]
    for ax, title in zip(axes[0], titles, strict=False):
        ax.set_xticks(x + width * (len(panels) - 1) / 2, agents, rotation=30)
        ax.set_title(title)
        ax.axhline(0, color="black", linewidth=0.5)
    axes[0][0].legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def write_report(report: dict[str, Any], out_dir: Path) -> tuple[Path, Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    json_path = out_dir / "eval_report.json"
    json_path.write_text(json.dumps(report, indent=1, default=str) + "\n")
    return json_path, report_figure(report, out_dir / "eval_report.png")
