"""Classifier-free guidance, in the diffusers / Imagen convention.

    eps_guided = eps_uncond + w (eps_cond - eps_uncond)

w = 0 is the unconditional model, w = 1 the plain conditional model, w > 1 pushes past
it, away from the average. Ho & Salimans 2022 ("Classifier-Free Diffusion Guidance"),
smalldiffusion and the Welch Labs video write (1 + w') eps_cond - w' eps_uncond =
eps_cond + w' (eps_cond - eps_uncond): the same thing with w' = w - 1.
See docs/ARCHITECTURE.md, "Guidance".

A negative class replaces eps_uncond by the eps of that class B:
eps_B + w (eps_cond - eps_B) = w eps_cond - (w - 1) eps_B, toward ``label`` with weight w
and away from ``negative`` with weight w - 1.

Cost: one network pass per step, two when guided (the conditional and the other
answer), except at w = 1 (the conditional answer alone) and w = 0 (the other alone).
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


def passes_per_step(guidance: Guidance) -> int:
    """Network passes guided_eps makes per step: 2 when it mixes two answers."""
    return 1 if guidance.label is None or guidance.w in (0.0, 1.0) else 2


def guided_eps(model: EpsModel, x_t: torch.Tensor, t: int, guidance: Guidance) -> torch.Tensor:
    null = model.num_classes
    if guidance.label is None:
        return model(x_t, t, null)
    base = null if guidance.negative is None else guidance.negative
    if guidance.w == 0.0:
        return model(x_t, t, base)  # w = 0: the other answer alone, skip a pass
    eps_cond = model(x_t, t, guidance.label)
    if guidance.w == 1.0:
        return eps_cond  # w = 1 is the conditional model, negative or not: skip a pass
    eps_base = model(x_t, t, base)
    return eps_base + guidance.w * (eps_cond - eps_base)
