"""The run header: what a bag needs to be replayed without its run card.

The supervisor publishes it once, latched, on /<team>/run_header (std_msgs/String, JSON), so every
recorder (the package's, or `ros2 bag record`) keeps it in the bag beside the team's traffic.
"""

from __future__ import annotations

from typing import Any

from marl_bridge.config import RunConfig
from marl_bridge.envs.team import Team

FORMAT = 1


def run_header(cfg: RunConfig, team: Team) -> dict[str, Any]:
    """The effective config (as the run card keeps it), the API and each agent's spaces."""
    return {"format": FORMAT, "team": cfg.supervisor.team, "api": team.api, "agents": list(team.agents),
            "config": cfg.to_dict(), "config_source": cfg.source,
            "spaces": {a: {"observation": team.obs_codecs[a].json, "action": team.act_codecs[a].json}
                       for a in team.agents}}
