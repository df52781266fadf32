"""The noise process as one Gaussian path: x_t = alpha_t x0 + sigma_t eps, t = 0..T.

Two presets share this one object, and everything downstream (training, samplers,
the ideal denoiser, fields) is written once against (alpha_t, sigma_t):

- ``ddpm``: variance preserving, linear betas (Ho et al. 2020). Ho's 1e-4..0.02 over
  T = 1000 is rescaled to T steps so that alpha_bar_T is near 0 (pure noise), which
  tiny-diffusion's T = 50 default gets wrong.
- ``random_walk``: variance exploding, x_t = x_{t-1} + s z, so alpha_t = 1 and
  sigma_t = s sqrt(t): the seed article's Brownian picture. Its small step (s = 0.025,
  T = 65,536) is what lets it sample fine detail; samplers walk it back in 1,000 or
  fewer steps (Schedule.default_sampling_steps).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, get_args

import numpy as np
import torch

from explainer.limits import MAX_T, MIN_T, check_count

ProcessName = Literal["ddpm", "random_walk"]
PROCESS_NAMES: tuple[str, ...] = get_args(ProcessName)

# T per process: the random walk's step s = sigma_T / sqrt(T) = 0.025 is the finest
# detail it can sample; DDPM at T = 200 keeps small blobs' variance with DDPM and DDIM.
# See docs/ARCHITECTURE.md, "T of each process".
DEFAULT_STEPS = {"ddpm": 200, "random_walk": 65536}
# sigma_T of the random walk: several times the data's spread; the no-noise
# collapse depends on it. See docs/ARCHITECTURE.md, "T of each process".
RANDOM_WALK_SIGMA_T = 6.4
# Samplers run at most this many steps unless asked for more (see default_sampling_steps).
MAX_DEFAULT_SAMPLING_STEPS = 1000


@dataclass(frozen=True)
class Prior:
    """x_T ~ N(mean, std^2 I): where the reverse process starts."""

    mean: tuple[float, float]
    std: float

    def draw(self, n: int, gen: torch.Generator) -> torch.Tensor:
        return torch.tensor(self.mean) + self.std * torch.randn(n, 2, generator=gen)


@dataclass(frozen=True)
class ProcessConfig:
    """What defines a noise process; stored in checkpoints and used as a cache key."""

    name: ProcessName = "ddpm"
    T: int = 0  # 0 means the process's default

    def resolved(self) -> ProcessConfig:
        check_process_name(self.name)
        # Before any array of T + 1 numbers exists (a checkpoint's T may be 10^9).
        T = check_count("a process's steps T", self.T or DEFAULT_STEPS[self.name], MIN_T, MAX_T)
        return ProcessConfig(self.name, T)


def check_process_name(name: str) -> str:
    if name not in PROCESS_NAMES:
        raise ValueError(f"unknown process {name!r}; choose one of {', '.join(PROCESS_NAMES)}")
    return name


@dataclass(frozen=True, eq=False)
class Schedule:
    """alpha_t and sigma_t for t = 0..T (float64 numpy, index = t)."""

    config: ProcessConfig
    alpha: np.ndarray
    sigma: np.ndarray

    @property
    def T(self) -> int:
        return self.config.T

    @property
    def name(self) -> str:
        return self.config.name

    @property
    def time_spacing(self) -> str:
        """How t is spaced on sliders and in the network's time embedding: evenly in
        sigma_t for the random walk, whose sigma_t = s sqrt(t) (see samplers.timesteps)."""
        return "sigma" if self.name == "random_walk" else "linear"

    @property
    def sampling_spacing(self) -> str:
        """How samplers space fewer steps than T (see samplers.timesteps)."""
        return "karras" if self.name == "random_walk" else "linear"

    @property
    def default_sampling_steps(self) -> int:
        """Steps a sampler takes when not told: all of T, up to 1,000.

        The random walk's 65,536 steps are there to make its first step small, not to
        be walked one by one: 1,000 steps spaced as samplers.timesteps does also end at
        t = 1, and sample as well as all of them (tests/test_samplers.py).
        """
        return min(self.T, MAX_DEFAULT_SAMPLING_STEPS)

    def time_coordinates(self) -> np.ndarray:
        """t = 0..T mapped to [0, 1] the way time_spacing spaces steps: t / T, or
        sqrt(t / T) = sigma_t / sigma_T for the random walk. The network embeds this, so that
        small t, where fine detail is decided, is not squeezed into a sliver of [0, 1]
        (tests/test_model.py; docs/ARCHITECTURE.md, "The network")."""
        u = np.arange(self.T + 1) / self.T
        return np.sqrt(u) if self.time_spacing == "sigma" else u

    def check_t(self, t: int, allow_zero: bool = False) -> int:
        lo = 0 if allow_zero else 1
        if not lo <= int(t) <= self.T:
            raise ValueError(f"t must be in {lo}..{self.T} for this process, got {t}")
        return int(t)

    def add_noise(self, x0: torch.Tensor, t: torch.Tensor, eps: torch.Tensor) -> torch.Tensor:
        """x_t = alpha_t x0 + sigma_t eps, with one t per row."""
        a = torch.as_tensor(self.alpha, dtype=x0.dtype)[t].unsqueeze(-1)
        s = torch.as_tensor(self.sigma, dtype=x0.dtype)[t].unsqueeze(-1)
        return a * x0 + s * eps

    def prior(self, points: np.ndarray | None = None) -> Prior:
        """Where sampling starts: the Gaussian with the mean and (per-axis) variance of
        q(x_T), i.e. of alpha_T x0 + sigma_T eps over the data `points`; N(0, sigma_T^2 I)
        without data.

        For DDPM alpha_T ~ 0 and both are "pure noise". The random walk never forgets
        where the data was: its cloud at T is the data blurred by sigma_T, only a few
        times the data's spread and centred where the data is. Started from
        N(0, sigma_T^2) instead, samplers misplace mass even with the exact denoiser. See
        docs/ARCHITECTURE.md, "Where sampling starts".
        """
        alpha_T, sigma_T = float(self.alpha[-1]), float(self.sigma[-1])
        if points is None:
            return Prior((0.0, 0.0), sigma_T)
        x0 = np.asarray(points, dtype=np.float64)
        mean = alpha_T * x0.mean(0)
        std = float(np.sqrt(alpha_T**2 * x0.var(0).mean() + sigma_T**2))
        return Prior((float(mean[0]), float(mean[1])), std)


def ddpm_betas(T: int) -> np.ndarray:
    """Ho et al.'s linear betas (1e-4..0.02 at T = 1000), rescaled to T steps."""
    scale = 1000.0 / T
    # Below T = 20 the rescaled betas pass 1 (1 - beta < 0: NaN alphas, or alpha_T = 0
    # and x0_hat divides by zero). Clip as diffusers does (max_beta = 0.999).
    return np.minimum(np.linspace(1e-4 * scale, 0.02 * scale, T), 0.999)


def make_schedule(config: ProcessConfig | str = "ddpm") -> Schedule:
    if isinstance(config, str):
        config = ProcessConfig(config)  # type: ignore[arg-type]
    config = config.resolved()
    T = config.T
    if config.name == "ddpm":
        betas = ddpm_betas(T)
        alpha_bar = np.concatenate([[1.0], np.cumprod(1.0 - betas)])
        alpha, sigma = np.sqrt(alpha_bar), np.sqrt(1.0 - alpha_bar)
    else:
        s = RANDOM_WALK_SIGMA_T / np.sqrt(T)
        alpha, sigma = np.ones(T + 1), s * np.sqrt(np.arange(T + 1))
    return Schedule(config, alpha, sigma)


def noise_reaches(schedule: Schedule, std: float) -> int:
    """The first t at which the noise is as wide as `std` next to the signal it leaves:
    sigma_t / alpha_t >= std (sigma_t for the random walk). With `std` the data's own
    std per axis, this is where the noise starts to outweigh the data's shape."""
    ratio = schedule.sigma / schedule.alpha
    reached = np.flatnonzero(ratio >= std)
    return int(reached[0]) if len(reached) else schedule.T


def random_walk_step(schedule: Schedule) -> float:
    """The per-step noise s of the random-walk process."""
    return float(schedule.sigma[1])


def forward_paths(schedule: Schedule, x0: np.ndarray, seed: int = 0) -> np.ndarray:
    """Whole noising paths of individual points: (T+1, n, 2), path[0] = x0.

    Each step is a draw of q(x_t | x_{t-1}) = N(a_t x_{t-1}, (sigma_t^2 - a_t^2 sigma_{t-1}^2) I)
    with a_t = alpha_t / alpha_{t-1}, so the marginals at every t are exactly the
    schedule's; for the random walk this is x_t = x_{t-1} + s z.
    """
    rng = np.random.default_rng(seed)
    a = schedule.alpha[1:] / schedule.alpha[:-1]
    step_std = np.sqrt(schedule.sigma[1:] ** 2 - a**2 * schedule.sigma[:-1] ** 2)
    z = rng.standard_normal((schedule.T, *x0.shape))
    # Divided by alpha_t the recursion is a plain sum (x_t / alpha_t = x_{t-1} / alpha_{t-1}
    # + (std_t / alpha_t) z_t): one cumsum instead of a Python loop over 65,536 steps.
    shape = (-1,) + (1,) * x0.ndim
    scaled_steps = (step_std / schedule.alpha[1:]).reshape(shape) * z
    path = np.concatenate([x0[None], x0[None] + np.cumsum(scaled_steps, axis=0)])
    path *= schedule.alpha.reshape(shape)
    return path.astype(np.float32)


def noised_cloud(schedule: Schedule, x0: np.ndarray, t: int, seed: int = 0) -> np.ndarray:
    """One draw of x_t for every point of x0 (the marginal q(x_t | x0))."""
    schedule.check_t(t, allow_zero=True)
    eps = np.random.default_rng(seed).standard_normal(x0.shape)
    return (schedule.alpha[t] * x0 + schedule.sigma[t] * eps).astype(np.float32)
