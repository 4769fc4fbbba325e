"""Key files: a team key (32 random bytes, owner-only file) and the keys derived from it.

    marl_bridge team key v1            marl_bridge robot key v1 <team> <agent>
    <64 hex digits>                    <64 hex digits>

The supervisor needs the team key. An actor takes the team key (it derives its robot's key) or, on a real
robot, only that robot's key (`marl-bridge keys robot ...`): a robot that is taken keeps no key that
speaks for another. Key bytes never appear in an error, a log line, the run card or the bag.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import stat
from dataclasses import dataclass, field
from pathlib import Path

from marl_bridge.config import ConfigError

TEAM_HEADER = "marl_bridge team key v1"
ROBOT_HEADER = "marl_bridge robot key v1"


@dataclass(frozen=True)
class Key:
    """Key bytes that never print."""

    secret: bytes = field(repr=False)

    def __repr__(self) -> str:
        return "Key(<hidden>)"


@dataclass(frozen=True)
class KeyFile:
    path: Path
    kind: str  # "team" or "robot"
    key: Key
    team: str = ""  # robot keys: the team and agent they speak for
    agent: str = ""


def _derive(team_key: bytes, *label: str) -> Key:
    return Key(hmac.new(team_key, "\0".join(("marl_bridge v1", *label)).encode(), hashlib.sha256).digest())


def robot_key(team_key: Key, team: str, agent: str) -> Key:
    """The key of one robot's actor: its actions and the observations sent to it are tagged with it."""
    return _derive(team_key.secret, "robot", team, agent)


def operator_key(team_key: Key, team: str) -> Key:
    """The key of operator requests (resume, step, reset, pause, e-stop release)."""
    return _derive(team_key.secret, "operator", team)


def read_key_file(path: str | Path, where: str) -> KeyFile:
    """A key file, checked: a regular file of this user, readable by nobody else, in one of the two forms.
    `where` names the config key for the messages."""
    p = Path(path).expanduser()
    try:
        info = p.stat()
    except OSError as exc:
        raise ConfigError(f"{where}: key file {p} cannot be read ({exc.strerror})") from None
    if not stat.S_ISREG(info.st_mode):
        raise ConfigError(f"{where}: key file {p} is not a regular file")
    if info.st_mode & 0o077:
        raise ConfigError(f"{where}: key file {p} is readable by others (mode {stat.S_IMODE(info.st_mode):o}); "
                          f"expected owner-only: chmod 600 {p}")
    if info.st_uid != os.getuid():
        raise ConfigError(f"{where}: key file {p} belongs to uid {info.st_uid}, not to this user ({os.getuid()})")
    try:
        lines = p.read_text().split("\n")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{where}: key file {p} cannot be read ({type(exc).__name__})") from None
    head, hex_key = (lines[0].strip(), lines[1].strip()) if len(lines) > 1 else ("", "")
    try:
        secret = bytes.fromhex(hex_key)
    except ValueError:
        secret = b""
    if len(secret) != 32:
        raise ConfigError(f"{where}: key file {p}: expected a header line and 64 hex digits on the second line "
                          "(make one with `marl-bridge keys new FILE`)")
    if head == TEAM_HEADER:
        return KeyFile(p, "team", Key(secret))
    words = head.split(" ")
    if head.startswith(ROBOT_HEADER + " ") and len(words) == 6:
        return KeyFile(p, "robot", Key(secret), team=words[4], agent=words[5])
    raise ConfigError(f"{where}: key file {p}: first line must be {TEAM_HEADER!r} or "
                      f"'{ROBOT_HEADER} <team> <agent>'")


def _write_private(path: Path, text: str) -> Path:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)  # never overwrite a key
    with os.fdopen(fd, "w") as f:
        f.write(text)
    return path


def new_team_key(path: str | Path) -> Path:
    return _write_private(Path(path), f"{TEAM_HEADER}\n{secrets.token_bytes(32).hex()}\n")


def write_robot_key(team_file: KeyFile, team: str, agent: str, path: str | Path) -> Path:
    key = robot_key(team_file.key, team, agent)
    return _write_private(Path(path), f"{ROBOT_HEADER} {team} {agent}\n{key.secret.hex()}\n")


def actor_key(key_file: KeyFile, team: str, agent: str, where: str) -> Key:
    """The key an actor of `agent` signs and checks with: derived from a team key, or a robot key for it."""
    if key_file.kind == "team":
        return robot_key(key_file.key, team, agent)
    if (key_file.team, key_file.agent) != (team, agent):
        raise ConfigError(f"{where}: {key_file.path} is the key of robot {key_file.agent!r} of team "
                          f"{key_file.team!r}, not of {agent!r} of team {team!r}")
    return key_file.key


def team_key(key_file: KeyFile, where: str) -> Key:
    if key_file.kind != "team":
        raise ConfigError(f"{where}: the supervisor needs the team key; {key_file.path} is robot "
                          f"{key_file.agent!r}'s key")
    return key_file.key
