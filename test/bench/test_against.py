"""bench/against.py: a team named `<role>@<rev>` runs REV's Python code over this checkout's build."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "bench"))
import against  # noqa: E402


def _git(*args: str) -> str:
    return subprocess.run(["git", *args], cwd=REPO, capture_output=True, text=True, check=True).stdout.strip()


def _older_tap() -> str:
    """A revision with this checkout's messages and another recording/tap.py (there are several)."""
    for commit in _git("log", "--format=%H", "--", "marl_bridge/recording/tap.py").split():
        rev = f"{commit}~1"
        same_messages = subprocess.run(["git", "diff", "--quiet", rev, "--", "msg", "srv"], cwd=REPO).returncode == 0
        other_tap = subprocess.run(["git", "diff", "--quiet", rev, "--", "marl_bridge/recording/tap.py"],
                                   cwd=REPO).returncode != 0
        if same_messages and other_tap:
            return rev
    raise AssertionError("no revision with these messages and another tap.py in the history")


def test_a_process_given_the_prepared_path_imports_that_revisions_code(tmp_path: Path) -> None:
    rev = _older_tap()
    site = against.prepare(rev, tmp_path)
    probe = ("import marl_bridge.recording.tap as t, marl_bridge.msg as m; "
             "print(t.__file__); print(m.Observation.__name__)")
    out = subprocess.run([sys.executable, "-P", "-c", probe], env={**os.environ, "PYTHONPATH": str(site)},
                         capture_output=True, text=True, check=True).stdout.split()
    assert out[0] == str(site / "pkg" / "marl_bridge" / "recording" / "tap.py")
    assert out[1] == "Observation"  # the build's message types came along
    committed = _git("show", f"{rev}:marl_bridge/recording/tap.py")
    assert Path(out[0]).read_text().strip() == committed != (REPO / "marl_bridge/recording/tap.py").read_text().strip()
    assert against.role(f"recorded{against.SEPARATOR}{rev}") == "recorded"


def test_a_revision_with_other_messages_is_refused(tmp_path: Path) -> None:
    changed = _git("log", "--format=%H", "-1", "--", "msg", "srv")  # the last change of the interfaces
    with pytest.raises(SystemExit, match="msg/ or srv/ differ"):
        against.prepare(f"{changed}~1", tmp_path)
    with pytest.raises(SystemExit, match="not a commit"):
        against.prepare("no-such-revision", tmp_path)
