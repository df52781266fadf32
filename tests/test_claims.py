"""The numbers the sampling and guidance pages word (explainer/claims.py)."""

from __future__ import annotations

import numpy as np
import pytest

from explainer import claims, metrics
from explainer.datasets import make_dataset


def test_sample_numbers_of_a_fresh_draw_are_those_of_the_data() -> None:
    """A fresh draw of the data scores like a perfect sampler: near the floor, on the
    data, as spread as the data, centred where it is; no class numbers unguided."""
    data = make_dataset("moons", 1000, seed=0)
    fresh = make_dataset("moons", 1000, seed=7).points.astype(np.float32)
    numbers = claims.sample_numbers(fresh, data)
    assert numbers.quality < 3.0
    assert numbers.distance < 0.05
    assert numbers.spread == pytest.approx(metrics.spread(data.points), rel=0.05)
    np.testing.assert_allclose(numbers.centre, data.points.mean(0), atol=0.05)
    assert numbers.share is None and numbers.on_class is None
    with pytest.raises(AssertionError):
        numbers.guided()


def test_guided_sample_numbers_count_the_class_and_leave_quality_out() -> None:
    data = make_dataset("moons", 1000, seed=0)
    fresh = make_dataset("moons", 1000, seed=7)
    one_class = fresh.points[fresh.labels == 1].astype(np.float32)
    radius = metrics.on_data_radius(data.points[data.labels == 1])
    numbers = claims.sample_numbers(one_class, data, label=1, on_data_radius=radius)
    assert np.isnan(numbers.quality)
    assert numbers.share > 0.95 and numbers.on_class > 0.95
    assert numbers.guided() == claims.GuidedNumbers(numbers.share, numbers.on_class,
                                                    numbers.spread)
    # Thrown far past the class: still nearest to it, but not on its data.
    thrown = claims.sample_numbers(one_class * 3, data, label=1, on_data_radius=radius)
    assert thrown.on_class < thrown.share
    with pytest.raises(ValueError, match="radius"):
        claims.sample_numbers(one_class, data, label=1)


def test_no_noise_run_words_follow_the_thresholds() -> None:
    run = claims.NoNoiseRun(smallest_spread=0.1, smallest_at=5, alpha_at_smallest=1.0,
                            centre_offset=0.0, final_spread=0.5, top_class=0,
                            top_share=claims.ONE_CLASS)
    assert not run.average_is_scaled() and run.lands_on_one_class()
    scaled = claims.NoNoiseRun(0.1, 5, claims.UNSCALED_ALPHA - 0.01, 0.0, 0.5, 0,
                               claims.ONE_CLASS - 0.01)
    assert scaled.average_is_scaled() and not scaled.lands_on_one_class()
