"""Run statistics stay bounded on long runs: latencies fold into 1% histograms, exact until then."""

from __future__ import annotations

import numpy as np
import pytest

from marl_bridge.team.stats import Latencies, RunStats


def test_latencies_are_exact_until_folded_then_within_a_bin() -> None:
    rng = np.random.default_rng(0)
    values = rng.lognormal(mean=-6.0, sigma=0.8, size=50_000)  # ~2.5 ms, a long tail
    lat = Latencies()
    for v in values[:1000]:
        lat.append(float(v))
    exact = lat.summary()
    assert exact is not None and exact["p50"] == pytest.approx(np.percentile(values[:1000], 50) * 1e3, rel=1e-12)
    for v in values[1000:]:
        lat.append(float(v))
        if len(lat.recent) == 4096:
            lat.fold()
    assert len(lat.recent) < 4096 and lat.counts is not None  # memory: a buffer and 2400 bins
    got = lat.summary()
    assert got is not None and got["n"] == values.size
    assert got["max"] == pytest.approx(values.max() * 1e3, rel=1e-12)  # exact
    for q, key in ((50, "p50"), (99, "p99")):
        assert got[key] == pytest.approx(np.percentile(values, q) * 1e3, rel=0.011)  # within one 1% bin


def test_run_stats_fold_every_fold_at_steps() -> None:
    stats = RunStats(["a", "b"], started_at=0.0)
    stats.FOLD_AT = 100
    for step in range(1050):
        stats.latency["a"].recent.append(0.001 * (1 + step % 7))
        stats.stepped(now=step * 0.01 + 0.002, t0=step * 0.01)
    assert len(stats.step_latencies.recent) == 50 and len(stats.latency["a"].recent) == 50
    assert stats.latency_ms("a")["n"] == 1050 and stats.latency_ms("b") is None
    assert stats.timing(1050, 20.0)["step_latency_p50_ms"] == pytest.approx(2.0, rel=0.011)
