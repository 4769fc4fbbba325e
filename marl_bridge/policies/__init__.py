"""Policy plugins that actor nodes run: random (seeded), scripted (entry point), mlp (.npz weights)."""

from marl_bridge.policies.base import Policy, make_policy

__all__ = ["Policy", "make_policy"]
