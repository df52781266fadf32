"""Save and load text-prompt models (explainer/prompts.py): the text model, the
text-conditioned denoiser, and their training set, in a file format of their own.

A file is a plain dict of tensors, numbers and strings, loaded with
``torch.load(weights_only=True)`` (a file from a stranger cannot run code). Its size is
checked before it is read, and every size it states (network widths, T, the training set)
before anything is built from it. Anything wrong raises CheckpointError naming the file.
"""

from __future__ import annotations

import io
from dataclasses import asdict
from pathlib import Path
from typing import IO, Any

import numpy as np
import torch

from explainer.checkpoints import ASSETS, CheckpointError
from explainer.clip import Clip
from explainer.datasets import REGISTRY, Dataset
from explainer.model import EpsNetwork
from explainer.prompts import PromptModel, PromptNetwork, PromptTrainConfig
from explainer.schedules import ProcessConfig, make_schedule

FORMAT = "diffusion-explainer-prompts"
VERSION = 1
PROMPT_ASSETS = ASSETS / "prompts"
MAX_FILE_BYTES = 4 << 20  # the shipped files are ~0.3 MB
MAX_T = 1 << 20  # the schedule allocates T + 1 numbers (the random walk's T is 65,536)
MAX_POINTS = 100_000


def pretrained_prompt_path(dataset: str, process: str) -> Path:
    return PROMPT_ASSETS / f"{dataset}-{process}.pt"


def to_dict(model: PromptModel) -> dict[str, Any]:
    return {
        "format": FORMAT,
        "version": VERSION,
        "train_config": asdict(model.train_config),
        "vocabulary": list(model.vocabulary.terms),
        "state_dict": {k: v.detach().clone() for k, v in model.network.state_dict().items()},
        "data": {"name": model.data.name, "points": torch.as_tensor(model.data.points),
                 "labels": torch.as_tensor(model.data.labels),
                 "class_names": list(model.data.class_names)},
        "steps_trained": model.steps_trained,
    }


def save(model: PromptModel, target: str | Path | IO[bytes]) -> None:
    if isinstance(target, (str, Path)):
        Path(target).parent.mkdir(parents=True, exist_ok=True)
    torch.save(to_dict(model), target)


def load(source: str | Path | bytes, name: str | None = None) -> PromptModel:
    """Load a text-prompt model from a path or bytes; CheckpointError if unusable."""
    label = name or (str(source) if isinstance(source, (str, Path)) else "uploaded file")
    if isinstance(source, (str, Path)):
        path = Path(source)
        if not path.is_file():
            raise CheckpointError(f"{label}: no such file")
        size = path.stat().st_size
    else:
        size = len(source)
    if size > MAX_FILE_BYTES:
        raise CheckpointError(f"{label}: {size:,} bytes is too large for a text-prompt model "
                              f"(at most {MAX_FILE_BYTES:,})")
    stream = io.BytesIO(source) if isinstance(source, bytes) else source
    try:
        raw = torch.load(stream, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises many kinds for bad bytes; all mean the same
        raise CheckpointError(f"{label}: not a readable text-prompt model (corrupt, truncated "
                              f"or not made by this app): {type(exc).__name__}") from None
    try:
        return from_dict(raw)
    except CheckpointError as exc:
        raise CheckpointError(f"{label}: {exc}") from None
    except (KeyError, TypeError, ValueError, RuntimeError, IndexError) as exc:
        detail = " ".join(str(exc).split())  # one line (load_state_dict's span several)
        detail = detail if len(detail) <= 300 else detail[:297] + "..."
        raise CheckpointError(f"{label}: text-prompt model contents are invalid ({detail})"
                              ) from None


def from_dict(raw: Any) -> PromptModel:
    if not isinstance(raw, dict) or raw.get("format") != FORMAT:
        raise CheckpointError("not a text-prompt model of this app (a class model or "
                              "another program's file?)")
    if raw.get("version") != VERSION:
        raise CheckpointError(f"text-prompt model version {raw.get('version')!r} is not "
                              f"supported (this app reads version {VERSION})")
    fields = dict(raw["train_config"])
    fields["process"] = ProcessConfig(**fields["process"])
    config = checked_config(PromptTrainConfig(**fields))
    if list(raw["vocabulary"]) != list(config.vocabulary().terms):
        raise CheckpointError("its vocabulary is not this app's for "
                              f"{config.dataset} (made by another version?)")
    data = _dataset(raw["data"], config)
    schedule = make_schedule(config.process)
    network = PromptNetwork(Clip(config.clip_config()),
                            EpsNetwork(config.model_config(), schedule))
    network.load_state_dict(dict(raw["state_dict"]), strict=True)
    if not all(torch.isfinite(v).all() for v in network.state_dict().values()):
        raise CheckpointError("the weights contain NaN or infinity")
    return PromptModel(network.eval(), schedule, data, config, int(raw["steps_trained"]))


def checked_config(config: PromptTrainConfig) -> PromptTrainConfig:
    """The config with every size it implies checked, before anything is allocated."""
    config = config.check()
    config.clip_config().check()
    config.model_config().check()
    if not 2 <= config.process.T <= MAX_T:
        raise CheckpointError(f"T = {config.process.T} is out of range 2..{MAX_T}")
    return config


def _dataset(raw: dict[str, Any], config: PromptTrainConfig) -> Dataset:
    if raw["name"] != config.dataset:
        raise CheckpointError("its training data is not of the dataset it names")
    if not isinstance(raw["points"], torch.Tensor) or raw["points"].numel() > 2 * MAX_POINTS:
        raise CheckpointError(f"the training data must be at most {MAX_POINTS:,} points")
    points = np.asarray(raw["points"], dtype=np.float32)
    labels = np.asarray(raw["labels"], dtype=np.int64)
    names = tuple(str(c) for c in raw["class_names"])
    if points.ndim != 2 or points.shape[1] != 2 or len(labels) != len(points) or not len(points):
        raise CheckpointError("training data has the wrong shape")
    if names != REGISTRY[config.dataset][1] or labels.min() < 0 or labels.max() >= len(names):
        raise CheckpointError("class labels do not match the dataset")
    if not np.isfinite(points).all():
        raise CheckpointError("training data contains NaN or infinity")
    return Dataset(config.dataset, points, labels, names)
