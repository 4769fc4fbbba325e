"""The ament layout `pip install .` leaves in the prefix, which launch_ros relies on."""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path

import pytest
from conftest import REPO

PREFIX = Path(sys.prefix)
SHARE = PREFIX / "share" / "marl_bridge"


@pytest.fixture(scope="module", autouse=True)
def _installed() -> None:
    if not (PREFIX / "share" / "ament_index" / "resource_index" / "packages" / "marl_bridge").exists():
        pytest.skip(f"marl_bridge is not installed into {PREFIX} (run `make install`)")


def test_ament_index_and_share_files() -> None:
    assert (SHARE / "package.xml").read_text() == (REPO / "package.xml").read_text()
    for launch_file in (REPO / "launch").glob("*.launch.py"):
        assert (SHARE / "launch" / launch_file.name).exists()
    for cfg in (REPO / "config").glob("*.yaml"):
        assert (SHARE / "config" / cfg.name).exists()
    assert (SHARE / "msg" / "Observation.msg").exists()
    assert list((PREFIX / "lib").glob("libmarl_bridge__rosidl_typesupport_c.so"))


def test_every_executable_a_launch_file_names_is_installed() -> None:
    named = set()
    for launch_file in (REPO / "launch").glob("*.launch.py"):
        named |= set(re.findall(r'executable="([^"]+)"', launch_file.read_text()))
    assert named, "no launch file names an executable"
    for exe in named:
        path = PREFIX / "lib" / "marl_bridge" / exe
        assert path.exists() and os.access(path, os.X_OK), path
