"""The ament layout `pip install .` leaves in the prefix, which launch_ros relies on."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest
from conftest import REPO, skip_unless_ci

PREFIX = Path(sys.prefix)
SHARE = PREFIX / "share" / "marl_bridge"


@pytest.fixture(scope="module", autouse=True)
def _installed() -> None:
    if not (PREFIX / "share" / "ament_index" / "resource_index" / "packages" / "marl_bridge").exists():
        skip_unless_ci(f"marl_bridge is not installed into {PREFIX} (run `make install`)")


def test_ament_index_and_share_files() -> None:
    assert (SHARE / "package.xml").read_text() == (REPO / "package.xml").read_text()
    for launch_file in (REPO / "launch").glob("*.launch.py"):
        assert (SHARE / "launch" / launch_file.name).exists()
    for cfg in (REPO / "config").glob("*.yaml"):
        assert (SHARE / "config" / cfg.name).exists()
    assert (SHARE / "msg" / "Observation.msg").exists()
    assert list((PREFIX / "lib").glob("libmarl_bridge__rosidl_typesupport_c.so"))


def test_every_executable_shim_is_installed() -> None:
    """launch_ros runs <prefix>/lib/marl_bridge/<executable>; the bring-up specs name only these
    (test_bringup.py checks each spec against the installed files)."""
    shims = sorted(p.name for p in (REPO / "resource" / "lib").iterdir())
    assert {"supervisor", "actor", "record", "robot_driver"} <= set(shims)
    for exe in shims:
        path = PREFIX / "lib" / "marl_bridge" / exe
        assert path.exists() and os.access(path, os.X_OK), path


def test_launch_files_compile_and_import_what_the_package_has() -> None:
    """Without launch_ros the launch files cannot run here; at least every name they take from
    marl_bridge must exist (checked on the source, since launch_actions itself imports launch_ros)."""
    import ast

    for launch_file in sorted((REPO / "launch").glob("*.launch.py")):
        tree = ast.parse(launch_file.read_text(), filename=str(launch_file))
        assert any(isinstance(n, ast.FunctionDef) and n.name == "generate_launch_description" for n in tree.body)
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("marl_bridge"):
                source = REPO / (node.module.replace(".", "/") + ".py")
                defined = {n.name for n in ast.parse(source.read_text()).body
                           if isinstance(n, ast.FunctionDef | ast.ClassDef)}
                for alias in node.names:
                    assert alias.name in defined, f"{launch_file.name}: {node.module} has no {alias.name}"
