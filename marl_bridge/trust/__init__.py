"""Team authentication: keys (keys.py) and message tags with replay counters (tags.py).

In the spirit of MAVLink 2 message signing: every Observation, Action and operator request of a team with
a key carries an HMAC-SHA256 tag over its serialized fields and a monotonic counter. Each robot's key is
derived from the team key, so one robot's key cannot speak for another; the supervisor holds the team key.
"""
