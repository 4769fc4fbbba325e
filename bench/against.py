"""Another version of the package beside this one, for an A/B in one run (`--against REV` of
bench/lockstep.py and bench/recording.py): a team named `<role>@<rev>` runs REV's Python code.

Why: this VM's speed drifts by +-25% between moments, so a change measured in two runs, one before and one
after, is lost in the drift (a recording change that two runs put at +0.03 measured 1.00 against its
parent in one). Both versions run as teams of the same interleaved measurement instead.

How: REV's `marl_bridge/` Python files over a copy of the installed package directory (so the built
message type support is there), and a `sitecustomize.py` that puts that copy first on the path of every
process the team starts (the editable install puts this checkout first, after PYTHONPATH). The message
and service definitions must be the same as this checkout's: other ones need their own build.
"""

from __future__ import annotations

import shutil
import subprocess
import tarfile
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SEPARATOR = "@"


def role(which: str) -> str:
    """The team's role without its version: `bridge@abc123` -> `bridge`."""
    return which.split(SEPARATOR, 1)[0]


def prepare(rev: str, workdir: Path | None = None) -> Path:
    """A directory to give a team's processes as PYTHONPATH: they then run `rev`'s marl_bridge."""
    import marl_bridge

    def git(*args: str) -> subprocess.CompletedProcess[bytes]:
        return subprocess.run(["git", *args], cwd=REPO, capture_output=True, check=False)

    if git("rev-parse", "--verify", f"{rev}^{{commit}}").returncode:
        raise SystemExit(f"--against {rev}: not a commit of {REPO}")
    if git("diff", "--quiet", rev, "--", "msg", "srv").returncode:
        raise SystemExit(f"--against {rev}: its msg/ or srv/ differ from this checkout's; the built type "
                         "support would not fit (build that version on its own to compare)")
    site = Path(tempfile.mkdtemp(prefix=f"marl_against_{rev[:12]}_", dir=workdir))
    package = Path(marl_bridge.__file__).parent
    shutil.copytree(package, site / "pkg" / "marl_bridge", ignore=shutil.ignore_patterns("__pycache__"))
    archive = git("archive", "--format=tar", rev, "marl_bridge")
    if archive.returncode:
        raise SystemExit(f"--against {rev}: git archive failed: {archive.stderr.decode().strip()}")
    with tempfile.TemporaryFile() as tar_file:
        tar_file.write(archive.stdout)
        tar_file.seek(0)
        with tarfile.open(fileobj=tar_file) as tar:
            tar.extractall(site / "pkg", filter="data")
    (site / "sitecustomize.py").write_text(f"import sys\nsys.path.insert(0, {str(site / 'pkg')!r})\n")
    return site
