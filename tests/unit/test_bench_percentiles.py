"""The benchmark reads latency percentiles from the worker's histogram buckets."""

from __future__ import annotations

import math

import pytest

from bench.throughput import _percentile

INF = math.inf


def test_a_percentile_is_linear_within_its_bucket() -> None:
    cumulative = {0.1: 50.0, 0.2: 100.0, INF: 100.0}

    assert _percentile(cumulative, 0.5) == pytest.approx(0.1)
    assert _percentile(cumulative, 0.25) == pytest.approx(0.05)  # from 0 to the first bound
    assert _percentile(cumulative, 0.75) == pytest.approx(0.15)
    assert _percentile(cumulative, 0.99) == pytest.approx(0.198)


def test_beyond_the_last_bucket_only_its_bound_is_known() -> None:
    assert _percentile({1.0: 90.0, 2.0: 90.0, INF: 100.0}, 0.95) == 2.0


def test_no_observation_no_percentile() -> None:
    assert _percentile({0.1: 0.0, INF: 0.0}, 0.5) is None
