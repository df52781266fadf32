"""The role of t, measured on samples: coarse structure is decided at large t, fine
detail at small t.

Run a sampler from pure noise and look, at each step t, at the prediction x0_hat each
sample's network call made there. Two questions per sample: is x0_hat already on the
class (arm, blob, moon) the sample finally lands on? Is it already within `tolerance` of
the sample's final position? The first share rises at larger t than the second: which
part of the data a sample goes to is settled early, where exactly on it only at the end.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from explainer.datasets import Dataset
from explainer.metrics import nearest_labels
from explainer.samplers import Trajectory

TOLERANCE = 0.1  # "settled": x0_hat within this of the final sample (a spiral arm is ~0.1 wide)
DECIDED = 0.9  # a choice is "made" once this share of samples has it, from then on


@dataclass(frozen=True, eq=False)
class Commitment:
    """Shares over the samples at the measured steps (times from T down to 1)."""

    times: np.ndarray  # (k,) the times the predictions were made at
    on_final_class: np.ndarray  # (k,) x0_hat's nearest training point has the final class
    near_final: np.ndarray  # (k,) x0_hat within `tolerance` of the final sample
    num_classes: int
    tolerance: float

    def decided_from(self, curve: np.ndarray, level: float = DECIDED) -> int | None:
        """The largest measured t from which on (down to t = 1) `curve` stays at or above
        `level`; None if it ends below it."""
        below = np.flatnonzero(curve < level)
        if len(below) == 0:
            return int(self.times[0])
        if below[-1] == len(curve) - 1:
            return None
        return int(self.times[below[-1] + 1])

    def nearest_time(self, t: int) -> int:
        """The measured time nearest t (nearest in log t: the times are spaced so)."""
        return int(self.times[self._index(t)])

    def at(self, t: int) -> tuple[float, float]:
        """(on_final_class, near_final) at nearest_time(t)."""
        k = self._index(t)
        return float(self.on_final_class[k]), float(self.near_final[k])

    def _index(self, t: int) -> int:
        return int(np.abs(np.log(self.times) - np.log(max(t, 1))).argmin())


def measured_steps(times: np.ndarray, count: int) -> np.ndarray:
    """Indices of about `count` of the times a prediction was made at (times[:-1], T down
    to 1), evenly spaced in log t: dense at small t, where fine detail is decided."""
    predicted = np.asarray(times[:-1], dtype=float)
    targets = np.geomspace(predicted[0], predicted[-1], count)
    return np.unique(np.abs(np.log(predicted)[None, :] - np.log(targets)[:, None]).argmin(1))


def commitment(trajectory: Trajectory, data: Dataset, tolerance: float = TOLERANCE,
               count: int = 60, max_samples: int = 500) -> Commitment:
    """The two shares of the module docstring for (at most `max_samples` of) the samples of
    one trajectory, at about `count` of its steps."""
    if tolerance <= 0:
        raise ValueError(f"the tolerance must be positive, got {tolerance}")
    final = trajectory.final[:max_samples]
    final_class = nearest_labels(final, data.points, data.labels)
    steps = measured_steps(trajectory.times, count)
    x0_hats = trajectory.x0_hats[steps, :max_samples]
    classes = nearest_labels(x0_hats.reshape(-1, 2), data.points,
                             data.labels).reshape(len(steps), -1)
    near = np.linalg.norm(x0_hats - final[None], axis=-1) < tolerance
    return Commitment(np.asarray(trajectory.times)[steps].astype(int),
                      (classes == final_class[None]).mean(1), near.mean(1),
                      data.num_classes, tolerance)
