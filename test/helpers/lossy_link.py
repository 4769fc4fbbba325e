"""Packet loss on one interface of a network namespace, with nftables (there is no netem or nft binary
here; pyroute2 talks to nf_tables over netlink). Run inside the namespace:

    ip netns exec NS python lossy_link.py add DEV N     # drop 1 in N packets into and out of DEV
    ip netns exec NS python lossy_link.py drops         # print how many packets were dropped

The rule is `meta iifname DEV numgen random mod N == 0 counter drop` on input (oifname on output), in
a table of its own that goes away with the namespace.
"""

from __future__ import annotations

import sys
from typing import Any

from pyroute2.nftables.main import NFTables

TABLE = "marl_bridge_loss"
META_IIFNAME, META_OIFNAME = 6, 7  # enum nft_meta_keys
NG_RANDOM = 1  # enum nft_ng_types
DROP = 0  # NF_DROP; chains accept by default (policy NF_ACCEPT = 1)


def _expr(name: str, **attrs: Any) -> dict[str, Any]:
    return {"attrs": [("NFTA_EXPR_NAME", name), ("NFTA_EXPR_DATA", {"attrs": list(attrs.items())})]}


def _value(data: bytes) -> dict[str, Any]:
    return {"attrs": [("NFTA_DATA_VALUE", data)]}


def _rule(meta_key: int, dev: str, one_in: int) -> list[dict[str, Any]]:
    return [
        _expr("meta", NFTA_META_DREG=1, NFTA_META_KEY=meta_key),
        _expr("cmp", NFTA_CMP_SREG=1, NFTA_CMP_OP=0, NFTA_CMP_DATA=_value(dev.encode().ljust(16, b"\0"))),
        _expr("numgen", NFTA_NG_DREG=1, NFTA_NG_MODULUS=one_in, NFTA_NG_TYPE=NG_RANDOM),
        _expr("cmp", NFTA_CMP_SREG=1, NFTA_CMP_OP=0, NFTA_CMP_DATA=_value(b"\0\0\0\0")),
        _expr("counter"),
        _expr("immediate", NFTA_IMMEDIATE_DREG=0,
              NFTA_IMMEDIATE_DATA={"attrs": [("NFTA_DATA_VERDICT", {"attrs": [("NFTA_VERDICT_CODE", DROP)]})]}),
    ]


def add(dev: str, one_in: int) -> None:
    with NFTables() as nft:
        nft.table("add", name=TABLE)
        for hook, key in (("input", META_IIFNAME), ("output", META_OIFNAME)):
            nft.chain("add", table=TABLE, name=hook, hook=hook, type="filter", policy=1)
            nft.rule("add", table=TABLE, chain=hook, expressions=(_rule(key, dev, one_in),))


def drops() -> int:
    total = 0
    with NFTables() as nft:
        rules = list(nft.get_rules())
    for rule in rules:
        if rule.get_attr("NFTA_RULE_TABLE") != TABLE:
            continue
        for expr in rule.get_attr("NFTA_RULE_EXPRESSIONS") or []:
            if expr.get_attr("NFTA_EXPR_NAME") == "counter":
                total += expr.get_attr("NFTA_EXPR_DATA").get_attr("NFTA_COUNTER_PACKETS")
    return total


if __name__ == "__main__":
    if sys.argv[1] == "add":
        add(sys.argv[2], int(sys.argv[3]))
    else:
        print(drops())
