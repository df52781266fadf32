"""Toy 2D datasets with class labels: seeded, pure functions, one registry.

Every generator returns points scaled to fit about [-1.5, 1.5]^2 (float32) and integer
labels; class names live in the registry so the UI can offer them by name.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

# (n, rng, balanced) -> (points, labels); `balanced`: see make_dataset.
Generator = Callable[[int, np.random.Generator, bool], tuple[np.ndarray, np.ndarray]]


@dataclass(frozen=True)
class Dataset:
    """A finite 2D training set: points (n, 2) float32, labels (n,) int64."""

    name: str
    points: np.ndarray
    labels: np.ndarray
    class_names: tuple[str, ...]

    @property
    def num_classes(self) -> int:
        return len(self.class_names)


def _spiral(n: int, rng: np.random.Generator,
            balanced: bool = True) -> tuple[np.ndarray, np.ndarray]:
    # The classes follow from the positions: every draw is i.i.d., `balanced` or not.
    # A swiss-roll arc r ~ theta. Sampling theta = sqrt(u) makes the density uniform
    # along the arc (arc length grows like theta^2), so no arm is starved of points.
    t0, t1 = 1.5 * np.pi, 4.5 * np.pi
    theta = np.sqrt(rng.uniform(t0**2, t1**2, n))
    r = 1.45 * theta / t1
    pts = np.stack([r * np.cos(theta), r * np.sin(theta)], axis=1)
    pts += rng.normal(0.0, 0.03, size=pts.shape)
    # Three contiguous segments along the arc, equal in arc length (equal in theta^2).
    u = (theta**2 - t0**2) / (t1**2 - t0**2)
    labels = np.minimum((u * 3).astype(np.int64), 2)
    return pts, labels


def _class_labels(n: int, k: int, rng: np.random.Generator, balanced: bool) -> np.ndarray:
    """n labels of k equally likely classes: _balanced_labels, or independent draws (an
    i.i.d. sample of the distribution, as a perfect sampler would make)."""
    return _balanced_labels(n, k, rng) if balanced else rng.integers(0, k, n).astype(np.int64)


def _balanced_labels(n: int, k: int, rng: np.random.Generator) -> np.ndarray:
    """n labels in random order, every class n // k times (the remainder on random
    classes), as sklearn's make_moons, make_circles and make_blobs split their points.
    Independent labels would give each training set its own class shares, which a
    model learns and a fresh draw then misses. See docs/ARCHITECTURE.md, "Datasets"."""
    labels = np.concatenate([np.repeat(np.arange(k), n // k),
                             rng.choice(k, n % k, replace=False)])
    return rng.permutation(labels).astype(np.int64)


def _moons(n: int, rng: np.random.Generator,
           balanced: bool = True) -> tuple[np.ndarray, np.ndarray]:
    labels = _class_labels(n, 2, rng, balanced)
    angle = rng.uniform(0.0, np.pi, n)
    upper = np.stack([np.cos(angle), np.sin(angle)], axis=1)
    lower = np.stack([1.0 - np.cos(angle), 0.5 - np.sin(angle)], axis=1)
    pts = np.where(labels[:, None] == 0, upper, lower)
    # The raw moons span x in [-1, 2]; centred, 0.9 puts them in [-1.35, 1.35] (x 1.3 spread
    # them to +-2.1, outside the [-1.5, 1.5]^2 box every page and the field grid assume).
    pts = (pts - np.array([0.5, 0.25])) * 0.9
    pts += rng.normal(0.0, 0.05, size=pts.shape)
    return pts, labels


def _rings(n: int, rng: np.random.Generator,
           balanced: bool = True) -> tuple[np.ndarray, np.ndarray]:
    labels = _class_labels(n, 2, rng, balanced)
    radius = np.where(labels == 0, 0.55, 1.35)
    angle = rng.uniform(0.0, 2 * np.pi, n)
    pts = radius[:, None] * np.stack([np.cos(angle), np.sin(angle)], axis=1)
    pts += rng.normal(0.0, 0.04, size=pts.shape)
    return pts, labels


def _gaussians(n: int, rng: np.random.Generator,
               balanced: bool = True) -> tuple[np.ndarray, np.ndarray]:
    labels = _class_labels(n, 8, rng, balanced)
    angle = labels * (2 * np.pi / 8)
    centres = 1.2 * np.stack([np.cos(angle), np.sin(angle)], axis=1)
    pts = centres + rng.normal(0.0, 0.1, size=(n, 2))
    return pts, labels


def _checkerboard(n: int, rng: np.random.Generator,
                  balanced: bool = True) -> tuple[np.ndarray, np.ndarray]:
    # A 4x4 board on [-1.4, 1.4]^2 with the 8 "black" squares filled; the two classes
    # are the left and right halves of the board.
    side = 2.8 / 4
    square = rng.integers(0, 8, n)
    row = square // 2
    col = 2 * (square % 2) + (row % 2)
    pts = np.stack([col, row], axis=1) + rng.uniform(0.0, 1.0, size=(n, 2))
    pts = pts * side - 1.4
    labels = (pts[:, 0] > 0).astype(np.int64)
    return pts, labels


# name -> (generator, class names). The one place a dataset is declared.
REGISTRY: dict[str, tuple[Generator, tuple[str, ...]]] = {
    "spiral": (_spiral, ("inner", "middle", "outer")),
    "moons": (_moons, ("upper", "lower")),
    "rings": (_rings, ("inner", "outer")),
    "gaussians": (_gaussians, tuple(f"blob {i}" for i in range(8))),
    "checkerboard": (_checkerboard, ("left", "right")),
}
DATASET_NAMES: tuple[str, ...] = tuple(REGISTRY)


def check_dataset_name(name: str) -> str:
    if name not in REGISTRY:
        raise ValueError(f"unknown dataset {name!r}; choose one of {', '.join(DATASET_NAMES)}")
    return name


def class_names(name: str) -> tuple[str, ...]:
    return REGISTRY[check_dataset_name(name)][1]


def make_dataset(name: str, n: int = 2000, seed: int = 0, balanced: bool = True) -> Dataset:
    """Draw n labelled points of the named dataset, reproducibly from seed.

    Datasets of equally likely classes (moons, rings, gaussians) give every class the
    same count (`balanced`, the training sets and the metric's reference draws), or with
    balanced=False draw each point's class independently: an i.i.d. sample, what a
    perfect sampler would produce (the metric's floor, explainer/metrics.py)."""
    generate, names = REGISTRY[check_dataset_name(name)]
    if n <= 0:
        raise ValueError(f"the number of points must be positive, got {n}")
    points, labels = generate(n, np.random.default_rng(seed), balanced)
    return Dataset(name, points.astype(np.float32), labels.astype(np.int64), names)


def fresh_points(data: Dataset, n: int, seed: int, balanced: bool = True) -> np.ndarray:
    """n new points from the distribution `data` stands for: a fresh draw of a registry
    dataset; for a user's own points (no generator is known) a draw with replacement
    from them, the distribution those points define."""
    if data.name in REGISTRY:
        return make_dataset(data.name, n, seed, balanced).points
    return data.points[np.random.default_rng(seed).integers(0, len(data.points), n)]


def parse_label(label: str | int | None, names: tuple[str, ...]) -> int | None:
    """A class given by name or index (as typed on a command line) -> its index."""
    if label is None:
        return None
    if isinstance(label, str) and label in names:
        return names.index(label)
    try:
        index = int(label)
    except ValueError:
        index = -1
    if not 0 <= index < len(names):
        raise ValueError(f"unknown class {label!r}; choose a name ({', '.join(names)}) "
                         f"or an index 0..{len(names) - 1}")
    return index
