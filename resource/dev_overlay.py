"""`make dev`: develop from the source tree on top of a regular install (see README, Install details).

pip's editable mode cannot carry what ROS needs (interface libraries in <prefix>/lib, where the
typesupport loader looks them up by name; share/ and lib/marl_bridge/ for launch), so development uses
the regular install for those and puts the source tree first on sys.path with a .pth file. The
generated interfaces are copied from the install into the tree (git ignores them): rerun `make dev`
after changing msg/ or srv/.
"""

from __future__ import annotations

import shutil
import site
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def main() -> int:
    site_dir = Path(site.getsitepackages()[0])
    installed = site_dir / "marl_bridge"
    if not (installed / "msg" / "__init__.py").exists():
        print(f"marl_bridge is not installed in {sys.prefix}: run `make install` first", file=sys.stderr)
        return 2
    for sub in ("msg", "srv"):
        shutil.copytree(installed / sub, REPO / "marl_bridge" / sub, dirs_exist_ok=True)
    for so in installed.glob("*.so"):
        shutil.copy2(so, REPO / "marl_bridge" / so.name)
    pth = site_dir / "marl_bridge_dev.pth"
    pth.write_text(f"import sys; sys.path.insert(0, {str(REPO)!r})\n")
    print(f"{pth}: {REPO} now comes first on sys.path (delete this file to stop developing from the tree)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
