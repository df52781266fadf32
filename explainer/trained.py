"""A trained model together with everything needed to use and judge it."""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from explainer.datasets import Dataset
from explainer.ideal import IdealDenoiser
from explainer.metrics import Quality, sample_quality
from explainer.model import EpsNetwork, NetworkDenoiser
from explainer.samplers import sample
from explainer.schedules import Schedule
from explainer.train_config import TrainConfig


@dataclass(frozen=True, eq=False)
class TrainedModel:
    network: EpsNetwork
    schedule: Schedule
    data: Dataset  # the finite training set: the ideal denoiser's data too
    train_config: TrainConfig
    steps_trained: int
    quality: Quality | None = None  # measured DDPM sample quality, if known

    @property
    def class_names(self) -> tuple[str, ...]:
        return self.data.class_names

    @property
    def num_classes(self) -> int:
        return self.data.num_classes

    def denoiser(self) -> NetworkDenoiser:
        return NetworkDenoiser(self.network, self.schedule.prior(self.data.points))

    def ideal(self) -> IdealDenoiser:
        return IdealDenoiser(self.schedule, self.data.points, self.data.labels,
                             self.num_classes)

    def with_quality(self, quality: Quality) -> TrainedModel:
        return replace(self, quality=quality)

    def describe(self) -> str:
        q = f", quality {self.quality.ratio:.1f}x floor" if self.quality else ""
        return (f"{self.data.name} / {self.schedule.name} (T = {self.schedule.T}), "
                f"{self.steps_trained} steps{q}")


QUALITY_SAMPLES = 2000  # DDPM samples behind every stored quality number (seed 1)


def quality_samples(model: TrainedModel) -> np.ndarray:
    """The DDPM samples a model's quality is measured on (and the app shows)."""
    return sample(model.denoiser(), model.schedule, "ddpm", QUALITY_SAMPLES, seed=1).final


def with_measured_quality(model: TrainedModel,
                          samples: np.ndarray | None = None) -> TrainedModel:
    """`model` with the quality of its DDPM samples stored (drawn here if not given)."""
    samples = quality_samples(model) if samples is None else samples
    return model.with_quality(sample_quality(samples, model.data))
