"""Checkpoints: round trips, and every kind of bad file fails with a CheckpointError that
names the file (weights-only loading: a hostile file cannot run code)."""

from __future__ import annotations

import io
import pickle
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch

from explainer import checkpoints, limits
from explainer.checkpoints import CheckpointError, pretrained_path
from explainer.datasets import DATASET_NAMES, make_dataset
from explainer.metrics import Quality
from explainer.schedules import DEFAULT_STEPS, PROCESS_NAMES, ProcessConfig
from explainer.train_config import TrainConfig
from explainer.trained import TrainedModel
from explainer.training import Training


def outputs(model) -> list[torch.Tensor]:
    x = torch.randn(64, 2, generator=torch.Generator().manual_seed(0)) * 1.5
    d = model.denoiser()
    return [d(x, t, label) for t in (1, 37, model.schedule.T) for label in (0, 2, 3)]


def test_round_trip_through_a_file(tiny_model, tmp_path: Path) -> None:
    model = tiny_model.with_quality(Quality(mmd2=0.0123, floor=0.001))
    path = tmp_path / "m.pt"
    checkpoints.save(model, path)
    back = checkpoints.load(path)
    for a, b in zip(outputs(model), outputs(back), strict=True):
        torch.testing.assert_close(a, b, rtol=0, atol=0)
    assert back.train_config == model.train_config
    assert back.network.config == model.network.config
    assert back.schedule.config == model.schedule.config
    np.testing.assert_array_equal(back.schedule.sigma, model.schedule.sigma)
    np.testing.assert_array_equal(back.data.points, model.data.points)
    np.testing.assert_array_equal(back.data.labels, model.data.labels)
    assert back.data.name == "spiral" and back.class_names == ("inner", "middle", "outer")
    assert back.steps_trained == model.steps_trained > 0
    assert back.quality == Quality(0.0123, 0.001)
    assert not back.network.training  # loaded for inference


def test_round_trip_through_bytes_and_file_objects(tiny_model) -> None:
    blob = checkpoints.to_bytes(tiny_model)
    for source in (blob, io.BytesIO(blob)):
        back = checkpoints.load(source)
        assert back.quality is None
        for a, b in zip(outputs(tiny_model), outputs(back), strict=True):
            torch.testing.assert_close(a, b, rtol=0, atol=0)


# --- bad files ---------------------------------------------------------------------------
def assert_fails_cleanly(path: Path, *fragments: str) -> CheckpointError:
    with pytest.raises(CheckpointError) as info:
        checkpoints.load(path)
    message = str(info.value)
    assert str(path) in message, message
    assert "\n" not in message and "Traceback" not in message
    for fragment in fragments:
        assert fragment in message, message
    return info.value


def test_missing_file(tmp_path: Path) -> None:
    assert_fails_cleanly(tmp_path / "nowhere.pt", "no such file")
    assert_fails_cleanly(tmp_path, "no such file")  # a directory is not a checkpoint


def test_random_bytes(tmp_path: Path) -> None:
    path = tmp_path / "noise.pt"
    path.write_bytes(np.random.default_rng(0).bytes(5000))
    assert_fails_cleanly(path, "not a readable checkpoint")


def test_empty_file(tmp_path: Path) -> None:
    path = tmp_path / "empty.pt"
    path.write_bytes(b"")
    assert_fails_cleanly(path)


@pytest.mark.parametrize("fraction", [0.5, 0.9, 0.99])
def test_truncated_checkpoint(tiny_checkpoint: Path, tmp_path: Path, fraction: float) -> None:
    blob = tiny_checkpoint.read_bytes()
    path = tmp_path / "cut.pt"
    path.write_bytes(blob[: int(len(blob) * fraction)])
    assert_fails_cleanly(path)


@pytest.mark.parametrize("obj", [{"model": torch.zeros(3), "epoch": 3}, torch.zeros(4, 4),
                                 [1, 2, 3], {"format": "diffusion-explainer-checkpoint"}])
def test_another_programs_file(tmp_path: Path, obj) -> None:
    path = tmp_path / "other.pt"
    torch.save(obj, path)
    assert_fails_cleanly(path)


def test_a_plain_state_dict_is_not_a_checkpoint(tiny_model, tmp_path: Path) -> None:
    path = tmp_path / "state.pt"
    torch.save(tiny_model.network.state_dict(), path)
    assert_fails_cleanly(path, "not a diffusion-explainer checkpoint")


class Payload:
    """Unpickling this calls open(marker, "w"), creating the marker file."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return (open, (str(self.marker), "w"))


@pytest.mark.parametrize("writer", ["torch", "pickle"])
def test_a_malicious_pickle_does_not_run(tmp_path: Path, writer: str) -> None:
    marker = tmp_path / "pwned"
    path = tmp_path / "evil.pt"
    if writer == "torch":
        torch.save({"format": "x", "payload": Payload(marker)}, path)
    else:
        path.write_bytes(pickle.dumps(Payload(marker), protocol=2))
    # The check below can fail: a plain (unsafe) load really does run the payload.
    probe = tmp_path / "probe"
    pickle.loads(pickle.dumps(Payload(probe))).close()
    assert probe.exists()
    assert_fails_cleanly(path, "not a readable checkpoint")
    assert not marker.exists(), "the payload ran: weights_only was not enforced"


def corrupted(tiny_model, tmp_path: Path, edit) -> Path:
    raw = checkpoints.to_dict(tiny_model)
    edit(raw)
    path = tmp_path / "edited.pt"
    torch.save(raw, path)
    return path


def first_weight(raw: dict) -> str:
    return next(k for k in raw["state_dict"] if k.endswith("weight") and "mlp" in k)


def test_wrong_state_dict_shapes(tiny_model, tmp_path: Path) -> None:
    def edit(raw):
        key = first_weight(raw)
        raw["state_dict"][key] = raw["state_dict"][key][:-1]
    assert_fails_cleanly(corrupted(tiny_model, tmp_path, edit), "invalid")


def test_missing_weights(tiny_model, tmp_path: Path) -> None:
    def edit(raw):
        del raw["state_dict"][first_weight(raw)]
    assert_fails_cleanly(corrupted(tiny_model, tmp_path, edit))


@pytest.mark.parametrize("key", ["weight", "freqs"])
def test_non_finite_weights(tiny_model, tmp_path: Path, key: str) -> None:
    # Parameters and buffers alike: a NaN Fourier frequency poisons every output too.
    def edit(raw):
        name = first_weight(raw) if key == "weight" else key
        raw["state_dict"][name] = raw["state_dict"][name].clone()
        raw["state_dict"][name].view(-1)[0] = float("nan")
    assert_fails_cleanly(corrupted(tiny_model, tmp_path, edit), "NaN")


@pytest.mark.parametrize(("edit", "fragment"), [
    (lambda raw: raw.update(version=99), "version 99"),
    # A random-walk model from before the walk changed (version 1) would sample wrongly.
    (lambda raw: (raw.update(version=1),
                  raw["train_config"]["process"].update(name="random_walk")), "older version"),
    (lambda raw: raw["train_config"].update(colour="red"), "invalid"),
    (lambda raw: raw["train_config"]["process"].update(name="nope"), "invalid"),
    (lambda raw: raw.pop("data"), "invalid"),
    (lambda raw: raw["data"].update(labels=torch.full((2000,), 7)), "labels"),
    (lambda raw: raw["data"].update(points=torch.zeros(2000, 3)), "shape"),
    (lambda raw: raw.update(quality={"mmd": 1.0}), "invalid"),
])
def test_inconsistent_contents(tiny_model, tmp_path: Path, edit, fragment: str) -> None:
    assert_fails_cleanly(corrupted(tiny_model, tmp_path, edit), fragment)


@pytest.mark.parametrize(("edit", "fragment"), [
    # Every stored size beyond explainer/limits.py's bound is refused naming the bound
    # (tests/test_bad_input.py has the ones that used to allocate first).
    (lambda raw: raw["model_config"].update(hidden=10**6), f"{limits.MAX_HIDDEN:,}"),
    (lambda raw: raw["model_config"].update(depth=10**6), f"at most {limits.MAX_DEPTH}"),
    (lambda raw: raw["model_config"].update(num_classes=10**9), f"at most {limits.MAX_CLASSES}"),
    (lambda raw: raw["model_config"].update(time_dim=33), "even"),
    (lambda raw: raw["model_config"].update(hidden=64.0), "whole number"),
    (lambda raw: raw["train_config"].update(batch=10**12), f"{limits.MAX_BATCH:,}"),
    (lambda raw: raw["train_config"].update(steps=10**12), f"{limits.MAX_TRAIN_STEPS:,}"),
    (lambda raw: raw["train_config"].update(n_data=10**9), f"{limits.MAX_DATA_POINTS:,}"),
    (lambda raw: raw.update(steps_trained=-5), "steps_trained"),
    (lambda raw: raw.update(steps_trained=10**30), "steps_trained"),
    (lambda raw: raw["data"].update(class_names=["inner", "middle", "<b>outer</b>"]),
     "datasets"),
])
def test_stored_sizes_beyond_the_limits(tiny_model, tmp_path: Path, edit, fragment: str) -> None:
    assert_fails_cleanly(corrupted(tiny_model, tmp_path, edit), fragment)


def test_an_archive_torch_did_not_write_is_refused(tiny_checkpoint: Path, tmp_path: Path) -> None:
    """torch.save stores its records uncompressed; a compressed one could unpack a small
    file into gigabytes inside torch.load, so it is refused before."""
    path = tmp_path / "deflated.pt"
    with zipfile.ZipFile(tiny_checkpoint) as src, \
            zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            dst.writestr(info.filename, src.read(info.filename))
    assert_fails_cleanly(path, "compressed")


@pytest.fixture(scope="module")
def t100_model() -> TrainedModel:
    """A DDPM model at T = 100, the default of checkpoint versions 1-2 (stored as T = 0)."""
    config = TrainConfig(dataset="spiral", steps=50, hidden=64, batch=64,
                         process=ProcessConfig("ddpm", 100))
    return Training(config).model()


@pytest.mark.parametrize("version", [1, 2, 3])
def test_an_old_ddpm_checkpoint_loads_at_the_t_it_was_made_with(t100_model, tmp_path: Path,
                                                                version: int) -> None:
    """Versions 1 and 2 stored the default T as 0, and DDPM's default was T = 100. Such a
    file must load at T = 100 and give the same outputs, not run on today's T = 200.
    Versions 1-3 also stored the network's input scale c_in, one float32 per t, which is
    now recomputed from the schedule: the stored copy must not trip the strict load."""
    def as_old_file(raw: dict) -> None:
        raw.update(version=version)
        if version < 3:
            raw["train_config"]["process"]["T"] = 0
        raw["state_dict"]["c_in"] = t100_model.network.c_in.clone()

    back = checkpoints.load(corrupted(t100_model, tmp_path, as_old_file))
    assert back.schedule.T == 100
    for a, b in zip(outputs(t100_model), outputs(back), strict=True):
        torch.testing.assert_close(a, b, rtol=0, atol=0)


def test_the_process_s_t_is_stored_as_a_number(tiny_model) -> None:
    """A model trained on the default process (T = 0 in its config) records and saves the
    T it was trained at: a later change of default cannot change what the file means."""
    assert tiny_model.schedule.T == DEFAULT_STEPS["ddpm"]
    assert tiny_model.train_config.process == ProcessConfig("ddpm", DEFAULT_STEPS["ddpm"])
    assert checkpoints.to_dict(tiny_model)["train_config"]["process"]["T"] == tiny_model.schedule.T


def test_uploaded_bytes_are_named_in_the_error() -> None:
    with pytest.raises(CheckpointError, match="^my-upload.pt: "):
        checkpoints.load(b"garbage", name="my-upload.pt")
    with pytest.raises(CheckpointError, match="uploaded file"):
        checkpoints.load(b"garbage")


# --- the shipped checkpoints -------------------------------------------------------------
@pytest.mark.parametrize("process", PROCESS_NAMES)
@pytest.mark.parametrize("dataset", DATASET_NAMES)
def test_pretrained_checkpoint(dataset: str, process: str) -> None:
    path = pretrained_path(dataset, process)
    assert path.is_file(), f"missing {path}: run `python -m explainer pretrain`"
    assert path.stat().st_size < 500_000, "checkpoints must stay well under 1 MB"
    model = checkpoints.load(path)
    assert model.data.name == dataset and model.schedule.name == process
    assert model.quality is not None and 0 < model.quality.ratio < float("inf")
    # The stored training set is what make_dataset draws for its config; the app's ideal
    # denoiser and fresh-data metrics assume so (a stale file after a dataset change fails).
    cfg = model.train_config
    np.testing.assert_array_equal(model.data.points,
                                  make_dataset(dataset, cfg.n_data, cfg.seed).points)
    out = model.denoiser()(torch.zeros(3, 2), model.schedule.T // 2, model.num_classes)
    assert torch.isfinite(out).all()
