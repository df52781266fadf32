"""The command line's text prompts: `sample --prompt/--negative-prompt` on the shipped
text-prompt models, `train --prompts-out`, and one-line errors for bad prompts.

The runs start together from a module fixture, two at a time (each pays ~2 s of CPU to
import torch), and the tests read their results."""

from __future__ import annotations

import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest

from explainer import prompt_checkpoints
from explainer.cli import main
from explainer.prompts import prompt_shares

Runs = dict[str, subprocess.CompletedProcess]
SPIRAL_VOCABULARY = "inner, middle, outer, top, bottom, left, right"

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def out(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("cli_prompts")


@pytest.fixture(scope="module")
def runs(run_cli, out: Path) -> Runs:
    base = ["sample", "--sampler", "ddpm", "--steps", "200", "--n", "300"]
    commands = {
        "ddpm": [*base, "--dataset", "spiral", "--process", "ddpm", "--prompt", "outer top right",
                 "--guidance", "3", "--out", out / "ddpm.npy"],
        "walk": [*base, "--dataset", "gaussians", "--process", "random_walk", "--prompt",
                 "blob 4", "--negative-prompt", "bottom", "--guidance", "3",
                 "--out", out / "walk.npy"],
        "train": ["train", "--dataset", "rings", "--process", "ddpm", "--steps", "40",
                  "--hidden", "32", "--out", out / "rings.pt", "--prompts-out",
                  out / "rings-prompts.pt"],
        "unknown": [*base, "--dataset", "spiral", "--process", "ddpm", "--prompt",
                    "outer <b>tpo</b>", "--out", out / "x.npy"],
        "long": [*base, "--dataset", "spiral", "--process", "random_walk",
                 "--negative-prompt", "x" * 10_000, "--out", out / "x.npy"],
        "label": [*base, "--dataset", "spiral", "--process", "ddpm", "--prompt", "outer",
                  "--label", "inner", "--out", out / "x.npy"],
    }
    with ThreadPoolExecutor(max_workers=2) as pool:
        futures = {key: pool.submit(run_cli, *args, timeout=300)
                   for key, args in commands.items()}
        return {key: f.result() for key, f in futures.items()}


def one_line_error(result: subprocess.CompletedProcess) -> str:
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    return lines[0]


@pytest.mark.parametrize(("key", "dataset", "process", "prompt", "negative"), [
    ("ddpm", "spiral", "ddpm", "outer top right", ""),
    ("walk", "gaussians", "random_walk", "blob 4", "bottom"),
])
def test_prompted_samples_land_in_the_region(runs: Runs, out: Path, key: str, dataset: str,
                                             process: str, prompt: str, negative: str) -> None:
    assert runs[key].returncode == 0, runs[key].stderr
    samples = np.load(out / f"{key}.npy")
    assert samples.shape == (300, 2) and samples.dtype == np.float32
    model = prompt_checkpoints.load(prompt_checkpoints.pretrained_prompt_path(dataset, process))
    shares = prompt_shares(model.world, samples, model.request(prompt, negative, 3.0))
    if not negative:
        assert shares.in_region_on_data >= 0.9
    else:
        # Pushed out of the negative's region, and kept in the prompt's; the push also
        # carries many samples past the data (as it does with the exact denoiser).
        assert shares.out_of_negative >= 0.9 and shares.in_region >= 0.9


def test_train_also_learns_the_text_model(runs: Runs, out: Path) -> None:
    assert runs["train"].returncode == 0, runs["train"].stderr
    model = prompt_checkpoints.load(out / "rings-prompts.pt")
    assert model.data.name == "rings" and model.steps_trained == 40
    assert model.vocabulary.terms[:2] == ("inner", "outer")


def test_an_unknown_word_is_one_line_listing_the_vocabulary(runs: Runs) -> None:
    line = one_line_error(runs["unknown"])
    assert "'<b>tpo</b>'" in line and SPIRAL_VOCABULARY in line


def test_a_10000_character_prompt_is_one_line(runs: Runs) -> None:
    line = one_line_error(runs["long"])
    assert "10,000 characters" in line and len(line) < 300


def test_a_prompt_and_a_class_label_do_not_mix(runs: Runs) -> None:
    assert "--label" in one_line_error(runs["label"])


def test_a_class_checkpoint_is_not_a_text_model(tiny_checkpoint: Path, out: Path,
                                                capsys: pytest.CaptureFixture) -> None:
    code = main(["sample", "--checkpoint", str(tiny_checkpoint), "--sampler", "ddim",
                 "--prompt", "outer", "--out", str(out / "y.npy")])
    assert code == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "not a text-prompt model" in err


def test_the_samples_of_a_text_model_file_via_checkpoint(runs: Runs, out: Path,
                                                         capsys: pytest.CaptureFixture) -> None:
    assert runs["train"].returncode == 0
    code = main(["sample", "--checkpoint", str(out / "rings-prompts.pt"), "--sampler", "ddim",
                 "--steps", "10", "--n", "20", "--prompt", "inner",
                 "--out", str(out / "z.npy")])
    assert code == 0, capsys.readouterr().err
    samples = np.load(out / "z.npy")
    assert samples.shape == (20, 2) and np.isfinite(samples).all()
