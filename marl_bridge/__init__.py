"""marl_bridge: a PettingZoo Parallel environment on a robot team over ROS 2 DDS.

Data flows one way: config -> envs -> nodes (supervisor, actors) -> recording (run card).
"""

__version__ = "0.1.0"
