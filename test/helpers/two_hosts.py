"""Two "hosts" on one machine: network namespaces joined by a veth pair in 10.200.0.0/16, with nothing
else attached, so no traffic can leave the machine. Used by test/nodes/test_multihost.py and
bench/lossy_link.py; needs root and iproute2."""

from __future__ import annotations

import contextlib
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass


class NamespaceError(RuntimeError):
    """The namespaces or the link could not be made here (no root, no netns support)."""


@dataclass(frozen=True)
class Hosts:
    host: str  # the supervisor's namespace
    robot: str  # the robot's namespace
    veth_host: str
    veth_robot: str


def ip(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["ip", *args], capture_output=True, text=True)


@contextlib.contextmanager
def two_hosts(tag: str, subnet: int) -> Iterator[Hosts]:
    """Namespaces mbh<tag> (10.200.<subnet>.1) and mbr<tag> (.2), removed on exit; tag: a few characters
    unique to the caller (interface names are limited to 15)."""
    hosts = Hosts(f"mbh{tag}", f"mbr{tag}", f"mvh{tag}", f"mvr{tag}")
    net = f"10.200.{subnet % 256}"
    made: list[str] = []
    try:
        for ns in (hosts.host, hosts.robot):
            result = ip("netns", "add", ns)
            if result.returncode != 0:
                raise NamespaceError(f"cannot create network namespace {ns}: {result.stderr.strip()}")
            made.append(ns)
        steps = [("link", "add", hosts.veth_host, "type", "veth", "peer", "name", hosts.veth_robot),
                 ("link", "set", hosts.veth_host, "netns", hosts.host),
                 ("link", "set", hosts.veth_robot, "netns", hosts.robot),
                 ("-n", hosts.host, "addr", "add", f"{net}.1/24", "dev", hosts.veth_host),
                 ("-n", hosts.robot, "addr", "add", f"{net}.2/24", "dev", hosts.veth_robot),
                 ("-n", hosts.host, "link", "set", "lo", "up"), ("-n", hosts.robot, "link", "set", "lo", "up"),
                 ("-n", hosts.host, "link", "set", hosts.veth_host, "up"),
                 ("-n", hosts.robot, "link", "set", hosts.veth_robot, "up")]
        for step in steps:
            result = ip(*step)
            if result.returncode != 0:
                raise NamespaceError(f"ip {' '.join(step)}: {result.stderr.strip()}")
        yield hosts
    finally:
        for ns in made:  # deleting a namespace deletes its end of the veth pair, and with it the pair
            ip("netns", "del", ns)
