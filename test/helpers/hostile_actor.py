"""A hostile actor process for the bad-input tests: a real actor node whose answers follow a script.

    python -P hostile_actor.py CONFIG AGENT SCRIPT.json

SCRIPT maps a step index (as text) to a list of messages to send when that step's observation arrives;
each message overrides fields of the correct answer: {"data": [...]} (null entries become NaN, "inf"
and "-inf" infinities; sent in the sequence of the action space's dtype, or in "field" when given,
e.g. "data" for float64; non-finite values for an integer space go as float64), {"agent": "x"},
{"step_offset": -1}; {"bytes": "<hex>"} publishes those bytes as they are (no valid Action). Steps not
in the script get the correct answer. Every observation of an episode is answered by the script of
its step.
"""

from __future__ import annotations

import json
import math
import sys

import rclpy
from rclpy.executors import ExternalShutdownException

from marl_bridge.codec import CHANNELS
from marl_bridge.config import load
from marl_bridge.msg import Action
from marl_bridge.nodes.actor import ActorNode
from marl_bridge.nodes.params import config_parameters
from marl_bridge.nodes.topics import agent_ns
from marl_bridge.nodes.wire import Parsed

FIELDS = {"f64": "data", "i64": "data_i64", "f32": "data_f32", "u8": "data_u8"}


def _value(v: object) -> float:
    if v is None:
        return math.nan
    return float(v)  # "inf", "-inf" and numbers


class HostileActor(ActorNode):
    def __init__(self, config: str, agent: str, script: dict[str, list[dict]]) -> None:
        cfg = load(config)
        super().__init__(config_parameters(cfg), agent=agent, namespace=agent_ns(cfg.supervisor.team, agent))
        self.script = script

    def _on_observation(self, msg: Parsed) -> None:
        planned = self.script.get(str(msg.step))
        if planned is None:
            super()._on_observation(msg)
            return
        assert self.act_codec is not None
        for change in planned:
            if "bytes" in change:
                self.action_pub.publish(bytes.fromhex(change["bytes"]))
                continue
            out = Action(agent=change.get("agent", self.agent), layout=self.act_codec.layout,
                         episode=msg.episode, step=msg.step + int(change.get("step_offset", 0)), entropy=math.nan)
            data = change.get("data")
            if data is None:  # the correct answer (e.g. before a duplicate, or after a wrong one)
                self.last_key = None
                super()._on_observation(msg)
                continue
            values = [_value(v) for v in data]
            channel = CHANNELS[next(i for i, n in enumerate(self.act_codec.sizes) if n)]
            field = change.get("field") or FIELDS[channel]
            if field == "data_i64" and not all(math.isfinite(v) and v == int(v) for v in values):
                field = "data"
            setattr(out, field, values if field != "data_i64" else [int(v) for v in values])
            self.action_pub.publish(out)


def main() -> None:
    config, agent, script_path = sys.argv[1:4]
    with open(script_path) as f:
        script = json.load(f)
    try:
        with rclpy.init():
            node = HostileActor(config, agent, script)
            rclpy.spin(node)
    except (KeyboardInterrupt, ExternalShutdownException):
        pass


if __name__ == "__main__":
    main()
