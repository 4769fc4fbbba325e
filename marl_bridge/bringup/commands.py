"""The command lines launch_ros runs for node specs, for bring-up without launch_ros (and its tests).

launch_ros runs `<prefix>/lib/<package>/<executable> <arguments> --ros-args -r __node:=<name>
-r __ns:=/<namespace> --params-file <file> ...`, writing dict parameters to a temporary parameter
file; this does the same.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import yaml

from marl_bridge.bringup.team import NodeSpec

PACKAGE = "marl_bridge"


def executable_path(spec: NodeSpec, prefix: Path = Path(sys.prefix)) -> Path:
    return prefix / "lib" / PACKAGE / spec.executable


def command(spec: NodeSpec, prefix: Path = Path(sys.prefix), tmp_dir: Path | None = None) -> list[str]:
    if spec.cmd:
        return list(spec.cmd)
    cmd = [str(executable_path(spec, prefix)), *spec.arguments, "--ros-args", "-r", f"__node:={spec.name}"]
    if spec.namespace:
        cmd += ["-r", f"__ns:=/{spec.namespace}"]
    for p in spec.parameters:
        if isinstance(p, dict):
            fd, path = tempfile.mkstemp(prefix="marl_params_", suffix=".yaml", dir=tmp_dir)
            with open(fd, "w") as f:
                yaml.safe_dump({"/**": {"ros__parameters": p}}, f)
            cmd += ["--params-file", path]
        else:
            cmd += ["--params-file", str(p)]
    return cmd
