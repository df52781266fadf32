"""The time-varying vector field on a grid, for a trained model or the ideal denoiser.

The one quantity drawn everywhere is the denoising direction

    v(x, t) = alpha_t x0_hat(x, t) - x = -sigma_t eps_hat(x, t),

the step that would take x to the (rescaled) predicted clean point. It is proportional
to the score: v = sigma_t^2 grad log p_t(x). The learned and the ideal field are the
same quantity, so they can be compared arrow by arrow.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from explainer.guidance import UNCONDITIONAL, Guidance, guided_eps
from explainer.limits import MAX_GRID, MIN_GRID, check_count
from explainer.model import EpsModel
from explainer.schedules import Schedule

VIEW_EXTENT = 2.0  # the grid covers [-2, 2]^2: the data's box plus a margin


def grid(size: int, extent: float = VIEW_EXTENT) -> np.ndarray:
    """(size*size, 2) float32 grid points, row-major over y then x."""
    check_count("the grid size", size, MIN_GRID, MAX_GRID)
    axis = np.linspace(-extent, extent, size, dtype=np.float32)
    gx, gy = np.meshgrid(axis, axis)
    return np.stack([gx.ravel(), gy.ravel()], axis=1)


@dataclass(frozen=True, eq=False)
class Field:
    xy: np.ndarray  # (m, 2) where the field is evaluated
    v: np.ndarray  # (m, 2) the denoising direction alpha_t x0_hat - x_t


def denoising_direction(model: EpsModel, schedule: Schedule, xy: np.ndarray, t: int,
                        guidance: Guidance = UNCONDITIONAL) -> Field:
    t = schedule.check_t(t)
    guidance.check(model.num_classes)
    x = torch.as_tensor(xy, dtype=torch.float32)
    with torch.no_grad():
        v = -float(schedule.sigma[t]) * guided_eps(model, x, t, guidance)
    return Field(xy, v.numpy().astype(np.float32))


def grid_field(model: EpsModel, schedule: Schedule, t: int, size: int = 32,
               guidance: Guidance = UNCONDITIONAL, extent: float = VIEW_EXTENT) -> Field:
    return denoising_direction(model, schedule, grid(size, extent), t, guidance)


def cosine_similarity(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Per-row cosine of the angle between two fields' arrows."""
    na, nb = np.linalg.norm(a, axis=1), np.linalg.norm(b, axis=1)
    return (a * b).sum(1) / np.maximum(na * nb, 1e-12)


# Directions agree (mean cosine at least this) while lengths do not (relative error at
# least LENGTHS_DIFFER): the learned field points the right way with arrows of other sizes.
DIRECTIONS_AGREE, LENGTHS_DIFFER = 0.9, 0.3


@dataclass(frozen=True)
class FieldAgreement:
    mean_cosine: float  # 1 = every arrow points the same way
    relative_error: float  # |v_a - v_b| / |v_b|, over all arrows together
    length_ratio: float = 1.0  # root-mean-square length of v_a over that of v_b

    def sentence(self) -> str:
        return (f"mean cosine similarity {self.mean_cosine:.2f}, "
                f"relative error {100 * self.relative_error:.0f}%")

    @property
    def only_directions_agree(self) -> bool:
        """High cosine, large relative error: the arrows point the same way but differ in
        length (e.g. at small t far from the data, where the exact arrows are long and
        the network, which saw few noisy points there, draws short ones)."""
        return (self.mean_cosine >= DIRECTIONS_AGREE
                and self.relative_error >= LENGTHS_DIFFER)


def field_agreement(learned: np.ndarray, reference: np.ndarray) -> FieldAgreement:
    rel = np.linalg.norm(learned - reference) / max(float(np.linalg.norm(reference)), 1e-12)
    lengths = np.linalg.norm(learned) / max(float(np.linalg.norm(reference)), 1e-12)
    return FieldAgreement(float(cosine_similarity(learned, reference).mean()), float(rel),
                          float(lengths))


def share_pointing_at(v: np.ndarray, xy: np.ndarray, targets: np.ndarray,
                      degrees: float = 30.0) -> float:
    """Share of arrows within `degrees` of the direction to the nearest target point."""
    d2 = ((xy[:, None, :] - targets[None, :, :]) ** 2).sum(-1)
    nearest = targets[d2.argmin(1)]
    cos = cosine_similarity(v, nearest - xy)
    return float((cos >= np.cos(np.radians(degrees))).mean())


def difference_field(a: Field, b: Field) -> Field:
    """a - b arrow by arrow on the same grid. With a = the conditional field and b = the
    unconditional (or negative-class) field this is the direction classifier-free guidance
    adds: v_guided = v_cond + (w - 1) (v_cond - v_b)."""
    if a.xy.shape != b.xy.shape or not np.array_equal(a.xy, b.xy):
        raise ValueError("the two fields must be evaluated on the same grid")
    return Field(a.xy, (a.v - b.v).astype(np.float32))


def view_extent(*clouds: np.ndarray) -> float:
    """Half-width of a square view that holds (almost all of) the given points, never
    smaller than the fields' view."""
    reach = max(float(np.quantile(np.abs(c), 0.99)) for c in clouds)
    return max(VIEW_EXTENT, round(1.1 * reach, 1))


# ---------------------------------------------------------------- where the fields split

POINTS_AT_DEGREES = 30  # an arrow "points at" a target when within this angle of it


def split_points(data: np.ndarray, size: int) -> np.ndarray:
    """Grid points where the direction to the nearest training point and the direction to
    the data's centre are more than 90 degrees apart (e.g. just inside the spiral's outer
    arm): there, "hug the data" and "go to the middle" are different answers."""
    xy = grid(size)
    nearest = data[((xy[:, None, :] - data[None, :, :]) ** 2).sum(-1).argmin(1)]
    return cosine_similarity(nearest - xy, data.mean(0) - xy) < 0


def middle(schedule: Schedule, data: np.ndarray, t: int) -> np.ndarray:
    """Where the arrows point at large t: alpha_t x0_hat with x0_hat -> the data's centre
    (for DDPM, alpha_t -> 0 takes it to the origin); shape (1, 2)."""
    return float(schedule.alpha[t]) * data.mean(0, keepdims=True)


@dataclass(frozen=True)
class FieldNumbers:
    """What the vector-field page says about a learned field against the exact one, for
    one t and grid."""

    split: int  # arrows where "nearest data" and "middle" are more than 90 degrees apart
    learned_nearest: float  # of those, the share pointing at the nearest training point
    learned_middle: float  # ... and at the middle (alpha_t times the data's centre)
    ideal_nearest: float
    ideal_middle: float
    agreement: FieldAgreement
    angle_error: np.ndarray  # (size*size,) degrees between the learned and the ideal arrow


def field_numbers(learned: Field, ideal: Field, data: np.ndarray, centre: np.ndarray,
                  split: np.ndarray, degrees: float = POINTS_AT_DEGREES) -> FieldNumbers:
    """The learned and the exact field on the same grid, compared: at the split points
    (a mask over the grid), the share of each field's arrows pointing at the nearest
    data and at the middle `centre`; everywhere, their agreement and per-arrow angle."""
    xy = learned.xy[split]

    def share(v: np.ndarray, targets: np.ndarray) -> float:
        return share_pointing_at(v[split], xy, targets, degrees) if split.any() else 0.0

    cosine = np.clip(cosine_similarity(learned.v, ideal.v), -1.0, 1.0)
    return FieldNumbers(
        split=int(split.sum()),
        learned_nearest=share(learned.v, data), learned_middle=share(learned.v, centre),
        ideal_nearest=share(ideal.v, data), ideal_middle=share(ideal.v, centre),
        agreement=field_agreement(learned.v, ideal.v),
        angle_error=np.degrees(np.arccos(cosine)).astype(np.float32))
