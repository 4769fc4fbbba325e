"""Policies that actor nodes run, by kind (registry.py): random (seeded), scripted (entry point), mlp (.npz
weights), onnx (an ONNX model from any training library), and kinds other packages register by entry point."""

from marl_bridge.policies.base import Policy, make_policy

__all__ = ["Policy", "make_policy"]
