"""Save and load trained models, with their whole story stored inside.

A checkpoint is a plain dict of tensors, numbers and strings, loaded with
``torch.load(weights_only=True)`` so that a file from a stranger cannot run code.
Anything wrong with a file (not a checkpoint, truncated, another program's, missing
fields, wrong shapes, a size beyond explainer/limits.py's bounds) raises CheckpointError
naming the file and what to do. Sizes are checked before anything of that size exists:
the archive's unpacked size before torch.load, the stored T, network widths and data
shape before the schedule, network and arrays are made.
"""

from __future__ import annotations

import io
import math
import zipfile
from dataclasses import asdict
from pathlib import Path
from typing import IO, Any

import numpy as np
import torch

from explainer import limits
from explainer.datasets import DATASET_NAMES, Dataset, class_names
from explainer.metrics import Quality
from explainer.model import EpsNetwork, ModelConfig
from explainer.schedules import ProcessConfig, make_schedule
from explainer.train_config import TrainConfig
from explainer.trained import TrainedModel
from explainer.user_data import USER_DATA_NAME, check_class_names

FORMAT = "diffusion-explainer-checkpoint"
# What each version changed and how older files load: docs/ARCHITECTURE.md,
# "Checkpoint format".
VERSION = 4
READABLE_VERSIONS = (1, 2, 3, 4)
DEFAULT_T_OF_VERSION = {1: {"ddpm": 100, "random_walk": 1000},
                        2: {"ddpm": 100, "random_walk": 16384}}
ASSETS = Path(__file__).resolve().parent.parent / "assets"


class CheckpointError(ValueError):
    """A file that is not a usable checkpoint; the message names the file."""


def pretrained_path(dataset: str, process: str) -> Path:
    return ASSETS / f"{dataset}-{process}.pt"


def to_dict(model: TrainedModel) -> dict[str, Any]:
    train = asdict(model.train_config)
    return {
        "format": FORMAT,
        "version": VERSION,
        "model_config": asdict(model.network.config),
        "train_config": train,
        "state_dict": {k: v.detach().clone() for k, v in model.network.state_dict().items()},
        "data": {"name": model.data.name, "points": torch.as_tensor(model.data.points),
                 "labels": torch.as_tensor(model.data.labels),
                 "class_names": list(model.data.class_names)},
        "steps_trained": model.steps_trained,
        "quality": None if model.quality is None else asdict(model.quality),
    }


def save(model: TrainedModel, target: str | Path | IO[bytes]) -> None:
    torch.save(to_dict(model), target)


def to_bytes(model: TrainedModel) -> bytes:
    buffer = io.BytesIO()
    save(model, buffer)
    return buffer.getvalue()


def load(source: str | Path | bytes | IO[bytes], name: str | None = None) -> TrainedModel:
    """Load a checkpoint from a path, bytes or a file object; CheckpointError if unusable."""
    label = name or (str(source) if isinstance(source, (str, Path)) else "uploaded file")
    if isinstance(source, (str, Path)) and not Path(source).is_file():
        raise CheckpointError(f"{label}: no such file")
    if not isinstance(source, (str, Path, bytes)):
        source = source.read(limits.MAX_CHECKPOINT_BYTES + 1)
    try:
        _check_archive(source)
    except CheckpointError as exc:
        raise CheckpointError(f"{label}: {exc}") from None
    if isinstance(source, bytes):
        source = io.BytesIO(source)
    try:
        raw = torch.load(source, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises many kinds for bad bytes; all mean the same
        raise CheckpointError(f"{label}: {NOT_READABLE}: {type(exc).__name__}") from None
    try:
        return from_dict(raw)
    except CheckpointError as exc:
        raise CheckpointError(f"{label}: {exc}") from None
    except (KeyError, TypeError, ValueError, RuntimeError, IndexError, ArithmeticError) as exc:
        # One line: load_state_dict's errors span several (the CLI promises one line).
        detail = " ".join(str(exc).split())
        detail = detail if len(detail) <= 300 else detail[:297] + "..."
        raise CheckpointError(f"{label}: checkpoint contents are invalid ({detail}); "
                              "train a new model or use a pretrained one") from None


NOT_READABLE = ("not a readable checkpoint file (corrupt, truncated or not made by this "
                "app)")


def _check_archive(source: str | Path | bytes) -> None:
    """Refuse a file that torch.load could blow up: larger than MAX_CHECKPOINT_BYTES, or
    a zip archive (what torch.save writes) whose records unpack to more than that.
    torch.save stores records uncompressed; a deflated one could unpack a 5 MB upload
    into gigabytes, and torch allocates a record's stated size before reading it."""
    size = Path(source).stat().st_size if isinstance(source, (str, Path)) else len(source)
    if size > limits.MAX_CHECKPOINT_BYTES:
        raise CheckpointError(f"the file is larger than {limits.MAX_CHECKPOINT_BYTES >> 20} MB, "
                              "far more than any checkpoint of this app")
    try:
        with zipfile.ZipFile(io.BytesIO(source) if isinstance(source, bytes) else source) as z:
            records = z.infolist()
    except (zipfile.BadZipFile, OSError, ValueError, EOFError):
        raise CheckpointError(NOT_READABLE) from None
    unpacked = sum(r.file_size for r in records)
    if unpacked > limits.MAX_CHECKPOINT_BYTES or any(
            r.compress_type != zipfile.ZIP_STORED for r in records):
        raise CheckpointError(f"{NOT_READABLE}: its records are compressed or unpack to "
                              f"{unpacked:,} bytes")


def from_dict(raw: Any) -> TrainedModel:
    """The model a checkpoint's dict describes. Every stored size is checked against
    explainer/limits.py before the schedule, network or arrays of that size are made."""
    if not isinstance(raw, dict) or raw.get("format") != FORMAT:
        raise CheckpointError("not a diffusion-explainer checkpoint (it may be another "
                              "program's model file)")
    if raw.get("version") not in READABLE_VERSIONS:
        raise CheckpointError(f"checkpoint version {limits.shown(raw.get('version'))} is not "
                              f"supported (this app reads versions {READABLE_VERSIONS[0]} to "
                              f"{VERSION})")
    train_fields = dict(raw["train_config"])
    train_fields["process"] = _process(raw["version"], train_fields["process"])
    if raw["version"] == 1 and train_fields["process"].name == "random_walk":
        raise CheckpointError("this random-walk model was made by an older version of the "
                              "app, whose random walk had other steps; train it again")
    train_config = TrainConfig(**train_fields).check()  # T, steps, batch... within bounds
    model_config = ModelConfig(**raw["model_config"]).check()
    steps_trained = limits.check_count("steps_trained", raw["steps_trained"], 0,
                                       limits.MAX_STEPS_TRAINED)
    quality = _quality(raw.get("quality"))
    data = _dataset(raw["data"], model_config.num_classes)
    schedule = make_schedule(train_config.process)
    network = EpsNetwork(model_config, schedule)
    state_dict = dict(raw["state_dict"])
    if raw["version"] < 4:
        state_dict.pop("c_in", None)
    network.load_state_dict(state_dict, strict=True)
    # Buffers too (the Fourier frequencies): a NaN there poisons every output.
    if not all(torch.isfinite(v).all() for v in network.state_dict().values()):
        raise CheckpointError("the weights contain NaN or infinity")
    return TrainedModel(network.eval(), schedule, data, train_config, steps_trained, quality)


def _process(version: int, fields: dict[str, Any]) -> ProcessConfig:
    """The stored process, with a version-1 or -2 T = 0 read as that version's default."""
    process = ProcessConfig(**fields)
    if process.T == 0 and version in DEFAULT_T_OF_VERSION:
        process = ProcessConfig(process.name, DEFAULT_T_OF_VERSION[version][process.name])
    return process


def _quality(raw: dict[str, Any] | None) -> Quality | None:
    if not raw:
        return None
    quality = Quality(**raw)
    # mmd2 may be inf (samples that left the plane); the floor divides it.
    if not (quality.mmd2 >= 0 and 0 < quality.floor < math.inf):
        raise CheckpointError("the stored sample quality is not a measurement")
    return quality


def _dataset(raw: dict[str, Any], num_classes: int) -> Dataset:
    """The stored training set: shapes checked on the tensors as loaded (a tensor can be
    a view of 10^12 elements over one stored number) before any array is made, and the
    name and class names those of a dataset of this app (pages show them)."""
    points, labels = raw["points"], raw["labels"]
    if not isinstance(points, torch.Tensor) or not isinstance(labels, torch.Tensor):
        raise CheckpointError("training data is not stored as arrays")
    if points.ndim != 2 or points.shape[1] != 2 or labels.shape != (len(points),):
        raise CheckpointError("training data has the wrong shape")
    limits.check_count("the number of stored training points", len(points),
                       limits.MIN_DATA_POINTS, limits.MAX_DATA_POINTS)
    name, names = raw["name"], _class_names(raw)
    if names is None or tuple(raw["class_names"]) != names:
        raise CheckpointError("the training data is not one of this app's datasets, nor "
                              "a user's data with plain class names")
    points = np.asarray(points, dtype=np.float32)
    labels = np.asarray(labels, dtype=np.int64)
    if len(names) != num_classes or labels.min() < 0 or labels.max() >= num_classes:
        raise CheckpointError("class labels do not match the model")
    if not np.isfinite(points).all():
        raise CheckpointError("training data contains NaN or infinity")
    return Dataset(name, points, labels, names)


def _class_names(raw: dict[str, Any]) -> tuple[str, ...] | None:
    """The class names the stored data must have: its dataset's, or for a user's own
    data (USER_DATA_NAME) its own if they are plain names (pages show them)."""
    name = raw["name"]
    if name in DATASET_NAMES:
        return class_names(name)
    if name != USER_DATA_NAME:
        return None
    try:
        return check_class_names(raw["class_names"])
    except ValueError:
        return None
