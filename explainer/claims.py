"""The numbers behind what the sampling and guidance pages say, and the thresholds that
decide which of their sentences is true for the model, sampler, steps and w on screen.

Pages word the claims; the measurements and the lines between "collapsed" and "spread",
"rescued" and "thrown off the data" live here, so tests can check a page's sentence
against the numbers it was made from.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from explainer import metrics
from explainer.datasets import Dataset
from explainer.metrics import nearest_labels, spreads
from explainer.schedules import Schedule

# A cloud with less than this share of the data's spread has collapsed into one bunch.
COLLAPSED = 0.25
# Samples on the data (mean distance to it under NEAR_DATA; a real sample's is ~0.013)
# that still score PILED_UP times the quality floor have piled up on parts of it. Without
# the noise on data whose average is off the data (the 8 gaussians, the rings) the points
# need not collapse to that average: it is an unstable point, and each falls onto the part
# of the data nearest it (the random walk's no-noise run on the gaussians: spread 0.95 of
# the data's, every blob shrunk to its centre, ~13x the floor).
PILED_UP = 5.0
NEAR_DATA = 0.05
# The shrinking no-noise cloud is "around the (scaled) average" while its centre is
# within this share of the data's spread of alpha_t times the data's average.
NEAR_AVERAGE = 0.3
# A one-step sample counts as "thrown out" when it spreads wider than the data.
THROWN_OUT = 1.0
# An average scaled by alpha_t above this is the data's average itself, as far as words go.
UNSCALED_ALPHA = 0.99
# A landed cloud with at least this share on one class is "on class k".
ONE_CLASS = 0.9


@dataclass(frozen=True)
class NoNoiseRun:
    """The no-noise sampler's run told in two phases: how small the cloud gets, where and
    when, then where it lands."""

    smallest_spread: float  # the cloud's smallest spread over the run
    smallest_at: int  # the t at which it is smallest
    alpha_at_smallest: float  # alpha_t there: the average it shrinks toward is scaled by it
    centre_offset: float  # |cloud's centre - alpha_t x data's average| there
    final_spread: float
    top_class: int  # the class most final samples are nearest to
    top_share: float  # and their share

    def near_average(self, data_spread: float) -> bool:
        return self.centre_offset <= NEAR_AVERAGE * data_spread

    def average_is_scaled(self) -> bool:
        """The average it shrinks toward is alpha_t times the data's, visibly so."""
        return self.alpha_at_smallest <= UNSCALED_ALPHA

    def lands_on_one_class(self) -> bool:
        return self.top_share >= ONE_CLASS

    def shrinks_all_the_way(self) -> bool:
        """Smallest at the very end: one spot, no landing phase after it."""
        return self.smallest_at == 0 or self.final_spread <= 1.1 * self.smallest_spread


def no_noise_run(xs: np.ndarray, times: np.ndarray, schedule: Schedule,
                 data: Dataset) -> NoNoiseRun:
    """Measure a no-noise trajectory (xs[k] at times[k], from t = T to 0)."""
    spread_at = spreads(xs)
    k = int(spread_at.argmin())
    t = int(times[k])
    alpha_t = float(schedule.alpha[t])
    offset = float(np.linalg.norm(xs[k].mean(0) - alpha_t * data.points.mean(0)))
    nearest = nearest_labels(xs[-1], data.points, data.labels)
    counts = np.bincount(nearest, minlength=data.num_classes)
    top = int(counts.argmax())
    return NoNoiseRun(float(spread_at[k]), t, alpha_t, offset, float(spread_at[-1]), top,
                      float(counts[top] / len(nearest)))


def landing(quality: float, final_spread: float, distance: float, data_spread: float) -> str:
    """How samples end, one of: "one bunch" (a collapsed cloud on the data), "collapsed
    off the data", "piled up" (on the data, spread, but crowding parts of it), "shrunk"
    (under 80% of the data's spread), "off the data", or "covers" (none of these)."""
    on_data = distance < NEAR_DATA
    if final_spread < COLLAPSED * data_spread:
        return "one bunch" if on_data else "collapsed off the data"
    if on_data and quality >= PILED_UP:
        return "piled up"
    if final_spread < 0.8 * data_spread:
        return "shrunk"
    return "covers" if on_data else "off the data"


def one_step_amplification(schedule: Schedule) -> float:
    """sigma_T / alpha_T: one step from t = T lands on x0_hat = (x_T - sigma_T eps_hat) /
    alpha_T, so the network's error in eps_hat there is multiplied by this (DDPM: ~182,
    as alpha_T ~ 0.0055; the random walk: sigma_T = 6.4)."""
    T = schedule.T
    return float(schedule.sigma[T] / schedule.alpha[T])


# ---------------------------------------------------------------- guidance

# Changes in a share smaller than this (5 points of 100) are not reported as changes: two
# seeds of 500 samples differ by up to ~3 points.
SHARE_STEP = 0.05
# Spread changes under 10% are not called "less" or "more variety".
SPREAD_STEP = 0.10
# Two fields "agree" with a mean cosine of at least AGREE (~18 degrees on average), "only
# roughly" down to ROUGHLY (~37 degrees); below that they "differ".
AGREE, ROUGHLY = 0.95, 0.80


@dataclass(frozen=True)
class GuidedNumbers:
    """What guided samples score (guidance's sentence compares w with w = 1)."""

    share: float  # nearest training point in the class
    on_class: float  # ... and on the data (metrics.on_class_share)
    spread: float


def guidance_effects(w: float, at_w: GuidedNumbers, at_1: GuidedNumbers) -> tuple[str, ...]:
    """What guidance at w did compared with w = 1 (plain conditional), as codes:
    "into class" (more samples nearest the class), "rescued" (more in class and on the
    data), "off the data" (fewer on the data of the class), "out of class" (fewer in
    it), "less variety" / "more spread" (spread down / up by SPREAD_STEP or more; for
    w > 1 only: below w = 1 the samples spread over other classes, and a smaller spread
    around their centre, e.g. both rings against the outer one, is not less variety).
    None of these: ()."""
    effects = []
    if at_w.share >= at_1.share + SHARE_STEP:
        effects.append("into class")
    if at_w.share <= at_1.share - SHARE_STEP:
        effects.append("out of class")
    if at_w.on_class >= at_1.on_class + SHARE_STEP:
        effects.append("rescued")
    if at_w.on_class <= at_1.on_class - SHARE_STEP and at_w.share > at_1.share - SHARE_STEP:
        effects.append("off the data")
    if w > 1 and at_w.spread <= (1 - SPREAD_STEP) * at_1.spread:
        effects.append("less variety")
    if w > 1 and at_w.spread >= (1 + SPREAD_STEP) * at_1.spread:
        effects.append("more spread")
    return tuple(effects)


def agreement_words(mean_cosine: float) -> str:
    """"agree", "agree only roughly" or "differ", judged on the cosine as printed (two
    decimals), so that a page never prints 0.95 beside "differ"."""
    shown = round(mean_cosine, 2)
    return "agree" if shown >= AGREE else "agree only roughly" if shown >= ROUGHLY else "differ"


def fields_agree(mean_cosine: float) -> bool:
    return agreement_words(mean_cosine) == "agree"


def large_t_shrinks_guesses(schedule: Schedule) -> bool:
    """Whether alpha_T is small enough that alpha_T x0_hat is ~0 for every guess at t = T
    (DDPM: 0.0055), so every field points at the origin there whatever the class. The
    random walk keeps alpha_T = 1: its fields point at each guess itself."""
    return float(schedule.alpha[schedule.T]) < 0.05


# ---------------------------------------------------------------- the numbers of a sample set

@dataclass(frozen=True)
class SampleNumbers:
    """What a page says under a figure of samples (measured on the final samples)."""

    quality: float  # MMD^2 / data-vs-data floor vs the whole dataset (nan when guided)
    spread: float  # RMS distance from the samples' own centre
    distance: float  # mean distance to the nearest training point (of the class if guided)
    share: float | None  # share whose nearest training point is in the guided class
    centre: tuple[float, float]  # where the samples' average is
    on_class: float | None = None  # share in the guided class and on its data

    def guided(self) -> GuidedNumbers:
        assert self.share is not None and self.on_class is not None, "not guided numbers"
        return GuidedNumbers(self.share, self.on_class, self.spread)


def sample_numbers(final: np.ndarray, data: Dataset, label: int | None = None,
                   on_data_radius: float | None = None) -> SampleNumbers:
    """The numbers of final samples against the training set. Guided samples (`label`
    given, with its class's metrics.on_data_radius) cover one class, so MMD against the
    whole dataset means little: their quality is nan, and they get class shares."""
    centre = tuple(map(float, final.mean(0)))
    if label is None:
        return SampleNumbers(metrics.sample_quality(final, data).ratio,
                             metrics.spread(final), metrics.distance_to_data(final, data.points),
                             None, centre)
    if on_data_radius is None:
        raise ValueError("guided sample numbers need the class's on-data radius")
    in_class = data.points[data.labels == label]
    return SampleNumbers(float("nan"), metrics.spread(final),
                         metrics.distance_to_data(final, in_class),
                         metrics.class_share(final, data.points, data.labels, label),
                         centre,
                         metrics.on_class_share(final, data.points, data.labels, label,
                                                on_data_radius))
