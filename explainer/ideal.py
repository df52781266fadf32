"""The ideal denoiser: the exact E[x0 | x_t] for a finite training set.

If the data is exactly the training points {x0_i} (optionally only those of one class),
then p(x0_i | x_t) is proportional to exp(-|x_t - alpha_t x0_i|^2 / (2 sigma_t^2)), so

    E[x0 | x_t] = sum_i w_i x0_i,   w = softmax_i(-|x_t - alpha_t x0_i|^2 / (2 sigma_t^2)).

This is what a perfectly trained network would output; the app draws it next to the
learned field and the tests use it as an oracle.
"""

from __future__ import annotations

import numpy as np
import torch

from explainer.schedules import Schedule

# Elements of one block of logits (~1 MB): the temporaries stay in cache and under the
# mmap threshold runtime.configure_process sets. See docs/ARCHITECTURE.md, "The ideal
# denoiser".
_BLOCK_ELEMENTS = 1 << 18


def ideal_x0_hat(x_t: torch.Tensor, data: torch.Tensor, alpha_t: float,
                 sigma_t: float) -> torch.Tensor:
    """E[x0 | x_t] in closed form, computed in log space and in blocks of x_t."""
    if sigma_t <= 0:
        return x_t / alpha_t  # no noise: x_t is x0 scaled
    if len(data) == 0:
        raise ValueError("the ideal denoiser needs at least one training point")
    data = data.to(x_t.dtype)
    scaled = alpha_t * data
    precision = 1.0 / sigma_t**2
    # logit_i = -|x - a y_i|^2 / (2 sigma^2) + const(x) = (x.(a y_i) - |a y_i|^2 / 2) / sigma^2
    offset = (-0.5 * precision) * (scaled**2).sum(-1)
    # One product gives both sum_i w_i y_i and sum_i w_i (the softmax's normaliser).
    data_and_one = torch.cat([data, torch.ones(len(data), 1, dtype=data.dtype)], dim=1)
    rows = max(1, _BLOCK_ELEMENTS // len(data))
    out = []
    for block in x_t.split(rows):
        weights = torch.addmm(offset, block, scaled.T, alpha=precision)
        weights.sub_(weights.amax(-1, keepdim=True)).exp_()  # max = 0: no overflow
        sums = weights @ data_and_one
        out.append(sums[:, :-1] / sums[:, -1:])  # the last column is the normaliser
    return torch.cat(out)


class IdealDenoiser:
    """The exact eps prediction for a training set, with the EpsModel call signature.

    label = k restricts the data to class k; label = num_classes (the null label) uses
    all of it, so guidance works exactly as with the trained network.
    """

    def __init__(self, schedule: Schedule, points: np.ndarray, labels: np.ndarray,
                 num_classes: int):
        self.schedule = schedule
        self.points = torch.as_tensor(np.asarray(points, dtype=np.float32))
        self.labels = torch.as_tensor(np.asarray(labels, dtype=np.int64))
        self.num_classes = num_classes
        self.prior = schedule.prior(points)

    def data_for(self, label: int) -> torch.Tensor:
        if label == self.num_classes:
            return self.points
        subset = self.points[self.labels == label]
        if len(subset) == 0:
            raise ValueError(f"class {label} has no training points")
        return subset

    def x0_hat(self, x_t: torch.Tensor, t: int, label: int) -> torch.Tensor:
        t = self.schedule.check_t(t)
        return ideal_x0_hat(x_t.float(), self.data_for(label),
                            float(self.schedule.alpha[t]), float(self.schedule.sigma[t]))

    def __call__(self, x_t: torch.Tensor, t: int, label: int) -> torch.Tensor:
        alpha_t, sigma_t = self.schedule.alpha[t], self.schedule.sigma[t]
        return (x_t.float() - float(alpha_t) * self.x0_hat(x_t, t, label)) / float(sigma_t)
