"""Train a team with TorchRL's MAPPO/IPPO parts and export one ONNX actor per policy (optional extra).

Needs `pip install .[train]` (torch, torchrl, tensordict, onnx); the core install never imports this
package. `marl-bridge train CONFIG.yaml` runs `trainer.train`. Why TorchRL: docs/training.md.
"""
