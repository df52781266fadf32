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
