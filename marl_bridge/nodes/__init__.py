"""ROS 2 nodes: the supervisor (owns the joint step) and one actor per agent."""
