"""Config loading: strict keys, errors that name the file and key, ROS-parameter round trip."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import CONFIG_DIR

from marl_bridge.config import ConfigError, from_flat, load, to_flat

ALL_CONFIGS = sorted(p for p in CONFIG_DIR.glob("*.yaml") if not p.name.startswith(("eval_", "train_")))
EVAL_FILES = sorted(CONFIG_DIR.glob("eval_*.yaml"))
TRAIN_FILES = sorted(CONFIG_DIR.glob("train_*.yaml"))


@pytest.mark.parametrize("path", ALL_CONFIGS, ids=lambda p: p.name)
def test_shipped_configs_load_and_survive_ros_parameters(path: Path) -> None:
    cfg = load(path)
    again = from_flat(to_flat(cfg), source="params")
    assert again.to_dict() == cfg.to_dict()


@pytest.mark.parametrize("path", EVAL_FILES, ids=lambda p: p.name)
def test_shipped_eval_files_load(path: Path) -> None:
    from marl_bridge.evaluation import load_eval

    ev = load_eval(path)
    assert ev.panels and ev.episodes >= 1


@pytest.mark.parametrize("path", TRAIN_FILES, ids=lambda p: p.name)
def test_shipped_training_configs_load_and_name_a_loadable_base(path: Path) -> None:
    from marl_bridge.training.config import load_train

    cfg = load_train(path)
    assert cfg.run_config().env.entry_point


def test_bad_training_configs_name_file_and_key(tmp_path: Path) -> None:
    from marl_bridge.training.config import load_train

    text = TRAIN_FILES[0].read_text()
    for old, new, message in (("algorithm: mappo", "algorithm: qmix", "algorithm is 'qmix'"),
                              ("minibatch_size: 1000", "minibatch_size: 90000", "must not exceed frames_per_batch"),
                              ("env_copies: 16", "env_copies: 3", "must be a multiple of env_copies"),
                              ("lr: 0.0003", "lr: .nan", "lr must be a finite number"),
                              ("share_policy: true", "share_policy: 1", "train.share_policy has the wrong type"),
                              ("  seed: 0\n", "  sede: 0\n", "unknown key train.sede")):
        p = tmp_path / "t.yaml"
        p.write_text(text.replace(old, new))
        with pytest.raises(ConfigError, match=message) as err:
            load_train(p)
        assert str(p) in str(err.value)


def _write(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "bad.yaml"
    p.write_text(text)
    return p


GOOD = (CONFIG_DIR / "point_team.yaml").read_text()


@pytest.mark.parametrize(("edit", "message"), [
    (("step_deadline_s: 0.5", "step_deadline_s: fast"), r"supervisor\.step_deadline_s must be a number"),
    (("step_deadline_s: 0.5", "step_deadlin_s: 0.5"), r"unknown key supervisor\.step_deadlin_s"),
    (("      seed: 7\n", ""), r"missing required key run\.seed"),
    (("topology: single", "topology: star"), r"run\.topology is 'star'"),
    (("kind: zero", "kind: brake"), r"supervisor\.fallback\.kind is 'brake'"),
    (("kind: scripted", "kind: magic"), r"policy\.default\.kind is 'magic'"),
    (("entry_point: marl_bridge.envs.point_team:parallel_env", "entry_point: nothing_here"),
     r"env\.entry_point must be 'module:callable'"),
    (("episodes: 5", "episodes: 0"), r"run\.episodes must be at least 1"),
])
def test_bad_values_name_file_and_key(tmp_path: Path, edit: tuple[str, str], message: str) -> None:
    assert edit[0] in GOOD
    path = _write(tmp_path, GOOD.replace(edit[0], edit[1], 1))
    with pytest.raises(ConfigError, match=message) as err:
        load(path)
    assert str(path) in str(err.value)


def test_unreadable_and_invalid_yaml(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read config file"):
        load(tmp_path / "missing.yaml")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load(_write(tmp_path, "run: [unclosed"))


BOMB = "".join(f"{k}: &{k} [{', '.join([f'*{p}'] * 9) if p else ', '.join(['x'] * 9)}]\n"
               for p, k in zip(["", *"abcdefg"], "abcdefgh", strict=True))


@pytest.mark.parametrize(("edit", "message"), [
    (lambda t: "/**:\n  ros__parameters: 5\n", "key '/**.ros__parameters' must be a mapping, got int"),
    (lambda t: t.replace("seed: 7", "seed: 99999999999999999999999"), "run.seed must be a 64-bit integer"),
    (lambda t: t.replace("episodes: 5", "episodes: 9223372036854775808"), "run.episodes must be a 64-bit integer"),
    (lambda t: t.replace("step_deadline_s: 0.5", "step_deadline_s: .nan"),
     "supervisor.step_deadline_s must be a finite number, got nan"),
    (lambda t: t.replace("step_deadline_s: 0.5", "step_deadline_s: -.inf"),
     "supervisor.step_deadline_s must be a finite number, got -inf"),
    (lambda t: BOMB + t.replace("    env:\n", "    env:\n      name: *h\n"),
     "YAML expands to more than 100000 values through its aliases"),
    (lambda t: "- 1\n- 2\n", "key '<top>' must be a mapping, got list"),
    (lambda t: t.replace("episodes: 5", "episodes: [5"), "not valid YAML"),
])
def test_malformed_files_are_exit_2_naming_file_and_key_with_no_traceback(tmp_path: Path, capsys, edit, message
                                                                           ) -> None:
    from marl_bridge.cli.main import main

    bad = tmp_path / "bad.yaml"
    bad.write_text(edit((CONFIG_DIR / "point_team.yaml").read_text()))
    assert main(["check", str(bad)]) == 2
    err = capsys.readouterr().err
    assert message in err and str(bad) in err and "Traceback" not in err

