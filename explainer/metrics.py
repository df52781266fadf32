"""Sample quality against fresh data, and the data-vs-data floor that gives it meaning.

MMD^2 (biased V-statistic) with an RBF kernel of fixed bandwidth: 0 for identical
clouds, and for two independent draws of the same data it is a small positive number
(the floor: what a perfect sampler scores, see mmd_floor). A model is judged by the ratio
to that floor: "1.3x the floor" means its samples are about as close to the data as
another draw of the data is.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
import torch

from explainer.datasets import make_dataset

BANDWIDTH = 0.25


def mmd2(x: np.ndarray, y: np.ndarray, bandwidth: float = BANDWIDTH) -> float:
    """Biased MMD^2 between two point clouds with an RBF kernel."""
    a = torch.as_tensor(np.asarray(x, dtype=np.float64))
    b = torch.as_tensor(np.asarray(y, dtype=np.float64))

    def k(p: torch.Tensor, q: torch.Tensor) -> float:
        # In place: one n x m buffer instead of four (43 -> 15 ms for n = m = 1,000).
        kernel = torch.cdist(p, q)
        kernel.square_().mul_(-1 / (2 * bandwidth**2)).exp_()
        return float(kernel.mean())

    return k(a, a) + k(b, b) - 2 * k(a, b)


@functools.lru_cache(maxsize=64)
def mmd_floor(dataset: str, n: int, repeats: int = 5, seed: int = 10_000) -> float:
    """What a perfect sampler scores: the median MMD^2 between an i.i.d. draw of the
    distribution and a fresh data draw, both of size n (cached: it depends only on its
    arguments and was most of the cost of sample_quality).

    The i.i.d. draw matters for datasets drawn with equal class counts (make_dataset's
    `balanced`): two such draws agree on the class shares exactly, which no sampler can,
    since each sample picks its class at random. Against that floor a perfect sampler of
    the 8 gaussians scored 2.8x (tests/test_metrics.py checks it scores about 1x)."""
    values = [mmd2(make_dataset(dataset, n, seed + 2 * i, balanced=False).points,
                   make_dataset(dataset, n, seed + 2 * i + 1).points) for i in range(repeats)]
    return float(np.median(values))


@dataclass(frozen=True)
class Quality:
    mmd2: float
    floor: float

    @property
    def ratio(self) -> float:
        return self.mmd2 / self.floor

    def sentence(self) -> str:
        return f"MMD² {self.mmd2:.2e} = {self.ratio:.1f}x the data-vs-data floor"


def sample_quality(samples: np.ndarray, dataset: str, seed: int = 20_000) -> Quality:
    """MMD^2 of samples against a fresh draw of the dataset, with its floor."""
    finite = samples[np.isfinite(samples).all(1)]
    if len(finite) < 2:
        return Quality(float("inf"), mmd_floor(dataset, max(len(samples), 2)))
    fresh = make_dataset(dataset, len(finite), seed).points
    return Quality(mmd2(finite, fresh), mmd_floor(dataset, len(finite)))


def spread(points: np.ndarray) -> float:
    """Root-mean-square distance from the cloud's centre (its std in 2D)."""
    centred = points - points.mean(0)
    return float(np.sqrt((centred**2).sum(1).mean()))


def distance_to_data(points: np.ndarray, data: np.ndarray) -> float:
    """Mean distance from each point to its nearest data point."""
    d = torch.cdist(torch.as_tensor(points, dtype=torch.float32),
                    torch.as_tensor(data, dtype=torch.float32))
    return float(d.min(1).values.mean())


def nearest_labels(points: np.ndarray, data: np.ndarray, labels: np.ndarray,
                   block: int = 4096) -> np.ndarray:
    """Classify points by the label of the nearest data point (1-NN), `block` points at a
    time (one block's distances to 2,000 data points: 32 MB)."""
    reference = torch.as_tensor(data, dtype=torch.float32)
    queries = torch.as_tensor(np.asarray(points), dtype=torch.float32)
    nearest = [torch.cdist(part, reference).argmin(1) for part in queries.split(block)]
    return labels[torch.cat(nearest).numpy()] if nearest else labels[:0]


def class_share(points: np.ndarray, data: np.ndarray, labels: np.ndarray, label: int) -> float:
    """Share of points whose nearest data point belongs to class `label`."""
    return float((nearest_labels(points, data, labels) == label).mean())
