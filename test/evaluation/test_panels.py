"""Evaluation panels over real DDS: every agent in every panel, and a coasting agent is visible."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import CONFIG_DIR

from marl_bridge.evaluation import load_eval, report_table, run_eval, write_report

pytestmark = pytest.mark.ros


def test_panels_report_each_agent_and_expose_a_coasting_agent(tmp_path: Path) -> None:
    base = tmp_path / "team.yaml"
    base.write_text((CONFIG_DIR / "point_team.yaml").read_text().replace("n_agents: 4", "n_agents: 2")
                    .replace("      shared: true\n", "      shared: false\n      per_agent:\n"
                             "        robot_1: {kind: scripted, entry_point: \"marl_bridge.policies.scripts:zero\"}\n"))
    spec = tmp_path / "eval.yaml"
    spec.write_text("base: team.yaml\nepisodes: 2\nseed: 5\ncontribution: true\npanels:\n  same_partner: {}\n"
                    "  changed_goal: {env_kwargs: {goal_radius: 0.4}}\n")
    report = run_eval(load_eval(spec), tmp_path / "out")
    json_path, png_path = write_report(report, tmp_path / "out")
    assert json.loads(json_path.read_text())["panels"].keys() == {"same_partner", "changed_goal"}
    assert png_path.stat().st_size > 1000
    for panel in report["panels"].values():
        agents = panel["agents"]
        assert set(agents) == {"robot_0", "robot_1"}
        # robot_1 holds still: taking it out changes nothing; robot_0 reaches its goal: it matters
        assert agents["robot_1"]["contribution"] == 0.0
        assert agents["robot_0"]["contribution"] > 1.0
        assert agents["robot_0"]["policy_entropy"] is None  # scripted policies report no distribution
    same, changed = report["panels"]["same_partner"], report["panels"]["changed_goal"]
    assert changed["agents"]["robot_0"]["length_mean"] < same["agents"]["robot_0"]["length_mean"]
    assert "robot_1" in report_table(report)


def test_eval_file_errors_name_the_key(tmp_path: Path) -> None:
    from marl_bridge.config import ConfigError

    spec = tmp_path / "eval.yaml"
    spec.write_text(f"base: {CONFIG_DIR / 'point_team.yaml'}\nepisodes: 1\nseed: 1\npanels:\n  p: {{policy: {{}}}}\n")
    with pytest.raises(ConfigError, match=r"unknown key panels\.p\.policy"):
        load_eval(spec)
