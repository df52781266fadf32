"""The role of t, measured: when a sample's prediction x0_hat lands on the class the
sample ends in, and when it settles near its final place (explainer/commitment.py)."""

from __future__ import annotations

import numpy as np
import pytest

from explainer.commitment import commitment, measured_steps
from explainer.datasets import Dataset
from explainer.samplers import Trajectory, sample
from explainer.trained import TrainedModel

TWO_POINTS = Dataset("two", np.array([[-1.0, 0.0], [1.0, 0.0]], dtype=np.float32),
                     np.array([0, 1]), ("left", "right"))


def test_shares_follow_the_predictions() -> None:
    """Two samples end at (1, 0) (class right). Their predictions: at t = 3 both left;
    at t = 2 one right but 0.5 away; at t = 1 both right, one within 0.1."""
    final = np.array([[1.0, 0.0], [1.0, 0.0]], dtype=np.float32)
    x0_hats = np.array([[[-1.0, 0.0], [-0.8, 0.0]],
                        [[0.5, 0.0], [-0.5, 0.0]],
                        [[1.05, 0.0], [0.7, 0.0]]], dtype=np.float32)
    run = Trajectory(np.array([3, 2, 1, 0]), np.stack([final] * 4), x0_hats)
    c = commitment(run, TWO_POINTS, count=10)
    assert list(c.times) == [3, 2, 1]
    assert list(c.on_final_class) == [0.0, 0.5, 1.0]
    assert list(c.near_final) == [0.0, 0.0, 0.5]
    assert c.decided_from(c.on_final_class, 0.9) == 1
    assert c.decided_from(c.on_final_class, 0.5) == 2
    assert c.decided_from(c.near_final, 0.9) is None
    assert c.nearest_time(2) == 2 and c.at(3) == (0.0, 0.0)
    with pytest.raises(ValueError, match="tolerance"):
        commitment(run, TWO_POINTS, tolerance=0)


def test_measured_steps_are_dense_at_small_t() -> None:
    times = np.arange(200, -1, -1)  # 200 predictions, t = 200 .. 1, then 0
    steps = measured_steps(times, 40)
    picked = times[steps]
    assert picked[0] == 200 and picked[-1] == 1
    assert set(range(1, 8)) <= set(picked.tolist())  # every one of the smallest times
    assert len(picked) <= 40


def test_the_class_is_decided_before_the_details_with_the_exact_denoiser(
        tiny_model: TrainedModel) -> None:
    """The claim the vector field page makes, on the exact denoiser of the spiral (no
    network): 90% of samples are on their final class at a larger t than 90% are within
    0.1 of their final place, and at t = T the class share is about chance."""
    ideal = tiny_model.ideal()
    run = sample(ideal, tiny_model.schedule, "ddpm", 300, 100, seed=0)
    c = commitment(run, tiny_model.data)
    on_class, settled = c.decided_from(c.on_final_class), c.decided_from(c.near_final)
    assert on_class is not None and settled is not None and on_class > settled
    assert abs(c.on_final_class[0] - 1 / 3) < 0.15
