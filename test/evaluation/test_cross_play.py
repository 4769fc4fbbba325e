"""Cross-play panels over real DDS: robot slots filled from independently trained teams, per-agent
metrics with bootstrap intervals, the policy in each slot named, every panel's run card kept."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from conftest import CONFIG_DIR

from marl_bridge.evaluation import bootstrap_ci, load_eval, policy_label, report_table, run_eval, write_report
from marl_bridge.policies.onnx_build import mlp_model, write_model

pytestmark = pytest.mark.ros


def _team(tmp_path: Path, name: str, seed: int) -> Path:
    """A 'trained' team: one shared ONNX actor (random weights from `seed`) in a deploy-style run config."""
    rng = np.random.default_rng(seed)
    model = write_model(tmp_path / f"{name}.onnx", mlp_model([(rng.normal(size=(19, 8)) * 0.3, np.zeros(8)),
                                                              (rng.normal(size=(8, 3)), np.zeros(3))],
                                                             metadata={"marl_bridge.box_output": "tanh"}))
    text = (CONFIG_DIR / "mujoco_pursuit.yaml").read_text().replace("max_steps: 400", "max_steps: 25")
    text = text.replace("render_mode: rgb_array", "render_mode: null")
    start, end = text.index("    policy:"), text.index("    safety:")
    path = tmp_path / f"team_{name}.yaml"
    policy = f"    policy:\n      shared: true\n      default: {{kind: onnx, path: {model.name}}}\n"
    path.write_text(text[:start] + policy + text[end:])
    return path


def test_cross_play_fills_slots_from_other_teams_and_reports_each_slot(tmp_path: Path) -> None:
    a, b = _team(tmp_path, "A", 1), _team(tmp_path, "B", 2)
    spec = tmp_path / "eval.yaml"
    spec.write_text(f"base: {a.name}\nepisodes: 3\nseed: 4\nbootstrap: 500\nteams: {{A: {a.name}, B: {b.name}}}\n"
                    "cross_play: true\npanels:\n  changed_goal: {env_kwargs: {capture_radius: 1.5}}\n")
    ev = load_eval(spec)
    assert [p.name for p in ev.panels] == ["changed_goal", "A", "B", "A0+B", "B0+A"]
    report = run_eval(ev, tmp_path / "out")
    json_path, png_path = write_report(report, tmp_path / "out")
    mixed = report["panels"]["A0+B"]
    assert mixed["slots"] == {"robot_0": "A", "robot_1": "B", "robot_2": "B", "robot_3": "B"}
    assert mixed["agents"]["robot_0"]["policy"].endswith("A.onnx)")
    assert all(mixed["agents"][r]["policy"].endswith("B.onnx)") for r in ("robot_1", "robot_2", "robot_3"))
    assert policy_label(mixed["agents"]["robot_0"]) == "A: onnx(A.onnx)"
    for panel in report["panels"].values():
        card = json.loads(Path(panel["run_card"]).read_text())  # every panel run is auditable
        assert card["status"] == "complete" and len(card["episodes"]) == 3
        for agent, m in panel["agents"].items():
            assert m["return_ci95"][0] <= m["return_mean"] <= m["return_ci95"][1]
            assert 0.0 <= m["success_rate"] <= 1.0
            assert m["interventions"] is not None  # the shield is on: interventions are measured
            assert m["return_mean"] == pytest.approx(np.mean([ep["returns"][agent] for ep in card["episodes"]]))
    # same team alone vs slot 0 swapped: robot_0's policy differs, so its episodes differ
    assert report["panels"]["B"]["agents"]["robot_0"]["return_mean"] != mixed["agents"]["robot_0"]["return_mean"]
    assert json.loads(json_path.read_text())["teams"] == {"A": {"*": "onnx(" + str(tmp_path / "A.onnx") + ")"},
                                                           "B": {"*": "onnx(" + str(tmp_path / "B.onnx") + ")"}}
    assert png_path.stat().st_size > 10_000
    assert "A: onnx(A.onnx)" in report_table(report)


def test_bootstrap_interval_is_seeded_and_brackets_the_mean() -> None:
    values = [0.0, 1.0, 1.0, 0.0, 1.0, 1.0, 1.0, 0.0]
    lo, hi = bootstrap_ci(values, 1000)
    assert (lo, hi) == bootstrap_ci(values, 1000)
    assert lo < np.mean(values) < hi and lo >= 0.0 and hi <= 1.0
    assert bootstrap_ci([2.0], 1000) == (2.0, 2.0)


def test_cross_play_needs_two_teams_and_slots_need_known_teams(tmp_path: Path) -> None:
    from marl_bridge.config import ConfigError

    a = _team(tmp_path, "A", 1)
    spec = tmp_path / "eval.yaml"
    spec.write_text(f"base: {a.name}\nepisodes: 1\nseed: 1\nteams: {{A: {a.name}}}\ncross_play: true\n")
    with pytest.raises(ConfigError, match="cross_play needs at least two teams"):
        load_eval(spec)
    spec.write_text(f"base: {a.name}\nepisodes: 1\nseed: 1\nteams: {{A: {a.name}}}\n"
                    "panels:\n  p: {slots: {robot_0: Z}}\n")
    with pytest.raises(ConfigError, match=r"panels.p.slots.robot_0 names team 'Z'; teams are A"):
        load_eval(spec)


def test_cross_play_list_and_whole_team_panels(tmp_path: Path) -> None:
    a, b, c = (_team(tmp_path, n, i) for i, n in enumerate("ABC"))
    spec = tmp_path / "eval.yaml"
    spec.write_text(f"base: {a.name}\nepisodes: 1\nseed: 1\nteams: {{A: {a.name}, B: {b.name}, C: {c.name}}}\n"
                    "cross_play: [A, B]\npanels:\n  only_c: {team: C, slots: {robot_3: A}}\n")
    ev = load_eval(spec)
    assert [p.name for p in ev.panels] == ["only_c", "A", "B", "A0+B", "B0+A"]
    assert ev.panels[0].slots == {"robot_0": "C", "robot_1": "C", "robot_2": "C", "robot_3": "A"}
