"""The seed article's key claim, done right: the last step of a walk, given where it
started and where it is now, points back toward the start.

For the random walk x_t = x_{t-1} + s z,

    E[x_{t-1} - x_t | x_t, x0] = (x0 - x_t) / t        (a Brownian bridge).

(The seed conditions on x0 alone; then both sides are zero.) In general the left side
is the mean of q(x_{t-1} | x_t, x0) minus x_t, the same posterior the DDPM sampler uses.

The Monte Carlo estimate simulates walks from x0 and keeps those that end near x_t.
Only two Gaussian draws per walk are needed: x_{t-1} ~ q(x_{t-1} | x0) and then
x_t ~ q(x_t | x_{t-1}); this has exactly the distribution of a step-by-step walk.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from explainer.samplers import posterior
from explainer.schedules import Schedule


@dataclass(frozen=True)
class LastStepEstimate:
    mean_step: np.ndarray  # (2,) Monte Carlo mean of x_{t-1} - x_t over the kept walks
    std_error: np.ndarray  # (2,) its standard error
    formula: np.ndarray  # (2,) the exact E[x_{t-1} - x_t | x_t, x0]
    kept: int  # walks that ended within `radius` of x_t
    simulated: int
    radius: float  # the window kept walks ended in, around x_t


def last_step_formula(schedule: Schedule, x0: np.ndarray, x_t: np.ndarray, t: int) -> np.ndarray:
    """E[x_{t-1} - x_t | x_t, x0]; for the random walk this is (x0 - x_t) / t."""
    post = posterior(schedule, schedule.check_t(t), t - 1)
    return post.coef_xt * x_t + post.coef_x0 * x0 - x_t


def last_step_monte_carlo(schedule: Schedule, x0: np.ndarray, x_t: np.ndarray, t: int,
                          walks: int = 400_000, radius: float | None = None,
                          seed: int = 0) -> LastStepEstimate:
    """Simulate walks from x0, keep those ending within radius of x_t, average their
    last step. The default radius is a tenth of sigma_t: small enough that the bias it
    adds (about radius / t) is well under the step being measured."""
    t = schedule.check_t(t)
    x0, x_t = np.asarray(x0, dtype=np.float64), np.asarray(x_t, dtype=np.float64)
    prev, end = _simulated_walks(schedule, x0, t, walks, seed)
    return _kept_walks_estimate(schedule, x0, x_t, t, prev, end,
                                radius or 0.1 * float(schedule.sigma[t]))


# The windows of last_step_estimate, in units of sigma_t, and when it widens.
NARROW_WINDOW, WIDE_WINDOW = 0.2, 0.4
NOISY = 4.0  # a mean step shorter than this many standard errors is "noisy"


def window_bias(window: float) -> float:
    """About how far (as a share of the mean step) a window of `window` sigma_t shifts the
    kept walks' mean step: (window / 2)^2 (see last_step_estimate)."""
    return (window / 2) ** 2


def last_step_estimate(schedule: Schedule, x0: np.ndarray, x_t: np.ndarray, t: int,
                       walks: int = 400_000, seed: int = 0) -> LastStepEstimate:
    """last_step_monte_carlo with a window that suits t: 0.2 sigma_t, or 0.4 sigma_t where
    that leaves the mean step under NOISY standard errors long (same simulated walks).

    Kept walks lean to the denser side of the window, which biases the mean step by about
    (window / 2)^2 of itself: 1% at 0.2 sigma_t, 4% at 0.4. Where the step is many
    standard errors long (small t) that is several errors, so the window stays narrow;
    where it is short (large t: the step shrinks like 1 / sqrt(t) against the same
    scatter) the wide window keeps 4x the walks, halves the error, and its bias stays a
    fraction of it. The choice looks only at the Monte Carlo's own numbers.
    """
    t = schedule.check_t(t)
    x0, x_t = np.asarray(x0, dtype=np.float64), np.asarray(x_t, dtype=np.float64)
    sigma_t = float(schedule.sigma[t])
    prev, end = _simulated_walks(schedule, x0, t, walks, seed)
    narrow = _kept_walks_estimate(schedule, x0, x_t, t, prev, end, NARROW_WINDOW * sigma_t)
    if narrow.kept > 1 and (np.abs(narrow.mean_step).max()
                            >= NOISY * narrow.std_error.max()):
        return narrow
    return _kept_walks_estimate(schedule, x0, x_t, t, prev, end, WIDE_WINDOW * sigma_t)


def _simulated_walks(schedule: Schedule, x0: np.ndarray, t: int, walks: int,
                     seed: int) -> tuple[np.ndarray, np.ndarray]:
    """x_{t-1} and x_t of `walks` walks from x0 (float32: half the time of float64;
    their positions need no more digits)."""
    rng = np.random.default_rng(seed)
    a = schedule.alpha[t] / schedule.alpha[t - 1]
    step_std = np.sqrt(schedule.sigma[t] ** 2 - a**2 * schedule.sigma[t - 1] ** 2)
    prev = rng.standard_normal((walks, 2), dtype=np.float32)
    prev *= np.float32(schedule.sigma[t - 1])
    prev += (schedule.alpha[t - 1] * x0).astype(np.float32)
    end = rng.standard_normal((walks, 2), dtype=np.float32)
    end *= np.float32(step_std)
    end += np.float32(a) * prev
    return prev, end


def _kept_walks_estimate(schedule: Schedule, x0: np.ndarray, x_t: np.ndarray, t: int,
                         prev: np.ndarray, end: np.ndarray, radius: float) -> LastStepEstimate:
    """The mean last step of the walks that ended within radius of x_t."""
    offset = end - x_t.astype(np.float32)
    keep = np.einsum("ij,ij->i", offset, offset) < np.float32(radius) ** 2
    # Average each kept walk's own last step, x_{t-1} - (its own end). Given its end e, a
    # step has mean (c - 1) e + c0 x0 (c = coef_xt ~ 1; (x0 - e) / t for the random walk),
    # so the window's offset E[e - x_t] (ends lean to the denser side of the ball) enters
    # only times (1 - c); measured to the target x_t it would enter times c (see
    # docs/ARCHITECTURE.md, "The Brownian bridge"). The kept few are averaged in float64.
    steps = prev[keep].astype(np.float64) - end[keep]
    kept = int(keep.sum())
    mean = steps.mean(0) if kept else np.full(2, np.nan)
    err = steps.std(0) / np.sqrt(kept) if kept > 1 else np.full(2, np.nan)
    return LastStepEstimate(mean, err, last_step_formula(schedule, x0, x_t, t), kept,
                            len(prev), radius)


# ---------------------------------------------------------------- where the step aims

@dataclass(frozen=True)
class StepAim:
    """E[x_{t-1} - x_t | x_t, x0] = gain * (gamma * x0 - x_t): the mean last step points
    from x_t at gamma x0 and covers the share `gain` of the way there.

    Random walk: gain = 1 / t and gamma = 1 (the Brownian bridge). DDPM: each forward
    step also shrinks x toward 0, so undoing one aims at gamma x0 with gamma falling from
    1 (small t) to ~0 (t = T): at large t the mean step points at the origin whatever x0.
    In the rescaled coordinate x_t / alpha_t, DDPM is a random walk from x0 with noise
    sigma_t / alpha_t (Karras et al. 2022), and there the mean step aims at x0 itself."""

    gain: float
    gamma: float


def last_step_aim(schedule: Schedule, t: int) -> StepAim:
    post = posterior(schedule, schedule.check_t(t), t - 1)
    gain = 1.0 - post.coef_xt
    return StepAim(gain, post.coef_x0 / gain)


AGREE = 3.0  # a difference under this many standard errors is what chance alone gives
LOST = 2.0  # a mean step shorter than this many standard errors is lost in the noise


@dataclass(frozen=True)
class BridgeCheck:
    """What the page says about one Monte Carlo estimate against the formula."""

    difference: float  # largest |Monte Carlo - formula| over the coordinates, in standard errors
    signal: float  # the formula's step, in standard errors: how far it stands out of the noise
    cosine: float  # between the Monte Carlo arrow and the formula's (-1: opposite ways)
    walks_needed: int  # walks to simulate for the step to be NOISY standard errors long

    @property
    def agrees(self) -> bool:
        return self.difference <= AGREE

    @property
    def lost_in_noise(self) -> bool:
        """The mean step is shorter than LOST standard errors: the Monte Carlo arrow's
        direction is then mostly chance (it may even point away from x0)."""
        return self.signal < LOST


def check_estimate(est: LastStepEstimate) -> BridgeCheck:
    """Compare an estimate (with kept > 1) with its formula. The standard error shrinks
    like 1 / sqrt(walks) at a fixed window, so `walks_needed` scales the walks simulated
    by (NOISY / signal)^2."""
    error = float(np.max(est.std_error))
    length = float(np.linalg.norm(est.formula))
    if error == 0:  # t = 1: every kept walk's step before is x0 itself, no scatter
        return BridgeCheck(0.0, float("inf"), 1.0, est.simulated)
    signal = length / error
    norms = float(np.linalg.norm(est.mean_step) * length)
    cosine = float(est.mean_step @ est.formula) / norms if norms > 0 else 0.0
    needed = est.simulated * (NOISY / signal) ** 2 if signal > 0 else float("inf")
    return BridgeCheck(float(np.max(np.abs(est.mean_step - est.formula) / est.std_error)),
                       signal, cosine, int(min(np.ceil(needed), 10**15)))


# ---------------------------------------------------------------- what the figure shows

@dataclass(frozen=True)
class BridgeView:
    """How the page draws one estimate: the arrows magnified `scale` times from x_t, and
    the square view (centre, half_width) around x0, x_t and the formula's arrow."""

    scale: float  # the arrows' magnification
    aim_point: np.ndarray | None  # gamma_t x0 where the step aims when that is not x0 (DDPM)
    centre: np.ndarray
    half_width: float
    mc_off_view: bool  # the Monte Carlo arrow's tip lies outside the view


MIN_HALF_WIDTH = 0.35  # the bridge view never zooms closer than this


def bridge_view(schedule: Schedule, est: LastStepEstimate, x0: np.ndarray, x_t: np.ndarray,
                t: int) -> BridgeView:
    """Magnified by 1 / gain, the formula's arrow ends where the step aims: exactly at x0
    for the random walk (gain = 1 / t), at gamma_t x0 for DDPM (1 / gain to 3 digits).
    The view holds x0, x_t and the formula's arrow (the step is small next to the whole
    data); a noisy Monte Carlo arrow (large t: magnified hundreds of times) may leave the
    view rather than shrink the rest to a dot."""
    walk = schedule.name == "random_walk"
    aim = last_step_aim(schedule, t)
    scale = float(t) if walk else float(f"{1 / aim.gain:.3g}")
    shown = np.stack([x0, x_t, x_t + scale * est.formula])
    low, high = shown.min(0), shown.max(0)
    centre = (low + high) / 2
    half = max(MIN_HALF_WIDTH, 0.65 * float((high - low).max()))
    off = bool(np.abs(x_t + scale * est.mean_step - centre).max() > half)
    return BridgeView(scale, None if walk else aim.gamma * x0, centre, half, off)
