"""Reverse processes: from pure noise back to data, keeping the whole trajectory.

Three update rules, one loop. For a step t -> s (s < t) with a = alpha_t / alpha_s and
v = sigma_t^2 - a^2 sigma_s^2, the forward process gives the Gaussian posterior

    q(x_s | x_t, x0) = N( (a sigma_s^2 / sigma_t^2) x_t + (alpha_s v / sigma_t^2) x0,
                          (v sigma_s^2 / sigma_t^2) I ).

- ``ddpm``: draw from that posterior with x0 replaced by x0_hat (Ho et al. Algorithm 2
  when s = t - 1; for the random walk the mean is ((t-1)/t) x_t + (1/t) x0_hat).
- ``no_noise``: the same mean with the noise term dropped. Each step then moves
  (sigma_t + a sigma_s) / sigma_t times as far along the arrow as DDIM (no_noise_step_ratio),
  so the cloud shrinks toward the current average guess (the seed article's "blurry
  tree"), then lands in one bunch on the data nearest it.
- ``ddim`` (eta = 0, Song et al. 2021): x_s = alpha_s x0_hat + sigma_s eps_hat;
  deterministic, Euler's method on the probability-flow ODE, whose solution has the
  forward process's marginals: it keeps their spread only approximately, and copes with
  far fewer steps than T.

Every rule costs one network pass per step (two when guided: guidance.passes_per_step).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Literal, get_args

import numpy as np
import torch

from explainer.guidance import UNCONDITIONAL, Guidance, guided_eps, passes_per_step
from explainer.model import EpsModel
from explainer.schedules import Schedule

SamplerName = Literal["ddpm", "no_noise", "ddim"]
SAMPLER_NAMES: tuple[str, ...] = get_args(SamplerName)
SAMPLER_LABELS = {"ddpm": "DDPM (noise injected)", "no_noise": "DDPM without the noise",
                  "ddim": "DDIM (deterministic)"}
# Short names for panel and row titles (a third of a phone's width).
SAMPLER_TITLES = {"ddpm": "DDPM", "no_noise": "DDPM, no noise", "ddim": "DDIM"}


def check_sampler_name(name: str) -> str:
    if name not in SAMPLER_NAMES:
        raise ValueError(f"unknown sampler {name!r}; choose one of {', '.join(SAMPLER_NAMES)}")
    return name


@dataclass(frozen=True)
class Posterior:
    """q(x_s | x_t, x0) = N(coef_xt x_t + coef_x0 x0, var I)."""

    coef_xt: float
    coef_x0: float
    var: float


def posterior(schedule: Schedule, t: int, s: int) -> Posterior:
    alpha_t, sigma_t = schedule.alpha[t], schedule.sigma[t]
    alpha_s, sigma_s = schedule.alpha[s], schedule.sigma[s]
    a = alpha_t / alpha_s
    v = sigma_t**2 - a**2 * sigma_s**2
    return Posterior(float(a * sigma_s**2 / sigma_t**2), float(alpha_s * v / sigma_t**2),
                     float(v * sigma_s**2 / sigma_t**2))


def network_passes(steps: int, guidance: Guidance = UNCONDITIONAL) -> int:
    """Denoiser passes per sample: one per step for every rule, doubled by guidance."""
    return steps * passes_per_step(guidance)


def no_noise_step_ratio(schedule: Schedule, times: list[int] | np.ndarray) -> np.ndarray:
    """For each step t -> s of `times`: how many times as far along the arrow
    -eps_hat as DDIM the no-noise step moves, (sigma_t + a sigma_s) / sigma_t.

    Both steps are x_t / a minus a multiple of eps_hat (a = alpha_t / alpha_s): DDIM's
    (sigma_t / a - sigma_s), the no-noise mean's v / (a sigma_t) with
    v = sigma_t^2 - a^2 sigma_s^2. Their ratio is (sigma_t + a sigma_s) / sigma_t: nearly 2
    for small steps, 1 on a last step to s = 0. It is the reverse SDE's drift taken without
    its noise, against the probability-flow ODE's (half that drift).
    """
    t, s = np.asarray(times[:-1]), np.asarray(times[1:])
    a = schedule.alpha[t] / schedule.alpha[s]
    return (schedule.sigma[t] + a * schedule.sigma[s]) / schedule.sigma[t]


def no_noise_kept(schedule: Schedule, s: int) -> float:
    """What the no-noise rule keeps of each point's own noise at time s, as a share of
    what DDIM keeps (sigma_s eps_hat), over a whole run from t = T whatever its steps.

    Per step the no-noise x_s - alpha_s x0_hat is (a sigma_s^2 / sigma_t) eps_hat, a factor
    a sigma_s / sigma_t of DDIM's; over the steps the product telescopes to
    (alpha_T / alpha_s) (sigma_s / sigma_T). The random walk (alpha = 1): sigma_s / sigma_T.
    DDPM: alpha_T ~ 0 makes it ~0, so the cloud shrinks to a point there.
    """
    T = schedule.T
    return float(schedule.alpha[T] / schedule.alpha[s] * schedule.sigma[s] / schedule.sigma[T])


KARRAS_RHO = 7.0  # Karras et al. 2022 (EDM), eq. 5: their default


def timesteps(T: int, steps: int, spacing: str = "linear") -> list[int]:
    """steps + 1 distinct integer times from T down to 0.

    - "linear": evenly spaced in t (DDPM).
    - "sigma": evenly spaced in sqrt(t), i.e. in sigma_t for the random walk (the t
      sliders: every part of the noise range gets the same length).
    - "karras": the random walk's samplers. sigma_t^(1/rho) evenly spaced from sigma_T
      down to sigma_1 (Karras et al. 2022, rho = 7), then one last step to 0. Steps get
      finer as sigma falls, where the detail is decided, and the last step always starts
      at t = 1. See docs/ARCHITECTURE.md, "Step spacing".
    """
    if not 1 <= steps <= T:
        raise ValueError(f"steps must be in 1..{T} for this process, got {steps}")
    if spacing == "karras":
        # sigma_t / sigma_T = sqrt(t / T), from 1 down to sqrt(1 / T) (t = 1), then t = 0.
        u = np.linspace(1.0, T ** (-0.5 / KARRAS_RHO), steps) ** KARRAS_RHO
        raw = np.append(np.round(T * u**2), 0).astype(int)
    else:
        u = np.linspace(1.0, 0.0, steps + 1)
        raw = np.round(T * (u**2 if spacing == "sigma" else u)).astype(int)
    # Rounding can repeat small times: walk up from t = 0 keeping them distinct.
    times = raw[::-1].copy()
    for k in range(1, len(times)):
        times[k] = max(times[k], times[k - 1] + 1)
    return [int(t) for t in times[::-1]]


@dataclass(frozen=True, eq=False)
class Trajectory:
    """A whole reverse run: xs[k] is x at times[k]; x0_hats[k] is the prediction made at
    times[k] (k < steps). float32 numpy, ready for figures."""

    times: np.ndarray  # (steps + 1,)
    xs: np.ndarray  # (steps + 1, n, 2)
    x0_hats: np.ndarray  # (steps, n, 2)

    @property
    def final(self) -> np.ndarray:
        return self.xs[-1]


def sample(model: EpsModel, schedule: Schedule, sampler: str = "ddpm", n: int = 2000,
           steps: int | None = None, guidance: Guidance = UNCONDITIONAL, seed: int = 0,
           x_T: torch.Tensor | None = None) -> Trajectory:
    """Run one sampler from the model's prior (or from x_T) and return the trajectory;
    `steps` defaults to schedule.default_sampling_steps."""
    check_sampler_name(sampler)
    guidance.check(model.num_classes)
    if n <= 0:
        raise ValueError(f"the number of samples must be positive, got {n}")
    times = timesteps(schedule.T, steps or schedule.default_sampling_steps,
                      schedule.sampling_spacing)
    gen = torch.Generator().manual_seed(seed)
    prior = model.prior or schedule.prior()
    start = x_T if x_T is not None else prior.draw(n, gen)
    xs, x0_hats = [start], []
    for _, x, x0_hat in reverse_steps(model, schedule, sampler, times, start, gen, guidance):
        xs.append(x)
        x0_hats.append(x0_hat)
    return Trajectory(np.asarray(times), torch.stack(xs).float().numpy(),
                      torch.stack(x0_hats).float().numpy())


def reverse_steps(model: EpsModel, schedule: Schedule, sampler: str, times: Sequence[int],
                  x_T: torch.Tensor, gen: torch.Generator,
                  guidance: Guidance = UNCONDITIONAL
                  ) -> Iterator[tuple[int, torch.Tensor, torch.Tensor]]:
    """The reverse run from x_T over `times` (T down to 0), one step at a time: yields
    (s, x_s, x0_hat made at t) for each step t -> s. A generator, so that a caller with
    big states (images) keeps only the steps it needs; x may have any shape (n, ...)."""
    check_sampler_name(sampler)
    x = x_T
    with torch.no_grad():
        for t, s in zip(times[:-1], times[1:], strict=True):
            eps_hat = guided_eps(model, x, t, guidance)
            alpha_t, sigma_t = float(schedule.alpha[t]), float(schedule.sigma[t])
            x0_hat = (x - sigma_t * eps_hat) / alpha_t
            x = _step(schedule, sampler, x, t, s, x0_hat, eps_hat, gen)
            yield s, x, x0_hat


def _step(schedule: Schedule, sampler: str, x_t: torch.Tensor, t: int, s: int,
          x0_hat: torch.Tensor, eps_hat: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
    if sampler == "ddim":
        return float(schedule.alpha[s]) * x0_hat + float(schedule.sigma[s]) * eps_hat
    post = posterior(schedule, t, s)
    mean = post.coef_xt * x_t + post.coef_x0 * x0_hat
    if sampler == "no_noise" or s == 0:
        return mean  # s = 0: the posterior has no variance left
    return mean + post.var**0.5 * torch.randn(x_t.shape, generator=gen)
