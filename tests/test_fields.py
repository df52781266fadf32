"""Comparing two fields arrow by arrow (explainer/fields.py): directions and lengths."""

from __future__ import annotations

import numpy as np
import pytest

from explainer.fields import field_agreement


def test_directions_can_agree_while_lengths_do_not() -> None:
    rng = np.random.default_rng(0)
    exact = rng.normal(size=(500, 2))
    same_way_shorter = 0.3 * exact
    a = field_agreement(same_way_shorter, exact)
    assert a.mean_cosine == pytest.approx(1.0)
    assert a.relative_error == pytest.approx(0.7)
    assert a.length_ratio == pytest.approx(0.3)
    assert a.only_directions_agree
    b = field_agreement(exact + 0.01 * rng.normal(size=exact.shape), exact)
    assert b.relative_error < 0.05 and not b.only_directions_agree
    turned = field_agreement(exact[:, ::-1] * [1, -1], exact)  # every arrow at 90 degrees
    assert abs(turned.mean_cosine) < 1e-9 and not turned.only_directions_agree


def test_split_points_are_where_nearest_data_and_the_centre_lie_apart() -> None:
    """Two points at (+-1, 0): the centre is the origin. A grid point just beside the
    right point (x > 1) has its nearest data to the left and the centre to the left too,
    but a grid point between them and above has them on opposite sides (> 90 degrees)."""
    from explainer.fields import grid, split_points
    data = np.array([[-1.0, 0.0], [1.0, 0.0]])
    size = 21
    split = split_points(data, size)
    xy = grid(size)
    nearest = data[np.argmin(((xy[:, None] - data[None]) ** 2).sum(-1), axis=1)]
    to_nearest, to_centre = nearest - xy, -xy
    expected = (to_nearest * to_centre).sum(1) < 0
    np.testing.assert_array_equal(split, expected)
    assert split.any() and not split.all()
    # Beyond the right point on the x axis both arrows point left: not split.
    beyond = np.argmin(((xy - [1.6, 0.0]) ** 2).sum(1))
    assert not split[beyond]


def test_field_numbers_of_two_equal_fields_agree_and_count_the_split() -> None:
    from explainer.fields import Field, field_numbers, grid, middle, split_points
    from explainer.schedules import ProcessConfig, make_schedule
    data = np.array([[-1.0, 0.0], [1.0, 0.0], [0.0, 1.2]])
    size = 16
    xy = grid(size)
    nearest = data[np.argmin(((xy[:, None] - data[None]) ** 2).sum(-1), axis=1)]
    towards_data = Field(xy, (nearest - xy).astype(np.float32))
    schedule = make_schedule(ProcessConfig("ddpm"))
    centre = middle(schedule, data, 1)
    assert centre.shape == (1, 2)
    np.testing.assert_allclose(centre[0], schedule.alpha[1] * data.mean(0))
    split = split_points(data, size)
    numbers = field_numbers(towards_data, towards_data, data, centre, split)
    assert numbers.split == int(split.sum()) > 0
    assert numbers.learned_nearest == numbers.ideal_nearest == pytest.approx(1.0)
    assert numbers.learned_middle < 0.5  # at split points the middle is > 90 degrees away
    assert numbers.agreement.mean_cosine == pytest.approx(1.0)
    assert numbers.angle_error.shape == (size * size,)
    assert numbers.angle_error.max() < 0.1  # float32 arccos of ~1


def test_view_extent_holds_the_points_and_never_shrinks_below_the_view() -> None:
    from explainer.fields import VIEW_EXTENT, view_extent
    assert view_extent(np.zeros((10, 2))) == VIEW_EXTENT
    wide = np.random.default_rng(0).normal(scale=5.0, size=(2000, 2))
    extent = view_extent(np.zeros((3, 2)), wide)
    assert np.mean(np.abs(wide) <= extent) > 0.99 and extent > VIEW_EXTENT
