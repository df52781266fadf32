"""Sample-quality metrics: MMD^2 against a direct formula, and the floor that gives it
meaning."""

from __future__ import annotations

import numpy as np
import pytest

from explainer.datasets import DATASET_NAMES, make_dataset
from explainer.metrics import (
    BANDWIDTH,
    QUALITY_BANDS,
    class_share,
    distance_to_data,
    mmd2,
    nearest_labels,
    on_class_share,
    on_data_radius,
    quality_verdict,
    sample_quality,
    spread,
    spreads,
)


def mmd2_direct(x: np.ndarray, y: np.ndarray, h: float) -> float:
    """Biased MMD^2 = mean k(x, x') + mean k(y, y') - 2 mean k(x, y), k = exp(-d^2 / 2h^2)."""
    def k(a: np.ndarray, b: np.ndarray) -> float:
        d2 = ((a[:, None, :] - b[None, :, :]) ** 2).sum(-1)
        return float(np.exp(-d2 / (2 * h * h)).mean())
    return k(x, x) + k(y, y) - 2 * k(x, y)


def test_mmd2_matches_the_direct_formula() -> None:
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(150, 2)), rng.normal(0.2, 1.1, size=(170, 2))
    for h in (BANDWIDTH, 1.0):
        assert mmd2(x, y, h) == pytest.approx(mmd2_direct(x, y, h), rel=1e-9, abs=1e-12)


def test_mmd2_zero_for_identical_and_grows_with_shift() -> None:
    x = make_dataset("spiral", 1000, 0).points
    assert abs(mmd2(x, x)) < 1e-12
    shifts = [mmd2(x, x + np.float32(d)) for d in (0.05, 0.2, 0.5)]
    assert 0 < shifts[0] < shifts[1] < shifts[2]


@pytest.mark.parametrize("name", ["spiral", "moons", "gaussians"])
def test_sample_quality_fresh_data_is_at_the_floor(name: str) -> None:
    fresh = make_dataset(name, 1000, seed=777, balanced=False).points  # as a sampler draws
    q = sample_quality(fresh, name)
    assert q.floor > 0 and 0.3 < q.ratio < 3
    shifted = sample_quality(fresh + np.float32(0.3), name)
    assert shifted.ratio > 20
    blurred = sample_quality(fresh + np.random.default_rng(0).normal(0, 0.3, fresh.shape)
                             .astype(np.float32), name)
    assert blurred.ratio > 5
    assert "x the data-vs-data floor" in q.sentence()


@pytest.mark.parametrize("name", DATASET_NAMES)
def test_a_perfect_sampler_scores_about_the_floor(name: str) -> None:
    """The floor means "as good as it gets": i.i.d. draws of the true distribution (what a
    perfect sampler makes: each point's class at random) score about 1x. A floor between
    two draws with equal class counts scored such samples 2.8x on the 8 gaussians."""
    ratios = [sample_quality(make_dataset(name, 2000, seed=500 + i, balanced=False).points,
                             name).ratio for i in range(7)]
    assert 0.6 < float(np.median(ratios)) < 1.5, ratios


def test_sample_quality_ignores_non_finite_rows_and_survives_all_bad() -> None:
    fresh = make_dataset("spiral", 500, seed=9).points.copy()
    fresh[:5] = np.nan
    assert np.isfinite(sample_quality(fresh, "spiral").ratio)
    assert sample_quality(np.full((10, 2), np.nan, np.float32), "spiral").ratio == np.inf


def test_spread_and_distances() -> None:
    rng = np.random.default_rng(1)
    x = rng.normal(size=(20_000, 2)) * [0.5, 0.3] + [4.0, -1.0]
    assert spread(x) == pytest.approx(np.sqrt(0.25 + 0.09), rel=0.02)
    stack = np.stack([x[:500], 3 * x[500:1000]])  # every step of a trajectory at once
    np.testing.assert_allclose(spreads(stack), [spread(stack[0]), spread(stack[1])])
    data = np.array([[0.0, 0.0], [1.0, 0.0]])
    pts = np.array([[0.1, 0.0], [0.9, 0.3], [3.0, 0.0]])
    assert distance_to_data(pts, data) == pytest.approx((0.1 + np.hypot(0.1, 0.3) + 2.0) / 3,
                                                        rel=1e-6)
    labels = np.array([5, 7])
    np.testing.assert_array_equal(nearest_labels(pts, data, labels), [5, 7, 7])
    assert class_share(pts, data, labels, 7) == pytest.approx(2 / 3)


# --- In class and on the data -------------------------------------------------------------
def test_on_data_radius_is_the_widest_leave_one_out_gap() -> None:
    points = np.array([[0.0, 0.0], [1.0, 0.0], [3.0, 0.0], [3.5, 0.0]])
    # nearest other point: 1, 1, 0.5, 0.5 -> the widest gap is 1
    assert on_data_radius(points) == pytest.approx(1.0)
    assert on_data_radius(points[:1]) == 0.0


def test_on_class_share_counts_only_samples_in_the_class_and_near_its_data() -> None:
    data = np.array([[0.0, 0.0], [0.1, 0.0], [2.0, 0.0], [2.1, 0.0]], np.float32)
    labels = np.array([0, 0, 1, 1])
    samples = np.array([[0.05, 0.0],   # in class 0, on its data
                        [-0.5, 0.0],   # nearest class 0, but 0.5 past it
                        [2.05, 0.0],   # on the data of class 1
                        [0.0, 0.08]], np.float32)  # in class 0, within 0.1
    assert class_share(samples, data, labels, 0) == pytest.approx(3 / 4)
    assert on_class_share(samples, data, labels, 0) == pytest.approx(2 / 4)  # radius 0.1
    assert on_class_share(samples, data, labels, 0, radius=1.0) == pytest.approx(3 / 4)


@pytest.mark.parametrize("name", DATASET_NAMES)
def test_fresh_data_of_a_class_is_in_class_and_on_its_data(name: str) -> None:
    """The radius is the class's own widest gap: fresh points of the class land within it
    (>= 98% of them; >= 99% on average)."""
    train = make_dataset(name, 2000, seed=0)
    fresh = make_dataset(name, 4000, seed=321, balanced=False)
    shares = []
    for label in range(train.num_classes):
        mine = fresh.points[fresh.labels == label]
        shares.append(on_class_share(mine, train.points, train.labels, label))
    assert min(shares) >= 0.98 and np.mean(shares) >= 0.99, shares


def test_samples_thrown_past_a_blob_are_in_its_class_but_not_on_its_data() -> None:
    """High guidance on the 8 gaussians throws samples ~0.5 past their blob: the nearest
    training point is still the blob's (class_share 100%), yet they are off the data."""
    train = make_dataset("gaussians", 2000, seed=0)
    blob = train.points[train.labels == 0]
    centre = blob.mean(0)
    outward = centre / np.linalg.norm(centre)
    thrown = (blob + 0.5 * outward).astype(np.float32)
    assert class_share(thrown, train.points, train.labels, 0) == 1.0
    assert on_class_share(thrown, train.points, train.labels, 0) < 0.05
    assert on_class_share(blob, train.points, train.labels, 0) == 1.0


def test_the_quality_verdict_says_lower_is_better() -> None:
    bounds = [bound for bound, _ in QUALITY_BANDS]
    assert bounds == sorted(bounds) and bounds[-1] == np.inf
    fresh = make_dataset("spiral", 1000, seed=777, balanced=False).points
    good = sample_quality(fresh, "spiral").ratio
    bad = sample_quality(np.tile(fresh[:1], (1000, 1)), "spiral").ratio  # one collapsed spot
    assert quality_verdict(good) == QUALITY_BANDS[0][1] == "as good as real data"
    assert bad > 100 and quality_verdict(bad).endswith("bad")
    assert quality_verdict(np.inf).endswith("bad")
    with pytest.raises(ValueError):
        quality_verdict(float("nan"))
