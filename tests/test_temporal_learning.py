"""Temporal stability is learned from still photos: at equal steps, a net trained with the temporal regulariser
has a warping error at least 30% lower than one trained without, at a style distance at most 10% worse."""

from __future__ import annotations

import statistics

import pytest

from bench.temporal_study import STEPS, run_study, table


@pytest.mark.slow
def test_the_regulariser_lowers_the_warping_error_at_the_same_style(tmp_path):
    results = run_study(tmp_path)
    print(f"\ntemporal study, {STEPS} steps per run:\n{table(results)}")
    without, with_term = results["without"], results["with"]
    mean_without, mean_with = (statistics.mean(r.warping.values()) for r in (without, with_term))
    assert mean_with <= 0.7 * mean_without
    assert with_term.style_distance <= 1.1 * without.style_distance
