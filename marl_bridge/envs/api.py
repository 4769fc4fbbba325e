"""Which PettingZoo API an env speaks, and whether the bridge can carry its spaces.

Detected by type, not by probing attributes: an `AECEnv` instance (the `.env()` of PettingZoo packages
is one, in its wrappers; so is `raw_env`) is turn-based; anything else must offer the Parallel API.
"""

from __future__ import annotations

from typing import Any

from pettingzoo.utils.env import AECEnv

from marl_bridge.codec import CodecError, SpaceCodec
from marl_bridge.config import ConfigError

APIS = ("parallel", "aec")


def env_api(env: Any) -> str:
    """"aec" for an AECEnv (PettingZoo's wrappers are AECEnvs too), else "parallel". Not decided by the
    unwrapped env: a Parallel env made by aec_to_parallel unwraps to its AEC original."""
    return "aec" if isinstance(env, AECEnv) else "parallel"


def check_env(env: Any, entry_point: str, where: str) -> None:
    """Refuse what is no PettingZoo env at all (an AECEnv is one by type; anything else must have the
    Parallel API's members)."""
    if env_api(env) == "aec":
        return
    needed = ("possible_agents", "reset", "step", "action_space", "observation_space")
    missing = [name for name in needed if not hasattr(env, name)]
    if missing:
        raise ConfigError(f"{where}: {entry_point} returned {type(env).__name__}, which is neither a PettingZoo "
                          f"AECEnv nor a ParallelEnv (it lacks {', '.join(missing)})")


def codecs_for(env: Any, agents: list[str], source: str) -> tuple[dict[str, SpaceCodec], dict[str, SpaceCodec]]:
    """Every agent's observation and action codec; a space the bridge cannot carry is a ConfigError."""
    obs, act = {}, {}
    for agent in agents:
        for kind, getter, out in (("observation", env.observation_space, obs), ("action", env.action_space, act)):
            try:
                out[agent] = SpaceCodec(getter(agent), f"{kind} space of {agent!r}")
            except CodecError as exc:
                raise ConfigError(f"{source}: env.entry_point: {exc}") from None
    return obs, act
