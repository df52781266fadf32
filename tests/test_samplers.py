"""The reverse step and the samplers against independent references: a Monte Carlo
posterior, Ho et al.'s formulas written out, and Gaussian data with a known answer."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from explainer.ideal import IdealDenoiser
from explainer.metrics import spread
from explainer.samplers import SAMPLER_NAMES, posterior, sample, timesteps
from explainer.schedules import ProcessConfig, make_schedule

# --- q(x_s | x_t, x0) by simulation ------------------------------------------------------
X0 = np.array([0.6, -0.4])


def monte_carlo_posterior(process: str, T: int, t: int, s: int, draws: int = 1_000_000,
                          seed: int = 0) -> tuple[np.ndarray, np.ndarray, float, int]:
    """Simulate x_s ~ q(x_s | x0), then x_t ~ q(x_t | x_s) from the schedule's marginals
    only; keep the pairs whose x_t lands within h of a target x_t* (rejection), and fit
    x_s ~ A + B (x_t - x_t*) on them (local linear, so the window adds no bias).
    Returns (target x_t*, A = E[x_s | x_t*, x0], residual variance, kept)."""
    sch = make_schedule(ProcessConfig(process, T))
    al_t, sg_t, al_s, sg_s = sch.alpha[t], sch.sigma[t], sch.alpha[s], sch.sigma[s]
    rng = np.random.default_rng(seed)
    x_s = al_s * X0 + sg_s * rng.standard_normal((draws, 2))
    # x_t | x_s: what is left of the path from s to t (marginal variances add up).
    a = al_t / al_s
    x_t = a * x_s + math.sqrt(sg_t**2 - a**2 * sg_s**2) * rng.standard_normal((draws, 2))
    target = al_t * X0 + sg_t * np.array([0.7, -0.5])
    d = x_t - target
    keep = np.linalg.norm(d, axis=1) < 0.15 * sg_t
    design = np.column_stack([np.ones(keep.sum()), d[keep]])
    coef, *_ = np.linalg.lstsq(design, x_s[keep], rcond=None)
    resid = x_s[keep] - design @ coef
    return target, coef[0], float(resid.var(0, ddof=3).mean()), int(keep.sum())


CASES = [("ddpm", 100, 2, 1), ("ddpm", 100, 50, 49), ("ddpm", 100, 100, 99),
         ("ddpm", 100, 60, 20), ("ddpm", 100, 100, 50),
         ("random_walk", 100, 2, 1), ("random_walk", 100, 50, 49),
         ("random_walk", 1000, 1000, 999), ("random_walk", 100, 60, 20)]


@pytest.mark.parametrize(("process", "T", "t", "s"), CASES)
def test_posterior_matches_monte_carlo(process: str, T: int, t: int, s: int) -> None:
    target, mc_mean, mc_var, kept = monte_carlo_posterior(process, T, t, s)
    assert kept > 2000
    post = posterior(make_schedule(ProcessConfig(process, T)), t, s)
    mean = post.coef_xt * target + post.coef_x0 * X0
    se = math.sqrt(post.var / kept)
    assert np.abs(mc_mean - mean).max() < 5 * se, (mc_mean, mean, se)
    # The variance of a variance estimate from k draws: relative SE sqrt(2 / k), halved
    # here by averaging two coordinates.
    assert abs(mc_var / post.var - 1) < 5 * math.sqrt(1 / kept), (mc_var, post.var)


@pytest.mark.parametrize("T", [100, 1000, 20])
def test_ddpm_step_is_hos_algorithm_2(T: int) -> None:
    # Ho et al. (2020), eq. 7: mu~ = sqrt(abar_{t-1}) beta_t / (1 - abar_t) x0
    #   + sqrt(alpha_t) (1 - abar_{t-1}) / (1 - abar_t) x_t, beta~ = (1 - abar_{t-1}) /
    # (1 - abar_t) beta_t, with alpha_t = 1 - beta_t, abar from the betas directly.
    sch = make_schedule(ProcessConfig("ddpm", T))
    betas = np.minimum(np.linspace(1e-4, 0.02, T) * 1000 / T, 0.999)
    abar = np.concatenate([[1.0], np.cumprod(1 - betas)])
    for t in range(1, T + 1):
        beta, alpha = betas[t - 1], 1 - betas[t - 1]
        post = posterior(sch, t, t - 1)
        np.testing.assert_allclose(post.coef_x0, math.sqrt(abar[t - 1]) * beta / (1 - abar[t]),
                                   rtol=1e-9)
        np.testing.assert_allclose(post.coef_xt,
                                   math.sqrt(alpha) * (1 - abar[t - 1]) / (1 - abar[t]),
                                   rtol=1e-9, atol=1e-15)
        np.testing.assert_allclose(post.var, (1 - abar[t - 1]) / (1 - abar[t]) * beta,
                                   rtol=1e-9, atol=1e-15)


def test_random_walk_step_is_the_brownian_bridge() -> None:
    sch = make_schedule("random_walk")
    step2 = sch.sigma[1] ** 2
    for t in (1, 2, 10, 500, 1000):
        post = posterior(sch, t, t - 1)
        np.testing.assert_allclose([post.coef_xt, post.coef_x0, post.var],
                                   [(t - 1) / t, 1 / t, step2 * (t - 1) / t], rtol=1e-12,
                                   atol=1e-15)


# --- timesteps and trajectories ----------------------------------------------------------
@pytest.mark.parametrize(("T", "steps"), [(100, 100), (100, 7), (1000, 50), (100, 1), (3, 2)])
def test_timesteps_run_from_T_to_0_strictly_down(T: int, steps: int) -> None:
    ts = timesteps(T, steps)
    assert len(ts) == steps + 1 and ts[0] == T and ts[-1] == 0
    gaps = -np.diff(ts)
    assert (gaps > 0).all() and gaps.max() - gaps.min() <= 1


@pytest.mark.parametrize(("T", "steps"), [(1000, 100), (1000, 7), (100, 20), (1000, 1000)])
def test_sigma_spaced_timesteps_are_even_in_sigma(T: int, steps: int) -> None:
    # The random walk's sampler times: sigma_t ~ sqrt(t) evenly spaced, kept distinct.
    ts = timesteps(T, steps, "sigma")
    assert len(ts) == steps + 1 and ts[0] == T and ts[-1] == 0
    assert (np.diff(ts) < 0).all()
    if steps == T:
        assert ts == list(range(T, -1, -1))
    else:  # rounding moves a time by <= 0.5 (keeping small times distinct may push them up)
        target = T * np.linspace(1, 0, steps + 1) ** 2
        assert np.abs(np.array(ts) - target)[: steps // 2].max() <= 0.5
    assert make_schedule("random_walk").time_spacing == "sigma"
    assert make_schedule("ddpm").time_spacing == "linear"


@pytest.mark.parametrize(("T", "steps"), [(65536, 1000), (65536, 50), (65536, 2), (1000, 7)])
def test_karras_timesteps_are_even_in_sigma_to_the_one_seventh(T: int, steps: int) -> None:
    # The random walk's sampler times: sigma_t^(1/7) evenly spaced from sigma_T down to
    # sigma_1, then 0 (Karras et al. 2022, eq. 5); sigma_t ~ sqrt(t).
    ts = timesteps(T, steps, "karras")
    assert len(ts) == steps + 1 and ts[0] == T and ts[-2:] == [1, 0]
    assert (np.diff(ts) < 0).all()
    target = T * np.linspace(1, T ** (-1 / 14), steps) ** 14  # (sigma_t / sigma_T)^(1/7)
    # Rounding moves a time by <= 0.5. Keeping small times distinct pushes them up: at
    # 1,000 steps t = 1..~390 are all taken, and the rest follow the spacing.
    big = target > 0.1 * T
    assert np.abs(np.array(ts[:-1]) - target)[big].max() <= 0.5
    assert make_schedule("random_walk").sampling_spacing == "karras"
    assert make_schedule("ddpm").sampling_spacing == "linear"


@pytest.mark.parametrize("steps", [0, 101])
def test_timesteps_reject_bad_step_counts(steps: int) -> None:
    with pytest.raises(ValueError, match="1..100"):
        timesteps(100, steps)


def gaussian_data(n: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    chol = np.linalg.cholesky(np.array([[0.25, 0.12], [0.12, 0.16]]))
    return (np.array([0.3, -0.2]) + rng.standard_normal((n, 2)) @ chol.T).astype(np.float32)


def ideal_gaussian(process: str, n: int = 2000) -> tuple[IdealDenoiser, np.ndarray]:
    sch = make_schedule(process)
    data = gaussian_data(n)
    return IdealDenoiser(sch, data, np.zeros(n, dtype=np.int64), num_classes=1), data


@pytest.mark.parametrize("sampler", SAMPLER_NAMES)
def test_trajectory_shapes_and_start(sampler: str) -> None:
    model, _ = ideal_gaussian("ddpm")
    traj = sample(model, model.schedule, sampler, n=3000, steps=10, seed=4)
    assert traj.xs.shape == (11, 3000, 2) and traj.x0_hats.shape == (10, 3000, 2)
    assert traj.xs.dtype == np.float32 and traj.x0_hats.dtype == np.float32
    assert list(traj.times) == timesteps(model.schedule.T, 10)
    np.testing.assert_array_equal(traj.final, traj.xs[-1])
    # x_T ~ N(alpha_T mean, (alpha_T^2 var + sigma_T^2) I): ~ N(0, I) for DDPM
    np.testing.assert_allclose(traj.xs[0].std(0), model.schedule.sigma[-1], rtol=0.06)
    np.testing.assert_allclose(traj.xs[0].mean(0), 0.0, atol=0.06)
    assert np.isfinite(traj.xs).all() and np.isfinite(traj.x0_hats).all()


def test_sampling_starts_at_the_data_blurred_by_the_random_walk() -> None:
    """The random walk's x_T keeps the data's centre: sampling starts there (not at 0),
    with the spread of the data blurred by sigma_T."""
    model, data = ideal_gaussian("random_walk")
    x_T = sample(model, model.schedule, "ddim", n=20000, steps=2, seed=1).xs[0]
    np.testing.assert_allclose(x_T.mean(0), data.mean(0), atol=0.1)  # (0.3, -0.2)
    expected = np.sqrt(data.var(0).mean() + model.schedule.sigma[-1] ** 2)
    np.testing.assert_allclose(x_T.std(0), expected, rtol=0.03)


def exact_gaussian_moments(sch, sampler: str, times: list[int], mu: np.ndarray,
                           cov: np.ndarray, start_var: float) -> tuple[np.ndarray, np.ndarray]:
    """Mean and covariance of a sampler's output for Gaussian data N(mu, cov) and a perfect
    denoiser, propagated exactly: x0_hat = mu + K (x_t - alpha_t mu) is linear in x_t, so
    each step maps N(m, C) to N(M m + b, M C M^T + var I). The step coefficients are
    written out here from scratch (Gaussian conditioning of (x_s, x_t) given x0; DDIM:
    Song et al. eq. 12 with eta = 0), not taken from samplers.posterior."""
    al, sg, eye = sch.alpha, sch.sigma, np.eye(2)
    m, c = al[sch.T] * mu, start_var * eye  # x_T ~ N(alpha_T mu, start_var I)
    for t, s in zip(times[:-1], times[1:], strict=True):
        gain = al[t] * cov @ np.linalg.inv(al[t] ** 2 * cov + sg[t] ** 2 * eye)
        if sampler == "ddim":
            c_x, c_0, var = sg[s] / sg[t], al[s] - sg[s] * al[t] / sg[t], 0.0
        else:
            cov_st = al[t] / al[s] * sg[s] ** 2  # Cov(x_s, x_t | x0), per coordinate
            c_x = cov_st / sg[t] ** 2
            c_0 = al[s] - c_x * al[t]
            var = 0.0 if s == 0 or sampler == "no_noise" else sg[s] ** 2 - c_x * cov_st
        step = c_x * eye + c_0 * gain
        m = step @ m + c_0 * (mu - al[t] * gain @ mu)
        c = step @ c @ step.T + var * eye
    return m, c


def blob_variance_kept(schedule, sampler: str, times: list[int], std: float = 0.1) -> float:
    """Share of a Gaussian blob's variance a sampler keeps with the ideal denoiser (exact,
    by exact_gaussian_moments): std 0.1 is one of the 8 gaussians' blobs."""
    mu, cov = np.array([0.5, 0.2]), np.diag([std**2, (0.8 * std) ** 2])
    start_var = cov.trace() / 2 + schedule.sigma[-1] ** 2
    _, c = exact_gaussian_moments(schedule, sampler, times, mu, cov, start_var)
    return float(np.trace(c) / np.trace(cov))


@pytest.mark.parametrize("sampler", ["ddpm", "ddim"])
def test_the_random_walk_samples_small_detail_at_its_default_steps(sampler: str) -> None:
    """The random walk's step s = 0.025 lets its samplers keep most of a 0.1-wide blob,
    and 1,000 Karras-spaced steps (the default) keep as much as all 65,536 (DDPM 85%,
    DDIM 90%); 50 of them keep 80%. Spaced evenly in sigma, 50 steps keep under 32%; the
    walk at s = 0.05 kept 67% at best, at s = 0.1 40%."""
    walk = make_schedule("random_walk")
    default = timesteps(walk.T, walk.default_sampling_steps, walk.sampling_spacing)
    every_step = list(range(walk.T, -1, -1))
    kept = blob_variance_kept(walk, sampler, default)
    assert kept == pytest.approx(blob_variance_kept(walk, sampler, every_step), abs=0.01)
    assert kept > 0.84
    few = blob_variance_kept(walk, sampler, timesteps(walk.T, 50, walk.sampling_spacing))
    assert few > 0.8 > 0.4 > blob_variance_kept(walk, sampler, timesteps(walk.T, 50, "sigma"))


@pytest.mark.slow
@pytest.mark.parametrize(("process", "sampler", "steps"),
                         [("ddpm", "ddpm", None), ("random_walk", "ddpm", 300),
                          ("ddpm", "ddim", 50), ("random_walk", "ddim", 50)])
def test_ideal_sampler_reproduces_gaussian_moments(process: str, sampler: str,
                                                   steps: int | None) -> None:
    """DDPM / DDIM with the ideal denoiser on a Gaussian training set (1000 points; 4000
    samples). Two references:
    1. the sampler's exact output moments for Gaussian data (above): within 4 Monte Carlo
       standard errors. This is sharp: a wrong coefficient or noise scale shows up.
    2. the data's own moments: the same, plus the samplers' known discretisation gap.
       Ho's Algorithm 2 (posterior variance beta~, x0_hat plugged in) and DDIM give less
       variance than the data, a gap that closes as the steps get finer (exact, for these
       data: ddpm at T = 100 13% less, T = 200 7%, T = 1000 1.6%)."""
    model, data = ideal_gaussian(process, n=1000)
    sch = model.schedule
    traj = sample(model, sch, sampler, n=4000, steps=steps, seed=11)
    out, n = traj.final.astype(np.float64), 4000
    mu, cov = data.astype(np.float64).mean(0), np.cov(data.T.astype(np.float64))
    # Sampling starts from the moment-matched Gaussian of q(x_T) (isotropic).
    start_var = sch.alpha[-1] ** 2 * data.astype(np.float64).var(0).mean() + sch.sigma[-1] ** 2
    m_ref, c_ref = exact_gaussian_moments(sch, sampler, list(traj.times), mu, cov, start_var)
    # SE of a sample mean and of a sample covariance entry sqrt((C_ii C_jj + C_ij^2) / n).
    se_mean = np.sqrt(np.diag(c_ref) / n)
    se_cov = np.sqrt((np.outer(np.diag(c_ref), np.diag(c_ref)) + c_ref**2) / n)
    assert (np.abs(out.mean(0) - m_ref) < 4 * se_mean).all(), (out.mean(0), m_ref)
    assert (np.abs(np.cov(out.T) - c_ref) < 4 * se_cov).all(), (np.cov(out.T), c_ref)
    # 2. against the data.
    assert (np.abs(out.mean(0) - mu) < 4 * se_mean + 0.04).all(), (out.mean(0), mu)
    assert (np.abs(np.cov(out.T) - cov) < 4 * se_cov + 0.16 * np.abs(cov)).all(), (
        np.cov(out.T), cov)


def test_ddim_is_deterministic() -> None:
    model, _ = ideal_gaussian("ddpm", n=500)
    sch = model.schedule
    a = sample(model, sch, "ddim", n=300, steps=20, seed=1)
    b = sample(model, sch, "ddim", n=300, steps=20, seed=1)
    np.testing.assert_array_equal(a.xs, b.xs)
    # Same x_T, different seeds: DDIM draws no noise after x_T, so nothing changes ...
    x_T = torch.as_tensor(a.xs[0])
    c = sample(model, sch, "ddim", steps=20, seed=2, x_T=x_T)
    np.testing.assert_array_equal(c.xs, a.xs)
    # ... while DDPM does draw noise every step (so the check above can fail).
    d1 = sample(model, sch, "ddpm", steps=20, seed=1, x_T=x_T)
    d2 = sample(model, sch, "ddpm", steps=20, seed=2, x_T=x_T)
    assert np.abs(d1.final - d2.final).max() > 0.1
    e = sample(model, sch, "ddpm", steps=20, seed=1, x_T=x_T)
    np.testing.assert_array_equal(d1.xs, e.xs)


def test_no_noise_sampler_collapses_toward_the_average() -> None:
    from explainer.datasets import make_dataset

    data = make_dataset("spiral", 1000, seed=0)
    sch = make_schedule("ddpm")
    model = IdealDenoiser(sch, data.points, data.labels, 3)
    collapsed = sample(model, sch, "no_noise", n=1000, seed=3).final
    correct = sample(model, sch, "ddpm", n=1000, seed=3).final
    assert spread(collapsed) < 0.5 * spread(data.points)
    assert spread(correct) > 0.9 * spread(data.points)  # the noise is what keeps the spread


def test_no_noise_collapses_with_a_trained_model_too(tiny_model) -> None:
    traj = sample(tiny_model.denoiser(), tiny_model.schedule, "no_noise", n=1000, seed=3)
    assert spread(traj.final) < 0.5 * spread(tiny_model.data.points)


def test_sample_rejects_bad_arguments() -> None:
    model, _ = ideal_gaussian("ddpm", n=100)
    with pytest.raises(ValueError, match="ddpm, no_noise, ddim"):
        sample(model, model.schedule, "euler", n=10)
    with pytest.raises(ValueError, match="positive"):
        sample(model, model.schedule, "ddpm", n=0)
    with pytest.raises(ValueError, match="1..200"):
        sample(model, model.schedule, "ddim", n=10, steps=500)


# --- Why the noise helps: the no-noise step against DDIM's ---------------------------------
@pytest.mark.parametrize("process", ["ddpm", "random_walk"])
def test_the_no_noise_step_moves_sigma_t_plus_a_sigma_s_over_sigma_t_as_far_as_ddim(
        process: str) -> None:
    """Both rules move x_t / a along -eps_hat; measured on the samplers' own steps, the
    no-noise one goes (sigma_t + a sigma_s) / sigma_t times as far: ~2 for small steps."""
    from explainer.samplers import _step, no_noise_step_ratio

    sch = make_schedule(process)
    x_t = torch.tensor([[0.7, -0.3], [1.5, 0.2]], dtype=torch.float64)
    eps_hat = torch.tensor([[0.4, 1.1], [-0.8, 0.5]], dtype=torch.float64)
    gen = torch.Generator().manual_seed(0)
    times = timesteps(sch.T, 20, sch.sampling_spacing)
    for t, s, ratio in zip(times[:-1], times[1:], no_noise_step_ratio(sch, times), strict=True):
        x0_hat = (x_t - float(sch.sigma[t]) * eps_hat) / float(sch.alpha[t])
        start = x_t * float(sch.alpha[s] / sch.alpha[t])  # x_t / a: where both moves begin
        moves = {name: _step(sch, name, x_t, t, s, x0_hat, eps_hat, gen) - start
                 for name in ("no_noise", "ddim")}
        # Both moves are along -eps_hat: the measured ratio is one number per step.
        measured = moves["no_noise"] / moves["ddim"]
        torch.testing.assert_close(measured, torch.full_like(measured, ratio), rtol=1e-6,
                                   atol=1e-9)
    small = no_noise_step_ratio(sch, timesteps(sch.T, min(sch.T, 200), sch.sampling_spacing))
    assert 1.9 < np.median(small) < 2.0 and small[-1] == pytest.approx(1.0)


@pytest.mark.parametrize(("process", "steps"), [("ddpm", 200), ("ddpm", 13),
                                                ("random_walk", 50)])
def test_no_noise_keeps_alpha_T_sigma_s_over_alpha_s_sigma_T_of_ddims_spread(
        process: str, steps: int) -> None:
    """With data of one point at the origin every guess is 0, so x_t is all 'own noise':
    the no-noise cloud's spread over DDIM's, from the same start, is what no_noise_kept
    says at every t, whatever the steps."""
    from explainer.samplers import no_noise_kept

    sch = make_schedule(process)
    origin = IdealDenoiser(sch, np.zeros((1, 2), np.float32), np.zeros(1, np.int64), 1)
    runs = {name: sample(origin, sch, name, n=400, steps=steps, seed=3)
            for name in ("no_noise", "ddim")}
    for k, t in enumerate(runs["ddim"].times[1:-1], start=1):
        measured = spread(runs["no_noise"].xs[k]) / spread(runs["ddim"].xs[k])
        assert measured == pytest.approx(no_noise_kept(sch, int(t)), rel=1e-3)
    if process == "ddpm":  # alpha_T ~ 0.0055: nothing of the start is left
        assert no_noise_kept(sch, 40) < 0.01
    else:  # sigma_s / sigma_T: a sixth at sigma_s = 1
        assert no_noise_kept(sch, 1600) == pytest.approx(1.0 / 6.4, rel=1e-3)
