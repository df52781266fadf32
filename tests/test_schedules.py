"""The noise processes against their closed forms, written out independently here."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from explainer.datasets import DATASET_NAMES, make_dataset
from explainer.schedules import (
    ProcessConfig,
    forward_paths,
    make_schedule,
    noised_cloud,
    random_walk_step,
)


def ho_alpha_bar(T: int) -> list[float]:
    """alpha_bar_t = prod_{i<=t} (1 - beta_i), with Ho et al.'s betas (1e-4..0.02 over
    1000 steps) stretched to T steps, as a plain Python loop (t = 0..T)."""
    out, prod = [1.0], 1.0
    for i in range(T):
        beta = (1e-4 + (0.02 - 1e-4) * i / (T - 1)) * 1000 / T
        prod *= 1.0 - min(beta, 0.999)
        out.append(prod)
    return out


@pytest.mark.parametrize("T", [1000, 100, 50])
def test_ddpm_alpha_bar_is_the_product_of_one_minus_beta(T: int) -> None:
    s = make_schedule(ProcessConfig("ddpm", T))
    abar = np.array(ho_alpha_bar(T))
    assert s.alpha.shape == s.sigma.shape == (T + 1,)
    np.testing.assert_allclose(s.alpha**2, abar, rtol=1e-10, atol=1e-15)
    np.testing.assert_allclose(s.sigma**2, 1 - abar, rtol=1e-10, atol=1e-15)
    assert s.alpha[0] == 1 and s.sigma[0] == 0


def test_ddpm_at_T_1000_is_hos_schedule() -> None:
    s = make_schedule(ProcessConfig("ddpm", 1000))
    betas = 1 - (s.alpha[1:] / s.alpha[:-1]) ** 2
    np.testing.assert_allclose([betas[0], betas[-1]], [1e-4, 0.02], rtol=1e-8)
    np.testing.assert_allclose(np.diff(betas), (0.02 - 1e-4) / 999, rtol=1e-6)


@pytest.mark.parametrize("T", [0, 2, 5, 10, 20, 50, 1000])
def test_ddpm_ends_in_pure_noise_for_every_T(T: int) -> None:
    # T = 0 is the default (200). Small T used to give betas > 1: NaN alphas.
    s = make_schedule(ProcessConfig("ddpm", T))
    assert np.isfinite(s.alpha).all() and np.isfinite(s.sigma).all()
    assert s.alpha[-1] ** 2 < 1e-3, "alpha_bar_T must be near 0: sampling starts at N(0, I)"
    assert (np.diff(s.alpha) < 0).all() and (s.alpha[1:] > 0).all()
    np.testing.assert_allclose(s.alpha**2 + s.sigma**2, 1.0, atol=1e-12)


@pytest.mark.parametrize("T", [0, 100, 1000])
def test_random_walk_sigma_is_s_sqrt_t(T: int) -> None:
    s = make_schedule(ProcessConfig("random_walk", T))
    step = random_walk_step(s)
    t = np.arange(s.T + 1)
    np.testing.assert_array_equal(s.alpha, 1.0)
    np.testing.assert_allclose(s.sigma, step * np.sqrt(t), rtol=1e-12)
    assert step > 0


@pytest.mark.parametrize("dataset", DATASET_NAMES)
def test_random_walk_ends_several_times_wider_than_the_data(dataset: str) -> None:
    s = make_schedule("random_walk")
    widest = make_dataset(dataset, 2000).points.std(0).max()
    assert s.sigma[-1] > 3 * widest
    assert s.prior().std == s.sigma[-1] and s.prior().mean == (0.0, 0.0)


@pytest.mark.parametrize("process", ["ddpm", "random_walk"])
def test_prior_matches_the_moments_of_the_noised_data_at_T(process: str) -> None:
    """Schedule.prior(points) against a Monte Carlo draw of q(x_T): x_T = alpha_T x0 +
    sigma_T eps over the spiral (mean off the origin: the random walk keeps it)."""
    s = make_schedule(process)
    data = make_dataset("spiral", 2000).points
    prior = s.prior(data)
    x_T = noised_cloud(s, np.tile(data, (50, 1)), s.T, seed=3)
    np.testing.assert_allclose(prior.mean, x_T.mean(0), atol=4 * s.sigma[-1] / 316)
    assert prior.std == pytest.approx(float(np.sqrt(x_T.var(0).mean())), rel=0.01)
    if process == "random_walk":  # visibly off the origin, and wider than sigma_T
        assert prior.mean[0] > 0.2 and prior.std > s.sigma[-1] * 1.005


def test_default_steps_and_bad_configs() -> None:
    ddpm, walk = make_schedule("ddpm"), make_schedule("random_walk")
    assert ddpm.T == 200 and walk.T == 65536
    # The walk's step s = 0.025 (a quarter of the 8 gaussians' blob std), sigma_T = 6.4.
    assert random_walk_step(walk) == pytest.approx(0.025) and walk.sigma[-1] == 6.4
    # Samplers take all of T up to 1,000 steps when not told otherwise.
    assert ddpm.default_sampling_steps == 200 and walk.default_sampling_steps == 1000
    with pytest.raises(ValueError, match="ddpm, random_walk"):
        make_schedule("brownian")
    with pytest.raises(ValueError, match="at least 2"):
        make_schedule(ProcessConfig("ddpm", 1))
    s = make_schedule("ddpm")
    with pytest.raises(ValueError, match="1..200"):
        s.check_t(0)
    with pytest.raises(ValueError, match="0..200"):
        s.check_t(201, allow_zero=True)


def test_add_noise_is_alpha_x0_plus_sigma_eps() -> None:
    s = make_schedule("ddpm")
    x0, eps = torch.randn(5, 2, dtype=torch.float64), torch.randn(5, 2, dtype=torch.float64)
    t = torch.tensor([1, 7, 50, 199, 200])
    out = s.add_noise(x0, t, eps)
    for i, ti in enumerate(t.tolist()):
        abar = ho_alpha_bar(200)[ti]
        expected = math.sqrt(abar) * x0[i] + math.sqrt(1 - abar) * eps[i]
        torch.testing.assert_close(out[i], expected)


# --- forward_paths: whole walks, checked by Monte Carlo ---------------------------------
N_PATHS = 20_000
X0 = np.array([0.8, -0.5])


def paths_for(process: str, T: int, n: int = N_PATHS) -> tuple[np.ndarray, np.ndarray,
                                                                np.ndarray]:
    s = make_schedule(ProcessConfig(process, T))
    path = forward_paths(s, np.tile(X0, (n, 1)), seed=1).astype(np.float64)
    return path, s.alpha, s.sigma


@pytest.mark.parametrize("process", ["ddpm", "random_walk"])
def test_forward_path_marginals_are_the_schedules(process: str) -> None:
    path, alpha, sigma = paths_for(process, 100)
    assert path.shape == (101, N_PATHS, 2)
    np.testing.assert_array_equal(path[0], np.tile(X0, (N_PATHS, 1)).astype(np.float32))
    for t in (1, 10, 50, 100):
        xt = path[t]
        # Mean: within 4 standard errors per coordinate.
        se = sigma[t] / math.sqrt(N_PATHS)
        assert np.abs(xt.mean(0) - alpha[t] * X0).max() < 4 * se, t
        # Variance: the sample variance's relative SE is sqrt(2 / n) ~ 1%.
        np.testing.assert_allclose(xt.var(0), sigma[t] ** 2, rtol=5 * math.sqrt(2 / N_PATHS))
        assert abs(np.corrcoef(xt.T)[0, 1]) < 4 / math.sqrt(N_PATHS)


@pytest.mark.parametrize("process", ["ddpm", "random_walk"])
def test_forward_paths_are_markov_walks_not_independent_snapshots(process: str) -> None:
    # For a Gaussian Markov path, Cov(x_u, x_t) = (alpha_t / alpha_u) sigma_u^2 for u < t.
    # Independent draws per t would have the right marginals and zero covariance.
    path, alpha, sigma = paths_for(process, 100)
    for u, t in ((10, 11), (20, 60), (50, 100)):
        cov = np.mean((path[u] - path[u].mean(0)) * (path[t] - path[t].mean(0)), axis=0)
        expected = alpha[t] / alpha[u] * sigma[u] ** 2
        se = sigma[u] * sigma[t] / math.sqrt(N_PATHS)  # |cov SE| <= sd_u sd_t / sqrt(n)
        assert np.abs(cov - expected).max() < 5 * se, (u, t, cov, expected)


def test_random_walk_increments_have_std_s() -> None:
    path, _, sigma = paths_for("random_walk", 1000, n=1000)
    steps = np.diff(path, axis=0)  # (T, 1000, 2): 2 million increments
    s = sigma[1]
    assert abs(steps.mean()) < 4 * s / math.sqrt(steps.size)
    np.testing.assert_allclose(steps.std(), s, rtol=5 * math.sqrt(2 / steps.size))
    # Successive increments are independent.
    assert abs(np.mean(steps[1:] * steps[:-1])) < 5 * s**2 / math.sqrt(steps[1:].size)


@pytest.mark.parametrize("process", ["ddpm", "random_walk"])
def test_noised_cloud_marginal(process: str) -> None:
    s = make_schedule(process)
    t = s.T // 3
    x = noised_cloud(s, np.tile(X0, (N_PATHS, 1)), t, seed=3).astype(np.float64)
    assert np.abs(x.mean(0) - s.alpha[t] * X0).max() < 4 * s.sigma[t] / math.sqrt(N_PATHS)
    np.testing.assert_allclose(x.var(0), s.sigma[t] ** 2, rtol=5 * math.sqrt(2 / N_PATHS))
    np.testing.assert_array_equal(noised_cloud(s, X0[None], 0)[0], X0.astype(np.float32))
    with pytest.raises(ValueError):
        noised_cloud(s, X0[None], s.T + 1)


def test_noise_reaches_a_width_where_sigma_over_alpha_does() -> None:
    from explainer.schedules import noise_reaches

    walk, ddpm = make_schedule("random_walk"), make_schedule("ddpm")
    t = noise_reaches(walk, 0.74)
    assert walk.sigma[t] >= 0.74 > walk.sigma[t - 1]
    assert t == int(np.ceil((0.74 / walk.sigma[1]) ** 2))  # sigma_t = s sqrt(t)
    t = noise_reaches(ddpm, 0.74)
    ratio = ddpm.sigma / ddpm.alpha
    assert ratio[t] >= 0.74 > ratio[t - 1]
    assert noise_reaches(ddpm, 1e9) == ddpm.T
