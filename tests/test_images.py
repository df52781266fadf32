"""The pictures (explainer/images.py) against independent references: the covariance and
the posterior written out in pixel space and solved by linear algebra, each sampler's
exact law per Fourier coefficient, and the command line."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from explainer.cli import main
from explainer.images import (
    MAX_IMAGES,
    PictureConfig,
    WienerDenoiser,
    band_power,
    check_count,
    check_size,
    column_times,
    data_images,
    expected_ring_power,
    forward_run,
    make_pictures,
    octave_frequencies,
    power_law,
    power_scale,
    radial_frequency,
    radial_power,
    reverse_run,
    sampling_times,
)
from explainer.samplers import posterior
from explainer.schedules import ProcessConfig, Schedule, make_schedule

SMALL = PictureConfig(size=8)  # the smallest S allowed: 64 dimensions
MEDIUM = PictureConfig(size=16)


# --- the covariance and the posterior, brute force -----------------------------------------

def pixel_covariance(config: PictureConfig) -> np.ndarray:
    """(S^2, S^2) Cov[x0] of a stationary field, written out pixel by pixel:
    C[p, q] = (1 / S^2) sum_f P(f) cos(2 pi f . (p - q) / S), with no FFT."""
    S = config.size
    c = power_scale(config)
    ks = np.arange(S)
    k = np.where(ks <= S // 2, ks, ks - S)  # signed frequencies
    rows, cols = np.divmod(np.arange(S * S), S)
    C = np.zeros((S * S, S * S))
    for fy in k:
        for fx in k:
            p = c * float(power_law(math.hypot(fx, fy), config))
            phase = 2 * np.pi * (fy * rows[:, None] - fy * rows[None, :]
                                 + fx * cols[:, None] - fx * cols[None, :]) / S
            C += p * np.cos(phase)
    return C / (S * S)


def test_samples_have_the_written_out_covariance() -> None:
    pictures = make_pictures(SMALL)
    x = pictures.sample(40_000, torch.Generator().manual_seed(0), torch.float64).numpy()
    flat = x.reshape(len(x), -1)
    C = pixel_covariance(SMALL)
    empirical = np.cov(flat, rowvar=False)
    # SE of a covariance estimate: sqrt((C_pp C_qq + C_pq^2) / n).
    se = np.sqrt((np.outer(np.diag(C), np.diag(C)) + C**2) / len(x))
    assert np.abs(empirical - C).max() < 5 * se.max(), np.abs(empirical - C).max()
    mean_se = np.sqrt(np.diag(C) / len(x))
    assert (np.abs(flat.mean(0) - pictures.mean.ravel()) < 5 * mean_se).all()
    # The texture's pixel std is the one the config asks for.
    assert np.diag(C).mean() == pytest.approx(SMALL.texture_std**2)


@pytest.mark.parametrize("process", ["ddpm", "random_walk"])
@pytest.mark.parametrize("fraction", [0.0005, 0.05, 0.3, 1.0])
def test_wiener_denoiser_is_the_gaussian_posterior_mean(process: str, fraction: float) -> None:
    """E[x0 | x_t] = m + alpha C (alpha^2 C + sigma^2 I)^-1 (x_t - alpha m), solved in
    pixel space on 8 x 8 pictures (64 dimensions), against the per-frequency filter."""
    schedule = make_schedule(process)
    t = max(1, round(fraction * schedule.T))
    alpha, sigma = float(schedule.alpha[t]), float(schedule.sigma[t])
    pictures = make_pictures(SMALL)
    C, m = pixel_covariance(SMALL), pictures.mean.ravel()
    gen = torch.Generator().manual_seed(3)
    x_t = pictures.marginal(5, alpha, sigma, gen, torch.float64)
    flat = x_t.reshape(5, -1).numpy()
    gain = np.linalg.solve(alpha**2 * C + sigma**2 * np.eye(len(C)), alpha * C).T
    expected = m + (flat - alpha * m) @ gain.T
    got = pictures.x0_hat(x_t, alpha, sigma).reshape(5, -1).numpy()
    assert np.abs(got - expected).max() < 1e-9 * max(1.0, np.abs(expected).max())


def test_the_samplers_see_the_same_denoiser() -> None:
    """WienerDenoiser's eps_hat gives back E[x0 | x_t] through the samplers' own
    x0_hat = (x_t - sigma_t eps_hat) / alpha_t, even at DDPM's t = T (alpha_T ~ 0.006)."""
    schedule = make_schedule("ddpm")
    pictures = make_pictures(MEDIUM)
    denoiser = WienerDenoiser(pictures, schedule)
    for t in (1, 100, schedule.T):
        alpha, sigma = float(schedule.alpha[t]), float(schedule.sigma[t])
        x_t = pictures.marginal(3, alpha, sigma, torch.Generator().manual_seed(t), torch.float64)
        x0_hat = (x_t - sigma * denoiser(x_t, t, 0)) / alpha
        assert torch.allclose(x0_hat, pictures.x0_hat(x_t, alpha, sigma), atol=1e-9)


# --- spectra --------------------------------------------------------------------------------

def within(measured: np.ndarray, expected: np.ndarray, se: np.ndarray,
           allowance: float = 0.0) -> bool:
    """Every entry within 4 standard errors (plus a relative allowance) of the expected."""
    return bool((np.abs(measured - expected) <= 4 * se + allowance * expected).all())


def band_stats(images: np.ndarray, centre: np.ndarray, size: int) -> tuple[np.ndarray, np.ndarray]:
    """Mean power per octave band over the pictures, and its standard error."""
    per_image = band_power(radial_power(images, centre), size)
    return per_image.mean(0), per_image.std(0, ddof=1) / math.sqrt(len(per_image))


def test_white_noise_has_flat_power() -> None:
    """The normalisation every spectrum here relies on: variance v -> power v at every f."""
    x = 0.7 * torch.randn(400, 16, 16, generator=torch.Generator().manual_seed(0))
    power = radial_power(x).mean(0)
    assert np.allclose(power, 0.49, rtol=0.1), power


def test_data_spectrum_is_the_power_law() -> None:
    pictures = make_pictures(MEDIUM)
    images = data_images(pictures, MAX_IMAGES, seed=1)
    per_ring = radial_power(images, pictures.mean)
    se = per_ring.std(0, ddof=1) / math.sqrt(len(per_ring))
    expected = expected_ring_power(pictures)
    assert within(per_ring.mean(0), expected, se)
    # A power law: about 1 / f^2 away from f0, i.e. 4x less power per doubling of f.
    f = np.arange(1, 9)
    assert expected[3] / expected[7] == pytest.approx((8**2 + 1) / (4**2 + 1), rel=0.05)
    assert (np.diff(expected) < 0).all() and len(f) == len(expected)


def exact_final_power(schedule: Schedule, sampler: str, pictures, steps: int) -> np.ndarray:
    """(bands,) the power of x_0 - m each sampler produces, exactly, with the Wiener
    denoiser: per coefficient, x_t - alpha_t m evolves linearly, so its variance V does
    too (written out here from the step rules, not taken from explainer/images.py):
    ancestral: V_s = (c_xt + c_x0 g_t)^2 V_t (+ the posterior variance for DDPM);
    DDIM: V_s = (alpha_s g_t + (sigma_s / sigma_t)(1 - alpha_t g_t))^2 V_t, where
    g_t = alpha_t P / (alpha_t^2 P + sigma_t^2) is the filter's gain."""
    P = pictures.power
    times = sampling_times(schedule, steps)
    alpha, sigma = schedule.alpha, schedule.sigma
    V = alpha[times[0]] ** 2 * P + sigma[times[0]] ** 2
    for t, s in zip(times[:-1], times[1:], strict=True):
        g = alpha[t] * P / (alpha[t] ** 2 * P + sigma[t] ** 2)
        if sampler == "ddim":
            V = (alpha[s] * g + sigma[s] / sigma[t] * (1 - alpha[t] * g)) ** 2 * V
            continue
        post = posterior(schedule, t, s)
        V = (post.coef_xt + post.coef_x0 * g) ** 2 * V
        if sampler == "ddpm":
            V = V + post.var
    bins = np.rint(radial_frequency(pictures.size)).astype(int)
    rings = np.array([V[bins == k].mean() for k in range(1, pictures.size // 2 + 1)])
    return band_power(rings, pictures.size)


# (process config, steps, the most a sampler's own law may fall short of the data per
# band). The ancestral step draws from q(x_s | x_t, x0 = x0_hat) and so leaves out the
# uncertainty about x0: on DDPM's T = 200 the finest band keeps ~92% of its power, on
# finer time grids ~97%. Sampling error alone is ~1-3% per band here.
RUNS = [(ProcessConfig("ddpm"), 200, 0.10), (ProcessConfig("random_walk"), 200, 0.10),
        (ProcessConfig("ddpm", 1000), 1000, 0.04)]


@pytest.mark.parametrize(("config", "steps", "shortfall"), RUNS,
                         ids=[f"{c.name}-T{c.T or 'default'}-{k}" for c, k, _ in RUNS])
@pytest.mark.parametrize("sampler", ["ddpm", "ddim"])
def test_ddpm_and_ddim_spectra_match_the_data(config: ProcessConfig, steps: int,
                                              shortfall: float, sampler: str) -> None:
    schedule = make_schedule(config)
    pictures = make_pictures(MEDIUM)
    run = reverse_run(pictures, schedule, sampler, MAX_IMAGES, steps, seed=2)
    measured, se = band_stats(run.final, pictures.mean, MEDIUM.size)
    law = exact_final_power(schedule, sampler, pictures, steps)
    data = band_power(expected_ring_power(pictures), MEDIUM.size)
    # The samples follow the sampler's exact law within sampling error...
    assert within(measured, law, se), (measured / law, se / law)
    # ...and that law is the data's spectrum, up to the step rule's own shortfall.
    assert (np.abs(law / data - 1) < shortfall).all(), law / data
    # So the samples match the data within sampling error plus that shortfall.
    assert within(measured, data, se, shortfall), measured / data


@pytest.mark.parametrize("process", ["ddpm", "random_walk"])
def test_no_noise_loses_high_frequency_power(process: str) -> None:
    schedule = make_schedule(process)
    pictures = make_pictures(MEDIUM)
    run = reverse_run(pictures, schedule, "no_noise", 64, 200, seed=2)
    measured, _ = band_stats(run.final, pictures.mean, MEDIUM.size)
    kept = measured / band_power(expected_ring_power(pictures), MEDIUM.size)
    assert (np.diff(kept) < 0).all(), kept  # the finer, the more is lost
    assert kept[-1] < 0.01, kept
    law = exact_final_power(schedule, "no_noise", pictures, 200)
    assert np.allclose(measured, law, rtol=0.35), (measured, law)  # 64 pictures: ~+-15%
    distance = float(np.sqrt(((run.final - pictures.mean) ** 2).mean()))
    if process == "ddpm":
        # x_T forgot the data (alpha_T ~ 0.006): every picture lands on the mean image.
        assert kept.max() < 0.001 and distance < 0.02, (kept, distance)
    else:
        # The walk's x_T remembers the coarsest scales a little: a blurred texture.
        assert kept[0] > 0.02 and distance < 0.5 * MEDIUM.texture_std, (kept, distance)


def test_every_sampler_starts_from_the_same_noise() -> None:
    schedule = make_schedule("ddpm")
    pictures = make_pictures(MEDIUM)
    starts = [reverse_run(pictures, schedule, s, 8, 20, seed=5, shown=(schedule.T,)).images[0]
              for s in ("ddpm", "no_noise", "ddim")]
    assert np.array_equal(starts[0], starts[1]) and np.array_equal(starts[0], starts[2])
    other = reverse_run(pictures, schedule, "ddim", 8, 20, seed=6, shown=(schedule.T,))
    assert not np.array_equal(starts[0], other.images[0])


def test_batches_change_nothing() -> None:
    """64 x 64 pictures run in batches of 16 (BATCH_PIXELS): the pictures are those of one
    batch, and the run's spectrum is that of all its pictures."""
    schedule = make_schedule("ddpm")
    pictures = make_pictures(PictureConfig(size=64))
    whole = reverse_run(pictures, schedule, "ddim", 20, 5, seed=1, shown=(schedule.T, 0))
    first = reverse_run(pictures, schedule, "ddim", 16, 5, seed=1, shown=(schedule.T, 0))
    assert whole.images.shape == (2, 20, 64, 64)
    assert np.allclose(whole.images[:, :16], first.images, atol=1e-6)
    assert np.allclose(whole.power[-1], radial_power(whole.final, pictures.mean).mean(0),
                       rtol=1e-4)


@pytest.mark.parametrize("process", ["ddpm", "random_walk"])
def test_forward_run_has_the_schedules_marginals(process: str) -> None:
    schedule = make_schedule(process)
    pictures = make_pictures(MEDIUM)
    times = [0, schedule.T // 50, schedule.T // 4, schedule.T]
    run = forward_run(pictures, schedule, times, MAX_IMAGES, seed=4)
    assert list(run.shown_times) == times and run.images.shape == (4, MAX_IMAGES, 16, 16)
    for k, t in enumerate(times):
        alpha, sigma = float(schedule.alpha[t]), float(schedule.sigma[t])
        measured, se = band_stats(run.images[k], alpha * pictures.mean, MEDIUM.size)
        expected = band_power(expected_ring_power(pictures, alpha, sigma), MEDIUM.size)
        assert within(measured, expected, se), (t, measured / expected)


# --- coarse then fine -------------------------------------------------------------------------

@pytest.mark.parametrize("process", ["ddpm", "random_walk"])
def test_columns_step_through_the_scales(process: str) -> None:
    """At each inner column the decided frequency (where alpha^2 P(f) = sigma^2) is
    about 1, 2, 4, ... cycles per image: coarse structure is settled first."""
    schedule = make_schedule(process)
    pictures = make_pictures()
    times = sampling_times(schedule, 200)
    columns = column_times(pictures, schedule, times)
    assert columns[0] == schedule.T and columns[-1] == 0
    assert columns == sorted(columns, reverse=True) and set(columns) <= set(times)
    for t, f in zip(columns[1:-1], octave_frequencies(pictures.size), strict=True):
        alpha, sigma = float(schedule.alpha[t]), float(schedule.sigma[t])
        decided = pictures.decided_frequency(alpha, sigma)
        assert decided == pytest.approx(f, rel=0.15), (t, decided, f)
        signal = alpha**2 * power_scale(pictures.config) * float(power_law(decided,
                                                                            pictures.config))
        assert signal == pytest.approx(sigma**2, rel=1e-9)


# --- bounds and the command line --------------------------------------------------------------

def test_bounds_are_checked() -> None:
    with pytest.raises(ValueError, match="S must be in 8..64"):
        check_size(4)
    with pytest.raises(ValueError, match="N must be in 1.."):
        check_count(MAX_IMAGES + 1)
    with pytest.raises(ValueError, match="S must be in"):
        make_pictures(PictureConfig(size=65))
    assert check_size(8) == 8 and check_count(MAX_IMAGES) == MAX_IMAGES


def test_cli_writes_pictures(run_cli, tmp_path) -> None:
    """The real entry point, once: python -m explainer images ..."""
    out = tmp_path / "pictures.npy"
    result = run_cli("images", "--what", "ddim", "--steps", "20", "--n", "5", "--size", "12",
                     "--out", out)
    assert result.returncode == 0, result.stderr
    x = np.load(out)
    assert x.shape == (5, 12, 12) and x.dtype == np.float32 and np.isfinite(x).all()


@pytest.mark.parametrize(("what", "process"), [("data", "ddpm"), ("ddpm", "ddpm"),
                                               ("no_noise", "random_walk"), ("ddim", "ddpm")])
def test_cli_writes_n_seeded_pictures(tmp_path, what: str, process: str) -> None:
    def images(seed: int) -> np.ndarray:
        out = tmp_path / f"{seed}.npy"
        assert main(["images", "--what", what, "--process", process, "--steps", "20",
                     "--n", "5", "--size", "12", "--seed", str(seed), "--out", str(out)]) == 0
        return np.load(out)

    x = images(3)
    assert x.shape == (5, 12, 12) and x.dtype == np.float32 and np.isfinite(x).all()
    assert np.array_equal(x, images(3)) and not np.array_equal(x, images(4))


def test_cli_no_noise_on_ddpm_is_the_mean_image(tmp_path) -> None:
    out = tmp_path / "blurry.npy"
    assert main(["images", "--what", "no_noise", "--n", "4", "--size", "16",
                 "--out", str(out)]) == 0
    assert np.abs(np.load(out) - make_pictures(MEDIUM).mean).max() < 0.05


@pytest.mark.parametrize(("flag", "value", "message"), [
    ("--size", "7", "S must be in 8..64"), ("--size", "65", "S must be in 8..64"),
    ("--n", "0", "N must be in 1.."), ("--n", str(MAX_IMAGES + 1), "N must be in 1.."),
    ("--steps", "201", "steps must be in 1..200")])
def test_cli_refuses_bad_sizes(capsys, tmp_path, flag: str, value: str, message: str) -> None:
    out = tmp_path / "never.npy"
    assert main(["images", "--what", "ddpm", flag, value, "--out", str(out)]) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], lines
    assert not out.exists()
