"""The Brownian-bridge identity (docs/ARCHITECTURE.md, "The Brownian bridge"):
E[x_{t-1} - x_t | x_t, x0] = (x0 - x_t) / t
for the random walk, by Monte Carlo; and the same estimator against Ho's posterior mean
for DDPM."""

from __future__ import annotations

import math

import numpy as np
import pytest

from explainer.bridge import (
    LOST,
    NARROW_WINDOW,
    WIDE_WINDOW,
    check_estimate,
    last_step_aim,
    last_step_estimate,
    last_step_formula,
    last_step_monte_carlo,
    window_bias,
)
from explainer.schedules import make_schedule

X0 = np.array([0.5, -0.3])


@pytest.mark.parametrize("t", [3, 40, 1000])
def test_random_walk_monte_carlo_matches_bridge(t: int) -> None:
    sch = make_schedule("random_walk")
    x_t = X0 + sch.sigma[t] * np.array([1.0, 0.5])
    est = last_step_monte_carlo(sch, X0, x_t, t, seed=t)
    bridge = (X0 - x_t) / t
    assert est.kept > 500 and est.simulated == 400_000
    assert (np.abs(est.mean_step - bridge) < 4 * est.std_error).all(), (est, bridge)
    # The check can fail: at small t the step is many standard errors away from 0, the
    # answer the seed article's "E[x_{t-1} - x_t | x0]" would give. (At t = 1000 the
    # bridge's pull, |x0 - x_t| / t ~ s / sqrt(t), is below the Monte Carlo noise.)
    if t < 100:
        assert np.abs(est.mean_step).max() > 5 * est.std_error.max()
    # Its scatter is the bridge's: sd of one kept step ~ s sqrt((t - 1) / t).
    s = sch.sigma[1]
    np.testing.assert_allclose(est.std_error * math.sqrt(est.kept), s * math.sqrt((t - 1) / t),
                               rtol=0.15)


def test_a_wide_window_adds_no_visible_bias() -> None:
    # Kept walks end anywhere in the window, leaning to its denser side. Averaging each
    # walk's own last step divides that lean by t; measuring to the window's centre
    # instead would be off by the whole lean (~0.035 here, 40x the bridge step). The
    # window is the page's wide one, 0.4 sigma_t.
    sch, t = make_schedule("random_walk"), 1000
    x_t = X0 + sch.sigma[t] * np.array([1.0, 0.5])
    est = last_step_monte_carlo(sch, X0, x_t, t, walks=1_000_000,
                                radius=0.4 * sch.sigma[t], seed=1)
    assert est.kept > 20_000
    assert (np.abs(est.mean_step - (X0 - x_t) / t) < 4 * est.std_error).all(), est


@pytest.mark.parametrize(("process", "t", "window"), [
    ("random_walk", 4, NARROW_WINDOW), ("ddpm", 2, NARROW_WINDOW), ("ddpm", 20, NARROW_WINDOW),
    ("random_walk", 655, WIDE_WINDOW), ("random_walk", 4000, WIDE_WINDOW)])
def test_the_page_s_estimate_widens_its_window_only_where_it_is_noisy(
        process: str, t: int, window: float) -> None:
    """The random-walks page's estimate: at small t the step is many standard errors long
    and the narrow window's 1% bias is what keeps it honest (the wide window's 4% would be
    several errors at DDPM's t = 2); at large t the wide window halves a large error. Either way
    the estimate agrees with the formula, over several walks."""
    sch = make_schedule(process)
    rng = np.random.default_rng(t)
    for k in range(4):
        x_t = sch.alpha[t] * X0 + sch.sigma[t] * rng.standard_normal(2)
        est = last_step_estimate(sch, X0, x_t, t, seed=k)
        assert est.radius == pytest.approx(window * sch.sigma[t]), k
        assert (np.abs(est.mean_step - est.formula) < 4 * est.std_error).all(), (k, est)


def test_the_wide_window_is_4x_the_walks_on_the_same_simulation() -> None:
    sch, t = make_schedule("random_walk"), 4000
    x_t = X0 + sch.sigma[t] * np.array([0.3, -0.2])
    wide = last_step_estimate(sch, X0, x_t, t, seed=3)
    narrow = last_step_monte_carlo(sch, X0, x_t, t, radius=NARROW_WINDOW * sch.sigma[t], seed=3)
    assert wide.radius == pytest.approx(WIDE_WINDOW * sch.sigma[t])
    assert 3 < wide.kept / narrow.kept < 5
    assert wide.std_error.max() < 0.65 * narrow.std_error.max()


def test_random_walk_formula_is_literally_the_bridge() -> None:
    sch = make_schedule("random_walk")
    rng = np.random.default_rng(0)
    for t in (1, 2, 7, 100, 999, 1000):
        x0, x_t = rng.normal(size=2), rng.normal(size=2) * 3
        np.testing.assert_allclose(last_step_formula(sch, x0, x_t, t), (x0 - x_t) / t,
                                   rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("t", [2, 30, 100])
def test_ddpm_monte_carlo_matches_posterior_mean(t: int) -> None:
    sch = make_schedule("ddpm")
    x_t = sch.alpha[t] * X0 + sch.sigma[t] * np.array([0.8, -0.6])
    # Ho et al. eq. 7, written out: mu~ = sqrt(abar_{t-1}) beta_t / (1 - abar_t) x0
    #                                  + sqrt(1 - beta_t) (1 - abar_{t-1}) / (1 - abar_t) x_t
    abar_t, abar_s = sch.alpha[t] ** 2, sch.alpha[t - 1] ** 2
    beta = 1 - abar_t / abar_s
    mu = (math.sqrt(abar_s) * beta * X0 + math.sqrt(1 - beta) * (1 - abar_s) * x_t) / (1 - abar_t)
    est = last_step_monte_carlo(sch, X0, x_t, t, seed=t)
    np.testing.assert_allclose(est.formula, mu - x_t, rtol=1e-9, atol=1e-12)
    assert est.kept > 500
    assert (np.abs(est.mean_step - (mu - x_t)) < 4 * est.std_error).all(), (est, mu - x_t)


def test_bad_t_is_rejected() -> None:
    sch = make_schedule("random_walk")
    with pytest.raises(ValueError, match="1..65536"):
        last_step_monte_carlo(sch, X0, X0, 0)


def test_the_mean_step_aims_at_gamma_x0() -> None:
    """E[x_{t-1} - x_t | x_t, x0] = gain (gamma x0 - x_t): the random walk aims at x0 and
    covers 1/t of the way (the bridge); DDPM aims at gamma_t x0, gamma falling from 1 to
    ~0 (0.52 at t = 100, 0.11 at t = 150: the numbers issue 14 measured)."""
    rng = np.random.default_rng(1)
    for process in ("random_walk", "ddpm"):
        sch = make_schedule(process)
        for t in (1, 2, 100, 150, sch.T):
            aim = last_step_aim(sch, t)
            x0, x_t = rng.normal(size=2), rng.normal(size=2) * 2
            np.testing.assert_allclose(last_step_formula(sch, x0, x_t, t),
                                       aim.gain * (aim.gamma * x0 - x_t), atol=1e-12)
            if process == "random_walk":
                assert aim.gain == pytest.approx(1 / t) and aim.gamma == pytest.approx(1)
    ddpm = make_schedule("ddpm")
    gammas = [last_step_aim(ddpm, t).gamma for t in (2, 100, 150, 200)]
    assert gammas[0] == pytest.approx(1, abs=1e-3) and gammas[-1] < 0.02
    assert (round(gammas[1], 2), round(gammas[2], 2)) == (0.52, 0.11)
    # Divided by alpha_t, DDPM is a random walk with noise r_t = sigma_t / alpha_t, and
    # there the mean step aims at x0 itself: (1 - r_{t-1}^2 / r_t^2) (x0 - y_t).
    t, x0, x_t = 120, np.array([0.4, -0.9]), np.array([1.3, 0.2])
    r = ddpm.sigma / ddpm.alpha
    y_t = x_t / ddpm.alpha[t]
    mean_prev = x_t + last_step_formula(ddpm, x0, x_t, t)
    np.testing.assert_allclose(mean_prev / ddpm.alpha[t - 1] - y_t,
                               (1 - r[t - 1] ** 2 / r[t] ** 2) * (x0 - y_t), rtol=1e-9)


def test_the_check_says_when_the_step_is_lost_in_the_noise() -> None:
    """Small t: the step stands many standard errors out of the noise and the Monte Carlo
    agrees with it. t = T: the step (~s / sqrt(t)) is below two standard errors, and
    bringing it out would take far more walks than simulated."""
    sch = make_schedule("random_walk")
    for t, lost in ((4, False), (sch.T, True)):
        x_t = X0 + sch.sigma[t] * np.array([1.0, 0.5])
        check = check_estimate(last_step_estimate(sch, X0, x_t, t, seed=2))
        assert check.agrees and check.lost_in_noise == lost
        if lost:
            assert check.signal < LOST and check.walks_needed > 4 * 1_600_000
        else:
            assert check.signal > 10 and check.cosine > 0.99


def test_the_window_s_bias_is_what_the_docstring_says() -> None:
    """The window the kept walks end in shortens their mean step by about window_bias of
    it: 4% at 0.4 sigma_t, 1% at 0.2 (what the page says when the two disagree). Seen at
    small t with enough walks, where the step is ~300 standard errors long."""
    sch, t = make_schedule("random_walk"), 4
    x_t = X0 + sch.sigma[t] * np.array([1.5, 0.0])
    for window in (NARROW_WINDOW, WIDE_WINDOW):
        est = last_step_monte_carlo(sch, X0, x_t, t, walks=4_000_000,
                                    radius=window * sch.sigma[t], seed=5)
        shortfall = 1 - est.mean_step[0] / est.formula[0]
        assert shortfall == pytest.approx(window_bias(window), abs=0.012), window
    assert window_bias(WIDE_WINDOW) == pytest.approx(0.04)


@pytest.mark.parametrize("process", ["random_walk", "ddpm"])
def test_the_bridge_view_ends_the_formula_arrow_where_the_step_aims(process: str) -> None:
    """Magnified by the view's scale, the formula's arrow from x_t ends at x0 (random
    walk) or at gamma_t x0 (DDPM, to the 3 digits of the scale); the view holds x0, x_t
    and that tip, and says whether the Monte Carlo tip is outside it."""
    from explainer.bridge import MIN_HALF_WIDTH, bridge_view
    sch = make_schedule(process)
    t = 40
    x_t = np.array([0.9, 0.4])
    est = last_step_estimate(sch, X0, x_t, t, walks=40_000, seed=0)
    view = bridge_view(sch, est, X0, x_t, t)
    aim = last_step_aim(sch, t)
    target = X0 if process == "random_walk" else aim.gamma * X0
    tip = x_t + view.scale * est.formula
    np.testing.assert_allclose(tip, target, atol=2e-3 * np.linalg.norm(target - x_t))
    if process == "random_walk":
        assert view.scale == t and view.aim_point is None
    else:
        np.testing.assert_allclose(view.aim_point, aim.gamma * X0)
    assert view.half_width >= MIN_HALF_WIDTH
    for point in (X0, x_t, tip):
        assert np.all(np.abs(point - view.centre) <= view.half_width)
    mc_tip = x_t + view.scale * est.mean_step
    assert view.mc_off_view == bool(np.abs(mc_tip - view.centre).max() > view.half_width)
