"""Pictures whose exact denoiser is known: Gaussian textures on an S x S torus.

A picture here is x0 = m + z: a fixed mean image m (a soft tree on a horizon, "the
average picture") plus a stationary Gaussian texture z whose power spectrum is

    P(f) = c / (f^2 + f0^2)^(a/2),   a = 2, f0 = 1 cycle per image,

the power law of natural images (a = 2: equal power in every octave, so there is
structure at every scale). With the orthonormal 2D FFT (white noise of unit variance
has unit power in every coefficient) the texture's Fourier coefficients are independent
with variance P(f), and c is set so the texture's pixel std is TEXTURE_STD.

Because the covariance is diagonal in the Fourier basis, the exact denoiser of
x_t = alpha_t x0 + sigma_t eps works one frequency at a time (a Wiener filter):

    E[x0 | x_t] = m + F^-1[ alpha_t P / (alpha_t^2 P + sigma_t^2) * F(x_t - alpha_t m) ].

Each coefficient is "decided" where its signal alpha_t^2 P(f) beats the noise sigma_t^2:
as t falls, the decided frequencies run from coarse to fine. Every sampler of
explainer/samplers.py runs on this perfect model (WienerDenoiser) with no training.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import torch

from explainer.samplers import check_sampler_name, reverse_steps, timesteps
from explainer.schedules import Schedule

EXPONENT = 2.0  # a: natural images' power spectra fall off as about 1 / f^2
F0 = 1.0  # cycles per image: keeps P finite at f = 0 (the image's mean brightness)
TEXTURE_STD = 0.4  # pixel std of the texture around the mean image
DEFAULT_SIZE = 32
SIZE_RANGE = (8, 64)
MAX_IMAGES = 256  # the largest run (random walk, 1,000 steps, 64 x 64): ~25 s of CPU


@dataclass(frozen=True)
class PictureConfig:
    """What defines the pictures; small and frozen, so it is a cache key."""

    size: int = DEFAULT_SIZE
    exponent: float = EXPONENT
    f0: float = F0
    texture_std: float = TEXTURE_STD


def check_size(size: int) -> int:
    lo, hi = SIZE_RANGE
    if not lo <= int(size) <= hi:
        raise ValueError(f"the image size S must be in {lo}..{hi}, got {size}")
    return int(size)


def check_count(n: int) -> int:
    if not 1 <= int(n) <= MAX_IMAGES:
        raise ValueError(f"the number of images N must be in 1..{MAX_IMAGES}, got {n}")
    return int(n)


# ---------------------------------------------------------------- the data

def radial_frequency(size: int) -> np.ndarray:
    """(S, S) |f| of each 2D FFT coefficient, in cycles per image."""
    k = np.fft.fftfreq(size, d=1.0 / size)
    return np.hypot(k[:, None], k[None, :])


def power_law(f: np.ndarray | float, config: PictureConfig) -> np.ndarray:
    """The shape 1 / (f^2 + f0^2)^(a/2), before scaling to the texture's variance."""
    return (np.asarray(f, dtype=np.float64) ** 2 + config.f0**2) ** (-config.exponent / 2)


def power_scale(config: PictureConfig) -> float:
    """c in P = c * power_law: with the orthonormal FFT the pixel variance is the mean of
    P over all coefficients (Parseval), and that is set to TEXTURE_STD^2."""
    return config.texture_std**2 / float(power_law(radial_frequency(config.size), config).mean())


def mean_image(size: int) -> np.ndarray:
    """(S, S) the average picture: a bright sky over darker ground, and a dark soft tree
    standing on the horizon (the seed's "tree in a desert"). Row 0 is the top."""
    v, u = (np.mgrid[0:size, 0:size] + 0.5) / size  # v down, u across, in 0..1
    horizon = 0.6
    ground = 0.1 + 0.5 * np.tanh((horizon - v) / 0.06)  # +0.6 sky, -0.4 ground
    crown = np.exp(-((u - 0.45) ** 2 + (v - 0.38) ** 2) / (2 * 0.09**2))
    trunk = np.exp(-((u - 0.45) / 0.035) ** 4) * (v > 0.4) * np.exp(-((v - 0.5) / 0.14) ** 6)
    return ground - 1.3 * np.maximum(crown, trunk)


@dataclass(frozen=True, eq=False)
class Pictures:
    """The data distribution: x0 = mean + texture with power spectrum `power`."""

    config: PictureConfig
    power: np.ndarray  # (S, S) P per FFT coefficient (float64)
    mean: np.ndarray  # (S, S) the mean image m

    @property
    def size(self) -> int:
        return self.config.size

    def sample(self, n: int, gen: torch.Generator,
               dtype: torch.dtype = torch.float32) -> torch.Tensor:
        """(n, S, S) pictures: white noise shaped by sqrt(P), plus the mean."""
        return self.marginal(n, 1.0, 0.0, gen, dtype)

    def marginal(self, n: int, alpha: float, sigma: float, gen: torch.Generator,
                 dtype: torch.dtype = torch.float32) -> torch.Tensor:
        """(n, S, S) draws of x_t = alpha x0 + sigma eps, i.e. of q(x_t): a Gaussian with
        mean alpha m and power alpha^2 P + sigma^2 per coefficient."""
        white = torch.randn(n, self.size, self.size, generator=gen, dtype=dtype)
        gain = np.sqrt(alpha**2 * self.power + sigma**2)
        return alpha * torch.as_tensor(self.mean, dtype=dtype) + filtered(white, gain)

    def x0_hat(self, x_t: torch.Tensor, alpha: float, sigma: float) -> torch.Tensor:
        """E[x0 | x_t], exactly: the Wiener filter of x_t - alpha m, plus m (in x_t's
        dtype)."""
        if sigma <= 0:
            return x_t / alpha
        m = torch.as_tensor(self.mean, dtype=x_t.dtype)
        return m + filtered(x_t - alpha * m, wiener_gain(self.power, alpha, sigma))

    def decided_frequency(self, alpha: float, sigma: float) -> float:
        """The f (cycles per image) where alpha^2 P(f) = sigma^2: coarser coefficients are
        mostly signal at this noise level, finer ones mostly noise. 0 when none is
        decided; inf without noise."""
        if sigma <= 0:
            return float("inf")
        c = power_scale(self.config)
        # c alpha^2 / (f^2 + f0^2)^(a/2) = sigma^2  <=>  f^2 = (c alpha^2 / sigma^2)^(2/a) - f0^2
        f2 = (c * alpha**2 / sigma**2) ** (2 / self.config.exponent) - self.config.f0**2
        return float(np.sqrt(f2)) if f2 > 0 else 0.0


def make_pictures(config: PictureConfig = PictureConfig()) -> Pictures:
    check_size(config.size)
    power = power_scale(config) * power_law(radial_frequency(config.size), config)
    return Pictures(config, power, mean_image(config.size))


def filtered(x: torch.Tensor, gain: np.ndarray) -> torch.Tensor:
    """Multiply every Fourier coefficient of each (S, S) image by `gain` (real and
    symmetric in f, so a real image stays real)."""
    spectrum = torch.fft.fft2(x, norm="ortho") * torch.as_tensor(gain, dtype=x.dtype)
    return torch.fft.ifft2(spectrum, norm="ortho").real


def wiener_gain(power: np.ndarray, alpha: float, sigma: float) -> np.ndarray:
    """alpha P / (alpha^2 P + sigma^2): how much of each coefficient of x_t - alpha m is
    kept (and rescaled by 1 / alpha) in E[x0 | x_t]."""
    return alpha * power / (alpha**2 * power + sigma**2)


class WienerDenoiser:
    """The pictures' exact denoiser seen through the EpsModel call signature, so the
    samplers run on it: eps_hat = (x_t - alpha_t E[x0 | x_t]) / sigma_t."""

    num_classes = 0
    prior = None

    def __init__(self, pictures: Pictures, schedule: Schedule):
        self.pictures, self.schedule = pictures, schedule

    def __call__(self, x_t: torch.Tensor, t: int, label: int) -> torch.Tensor:
        alpha, sigma = float(self.schedule.alpha[t]), float(self.schedule.sigma[t])
        return (x_t - alpha * self.pictures.x0_hat(x_t, alpha, sigma)) / sigma


# ---------------------------------------------------------------- spectra

def radial_bins(size: int) -> np.ndarray:
    """(S, S) the radial bin of each coefficient: round(|f|), 1..S/2; 0 for the mean
    brightness (f = 0) and -1 for the corners beyond S/2 (not a full ring)."""
    k = np.rint(radial_frequency(size)).astype(int)
    k[k > size // 2] = -1
    return k


@functools.lru_cache(maxsize=8)
def _ring_weights(size: int) -> torch.Tensor:
    """(S*S, S/2) float64: column k-1 averages the coefficients of ring k."""
    bins = radial_bins(size).ravel()
    onehot = (bins[:, None] == np.arange(1, size // 2 + 1)[None, :]).astype(np.float64)
    return torch.from_numpy(onehot / onehot.sum(0))


def ring_mean(values: torch.Tensor | np.ndarray) -> np.ndarray:
    """(..., S/2) the mean of (..., S, S) values over each ring f = 1..S/2."""
    values = torch.as_tensor(values, dtype=torch.float64)
    size = values.shape[-1]
    return (values.reshape(*values.shape[:-2], size * size) @ _ring_weights(size)).numpy()


def fourier_power(x: torch.Tensor | np.ndarray, centre: np.ndarray | float = 0.0
                  ) -> torch.Tensor:
    """(..., S, S) |X(f)|^2 of x - centre (orthonormal FFT: white noise of variance v has
    power v at every f)."""
    x = torch.as_tensor(x)
    spectrum = torch.fft.fft2(x - torch.as_tensor(centre, dtype=x.dtype), norm="ortho")
    return torch.view_as_real(spectrum).square().sum(-1)  # 4x faster than .abs() ** 2


def radial_power(x: torch.Tensor | np.ndarray, centre: np.ndarray | float = 0.0
                 ) -> np.ndarray:
    """(n, S/2) each image's radially averaged power spectrum: the mean |X(f)|^2 of
    x - centre over the ring of coefficients with round(|f|) = k, k = 1..S/2 cycles per
    image."""
    return ring_mean(fourier_power(x, centre))


def mean_radial_power(x: torch.Tensor | np.ndarray, centre: np.ndarray | float = 0.0
                      ) -> np.ndarray:
    """(S/2,) radial_power averaged over the images (one ring average, not n)."""
    return ring_mean(fourier_power(x, centre).mean(0))


def octave_bands(size: int) -> list[tuple[int, int]]:
    """Radial bins grouped by octaves, the last one up to S/2: for S = 32, (1, 1),
    (2, 3), (4, 7), (8, 16)."""
    bands, lo = [], 1
    while 4 * lo <= size // 2:
        bands.append((lo, 2 * lo - 1))
        lo *= 2
    return [*bands, (lo, size // 2)]


def octave_frequencies(size: int) -> list[int]:
    """1, 2, 4, ... S/2 cycles per image."""
    return [2**k for k in range(int(np.log2(size // 2)) + 1)]


def band_label(band: tuple[int, int]) -> str:
    lo, hi = band
    return f"{lo}" if lo == hi else f"{lo}-{hi}"


def band_power(ring_power: np.ndarray, size: int) -> np.ndarray:
    """(..., bands) power per octave band, from (..., S/2) ring powers: the mean over the
    band's coefficients (rings weighted by how many coefficients they hold)."""
    bins = radial_bins(size)
    counts = np.array([(bins == k).sum() for k in range(1, size // 2 + 1)], dtype=float)
    out = []
    for lo, hi in octave_bands(size):
        w = counts[lo - 1:hi]
        out.append((ring_power[..., lo - 1:hi] * w).sum(-1) / w.sum())
    return np.stack(out, axis=-1)


# ---------------------------------------------------------------- runs

@dataclass(frozen=True, eq=False)
class ImageRun:
    """A run over time (forward or reverse) of n pictures: the pictures at `shown_times`,
    and the power spectrum of x_t - alpha_t m (averaged over the n pictures) at every
    time of `times`. float32 numpy."""

    times: np.ndarray  # (k,) the run's times, in run order
    power: np.ndarray  # (k, S/2) ring power at each of `times`
    shown_times: np.ndarray  # (j,) in run order
    images: np.ndarray  # (j, n, S, S) the pictures x_t at shown_times

    @property
    def final(self) -> np.ndarray:
        return self.images[-1]

    def power_at(self, t: int) -> np.ndarray:
        return self.power[list(self.times).index(int(t))]


def sampling_times(schedule: Schedule, steps: int | None = None) -> list[int]:
    """The times a sampler visits, T down to 0 (as samplers.sample spaces them)."""
    return timesteps(schedule.T, steps or schedule.default_sampling_steps,
                     schedule.sampling_spacing)


def column_times(pictures: Pictures, schedule: Schedule, times: Iterable[int]) -> list[int]:
    """Times to show as columns, in decreasing order: T, then the times (of `times`) at
    which the decided frequency is about 1, 2, 4, ... S/2 cycles per image, then 0. So
    the columns step through the scales, whatever the process."""
    times = sorted({int(t) for t in times}, reverse=True)
    inner = [t for t in times if 0 < t < schedule.T]
    alpha, sigma = schedule.alpha, schedule.sigma
    # log signal-to-noise of each inner time, and the one at which f is just decided.
    log_snr = np.log(alpha[inner] ** 2 / sigma[inner] ** 2)
    chosen = [schedule.T]
    for f in octave_frequencies(pictures.size):
        target = -np.log(power_scale(pictures.config) * float(power_law(f, pictures.config)))
        t = inner[int(np.argmin(np.abs(log_snr - target)))]
        if t not in chosen:
            chosen.append(t)
    return [*chosen, 0]


def _ring_power_of(x: torch.Tensor, pictures: Pictures, alpha: float) -> np.ndarray:
    return mean_radial_power(x, alpha * pictures.mean)


# Pixels per batch of a reverse run: each step's temporaries (the FFT's complex copy is
# 512 kB) then stay under the 1 MB mmap threshold runtime.configure_process sets. 256
# pictures of 64 x 64 in one batch spent more CPU in page faults than in the FFTs
# (random walk, 1,000 steps: 78 s of CPU; ~4x less in batches of 16).
BATCH_PIXELS = 1 << 16


def reverse_run(pictures: Pictures, schedule: Schedule, sampler: str, n: int,
                steps: int | None = None, seed: int = 0,
                shown: Iterable[int] = (0,)) -> ImageRun:
    """Sample n pictures with the exact denoiser from x_T ~ q(x_T) (the Gaussian with
    power alpha_T^2 P + sigma_T^2, exact for this data: no guess about how much of the
    data survives at T). The starting noise depends on `seed` only (drawn first, for all
    n), so every sampler starts from the same x_T; DDPM then draws its own noise."""
    check_sampler_name(sampler)
    check_count(n)
    times = sampling_times(schedule, steps)
    keep = {int(t) for t in shown}
    gen = torch.Generator().manual_seed(seed)
    T = schedule.T
    x_T = pictures.marginal(n, float(schedule.alpha[T]), float(schedule.sigma[T]), gen)
    batch = max(1, BATCH_PIXELS // pictures.size**2)
    starts = [x_T[i:i + batch] for i in range(0, n, batch)]
    runs = [_reverse_batch(pictures, schedule, sampler, times, start, gen, keep)
            for start in starts]
    power = sum(len(start) * run_power for start, (run_power, _) in zip(starts, runs,
                                                                          strict=True)) / n
    shown_times = [t for t in times if t in keep]
    size = pictures.size
    images = np.zeros((len(shown_times), n, size, size), dtype=np.float32)
    for k, t in enumerate(shown_times):
        images[k] = torch.cat([run_images[t] for _, run_images in runs]).float().numpy()
    return ImageRun(np.asarray(times), np.asarray(power, dtype=np.float32),
                    np.asarray(shown_times), images)


def _reverse_batch(pictures: Pictures, schedule: Schedule, sampler: str, times: list[int],
                   x_T: torch.Tensor, gen: torch.Generator, keep: set[int]
                   ) -> tuple[np.ndarray, dict[int, torch.Tensor]]:
    """One batch of reverse_run: its mean ring power at every time, and its pictures at
    the times in `keep`."""
    T = times[0]
    images = {T: x_T} if T in keep else {}
    power = [_ring_power_of(x_T, pictures, float(schedule.alpha[T]))]
    denoiser = WienerDenoiser(pictures, schedule)
    for s, x, _ in reverse_steps(denoiser, schedule, sampler, times, x_T, gen):
        power.append(_ring_power_of(x, pictures, float(schedule.alpha[s])))
        if s in keep:
            images[s] = x
    return np.asarray(power), images


def forward_run(pictures: Pictures, schedule: Schedule, times: Iterable[int], n: int,
                seed: int = 0) -> ImageRun:
    """n pictures noised along one path, seen at `times`: each step t' -> t draws
    q(x_t | x_t') = N(a x_t', (sigma_t^2 - a^2 sigma_t'^2) I), a = alpha_t / alpha_t', so
    every picture is one continued walk and every marginal is the schedule's."""
    check_count(n)
    times = sorted({int(t) for t in times})
    gen = torch.Generator().manual_seed(seed)
    x = pictures.sample(n, gen)
    images, power, previous = [], [], 0
    for t in times:
        a = schedule.alpha[t] / schedule.alpha[previous]
        v = schedule.sigma[t] ** 2 - a**2 * schedule.sigma[previous] ** 2
        x = a * x + np.sqrt(max(v, 0.0)) * torch.randn(x.shape, generator=gen)
        images.append(x)
        power.append(_ring_power_of(x, pictures, float(schedule.alpha[t])))
        previous = t
    return ImageRun(np.asarray(times), np.asarray(power, dtype=np.float32),
                    np.asarray(times), torch.stack(images).float().numpy())


def data_images(pictures: Pictures, n: int, seed: int = 0) -> np.ndarray:
    """(n, S, S) float32 pictures drawn from the data distribution."""
    check_count(n)
    return pictures.sample(n, torch.Generator().manual_seed(seed)).float().numpy()


def expected_ring_power(pictures: Pictures, alpha: float = 1.0, sigma: float = 0.0
                        ) -> np.ndarray:
    """(S/2,) the exact ring power of x_t - alpha m: alpha^2 P + sigma^2, averaged per
    ring (t = 0: the data's own spectrum)."""
    return ring_mean(alpha**2 * pictures.power + sigma**2)


def signal_share(pictures: Pictures, alpha: float, sigma: float) -> np.ndarray:
    """(bands,) the share of x_t's power per octave band that is picture, not noise:
    alpha^2 P / (alpha^2 P + sigma^2), summed over each band's coefficients."""
    signal = band_power(expected_ring_power(pictures, alpha), pictures.size)
    total = band_power(expected_ring_power(pictures, alpha, sigma), pictures.size)
    return signal / total


# ---------------------------------------------------------------- what the page shows

PAGE_IMAGES = 64  # pictures per sampler: each band's power then has a relative SE <= ~6%
SHOWN_IMAGES = 4  # of which the page shows this many
PAGE_STEPS = 200  # sampler steps on the page (all of DDPM's T; Karras-spaced on the walk)


@dataclass(frozen=True, eq=False)
class SamplerPictures:
    """One sampler's run as the page shows it, and its numbers at t = 0."""

    run: ImageRun  # images: the first SHOWN_IMAGES pictures at the columns' times
    kept: np.ndarray  # (bands,) final power per band / the data's
    distance_to_mean: float  # RMS pixel distance of the final pictures from the mean image


@dataclass(frozen=True, eq=False)
class PictureStory:
    """Everything the pictures page draws for one process and seed."""

    pictures: Pictures
    alpha: np.ndarray  # the schedule's alpha_t, sigma_t (index t)
    sigma: np.ndarray
    columns: list[int]  # the times shown as columns, T down to 0
    data: np.ndarray  # (SHOWN_IMAGES, S, S) fresh data pictures
    forward: ImageRun  # the data noised along one path, seen at the columns' times
    samplers: dict[str, SamplerPictures]
    data_power: np.ndarray  # (S/2,) the data's exact ring power
    data_measured: np.ndarray  # (S/2,) the ring power of PAGE_IMAGES data pictures

    def signal_share(self, t: int) -> np.ndarray:
        return signal_share(self.pictures, float(self.alpha[t]), float(self.sigma[t]))

    def decided_frequency(self, t: int) -> float:
        return self.pictures.decided_frequency(float(self.alpha[t]), float(self.sigma[t]))

    def expected_power(self, t: int) -> np.ndarray:
        """(S/2,) q(x_t)'s ring power: alpha_t^2 P + sigma_t^2."""
        return expected_ring_power(self.pictures, float(self.alpha[t]), float(self.sigma[t]))

    def signal_power(self, t: int) -> np.ndarray:
        """(S/2,) the picture's share of q(x_t)'s ring power: alpha_t^2 P."""
        return expected_ring_power(self.pictures, float(self.alpha[t]))

    def power_range(self) -> tuple[float, float]:
        """A y range that holds every spectrum of every t (for a plot that stays put)."""
        top = max(float(self.data_power[0]), float(self.sigma.max()) ** 2)
        return min(1e-4, float(self.data_power[-1]) * 1e-2), 3 * top

    def display_scale(self, t: int) -> float:
        """Noisy pictures are shown divided by sqrt(alpha_t^2 + sigma_t^2) (1 for DDPM,
        which preserves the variance), so the random walk's x_t (std up to sigma_T) fits
        the same grey scale as the data."""
        return float(np.sqrt(self.alpha[t] ** 2 + self.sigma[t] ** 2))

    def grid(self, run: ImageRun, picture: int | None = None) -> np.ndarray:
        """(rows, cols, S, S) for a picture grid, scaled by display_scale, columns in the
        run's order: one row per picture of the run, or only `picture`."""
        scales = np.array([self.display_scale(t) for t in run.shown_times], dtype=np.float32)
        images = run.images / scales[:, None, None, None]  # (cols, n, S, S)
        rows = images.transpose(1, 0, 2, 3)
        return rows if picture is None else rows[picture:picture + 1]


def _shown(run: ImageRun, count: int) -> ImageRun:
    return ImageRun(run.times, run.power, run.shown_times, run.images[:, :count])


def picture_story(schedule: Schedule, seed: int = 0, n: int = PAGE_IMAGES,
                  steps: int | None = PAGE_STEPS,
                  config: PictureConfig = PictureConfig()) -> PictureStory:
    """The forward process and the three samplers (same starting noise) on the pictures,
    with the numbers the page prints: ~0.6 s for 64 pictures of 32 x 32 and 200 steps."""
    pictures = make_pictures(config)
    times = sampling_times(schedule, min(steps or schedule.T, schedule.T))
    columns = column_times(pictures, schedule, times)
    data_power = expected_ring_power(pictures)
    data_bands = band_power(data_power, pictures.size)
    samplers = {}
    for sampler in ("ddpm", "no_noise", "ddim"):
        run = reverse_run(pictures, schedule, sampler, n, len(times) - 1, seed, columns)
        final = torch.from_numpy(run.final)
        kept = band_power(mean_radial_power(final, pictures.mean), pictures.size) / data_bands
        distance = float((final - torch.from_numpy(pictures.mean)).square().mean().sqrt())
        samplers[sampler] = SamplerPictures(_shown(run, SHOWN_IMAGES), kept, distance)
    forward = forward_run(pictures, schedule, columns, SHOWN_IMAGES, seed)
    data = data_images(pictures, n, seed + 1)
    return PictureStory(pictures, schedule.alpha, schedule.sigma, columns,
                        data[:SHOWN_IMAGES], forward, samplers, data_power,
                        mean_radial_power(data, pictures.mean))
