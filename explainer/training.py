"""Training (Ho et al. Algorithm 1) as an iterator of stats, so a UI can draw progress
and a loss curve, and can stop it by simply not asking for the next step.

    repeat: x0 ~ data, t ~ U{1..T}, eps ~ N(0, I)
            step on |eps - eps_hat(alpha_t x0 + sigma_t eps, t, y)|^2

with y replaced by the null label with probability ``label_dropout`` (one network is
then both the conditional and the unconditional model). What made it fast on 2D data:
a fresh batch of (t, eps) every step, Adam with warmup then cosine decay over the
budget, and an exponential moving average (EMA) of the weights for sampling.
"""

from __future__ import annotations

import copy
import math
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from explainer.datasets import Dataset, make_dataset
from explainer.model import EpsNetwork, ModelConfig
from explainer.schedules import make_schedule
from explainer.train_config import TrainConfig
from explainer.trained import TrainedModel
from explainer.user_data import USER_DATA_NAME


@dataclass(frozen=True)
class TrainStats:
    step: int
    loss: float  # this batch's loss
    elapsed: float  # seconds since training started
    progress: float  # fraction of the budget used, 0..1


class Training:
    """One training run. Iterate over ``run()`` for stats; ``model()`` gives the EMA model
    at any point (also after a stop), as a TrainedModel ready for sampling."""

    def __init__(self, config: TrainConfig, data: Dataset | None = None):
        self.config = config.check()
        if data is None and config.dataset == USER_DATA_NAME:
            raise ValueError(f"training on {USER_DATA_NAME!r} needs the points themselves")
        self.data = data or make_dataset(config.dataset, config.n_data, config.seed)
        self.schedule = make_schedule(config.process)
        self.network = self._make_network()
        self.ema = copy.deepcopy(self.network).requires_grad_(False)
        self.steps_done = 0
        self.losses: list[float] = []

    def _make_network(self) -> nn.Module:
        """The network to train (its EMA copy is what model() returns)."""
        cfg = self.config
        model_config = ModelConfig(num_classes=self.data.num_classes, hidden=cfg.hidden,
                                   depth=cfg.depth, seed=cfg.seed)
        return EpsNetwork(model_config, self.schedule)

    def _learning_rate(self, progress: float) -> float:
        warm = min(1.0, (self.steps_done + 1) / self.config.warmup)
        return self.config.lr * warm * 0.5 * (1 + math.cos(math.pi * min(progress, 1.0)))

    def _draw_times(self, n: int, gen: torch.Generator) -> torch.Tensor:
        """t for each example: uniform on 1..T (Algorithm 1), mixed for the random walk.

        The random walk's sigma_t = s sqrt(t) spends most of 1..T at large noise; drawn
        uniformly, t < T/40 (sigma < sigma_T / 6, where the fine detail is decided) gets
        2.5% of the training. Half of each batch is instead drawn log-uniform in sigma.
        Any weighting over t has the same minimiser (the true eps at each t), so this
        changes only how fast each t is learned.
        """
        T = self.schedule.T
        t = torch.randint(1, T + 1, (n,), generator=gen)
        if self.schedule.name != "random_walk":
            return t
        u = torch.rand(n // 2, generator=gen)
        log_uniform = torch.exp(u * math.log(T)).round().long().clamp(1, T)  # sigma^2 ~ t
        t[: n // 2] = log_uniform
        return t

    def run(self) -> Iterator[TrainStats]:
        cfg = self.config
        gen = torch.Generator().manual_seed(cfg.seed)
        opt = torch.optim.Adam(self.network.parameters(), lr=cfg.lr)
        batch_loss = self._batch_loss(gen)
        start = time.perf_counter()
        progress = 0.0
        while progress < 1.0:
            loss = batch_loss()
            for group in opt.param_groups:
                group["lr"] = self._learning_rate(progress)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            self._update_ema()
            self.steps_done += 1
            self.losses.append(loss.item())
            elapsed = time.perf_counter() - start
            progress = (elapsed / cfg.seconds if cfg.seconds is not None
                        else self.steps_done / cfg.steps)
            yield TrainStats(self.steps_done, self.losses[-1], elapsed, min(progress, 1.0))

    def _batch_loss(self, gen: torch.Generator) -> Callable[[], torch.Tensor]:
        """A function that draws a fresh batch and returns its loss (set up once per run):
        the class labels, replaced by the null label with probability label_dropout."""
        cfg = self.config
        x0_all = torch.as_tensor(self.data.points)
        y_all = torch.as_tensor(self.data.labels)
        null = self.data.num_classes
        denoising_loss = self.denoising_loss(self.network, gen)

        def loss() -> torch.Tensor:
            idx = torch.randint(0, len(x0_all), (cfg.batch,), generator=gen)
            x0, y = x0_all[idx], y_all[idx]
            drop = torch.rand(cfg.batch, generator=gen) < cfg.label_dropout
            return denoising_loss(x0, torch.where(drop, torch.full_like(y, null), y))

        return loss

    def denoising_loss(self, network: EpsNetwork,
                       gen: torch.Generator) -> Callable[..., torch.Tensor]:
        """loss(x0, y, condition=None): |eps - eps_hat(alpha_t x0 + sigma_t eps, t, y)|^2
        over a batch x0 with fresh t and eps (Algorithm 1); `condition` replaces y's
        embedding (EpsNetwork.forward)."""
        # The time embedding of every t, for this run only: faster than per call.
        with torch.no_grad():
            time_table = network.time_features(torch.arange(self.schedule.T + 1))

        def loss(x0: torch.Tensor, y: torch.Tensor | None,
                 condition: torch.Tensor | None = None) -> torch.Tensor:
            t = self._draw_times(len(x0), gen)
            eps = torch.randn(len(x0), 2, generator=gen)
            x_t = self.schedule.add_noise(x0, t, eps)
            eps_hat = network(x_t, t, y, time_table[t], condition)
            return ((eps_hat - eps) ** 2).sum(-1).mean()

        return loss

    @torch.no_grad()
    def _update_ema(self) -> None:
        # Early on the EMA would mostly remember the random init: ramp the decay up.
        decay = min(self.config.ema_decay, (1 + self.steps_done) / (10 + self.steps_done))
        for e, p in zip(self.ema.parameters(), self.network.parameters(), strict=True):
            e.lerp_(p, 1 - decay)

    def model(self) -> TrainedModel:
        return TrainedModel(network=copy.deepcopy(self.ema).eval(), schedule=self.schedule,
                            data=self.data, train_config=self.config,
                            steps_trained=self.steps_done)


def train(config: TrainConfig) -> TrainedModel:
    """Train to the end of the budget and return the model (no progress reporting)."""
    run = Training(config)
    for _ in run.run():
        pass
    return run.model()


def smoothed(losses: list[float] | np.ndarray, window: int = 50) -> np.ndarray:
    """A running mean of the loss curve (a single batch's loss is very noisy)."""
    values = np.asarray(losses, dtype=np.float64)
    if len(values) == 0:
        return values
    c = np.concatenate([[0.0], np.cumsum(values)])
    end = np.arange(1, len(values) + 1)
    width = np.minimum(end, window)
    return (c[end] - c[end - width]) / width
