"""Datasets: shapes, ranges, labels, seeding, and labels by name or index."""

from __future__ import annotations

import numpy as np
import pytest

from explainer.datasets import DATASET_NAMES, REGISTRY, class_names, make_dataset, parse_label


def test_registry_has_the_promised_datasets() -> None:
    assert {"spiral", "moons", "rings", "gaussians", "checkerboard"} <= set(DATASET_NAMES)
    assert len(class_names("spiral")) == 3 and len(class_names("gaussians")) == 8
    assert len(class_names("moons")) == len(class_names("rings")) == 2


@pytest.mark.parametrize("name", DATASET_NAMES)
def test_points_labels_and_range(name: str) -> None:
    d = make_dataset(name, 3000, seed=0)
    assert d.name == name and d.class_names == REGISTRY[name][1]
    assert d.points.dtype == np.float32 and d.points.shape == (3000, 2)
    assert np.issubdtype(d.labels.dtype, np.integer) and d.labels.shape == (3000,)
    assert np.isfinite(d.points).all()
    assert np.abs(d.points).max() <= 1.6, "points must fit about [-1.5, 1.5]^2"
    # The data fills the box, not a corner of it.
    assert np.abs(d.points).max() > 1.0 and d.points.std(0).min() > 0.3
    # Every class is present, in a reasonable share.
    counts = np.bincount(d.labels, minlength=d.num_classes)
    assert len(counts) == d.num_classes and counts.min() > 0.5 * 3000 / d.num_classes


@pytest.mark.parametrize("name", DATASET_NAMES)
def test_seeding(name: str) -> None:
    a, b, c = make_dataset(name, 500, 1), make_dataset(name, 500, 1), make_dataset(name, 500, 2)
    np.testing.assert_array_equal(a.points, b.points)
    np.testing.assert_array_equal(a.labels, b.labels)
    assert not np.array_equal(a.points, c.points)


@pytest.mark.parametrize("name", DATASET_NAMES)
def test_classes_are_separate_regions(name: str) -> None:
    # Labels mean something: each point's nearest other point has its label, mostly.
    d = make_dataset(name, 1000, seed=3)
    dist = np.linalg.norm(d.points[:, None] - d.points[None], axis=-1)
    np.fill_diagonal(dist, np.inf)
    assert (d.labels[dist.argmin(1)] == d.labels).mean() > 0.9


def test_spiral_classes_are_segments_along_the_arc() -> None:
    d = make_dataset("spiral", 2000, seed=0)
    radius = np.linalg.norm(d.points, axis=1)
    # Inner, middle, outer: the radius grows along the arc.
    means = [radius[d.labels == k].mean() for k in range(3)]
    assert means[0] < means[1] < means[2]


def test_bad_arguments() -> None:
    with pytest.raises(ValueError, match="spiral, moons"):
        make_dataset("swissroll")
    with pytest.raises(ValueError, match="positive"):
        make_dataset("spiral", 0)


NAMES = ("inner", "middle", "outer")


@pytest.mark.parametrize(("given", "index"), [("inner", 0), ("outer", 2), ("1", 1), (2, 2),
                                              ("0", 0), (None, None)])
def test_parse_label(given: str | int | None, index: int | None) -> None:
    assert parse_label(given, NAMES) == index


@pytest.mark.parametrize("bad", ["3", "-1", "Outer", "blob", "", "1.5", 7, -1])
def test_parse_label_rejects_with_the_choices(bad: str | int) -> None:
    with pytest.raises(ValueError) as info:
        parse_label(bad, NAMES)
    message = str(info.value)
    assert repr(bad) in message and "inner, middle, outer" in message and "0..2" in message


@pytest.mark.parametrize("name", ["moons", "rings", "gaussians"])
def test_classes_are_drawn_in_equal_shares_in_random_order(name: str) -> None:
    # Equal shares as sklearn draws these sets: a training set's own class shares would
    # otherwise be learned as part of the distribution (see datasets._balanced_labels).
    for seed in range(3):
        labels = make_dataset(name, 2003, seed=seed).labels
        counts = np.bincount(labels)
        assert counts.max() - counts.min() <= 1, counts
        assert len(set(labels[:20].tolist())) > 1  # shuffled, not in blocks


@pytest.mark.parametrize("name", ["moons", "rings", "gaussians"])
def test_an_unbalanced_draw_picks_each_class_independently(name: str) -> None:
    """balanced=False: i.i.d. classes (a perfect sampler's output, the metric's floor),
    so the counts vary like a multinomial's, around equal shares; the points of a class
    are drawn the same way as in a balanced set."""
    n, k = 8000, len(make_dataset(name, 10).class_names)
    counts = np.array([np.bincount(make_dataset(name, n, seed=s, balanced=False).labels,
                                   minlength=k) for s in range(20)])
    spread_of_counts = counts.std(axis=0).mean()
    expected = np.sqrt(n * (1 / k) * (1 - 1 / k))  # multinomial std per class
    assert 0.5 * expected < spread_of_counts < 1.6 * expected
    assert np.allclose(counts.mean(axis=0) / n, 1 / k, atol=0.01)
    iid, balanced = (make_dataset(name, n, seed=1, balanced=b) for b in (False, True))
    for c in range(k):  # each class's cloud: same centre and size either way
        a, b = iid.points[iid.labels == c], balanced.points[balanced.labels == c]
        assert np.allclose(a.mean(0), b.mean(0), atol=0.05)
        assert np.allclose(a.std(0), b.std(0), rtol=0.1, atol=0.01)
