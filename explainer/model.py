"""The denoiser: a small MLP predicting eps from (x_t, t, label).

One network serves conditional, unconditional and guided sampling: label index
``num_classes`` is the null label ("no class"), which training shows with probability
``label_dropout`` (classifier-free guidance, Ho & Salimans 2022).

What made it train fast on 2D data (see DESIGN.md): random Fourier features of x, a
sinusoidal embedding of t, SiLU, 3 layers (128 wide for live training, 64 for the shipped
checkpoints: see cli.PRETRAIN_RECIPE).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Protocol

import torch
from torch import nn
from torch.nn import functional as F

from explainer.schedules import Prior, Schedule


@dataclass(frozen=True)
class ModelConfig:
    num_classes: int
    hidden: int = 128
    depth: int = 3
    fourier_features: int = 32
    fourier_scale: float = 1.0  # std of the random frequencies, in cycles per unit
    time_dim: int = 32
    label_dim: int = 16
    seed: int = 0  # draws the fixed Fourier frequencies

    def check(self) -> ModelConfig:
        if self.num_classes < 1:
            raise ValueError("a model needs at least one class")
        if not 8 <= self.hidden <= 1024 or not 1 <= self.depth <= 8:
            raise ValueError(f"model size out of range: hidden {self.hidden} (8..1024), "
                             f"depth {self.depth} (1..8)")
        return self


def sinusoidal_embedding(t: torch.Tensor, dim: int) -> torch.Tensor:
    """Transformer-style embedding of a (continuous) time in [0, 1]."""
    half = dim // 2
    freqs = torch.exp(-math.log(1000.0) * torch.arange(half, dtype=torch.float32) / half)
    angles = 1000.0 * t.float().unsqueeze(-1) * freqs
    return torch.cat([angles.sin(), angles.cos()], dim=-1)


class EpsNetwork(nn.Module):
    """eps_hat(x_t, t, y). Inputs are scaled so the network always sees unit-ish spread."""

    def __init__(self, config: ModelConfig, schedule: Schedule):
        super().__init__()
        self.config = config.check()
        gen = torch.Generator().manual_seed(config.seed)
        self.register_buffer(
            "freqs", torch.randn(2, config.fourier_features, generator=gen) * config.fourier_scale)
        # c_in = 1 / sqrt(alpha_t^2 + sigma_t^2): the random walk's x_t grows to ~3x the
        # data's spread, and an unscaled input would push the MLP out of its range.
        c_in = 1.0 / torch.sqrt(torch.as_tensor(schedule.alpha**2 + schedule.sigma**2))
        self.register_buffer("c_in", c_in.float())
        self.T = schedule.T
        # The embedding of every t = 0..T, looked up instead of recomputed (~0.15 ms of a
        # 1.5 ms sampler step). Not persistent: it follows from T and time_dim alone.
        self.register_buffer("time_features", sinusoidal_embedding(
            torch.arange(schedule.T + 1) / schedule.T, config.time_dim), persistent=False)
        self.label_embedding = nn.Embedding(config.num_classes + 1, config.label_dim)
        width = 2 + 2 * config.fourier_features + config.time_dim + config.label_dim
        layers: list[nn.Module] = []
        for _ in range(config.depth):
            layers += [nn.Linear(width, config.hidden), nn.SiLU()]
            width = config.hidden
        layers.append(nn.Linear(width, 2))
        self.mlp = nn.Sequential(*layers)
        self._init_weights(gen)

    def _init_weights(self, gen: torch.Generator) -> None:
        """PyTorch's default initialisation, drawn from `gen` instead of the global RNG,
        so two trainings started at once in one server get the weights their seeds say."""
        for module in self.modules():
            if isinstance(module, nn.Linear):
                bound = 1.0 / math.sqrt(module.in_features)
                nn.init.uniform_(module.weight, -bound, bound, generator=gen)
                nn.init.uniform_(module.bias, -bound, bound, generator=gen)
            elif isinstance(module, nn.Embedding):
                nn.init.normal_(module.weight, generator=gen)

    @property
    def null_label(self) -> int:
        return self.config.num_classes

    def _position_features(self, x: torch.Tensor) -> torch.Tensor:
        """x (already scaled by c_in) and its random Fourier features."""
        angles = 2 * math.pi * x @ self.freqs
        return torch.cat([x, angles.sin(), angles.cos()], dim=-1)

    def _condition_features(self, t: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return torch.cat([self.time_features[t], self.label_embedding(y)], dim=-1)

    def forward(self, x_t: torch.Tensor, t: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """eps_hat for a batch where every example has its own t and y (training)."""
        x = x_t * self.c_in[t].unsqueeze(-1)
        features = [self._position_features(x), self._condition_features(t, y)]
        return self.mlp(torch.cat(features, dim=-1))

    @torch.no_grad()
    def eps_at(self, x_t: torch.Tensor, t: int, y: int) -> torch.Tensor:
        """forward() for a batch that shares one t and one y (every sampler step and
        field), made fast because a sampler calls it 50-1,000 times per run: the time and
        label features are one row, so their part of the first layer is a bias computed
        once instead of once per point, and the SiLUs run in place (no grad here)."""
        first = self.mlp[0]
        n_position = first.in_features - self.config.time_dim - self.config.label_dim
        condition = torch.cat([self.time_features[t], self.label_embedding.weight[y]])
        bias = torch.addmv(first.bias, first.weight[:, n_position:], condition)
        position = self._position_features(x_t * self.c_in[t])
        hidden = torch.addmm(bias, position, first.weight[:, :n_position].T)
        for linear in self.mlp[2::2]:  # mlp = [Linear, SiLU] * depth + [Linear]
            hidden = torch.addmm(linear.bias, F.silu(hidden, inplace=True), linear.weight.T)
        return hidden


class EpsModel(Protocol):
    """Anything that predicts eps at one time t for one label (null = unconditional).

    The trained network (``NetworkDenoiser``) and the exact ``IdealDenoiser`` both have
    this call signature, so every sampler and field runs on either.
    """

    num_classes: int
    prior: Prior | None  # where sampling starts (None: the schedule's N(0, sigma_T^2 I))

    def __call__(self, x_t: torch.Tensor, t: int, label: int) -> torch.Tensor: ...


class NetworkDenoiser:
    """The trained network seen through the EpsModel call signature (inference only);
    `prior` is the start of sampling for its training data (Schedule.prior)."""

    def __init__(self, network: EpsNetwork, prior: Prior | None = None):
        self.network = network.eval()
        self.num_classes = network.config.num_classes
        self.prior = prior

    @torch.no_grad()
    def __call__(self, x_t: torch.Tensor, t: int, label: int) -> torch.Tensor:
        return self.network.eps_at(x_t.float(), int(t), int(label))
