"""Classifier-free guidance, in the diffusers / Imagen convention.

    eps_guided = eps_uncond + w (eps_cond - eps_uncond)

w = 0 is the unconditional model, w = 1 the plain conditional model, w > 1 pushes past
it, away from the average. smalldiffusion and the Welch Labs video write
eps_cond + w' (eps_cond - eps_uncond), Ho & Salimans 2022 (1 + w') eps_cond - w' eps_uncond:
the same thing with w' = w - 1. See docs/ARCHITECTURE.md, "Guidance".

A negative class replaces eps_uncond by the eps of that class: the guided direction
then points toward ``label`` and away from ``negative``.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from explainer.model import EpsModel


@dataclass(frozen=True)
class Guidance:
    """What to sample: label None = unconditional; w and negative only apply to a label."""

    label: int | None = None
    w: float = 1.0
    negative: int | None = None

    def check(self, num_classes: int) -> Guidance:
        for name, value in (("class", self.label), ("negative class", self.negative)):
            if value is not None and not 0 <= value < num_classes:
                raise ValueError(f"{name} {value} is out of range 0..{num_classes - 1}")
        if self.negative is not None and self.label is None:
            raise ValueError("a negative class needs a class to guide toward")
        if not -1.0 <= self.w <= 50.0:
            raise ValueError(f"guidance scale w must be in -1..50, got {self.w}")
        return self


UNCONDITIONAL = Guidance()


def guided_eps(model: EpsModel, x_t: torch.Tensor, t: int, guidance: Guidance) -> torch.Tensor:
    null = model.num_classes
    if guidance.label is None:
        return model(x_t, t, null)
    eps_cond = model(x_t, t, guidance.label)
    if guidance.w == 1.0:
        return eps_cond  # w = 1 is the conditional model, negative or not: skip a pass
    base = null if guidance.negative is None else guidance.negative
    eps_base = model(x_t, t, base)
    return eps_base + guidance.w * (eps_cond - eps_base)
