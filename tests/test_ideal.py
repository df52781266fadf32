"""The ideal denoiser against a brute-force float64 loop and against the exact posterior
mean of Gaussian data."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from explainer.datasets import make_dataset
from explainer.ideal import IdealDenoiser
from explainer.schedules import ProcessConfig, Schedule, make_schedule


def brute_force(x: np.ndarray, data: np.ndarray, alpha: float, sigma: float
                ) -> tuple[np.ndarray, np.ndarray]:
    """E[x0 | x_t] and the effective sample size 1 / sum w^2, one query at a time, in
    float64: w_i proportional to exp(-|x - alpha y_i|^2 / (2 sigma^2)) (max subtracted)."""
    data = data.astype(np.float64)
    means, ess = [], []
    for q in x.astype(np.float64):
        log_w = np.array([-((q - alpha * y) ** 2).sum() / (2 * sigma**2) for y in data])
        w = np.exp(log_w - log_w.max())
        w /= w.sum()
        means.append(w @ data)
        ess.append(1.0 / (w**2).sum())
    return np.array(means), np.array(ess)


@pytest.fixture(scope="module")
def spiral():
    return make_dataset("spiral", 300, seed=5)


def queries(schedule: Schedule, t: int, data: np.ndarray, n: int = 40) -> np.ndarray:
    """Half noised data points at t (where x_t really is), half spread over the view."""
    rng = np.random.default_rng(t)
    clean = data[rng.integers(0, len(data), n // 2)]
    noised = schedule.alpha[t] * clean + schedule.sigma[t] * rng.standard_normal((n // 2, 2))
    return np.concatenate([noised, rng.uniform(-2, 2, (n - n // 2, 2))]).astype(np.float32)


@pytest.mark.parametrize(("process", "t"), [("ddpm", 1), ("ddpm", 2), ("ddpm", 30),
                                            ("ddpm", 100), ("random_walk", 1),
                                            ("random_walk", 10), ("random_walk", 1000)])
def test_matches_brute_force(spiral, process: str, t: int) -> None:
    sch = make_schedule(process)
    model = IdealDenoiser(sch, spiral.points, spiral.labels, 3)
    x = queries(sch, t, spiral.points)
    got = model.x0_hat(torch.as_tensor(x), t, 3).numpy()
    want, _ = brute_force(x, spiral.points, sch.alpha[t], sch.sigma[t])
    assert np.isfinite(got).all()
    np.testing.assert_allclose(got, want, atol=2e-4)
    # eps is the same prediction seen through x_t = alpha_t x0_hat + sigma_t eps.
    eps = model(torch.as_tensor(x), t, 3).numpy()
    np.testing.assert_allclose(eps, (x - sch.alpha[t] * want) / sch.sigma[t],
                               atol=2e-4 / sch.sigma[t] * max(sch.alpha[t], 1e-3) + 1e-4)


@pytest.mark.parametrize("label", [0, 1, 2])
def test_class_restriction_uses_only_that_class(spiral, label: int) -> None:
    sch = make_schedule("ddpm")
    model = IdealDenoiser(sch, spiral.points, spiral.labels, 3)
    for t in (5, 40):
        x = queries(sch, t, spiral.points)
        got = model.x0_hat(torch.as_tensor(x), t, label).numpy()
        subset = spiral.points[spiral.labels == label]
        want, _ = brute_force(x, subset, sch.alpha[t], sch.sigma[t])
        np.testing.assert_allclose(got, want, atol=2e-4)
    # At small t every prediction is (close to) a point of that class.
    x = queries(sch, 2, spiral.points)
    got = model.x0_hat(torch.as_tensor(x), 2, label).numpy()
    nearest = np.linalg.norm(got[:, None] - spiral.points[None], axis=-1).argmin(1)
    assert (spiral.labels[nearest] == label).mean() > 0.95


def test_a_class_without_points_is_a_clear_error(spiral) -> None:
    model = IdealDenoiser(make_schedule("ddpm"), spiral.points, spiral.labels, 4)
    with pytest.raises(ValueError, match="class 3 has no training points"):
        model.x0_hat(torch.zeros(1, 2), 10, 3)
    with pytest.raises(ValueError, match="1..200"):
        model.x0_hat(torch.zeros(1, 2), 0, 4)


def tiny_sigma_schedule(sigma_1: float) -> Schedule:
    """A hand-made path whose first step has a tiny sigma (far below any preset's)."""
    sigma = np.array([0.0, sigma_1, 0.5, 1.0])
    return Schedule(ProcessConfig("random_walk", 3), np.ones(4), sigma)


@pytest.mark.parametrize("sigma_1", [1e-2, 1e-3])
def test_tiny_sigma_is_stable_and_picks_the_nearest_point(spiral, sigma_1: float) -> None:
    # exp(-d^2 / 2 sigma^2) underflows to 0 for every point in float32 or float64 unless
    # computed in log space; then x0_hat would be 0/0 = NaN.
    model = IdealDenoiser(tiny_sigma_schedule(sigma_1), spiral.points, spiral.labels, 3)
    rng = np.random.default_rng(0)
    x = np.concatenate([rng.uniform(-2, 2, (30, 2)), [[25.0, -30.0]]]).astype(np.float32)
    got = model.x0_hat(torch.as_tensor(x), 1, 3).numpy()
    assert np.isfinite(got).all()
    d = np.linalg.norm(x[:, None].astype(np.float64) - spiral.points[None], axis=-1)
    order = np.sort(d, axis=1)
    # Where the nearest point wins by a margin the weights resolve, x0_hat is that point.
    clear = (order[:, 1] ** 2 - order[:, 0] ** 2) / (2 * sigma_1**2) > 30
    assert clear.sum() >= 10
    np.testing.assert_allclose(got[clear], spiral.points[d.argmin(1)][clear], atol=1e-5)
    if sigma_1 == 1e-2:
        want, _ = brute_force(x, spiral.points, 1.0, sigma_1)
        np.testing.assert_allclose(got, want, atol=1e-3)


# --- Gaussian data: E[x0 | x_t] is known in closed form ----------------------------------
MU, STD = np.array([0.3, -0.2]), np.array([0.5, 0.3])


@pytest.fixture(scope="module")
def gaussian_data() -> np.ndarray:
    return (MU + STD * np.random.default_rng(1).standard_normal((20_000, 2))).astype(np.float32)


@pytest.mark.parametrize(("process", "t"), [("ddpm", 10), ("ddpm", 30), ("ddpm", 70),
                                            # sigma_t = 0.27, 0.87, 1.6 (s = 0.025)
                                            ("random_walk", 120), ("random_walk", 1200),
                                            ("random_walk", 4000)])
def test_gaussian_posterior_mean(gaussian_data: np.ndarray, process: str, t: int) -> None:
    sch = make_schedule(process)
    a, s = sch.alpha[t], sch.sigma[t]
    model = IdealDenoiser(sch, gaussian_data, np.zeros(len(gaussian_data), np.int64), 1)
    rng = np.random.default_rng(t)
    # x_t from its true marginal N(alpha mu, alpha^2 S + sigma^2 I)
    x = a * MU + np.sqrt(a**2 * STD**2 + s**2) * rng.standard_normal((12, 2))
    got = model.x0_hat(torch.as_tensor(x, dtype=torch.float32), t, 1).numpy()
    exact = MU + a * STD**2 / (a**2 * STD**2 + s**2) * (x - a * MU)
    # The finite sample's estimate has the error of a weighted mean of ESS draws from
    # the posterior: sd sqrt(posterior variance / ESS).
    _, ess = brute_force(x[:4], gaussian_data[:4000], a, s)
    post_var = STD**2 * s**2 / (a**2 * STD**2 + s**2)
    tol = 5 * np.sqrt(post_var / (ess.min() * len(gaussian_data) / 4000)) + 1e-3
    assert (np.abs(got - exact) < tol).all(), (got - exact, tol)
    # The check above can fail: the answer is far from "no denoising" (x_t / alpha_t),
    # and, except at large t, from the data's mean.
    assert np.abs(x / a - exact).max() > 5 * tol.max()
    assert np.abs(MU - exact).max() > 3 * tol.max() or s > 2 * a


def test_float64_input_and_chunking_agree(spiral) -> None:
    sch = make_schedule("ddpm")
    model = IdealDenoiser(sch, spiral.points, spiral.labels, 3)
    x = torch.as_tensor(queries(sch, 20, spiral.points, n=5000))
    whole = model.x0_hat(x, 20, 3)
    parts = torch.cat([model.x0_hat(x[:1234], 20, 3), model.x0_hat(x[1234:], 20, 3)])
    torch.testing.assert_close(whole, parts, atol=1e-6, rtol=0)
    torch.testing.assert_close(model.x0_hat(x.double(), 20, 3), whole, atol=1e-6, rtol=0)
    assert math.isfinite(float(whole.abs().max()))
