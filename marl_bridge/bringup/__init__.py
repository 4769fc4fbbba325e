"""What the launch files start, as plain data: node specs built from one effective config file.

launch/*.launch.py turn these specs into launch_ros `Node` actions; `marl_bridge.bringup.commands`
turns them into the exact command lines launch_ros would run, so the same bring-up is tested where
launch_ros is not installable.
"""
