"""Environments: building any PettingZoo ParallelEnv from config, the envs the package ships, and the
per-agent episode bookkeeping shared by the supervisor node and the direct (no-ROS) rollout."""
