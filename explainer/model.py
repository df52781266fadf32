"""The denoiser: a small MLP predicting eps from (x_t, t, label).

One network serves conditional, unconditional and guided sampling: label index
``num_classes`` is the null label ("no class"), which training shows with probability
``label_dropout`` (classifier-free guidance, Ho & Salimans 2022).

Random Fourier features of x, a sinusoidal embedding of t, SiLU, 3 layers (128
wide for live training, 64 for the shipped checkpoints). Why: docs/ARCHITECTURE.md,
"The network".
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass
from typing import Protocol

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from explainer import limits
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
        # 0 classes: the null label is the only one, and the condition comes in as a
        # vector instead (the text-conditioned denoiser of explainer/prompts.py).
        """This config if every size is a whole number within explainer/limits.py's
        bounds (a checkpoint's config is read from a file), else ValueError."""
        sizes = (("the number of classes", self.num_classes, 0, limits.MAX_CLASSES),
                 ("the hidden width", self.hidden, limits.MIN_HIDDEN, limits.MAX_HIDDEN),
                 ("the depth", self.depth, 1, limits.MAX_DEPTH),
                 ("fourier_features", self.fourier_features, 1, limits.MAX_EMBEDDING),
                 ("time_dim", self.time_dim, 2, limits.MAX_EMBEDDING),
                 ("label_dim", self.label_dim, 1, limits.MAX_EMBEDDING),
                 ("the model's seed", self.seed, 0, limits.MAX_SEED))
        for what, value, lo, hi in sizes:
            limits.check_count(what, value, lo, hi)
        if self.time_dim % 2:  # the sinusoidal embedding is sin and cos pairs
            raise ValueError(f"time_dim must be even, got {self.time_dim}")
        limits.check_finite("fourier_scale", self.fourier_scale, 0.0, 1e3)
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
        # c_in = 1 / sqrt(alpha_t^2 + sigma_t^2): the random walk's x_t grows to several
        # times the data's spread, and an unscaled input would push the MLP out of its range.
        c_in = 1.0 / torch.sqrt(torch.as_tensor(schedule.alpha**2 + schedule.sigma**2))
        # Not persistent, like time_coordinates: it follows from the schedule (and would
        # be (T + 1) floats in every checkpoint, 256 kB at T = 65,536).
        self.register_buffer("c_in", c_in.float(), persistent=False)
        self.T = schedule.T
        # Where each t = 0..T sits in [0, 1] for the time embedding. Not persistent: it
        # follows from the schedule. The embedding itself is computed per use, not
        # tabled: a (T + 1) x time_dim table is 8 MB at the random walk's T = 65,536.
        self.register_buffer("time_coordinates",
                             torch.as_tensor(schedule.time_coordinates()).float(),
                             persistent=False)
        self.label_embedding = nn.Embedding(config.num_classes + 1, config.label_dim)
        width = 2 + 2 * config.fourier_features + config.time_dim + config.label_dim
        layers: list[nn.Module] = []
        for _ in range(config.depth):
            layers += [nn.Linear(width, config.hidden), nn.SiLU()]
            width = config.hidden
        layers.append(nn.Linear(width, 2))
        self.mlp = nn.Sequential(*layers)
        init_weights(self, gen)
        # eps_at's copy of the weights, built on first use (not in the state_dict).
        self._inference_weights: InferenceWeights | None = None

    @property
    def null_label(self) -> int:
        return self.config.num_classes

    def _position_features(self, x: torch.Tensor) -> torch.Tensor:
        """x (already scaled by c_in) and its random Fourier features."""
        angles = 2 * math.pi * x @ self.freqs
        return torch.cat([x, angles.sin(), angles.cos()], dim=-1)

    def time_features(self, t: torch.Tensor) -> torch.Tensor:
        """The embedding of integer times t (any shape): (*t.shape, time_dim)."""
        return sinusoidal_embedding(self.time_coordinates[t], self.config.time_dim)

    def forward(self, x_t: torch.Tensor, t: torch.Tensor, y: torch.Tensor | None,
                time_features: torch.Tensor | None = None,
                condition: torch.Tensor | None = None) -> torch.Tensor:
        """eps_hat for a batch where every example has its own t and y (training).
        `time_features`, if given, must be self.time_features(t) (training looks them up
        in a table it makes once). `condition` (batch, label_dim), if given, replaces the
        label embedding of y: a text embedding, say."""
        if time_features is None:
            time_features = self.time_features(t)
        if condition is None:
            condition = self.label_embedding(y)
        x = x_t * self.c_in[t].unsqueeze(-1)
        features = [self._position_features(x), time_features, condition]
        return self.mlp(torch.cat(features, dim=-1))

    @torch.no_grad()
    def eps_at(self, x_t: torch.Tensor, t: int, y: int | torch.Tensor) -> torch.Tensor:
        """forward() for a batch that shares one t and one y (every sampler step and
        field). y is a label, or a condition vector (label_dim,) used as forward()'s
        `condition`. Equal to forward() up to float32 rounding and ~30% faster: the shared
        time and label part of the first layer is one vector; activations are transposed
        with a row of ones, so each layer is one matmul by [W | b]; buffers are reused per
        thread; the SiLUs run in place. See docs/ARCHITECTURE.md, "The network".
        """
        weights = self._current_inference_weights()
        features, hidden, spare = _ACTIVATIONS.get(len(x_t), weights)
        n_fourier = len(weights.frequencies)
        x = torch.mul(x_t.T, weights.c_in[t], out=features[:2])
        # The angles go in the cos rows, whose sin is taken before their cos replaces them.
        angles = torch.mm(weights.frequencies, x, out=features[2 + n_fourier:-1])
        torch.sin(angles, out=features[2:2 + n_fourier])
        angles.cos_()
        by_condition = (weights.by_label[y] if isinstance(y, int)
                        else weights.label_weight @ y)
        condition = (by_condition + weights.by_time(t)).unsqueeze(1)
        first = torch.cat([weights.position, condition], dim=1)
        F.silu(torch.mm(first, features, out=hidden[:-1]), inplace=True)
        for layer in weights.hidden_layers:
            F.silu(torch.mm(layer, hidden, out=spare[:-1]), inplace=True)
            hidden, spare = spare, hidden
        return torch.mm(weights.output_layer, hidden).T.contiguous()

    def _current_inference_weights(self) -> InferenceWeights:
        """eps_at's weights, rebuilt after any change to the parameters (training and
        load_state_dict change them in place, which bumps their version counters)."""
        weights = self._inference_weights
        if weights is None or not weights.is_current():
            # Rebuilding is idempotent, so two threads that race here both get valid weights.
            weights = self._inference_weights = InferenceWeights.of(self)
        return weights


def _version_stamp(tensors: tuple[torch.Tensor, ...]) -> tuple[tuple[int, int], ...]:
    """What changes when a tensor is modified in place (version) or replaced (.data =).
    Not seen: writes through `.data` (p.data.copy_(...)), which nothing here makes."""
    return tuple((tensor.data_ptr(), tensor._version) for tensor in tensors)


def _with_bias_column(linear: nn.Linear) -> torch.Tensor:
    """[W | b]: multiplied by activations that end with a row of ones, it adds the bias."""
    return torch.cat([linear.weight, linear.bias.unsqueeze(1)], dim=1)


@dataclass(frozen=True, eq=False)
class InferenceWeights:
    """An EpsNetwork's weights laid out for eps_at, as they were at one moment (`stamp`).

    Activations there are transposed, one column per point, and the rows of the first
    layer's input are [x; sin(angles); cos(angles); 1], x scaled by c_in.
    """

    sources: tuple[torch.Tensor, ...]  # the network's parameters and buffers
    stamp: tuple[tuple[int, int], ...]  # _version_stamp(sources) when these were built
    c_in: np.ndarray  # by t (float64: indexing it gives a Python float)
    frequencies: torch.Tensor  # (fourier_features, 2): angles = frequencies @ x
    # The first layer's weight split by what it multiplies: (hidden, 2 + 2 fourier_features)
    # for x and its Fourier features; (hidden, time_dim) for the time features, and for the
    # label features one row per label (num_classes + 1, hidden), and the weight that
    # multiplies a condition vector (hidden, label_dim).
    position: torch.Tensor
    time_weight: torch.Tensor
    bias: torch.Tensor
    by_label: torch.Tensor
    label_weight: torch.Tensor
    time_coordinates: torch.Tensor  # EpsNetwork.time_coordinates
    hidden_layers: tuple[torch.Tensor, ...]  # [W | b] of the Linear layers in between
    output_layer: torch.Tensor  # [W | b] of the last Linear, (2, hidden + 1)

    @classmethod
    def of(cls, network: EpsNetwork) -> InferenceWeights:
        sources = (*network.parameters(), *network.buffers())
        linears = [m for m in network.mlp if isinstance(m, nn.Linear)]
        first = linears[0]
        n_position = first.in_features - network.config.time_dim - network.config.label_dim
        n_time = network.config.time_dim
        with torch.no_grad():
            # The same columns forward() multiplies with the time and label features.
            label_weight = first.weight[:, n_position + n_time:].clone()
            by_label = network.label_embedding.weight @ label_weight.T
            return cls(
                sources=sources, stamp=_version_stamp(sources),
                c_in=network.c_in.double().numpy(),
                frequencies=(2 * math.pi * network.freqs.T).contiguous(),
                position=first.weight[:, :n_position].contiguous(),
                time_weight=first.weight[:, n_position:n_position + n_time].clone(),
                bias=first.bias.clone(), by_label=by_label, label_weight=label_weight,
                time_coordinates=network.time_coordinates,
                hidden_layers=tuple(_with_bias_column(linear) for linear in linears[1:-1]),
                output_layer=_with_bias_column(linears[-1]))

    def by_time(self, t: int) -> torch.Tensor:
        """The time features' part of the first layer, plus its bias: (hidden,).
        Computed per call rather than tabled for every t (tens of MB at T = 65,536; see
        docs/ARCHITECTURE.md, "The network")."""
        features = sinusoidal_embedding(self.time_coordinates[t], self.time_weight.shape[1])
        return torch.addmv(self.bias, self.time_weight, features)

    def is_current(self) -> bool:
        return _version_stamp(self.sources) == self.stamp


def _with_ones_row(rows: int, n: int) -> torch.Tensor:
    buffer = torch.empty(rows + 1, n)
    buffer[rows] = 1.0
    return buffer


class _Activations(threading.local):
    """eps_at's activation buffers, kept from call to call: one set per thread, since the
    server samples from one cached network in several threads at once. Each ends with a
    row of ones that the matmuls never overwrite."""

    def __init__(self) -> None:
        self.shape: tuple[int, int, int] | None = None
        self.buffers: tuple[torch.Tensor, ...] = ()

    def get(self, n: int, weights: InferenceWeights) -> tuple[torch.Tensor, ...]:
        """(features, hidden, spare) for n points: the first layer's input, and two
        buffers that the hidden layers take turns reading and writing."""
        n_hidden, n_position = weights.position.shape
        if self.shape != (n, n_position, n_hidden):
            self.shape = (n, n_position, n_hidden)
            self.buffers = (_with_ones_row(n_position, n), _with_ones_row(n_hidden, n),
                            _with_ones_row(n_hidden, n))
        return self.buffers


_ACTIVATIONS = _Activations()


def init_weights(module: nn.Module, gen: torch.Generator) -> None:
    """PyTorch's default initialisation of every Linear and Embedding in `module`, drawn
    from `gen` instead of the global RNG, so two trainings started at once in one server
    get the weights their seeds say."""
    for m in module.modules():
        if isinstance(m, nn.Linear):
            bound = 1.0 / math.sqrt(m.in_features)
            nn.init.uniform_(m.weight, -bound, bound, generator=gen)
            if m.bias is not None:
                nn.init.uniform_(m.bias, -bound, bound, generator=gen)
        elif isinstance(m, nn.Embedding):
            nn.init.normal_(m.weight, generator=gen)


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
