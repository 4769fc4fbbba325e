"""The run card's content, from a TeamRun (the file itself: recording/run_card.py)."""

from __future__ import annotations

from typing import Any

from marl_bridge.codec import space_to_json
from marl_bridge.envs.episode import AECEpisode
from marl_bridge.team.run import TeamRun


def run_card(run: TeamRun, *, topology: str, ros_names: dict[str, str]) -> dict[str, Any]:
    cfg, team, ledger = run.cfg, run.team, run.ledger
    records = list(ledger.kept)  # the last run.card_episodes; every episode is in per_agent and totals
    agents = run.agents
    env_section: dict[str, Any] = {"name": cfg.env.name or cfg.env.entry_point, "entry_point": cfg.env.entry_point,
                                   "kwargs": cfg.env.kwargs, "api": team.api,
                                   "reward_definition": cfg.env.reward_definition}
    if isinstance(run.episode, AECEpisode):
        env_section["turn_order"] = run.episode.turn_order
    per_agent = ledger.per_agent(agents)
    collisions = {a: per_agent[a]["collisions"] for a in agents} if ledger.reports_collisions else None
    return {
        "status": run.status,
        "env": env_section,
        "mode": cfg.supervisor.mode,
        "control_rate_hz": cfg.supervisor.control_rate_hz if run.realtime else None,
        "backend": {"requested": run.backend_requested or "env", "used": run.backend_used or "env",
                    "why": run.backend_why},
        "topology": topology,
        "team": cfg.supervisor.team,
        "agents": agents,
        "ros_names": ros_names,
        "spaces": {a: {"observation": space_to_json(team.obs_codecs[a].space),
                       "action": space_to_json(team.act_codecs[a].space)} for a in agents},
        "policies": {a: {"policy": cfg.policy.for_agent(a).describe(), "reported": run.ready.get(a, "not ready"),
                         "shared": cfg.policy.shared} for a in agents},
        "policy_sharing": "shared" if cfg.policy.shared else "per_agent",
        "fallback": {a: team.fallbacks[a].kind for a in agents},
        "seeds": {"run_seed": cfg.run.seed, "episode_seeds": [r.seed for r in records]},
        "totals": ledger.totals(),  # over every episode
        "per_agent": per_agent,  # over every episode: returns, lengths, fallbacks, endings per agent
        "episodes": [r.to_dict() for r in records],  # whole records of the last run.card_episodes
        "returns": {a: [r.returns.get(a) for r in records] for a in agents},
        "safety_events": run.desk.counts.to_dict(),
        "deadline_misses": run.stats.deadline_misses,
        "policy_entropy": run.stats.entropy(),  # mean nats per step, where the policy reports it
        "collisions": collisions,  # contact onsets per agent, from envs that report them
        "interventions": run.shield.to_dict(),  # per agent and shield rule; null without a shield
        "estops": run.latch.history,
        "foreign_publishers": run.foreigners,  # nodes outside the team on the robots' cmd_vel or odometry
        "liveness": run.liveness.to_dict(),  # lost/rejoined gaps per agent
        "skipped_observations": run.stats.skipped,  # per agent: superseded by newer ones (after a gap)
        "unauthenticated_observations": run.stats.unauthenticated,  # per agent: dropped by its actor
        "action_latency_ms": {a: run.stats.latency_ms(a) for a in agents},
        "sim_time_s": run.world.sim_time if run.world is not None else None,
        "timing": run.stats.timing(ledger.steps, run.clock()),
        "env_settings": run.world.settings if run.world is not None else None,  # every effective env argument
        "config": cfg.to_dict(),
        "config_source": cfg.source,
    }
