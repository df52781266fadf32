"""What a training run is asked to do (TrainConfig), apart from the loop that does it
(explainer/training.py): a trained model records its config (explainer/trained.py)
without importing the training loop."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from explainer import limits
from explainer.datasets import check_dataset_name
from explainer.schedules import ProcessConfig
from explainer.user_data import USER_DATA_NAME

# The shipped checkpoints' recipe (`python -m explainer pretrain`): longer runs, bigger
# batches, a gentler learning rate and half the width of the live defaults (faster
# sampling at the same quality). See docs/ARCHITECTURE.md, "Training recipes".
PRETRAIN_STEPS = {"ddpm": 32000, "random_walk": 32000}
PRETRAIN_RECIPE = {"batch": 1024, "lr": 1e-2, "hidden": 64}


@dataclass(frozen=True)
class TrainConfig:
    dataset: str = "spiral"
    process: ProcessConfig = field(default_factory=ProcessConfig)
    steps: int = 3000  # the budget in optimiser steps ...
    seconds: float | None = None  # ... or in wall-clock seconds, if given
    n_data: int = 2000  # size of the finite training set (the ideal denoiser's too)
    # Tuned for quality per wall-clock second (live training). See
    # docs/ARCHITECTURE.md, "Training recipes".
    batch: int = 512
    lr: float = 2e-2
    warmup: int = 100
    label_dropout: float = 0.25
    ema_decay: float = 0.995
    hidden: int = 128
    depth: int = 3
    seed: int = 0

    def check(self) -> TrainConfig:
        """This config with its process's T as a number (T = 0 means the default, and
        defaults change: a trained model records the T it was trained at)."""
        if self.dataset != USER_DATA_NAME:  # a user's data comes as Training's `data`
            check_dataset_name(self.dataset)
        resolved = replace(self, process=self.process.resolved())
        if self.seconds is None:
            limits.check_count("steps", self.steps, 1, limits.MAX_TRAIN_STEPS)
        elif not 0 < limits.check_finite("seconds", self.seconds, 0, limits.MAX_TRAIN_SECONDS):
            raise ValueError(f"seconds must be more than 0, got {self.seconds}")
        if not 0.0 <= self.label_dropout < 1.0:
            raise ValueError("label_dropout must be in [0, 1)")
        limits.check_count("the number of training points", self.n_data,
                           limits.MIN_DATA_POINTS, limits.MAX_DATA_POINTS)
        limits.check_count("the batch", self.batch, 1, limits.MAX_BATCH)
        return resolved
