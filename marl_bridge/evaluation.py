"""Evaluation panels: judge a team per agent on fixed-seed panels, through the bridge.

An eval file names a run config and panels; each panel is that config with some policies swapped
(held-out partners from a pool), robot slots filled from other teams, and/or env kwargs changed:

    base: pursuit.yaml            # run config, relative to this file
    episodes: 5
    seed: 100
    contribution: true            # leave-one-out: replace each agent by the zero policy, one at a time
    teams:                        # independently trained teams: a run config each (its policy section)
      A: learned/pursuit_seed0.yaml
      B: learned/pursuit_seed1.yaml
      random: {shared: true, default: {kind: random}}   # or a policy section
    cross_play: true              # adds, for every ordered pair of teams X != Y, the panel "X0+Y": robot
                                  # slot 0 from team X, every other slot from team Y; and "X" (X alone);
                                  # a list of team names: only these
    panels:
      same_partner: {}
      held_out_partner: {policies: {pursuer_1: {kind: random}}}
      changed_goal: {env_kwargs: {n_evaders: 10}}
      mixed: {slots: {robot_0: A, robot_1: B}}   # slots not named keep the base config's policy
      all_b: {team: B}                           # every slot from one team

Per panel and agent: return, success (the episode ended by the agent's termination, not by the time
limit or a cap: capture in pursuit, delivery in handoff) and collisions per episode, each with a bootstrap
95% interval over episodes; episode length, fallbacks, deadline misses, safety events, shield
interventions, policy entropy (mean nats per step, where the policy reports its action distribution),
which policy (and team) filled the slot, and (with `contribution`) how much the team's return drops when
that agent is replaced by a zero/no-op policy. A coasting agent shows a contribution near zero however
good the team return looks. Every panel run keeps its run card (`<out>/<panel>/run_card.json`).
"""

from __future__ import annotations

import dataclasses
import json
import re
from pathlib import Path
from typing import Any

import numpy as np

from marl_bridge.config import (
    ConfigError,
    PolicyConfig,
    RunConfig,
    TeamPolicyConfig,
    load,
    parse_policy,
    parse_team_policy,
    read_yaml,
)
from marl_bridge.recording.run_card import card_episodes, format_table, write_run_card

ZERO = PolicyConfig(kind="scripted", entry_point="marl_bridge.policies.scripts:zero")
KEYS = ("base", "episodes", "seed", "contribution", "teams", "cross_play", "bootstrap", "panels")
PANEL_KEYS = ("policies", "env_kwargs", "slots", "team")


@dataclasses.dataclass(frozen=True)
class Panel:
    name: str
    policies: dict[str, PolicyConfig]
    env_kwargs: dict[str, Any]
    slots: dict[str, str] = dataclasses.field(default_factory=dict)  # agent -> team that fills the slot


@dataclasses.dataclass(frozen=True)
class EvalConfig:
    base: RunConfig
    episodes: int
    seed: int
    contribution: bool
    panels: list[Panel]
    source: str
    teams: dict[str, TeamPolicyConfig] = dataclasses.field(default_factory=dict)
    bootstrap: int = 2000  # resamples for the 95% intervals


def _int(data: dict[str, Any], key: str, p: Path, low: int) -> int:
    v = data[key]
    if isinstance(v, bool) or not isinstance(v, int) or v < low:
        raise ConfigError(f"{p}: {key} must be an integer >= {low}, got {v!r}")
    return v


def load_eval(path: str | Path) -> EvalConfig:
    p = Path(path)
    data = read_yaml(p, "eval file") or {}
    if not isinstance(data, dict):
        raise ConfigError(f"{p}: an eval file is a mapping with keys {', '.join(KEYS)}")
    unknown = sorted(set(data) - set(KEYS))
    if unknown:
        raise ConfigError(f"{p}: unknown key {unknown[0]!r}; expected {', '.join(KEYS)}")
    for key in ("base", "episodes", "seed"):
        if key not in data:
            raise ConfigError(f"{p}: missing required key {key!r}")
    base = load(p.parent / data["base"])
    agents = _agents(base)
    teams = {}
    for name, team in (data.get("teams") or {}).items():
        if isinstance(team, dict):  # a policy section written here
            teams[str(name)] = parse_team_policy(team, f"teams.{name}", str(p))
        elif isinstance(team, str):  # a run config (e.g. a training run's deploy.yaml): its policy section
            teams[str(name)] = load(p.parent / team).policy
        else:
            raise ConfigError(f"{p}: teams.{name} must name a run config file or be a policy section "
                              f"(shared, default, per_agent); got {team!r}")
    panels = []
    for name, spec in (data.get("panels") or {}).items():
        spec = spec or {}
        bad = sorted(set(spec) - set(PANEL_KEYS))
        if bad:
            raise ConfigError(f"{p}: unknown key panels.{name}.{bad[0]}; expected {', '.join(PANEL_KEYS)}")
        policies = {agent: parse_policy(raw, f"panels.{name}.policies.{agent}", str(p))
                    for agent, raw in (spec.get("policies") or {}).items()}
        slots = {str(a): str(t) for a, t in (spec.get("slots") or {}).items()}
        if "team" in spec:
            slots = {**dict.fromkeys(agents, str(spec["team"])), **slots}
        for agent, team in slots.items():
            if team not in teams:
                key = f"slots.{agent}" if agent in (spec.get("slots") or {}) else "team"
                raise ConfigError(f"{p}: panels.{name}.{key} names team {team!r}; teams are "
                                  f"{', '.join(teams) or 'none (add a teams section)'}")
            if agent not in agents:
                raise ConfigError(f"{p}: panels.{name}.slots.{agent}: no such agent; agents are {', '.join(agents)}")
        panels.append(Panel(str(name), policies, dict(spec.get("env_kwargs") or {}), slots))
    if data.get("cross_play"):
        chosen = list(teams) if data["cross_play"] is True else data["cross_play"]
        if not isinstance(chosen, list) or any(t not in teams for t in chosen):
            raise ConfigError(f"{p}: cross_play must be true or a list of names from teams ({', '.join(teams)}); "
                              f"got {data['cross_play']!r}")
        if len(chosen) < 2:
            raise ConfigError(f"{p}: cross_play needs at least two teams in the teams section")
        panels += cross_play_panels([str(t) for t in chosen], agents)
    if not panels:
        raise ConfigError(f"{p}: no panels: give panels (name -> policies, env_kwargs, slots) or cross_play")
    return EvalConfig(base, _int(data, "episodes", p, 1), _int(data, "seed", p, 0),
                      bool(data.get("contribution", False)), panels, str(p), teams,
                      _int(data, "bootstrap", p, 100) if "bootstrap" in data else 2000)


def _agents(cfg: RunConfig) -> list[str]:
    from marl_bridge.envs.team import build_team

    team = build_team(cfg)
    team.env.close()
    return team.agents


def cross_play_panels(teams: list[str], agents: list[str]) -> list[Panel]:
    """Each team alone, then for each ordered pair X != Y: slot 0 from X, every other slot from Y."""
    panels = [Panel(x, {}, {}, dict.fromkeys(agents, x)) for x in teams]
    for x in teams:
        panels += [Panel(f"{x}0+{y}", {}, {}, {agents[0]: x, **dict.fromkeys(agents[1:], y)})
                   for y in teams if y != x]
    return panels


def panel_config(ev: EvalConfig, panel: Panel, swap: dict[str, PolicyConfig] | None = None) -> RunConfig:
    """The base config with the panel's (and an extra) policy swap and env variant, fixed seeds."""
    base = ev.base
    from_teams = {agent: ev.teams[team].for_agent(agent) for agent, team in panel.slots.items()}
    swaps = {**from_teams, **panel.policies, **(swap or {})}
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


def bootstrap_ci(values: list[float], resamples: int, seed: int = 0) -> tuple[float, float]:
    """Percentile bootstrap 95% interval of the mean (seeded: the same data give the same interval)."""
    x = np.asarray(values, dtype=np.float64)
    if x.size < 2:
        return (float(x.mean()), float(x.mean())) if x.size else (float("nan"), float("nan"))
    means = x[np.random.default_rng(seed).integers(0, x.size, (resamples, x.size))].mean(axis=1)
    lo, hi = np.percentile(means, [2.5, 97.5])
    return float(lo), float(hi)


def summarize(card: dict[str, Any], resamples: int = 2000, slots: dict[str, str] | None = None
              ) -> dict[str, dict[str, Any]]:
    out = {}
    safety = card["safety_events"]["by_agent"]
    collisions, interventions = card.get("collisions"), card.get("interventions")
    for agent in card["agents"]:
        eps = [ep for ep in card["episodes"] if agent in ep["returns"]]
        rets = [ep["returns"][agent] for ep in eps]
        lens = [ep["lengths"][agent] for ep in eps]
        success = [float(ep["terminated"][agent] and not ep.get("capped") and not ep.get("aborted")) for ep in eps]
        hits = [float(ep.get("collisions", {}).get(agent, 0)) for ep in eps]
        out[agent] = {
            "policy": card["policies"][agent]["policy"],
            "team": (slots or {}).get(agent),
            "return_mean": float(np.mean(rets)), "return_std": float(np.std(rets)),
            "return_ci95": bootstrap_ci(rets, resamples),
            "return_min": float(np.min(rets)), "return_max": float(np.max(rets)),
            "success_rate": float(np.mean(success)), "success_ci95": bootstrap_ci(success, resamples),
            "collisions_per_episode": float(np.mean(hits)), "collisions_ci95": bootstrap_ci(hits, resamples),
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
    report: dict[str, Any] = {"eval": ev.source, "base": ev.base.source, "seed": ev.seed, "episodes": ev.episodes,
                              "panels": {}}
    report["teams"] = {name: {a: p.describe() for a, p in
                              ({"*": t.default} if t.shared and t.default else t.per_agent).items()}
                       for name, t in ev.teams.items()}
    for panel in ev.panels:
        card = _run_panel(panel_config(ev, panel), out_dir / panel.name)
        agents = summarize(card, ev.bootstrap, panel.slots)
        team = _team_return(card)
        if ev.contribution:
            for agent in card["agents"]:
                alone = _run_panel(panel_config(ev, panel, {agent: ZERO}), out_dir / panel.name / f"without_{agent}")
                agents[agent]["contribution"] = team - _team_return(alone)
        report["panels"][panel.name] = {"team_return_mean": team, "agents": agents, "slots": panel.slots,
                                        "episode_seeds": [ep["seed"] for ep in card["episodes"]],
                                        "run_card": str(out_dir / panel.name / "run_card.json")}
    return report


def _run_panel(cfg: RunConfig, out: Path) -> dict[str, Any]:
    """One panel's run through the bridge; its run card is kept beside the report for audit."""
    from marl_bridge.cli.team import run_team

    card = run_team(cfg, out)
    write_run_card(card, out)
    if card["status"] != "complete":
        raise RuntimeError(f"panel run in {out}: {card['status']}")
    return {**card, "episodes": card_episodes(card, out)}  # every episode, also past run.card_episodes


def policy_label(m: dict[str, Any]) -> str:
    """Which policy filled the slot, short: the team's name when it came from a team, else the policy
    description with model paths cut to their file names."""
    desc = re.sub(r"\(([^()]*/)?([^()/]+)\)", r"(\2)", m["policy"])
    return f"{m['team']}: {desc}" if m.get("team") else desc


def _ci(m: dict[str, Any], key: str, fmt: str) -> str:
    lo, hi = m[f"{key}_ci95"]
    return f"[{lo:{fmt}}, {hi:{fmt}}]"


def report_table(report: dict[str, Any]) -> str:
    rows = [("panel", "agent", "policy", "return", "95% CI", "success", "95% CI", "coll/ep", "interventions",
             "entropy", "contrib", "len", "fallbacks", "events")]
    for name, panel in report["panels"].items():
        for agent, m in panel["agents"].items():
            contrib = m.get("contribution")
            rows.append((name, agent, policy_label(m), f"{m['return_mean']:.3f}", _ci(m, "return", ".2f"),
                         f"{m['success_rate']:.2f}", _ci(m, "success", ".2f"), f"{m['collisions_per_episode']:.2f}",
                         "-" if m["interventions"] is None else str(m["interventions"]),
                         "-" if m["policy_entropy"] is None else f"{m['policy_entropy']:.3f}",
                         "-" if contrib is None else f"{contrib:.3f}", f"{m['length_mean']:.1f}",
                         str(m["fallbacks"]), str(m["safety_events"])))
    return format_table(rows, text_columns=3)


def report_figure(report: dict[str, Any], path: Path) -> Path:
    """Per panel, a bar per agent labelled with the policy (or team) in that slot: return with its 95%
    interval, success rate with its interval and, when measured, contribution."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    panels = list(report["panels"])
    agents = list(next(iter(report["panels"].values()))["agents"])
    has_contrib = all("contribution" in m for p in report["panels"].values() for m in p["agents"].values())
    metrics = [("return_mean", "return", "return per agent (mean, 95% CI)"),
               ("success_rate", "success", "success rate per agent (95% CI)")]
    if has_contrib:
        metrics.append(("contribution", None, "contribution (team return drop without the agent)"))
    size = (max(8.0, 0.55 * len(panels) * len(agents)), 3.6 * len(metrics))
    fig, axes = plt.subplots(len(metrics), 1, figsize=size, squeeze=False)
    width = 0.8 / len(agents)
    x = np.arange(len(panels))
    colours = plt.get_cmap("tab10")
    for row, (key, ci, title) in enumerate(metrics):
        ax = axes[row][0]
        ticks, labels = [], []
        for j, agent in enumerate(agents):
            ms = [report["panels"][p]["agents"][agent] for p in panels]
            vals = np.array([m[key] for m in ms])
            err = None
            if ci is not None:
                lo = np.array([m[f"{ci}_ci95"][0] for m in ms])
                hi = np.array([m[f"{ci}_ci95"][1] for m in ms])
                err = np.vstack([np.clip(vals - lo, 0, None), np.clip(hi - vals, 0, None)])
            ax.bar(x + j * width, vals, width, yerr=err, capsize=2, label=agent, color=colours(j))
            ticks += list(x + j * width)
            labels += [m.get("team") or policy_label(m) for m in ms]  # which policy made this bar
        ax.set_xticks(ticks, labels, rotation=90, fontsize=7)
        for i, name in enumerate(panels):
            ax.text(x[i] + width * (len(agents) - 1) / 2, 1.01, name, transform=ax.get_xaxis_transform(),
                    ha="center", va="bottom", fontsize=8, fontweight="bold")
        ax.set_title(title, fontsize=10, pad=16)
        if key == "success_rate":
            ax.set_ylim(-0.05, 1.05)
        ax.axhline(0, color="black", linewidth=0.5)
    axes[0][0].legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def write_report(report: dict[str, Any], out_dir: Path) -> tuple[Path, Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    json_path = out_dir / "eval_report.json"
    json_path.write_text(json.dumps(report, indent=1, default=str) + "\n")
    return json_path, report_figure(report, out_dir / "eval_report.png")
