"""Key files and tags, pure: what is accepted, what is refused and why, and that no key ever prints."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from marl_bridge.config import ConfigError
from marl_bridge.trust.keys import (
    Key,
    actor_key,
    new_team_key,
    operator_key,
    read_key_file,
    robot_key,
    team_key,
    write_robot_key,
)
from marl_bridge.trust.tags import ACTION, OBSERVATION, Signer, Verifier


def test_a_new_team_key_is_owner_only_and_never_overwritten(tmp_path: Path) -> None:
    path = new_team_key(tmp_path / "team.key")
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    key_file = read_key_file(path, "safety.key_file")
    assert key_file.kind == "team" and len(key_file.key.secret) == 32
    assert key_file.key.secret.hex() not in repr(key_file)  # a log line of it shows no key
    with pytest.raises(FileExistsError):
        new_team_key(path)


@pytest.mark.parametrize(("content", "mode", "message"), [
    ("marl_bridge team key v1\n" + "ab" * 32 + "\n", 0o644, "readable by others (mode 644); expected owner-only"),
    ("marl_bridge team key v1\n" + "ab" * 31 + "\n", 0o600, "64 hex digits"),
    ("marl_bridge team key v1\n" + "zz" * 32 + "\n", 0o600, "64 hex digits"),
    ("some other key\n" + "ab" * 32 + "\n", 0o600, "first line must be"),
    ("", 0o600, "64 hex digits"),
])
def test_bad_key_files_name_file_and_key_and_show_no_secret(tmp_path: Path, content: str, mode: int,
                                                           message: str) -> None:
    path = tmp_path / "team.key"
    path.write_text(content)
    os.chmod(path, mode)
    with pytest.raises(ConfigError) as err:
        read_key_file(path, "cfg.yaml: safety.key_file")
    text = str(err.value)
    assert message in text and "cfg.yaml: safety.key_file" in text and str(path) in text
    assert "ab" * 8 not in text


def test_a_missing_key_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot be read"):
        read_key_file(tmp_path / "nope.key", "safety.key_file")


def test_robot_keys_are_derived_per_robot_and_only_speak_for_their_robot(tmp_path: Path) -> None:
    team_file = read_key_file(new_team_key(tmp_path / "team.key"), "k")
    k0, k1 = robot_key(team_file.key, "t", "robot_0"), robot_key(team_file.key, "t", "robot_1")
    assert len({k0.secret, k1.secret, team_file.key.secret, operator_key(team_file.key, "t").secret}) == 4
    assert robot_key(team_file.key, "other_team", "robot_0").secret != k0.secret
    robot_file = read_key_file(write_robot_key(team_file, "t", "robot_0", tmp_path / "r0.key"), "k")
    assert (robot_file.kind, robot_file.team, robot_file.agent) == ("robot", "t", "robot_0")
    assert actor_key(robot_file, "t", "robot_0", "k") == k0 == actor_key(team_file, "t", "robot_0", "k")
    with pytest.raises(ConfigError, match="key of robot 'robot_0' of team 't', not of 'robot_1'"):
        actor_key(robot_file, "t", "robot_1", "k")
    with pytest.raises(ConfigError, match="the supervisor needs the team key"):
        team_key(robot_file, "k")


def test_tags_verify_once_and_reject_forgery_other_keys_other_kinds_and_replays(tmp_path: Path) -> None:
    team_file = read_key_file(new_team_key(tmp_path / "team.key"), "k")
    k0, k1 = robot_key(team_file.key, "t", "r0"), robot_key(team_file.key, "t", "r1")
    signer = Signer(k0, ACTION)
    first, second = signer.counter(), signer.counter()
    assert second > first
    body = b"header" + b"data" + first.to_bytes(8, "little")
    tag = signer.tag(body)
    verifier = Verifier(k0, ACTION)
    assert Verifier(k0, ACTION).check(first, b"", body) == "no tag (unsigned)"
    assert Verifier(k1, ACTION).check(first, tag, body).startswith("tag does not verify")  # another robot's key
    assert Verifier(k0, OBSERVATION).check(first, tag, body).startswith("tag does not verify")  # another kind
    assert verifier.check(first, tag, b"header" + b"dat4" + first.to_bytes(8, "little")).startswith("tag does not")
    assert verifier.check(first, tag, body) is None
    assert verifier.check(first, tag, body).startswith("replayed: counter")  # the same message again
    body2 = b"header" + b"data" + second.to_bytes(8, "little")
    assert verifier.check(second, signer.tag(body2), body2) is None


def test_tags_are_hmac_sha256_of_the_domain_byte_and_the_message() -> None:
    import hashlib
    import hmac

    key = robot_key(Key(b"t" * 32), "t", "r0")
    message = b"serialized fields and counter" * 3
    for domain in (ACTION, OBSERVATION):
        signer = Signer(key, domain)
        expected = hmac.new(key.secret, domain + message, hashlib.sha256).digest()
        assert signer.tag(message) == signer.tag(message[:10], message[10:]) == expected
