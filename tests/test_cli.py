"""The command line, run as `python -m explainer ...` in a subprocess: every command writes
the promised arrays, and bad arguments exit non-zero with one line on stderr.

Each run pays for importing torch (~2 s of CPU), so the subprocess runs of this module start
together from two module fixtures, two at a time, and the tests then read their results
(marked slow: ~10 s together on an idle machine). Further cases call cli.main in-process.
"""

from __future__ import annotations

import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest
import torch

from explainer import checkpoints, limits
from explainer.cli import main
from explainer.datasets import make_dataset
from explainer.ideal import IdealDenoiser
from explainer.schedules import ProcessConfig, make_schedule

Runs = dict[str, subprocess.CompletedProcess]


def run_all(run_cli, commands: dict[str, list]) -> Runs:
    with ThreadPoolExecutor(max_workers=2) as pool:
        futures = {key: pool.submit(run_cli, *args) for key, args in commands.items()}
        return {key: f.result() for key, f in futures.items()}


@pytest.fixture(scope="module")
def out(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("cli")


@pytest.fixture(scope="module")
def data_file(out: Path) -> Path:
    """A small custom training set for `field --ideal --data`."""
    rng = np.random.default_rng(0)
    points = rng.normal(0, 0.4, (300, 2)).astype(np.float32)
    path = out / "custom.npz"
    np.savez(path, points=points, labels=(points[:, 0] > 0).astype(np.int64))
    return path


@pytest.fixture(scope="module")
def good(run_cli, out: Path, tiny_checkpoint: Path, data_file: Path) -> Runs:
    ck = ["--checkpoint", tiny_checkpoint]
    return run_all(run_cli, {
        "data": ["data", "--dataset", "moons", "--n", "123", "--seed", "4",
                 "--out", out / "moons.npz"],
        "schedule": ["schedule", "--process", "random_walk", "--out", out / "rw.npz"],
        "train": ["train", "--dataset", "spiral", "--process", "ddpm", "--seconds", "2",
                  "--hidden", "32", "--out", out / "trained.pt"],
        "sample_ideal_traj": ["sample", "--dataset", "spiral", "--process", "ddpm", "--ideal",
                              "--sampler", "ddim", "--steps", "5", "--n", "50", "--trajectory",
                              "--label", "outer", "--guidance", "3", "--out", out / "st.npy"],
        "sample_negative": ["sample", *ck, "--sampler", "no_noise", "--steps", "5", "--n", "50",
                            "--label", "2", "--negative", "inner", "--guidance", "2",
                            "--seed", "3", "--out", out / "sn.npy"],
        "field_data": ["field", "--dataset", "spiral", "--process", "random_walk", "--ideal",
                       "--data", data_file, "--t", "50", "--grid", "6", "--label", "1",
                       "--out", out / "fd.npz"],
    })


def ok(result: subprocess.CompletedProcess) -> None:
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.slow
def test_data(good: Runs, out: Path) -> None:
    ok(good["data"])
    with np.load(out / "moons.npz") as f:
        assert set(f.files) == {"points", "labels"}
        assert f["points"].dtype == np.float32 and f["points"].shape == (123, 2)
        assert np.issubdtype(f["labels"].dtype, np.integer) and f["labels"].shape == (123,)
        np.testing.assert_array_equal(f["points"], make_dataset("moons", 123, 4).points)


@pytest.mark.slow
def test_schedule(good: Runs, out: Path) -> None:
    ok(good["schedule"])
    check_schedule_file(out / "rw.npz", ProcessConfig("random_walk"))


def check_schedule_file(path: Path, config: ProcessConfig) -> None:
    ref = make_schedule(config)
    with np.load(path) as f:
        assert set(f.files) == {"alpha", "sigma"}
        for array in ("alpha", "sigma"):
            assert f[array].dtype == np.float32 and f[array].shape == (ref.T + 1,)
        np.testing.assert_allclose(f["alpha"], ref.alpha, rtol=1e-6)
        np.testing.assert_allclose(f["sigma"], ref.sigma, rtol=1e-6)


@pytest.mark.slow
def test_train(good: Runs, out: Path) -> None:
    ok(good["train"])
    assert "floor" in good["train"].stdout
    model = checkpoints.load(out / "trained.pt")
    assert model.network.config.hidden == 32 and model.steps_trained > 10
    assert model.quality is not None and model.train_config.seconds == 2.0


def test_sample_in_process(out: Path, tiny_checkpoint: Path) -> None:
    assert main(["sample", "--checkpoint", str(tiny_checkpoint), "--sampler", "ddpm",
                 "--steps", "5", "--n", "50", "--out", str(out / "s.npy")]) == 0
    x = np.load(out / "s.npy")
    assert x.dtype == np.float32 and x.shape == (50, 2) and np.isfinite(x).all()


@pytest.mark.slow
def test_sample_ideal_trajectory_with_guidance(good: Runs, out: Path) -> None:
    ok(good["sample_ideal_traj"])
    xs = np.load(out / "st.npy")
    assert xs.dtype == np.float32 and xs.shape == (6, 50, 2)
    # Guided to the "outer" class by the exact denoiser of the pretrained training set.
    data = checkpoints.load(checkpoints.pretrained_path("spiral", "ddpm")).data
    nearest = np.linalg.norm(xs[-1][:, None] - data.points[None], axis=-1).argmin(1)
    assert (data.labels[nearest] == 2).mean() > 0.8
    assert xs[0].std() > 0.5  # starts from noise


@pytest.mark.slow
def test_sample_with_a_negative_class(good: Runs, out: Path) -> None:
    ok(good["sample_negative"])
    x = np.load(out / "sn.npy")
    assert x.dtype == np.float32 and x.shape == (50, 2) and np.isfinite(x).all()


def test_field_in_process(out: Path, tiny_checkpoint: Path) -> None:
    assert main(["field", "--checkpoint", str(tiny_checkpoint), "--t", "30", "--grid", "8",
                 "--label", "middle", "--guidance", "2", "--out", str(out / "f.npz")]) == 0
    check_field_file(out / "f.npz", 8)


def check_field_file(path: Path, g: int) -> None:
    with np.load(path) as f:
        assert set(f.files) == {"xy", "v"}
        assert f["xy"].shape == f["v"].shape == (g * g, 2)
        assert f["xy"].dtype == f["v"].dtype == np.float32
        assert np.isfinite(f["v"]).all() and np.abs(f["v"]).max() > 0


@pytest.mark.slow
def test_field_ideal_on_a_data_file(good: Runs, out: Path, data_file: Path) -> None:
    ok(good["field_data"])
    with np.load(out / "fd.npz") as f, np.load(data_file) as d:
        xy, v = f["xy"], f["v"]
        assert xy.shape == v.shape == (36, 2)
        # v = alpha_t x0_hat - x_t for the file's class-1 points, computed here directly.
        sch = make_schedule("random_walk")
        ideal = IdealDenoiser(sch, d["points"], d["labels"], 3)
        x0_hat = ideal.x0_hat(torch.as_tensor(xy), 50, 1).numpy()
    np.testing.assert_allclose(v, sch.alpha[50] * x0_hat - xy, atol=1e-4)


# --- bad arguments -----------------------------------------------------------------------
# (args, a fragment the one-line message must contain). {ck}: --checkpoint tiny.pt.
BAD = {
    "unknown dataset": (["data", "--dataset", "swissroll", "--out", "{out}/x.npz"],
                        "swissroll"),
    "label the dataset lacks": (["sample", "{ck}", "--sampler", "ddim", "--steps", "2",
                                 "--label", "3", "--out", "{out}/x.npy"], "0..2"),
    "missing checkpoint": (["sample", "--checkpoint", "{out}/nope.pt", "--sampler", "ddpm",
                            "--out", "{out}/x.npy"], "nope.pt: no such file"),
    "corrupt checkpoint": (["sample", "--checkpoint", "{bad}", "--sampler", "ddpm",
                            "--out", "{out}/x.npy"], "corrupt.pt"),
    "unwritable output": (["data", "--dataset", "spiral", "--out", "{out}/custom.npz/x.npz"],
                          "custom.npz"),
}
# The same checks in-process through cli.main (the code path is the same after the
# interpreter starts; this saves a torch import per case).
BAD_IN_PROCESS = {
    "t above T": (["field", "{ck}", "--t", "201", "--grid", "4", "--out", "{out}/x.npz"],
                  "1..200"),
    "n zero": (["sample", "{ck}", "--sampler", "ddpm", "--n", "0", "--out", "{out}/x.npy"],
               "at least 1"),
    "unknown process": (["schedule", "--process", "vp", "--out", "{out}/x.npz"], "vp"),
    "t below 0": (["field", "{ck}", "--t", "-1", "--grid", "4", "--out", "{out}/x.npz"],
                  "1..200"),
    "n negative": (["data", "--dataset", "spiral", "--n", "-5", "--out", "{out}/x.npz"],
                   "at least 1"),
    "n not a number": (["sample", "{ck}", "--sampler", "ddpm", "--n", "many",
                        "--out", "{out}/x.npy"], "many"),
    "label name unknown": (["field", "{ck}", "--t", "5", "--label", "blob", "--out",
                            "{out}/x.npz"], "inner, middle, outer"),
    "negative unknown": (["sample", "{ck}", "--sampler", "ddim", "--steps", "2", "--label",
                          "0", "--negative", "9", "--out", "{out}/x.npy"], "'9'"),
    "negative without label": (["sample", "{ck}", "--sampler", "ddim", "--steps", "2",
                                "--negative", "0", "--out", "{out}/x.npy"], "needs a class"),
    "unknown sampler": (["sample", "{ck}", "--sampler", "euler", "--out", "{out}/x.npy"],
                        "euler"),
    "steps above T": (["sample", "{ck}", "--sampler", "ddim", "--steps", "500",
                       "--out", "{out}/x.npy"], "1..200"),
    "no model given": (["sample", "--sampler", "ddpm", "--out", "{out}/x.npy"],
                       "--checkpoint"),
    "missing data file": (["field", "{ck}", "--ideal", "--data", "{out}/none.npz", "--t", "5",
                           "--out", "{out}/x.npz"], "none.npz"),
    "data file without points": (["field", "{ck}", "--ideal", "--data", "{out}/no_points.npz",
                                  "--t", "5", "--out", "{out}/x.npz"], "points"),
    "data without ideal": (["field", "{ck}", "--data", "{out}/none.npz", "--t", "5",
                            "--out", "{out}/x.npz"], "--ideal"),
    "guidance too large": (["sample", "{ck}", "--sampler", "ddim", "--steps", "2", "--label",
                            "0", "--guidance", "1000", "--out", "{out}/x.npy"], "guidance"),
    "T too small": (["schedule", "--process", "ddpm", "--T", "1", "--out", "{out}/x.npz"],
                    "at least 2"),
    "seconds zero": (["train", "--dataset", "spiral", "--process", "ddpm", "--seconds", "0",
                      "--out", "{out}/x.pt"], "positive"),
    "steps and seconds": (["train", "--dataset", "spiral", "--process", "ddpm", "--steps",
                           "5", "--seconds", "1", "--out", "{out}/x.pt"], "not allowed"),
    "several arrays to .npy": (["field", "{ck}", "--t", "5", "--grid", "3",
                                "--out", "{out}/f.npy"], ".npz"),
    # Sizes beyond explainer/limits.py's bounds, refused before anything is allocated
    # (tests/test_bad_input.py has the ones that used to allocate).
    "grid too large": (["field", "{ck}", "--t", "5", "--grid", "100000", "--out",
                        "{out}/x.npz"], f"at most {limits.MAX_GRID}"),
    "hidden too wide": (["train", "--dataset", "spiral", "--process", "ddpm", "--hidden",
                         "100000", "--out", "{out}/x.pt"], f"{limits.MAX_HIDDEN:,}"),
    "depth too deep": (["train", "--dataset", "spiral", "--process", "ddpm", "--depth", "100",
                        "--out", "{out}/x.pt"], f"at most {limits.MAX_DEPTH}"),
    "steps too many": (["train", "--dataset", "spiral", "--process", "ddpm", "--steps",
                        "1000000000000", "--out", "{out}/x.pt"], f"{limits.MAX_TRAIN_STEPS:,}"),
    "seconds infinite": (["train", "--dataset", "spiral", "--process", "ddpm", "--seconds",
                          "inf", "--out", "{out}/x.pt"], "at most 3600"),
    "sampler steps above any T": (["sample", "{ck}", "--sampler", "ddim", "--steps",
                                   "1000000000", "--out", "{out}/x.npy"], f"{limits.MAX_T:,}"),
    "seed negative": (["data", "--dataset", "spiral", "--seed", "-1", "--out", "{out}/x.npz"],
                      "at least 0"),
    "corrupt checkpoint (in-process)": (["field", "--checkpoint", "{bad}", "--t", "5",
                                         "--out", "{out}/x.npz"], "corrupt.pt"),
}


@pytest.fixture(scope="module")
def corrupt(out: Path, tiny_checkpoint: Path) -> Path:
    """A truncated checkpoint; also leaves an .npz without 'points' beside it."""
    np.savez(out / "no_points.npz", alpha=np.ones(3))
    path = out / "corrupt.pt"
    path.write_bytes(tiny_checkpoint.read_bytes()[:5000])
    return path


def filled(args: list[str], out: Path, ck: Path, bad: Path) -> list[str]:
    result: list[str] = []
    for arg in args:
        result += ["--checkpoint", str(ck)] if arg == "{ck}" else [arg.format(out=out, bad=bad)]
    return result


@pytest.fixture(scope="module")
def bad(run_cli, out: Path, tiny_checkpoint: Path, corrupt: Path, data_file: Path) -> Runs:
    return run_all(run_cli, {case: filled(args, out, tiny_checkpoint, corrupt)
                             for case, (args, _) in BAD.items()})


def check_one_clear_line(status: int, stderr: str, fragment: str) -> None:
    lines = stderr.strip().splitlines()
    assert status != 0
    assert len(lines) == 1, stderr
    assert "Traceback" not in stderr and "error" in lines[0]
    assert fragment in lines[0], lines[0]


@pytest.mark.slow
@pytest.mark.parametrize("case", list(BAD))
def test_bad_arguments_give_one_clear_line(bad: Runs, case: str) -> None:
    result = bad[case]
    check_one_clear_line(result.returncode, result.stderr, BAD[case][1])


@pytest.mark.parametrize("case", list(BAD_IN_PROCESS))
def test_bad_arguments_in_process(case: str, out: Path, tiny_checkpoint: Path, corrupt: Path,
                                  capsys: pytest.CaptureFixture[str]) -> None:
    args, fragment = BAD_IN_PROCESS[case]
    try:
        status = main(filled(args, out, tiny_checkpoint, corrupt))
    except SystemExit as exc:  # argparse's errors
        status = exc.code
    check_one_clear_line(status, capsys.readouterr().err, fragment)


# --- more good runs, in-process ----------------------------------------------------------
def test_schedule_with_T_in_process(out: Path) -> None:
    assert main(["schedule", "--process", "ddpm", "--T", "50", "--out", str(out / "d50.npz")]) == 0
    check_schedule_file(out / "d50.npz", ProcessConfig("ddpm", 50))


def test_ideal_field_of_the_checkpoints_data_in_process(out: Path, tiny_checkpoint: Path,
                                                        tiny_model) -> None:
    path = out / "fi.npz"
    assert main(["field", "--checkpoint", str(tiny_checkpoint), "--ideal", "--t", "100",
                 "--grid", "5", "--out", str(path)]) == 0
    check_field_file(path, 5)
    with np.load(path) as f:
        ideal = tiny_model.ideal()
        x0_hat = ideal.x0_hat(torch.as_tensor(f["xy"]), 100, 3).numpy()
        np.testing.assert_allclose(f["v"], tiny_model.schedule.alpha[100] * x0_hat - f["xy"],
                                   atol=1e-4)


def test_sample_pretrained_random_walk_in_process(out: Path) -> None:
    path = out / "srw.npz"
    assert main(["sample", "--dataset", "rings", "--process", "random_walk", "--sampler", "ddpm",
                 "--steps", "5", "--n", "40", "--label", "outer", "--negative", "0",
                 "--out", str(path)]) == 0
    with np.load(path) as f:
        assert f["x"].shape == (40, 2) and f["x"].dtype == np.float32


def test_pretrain_under_conditioned_uses_the_recipe(out: Path) -> None:
    """`pretrain --under-conditioned` trains the guidance page's network that rarely saw the
    class: the recipe of explainer/under_conditioned.py (here cut to a few steps)."""
    from explainer import under_conditioned

    folder = out / "weak"
    assert main(["pretrain", "--under-conditioned", "--dataset", "moons", "--process", "ddpm",
                 "--steps", "5", "--out-dir", str(folder)]) == 0
    model = checkpoints.load(folder / "moons-ddpm.pt")
    assert model.steps_trained == 5
    assert model.train_config.label_dropout == under_conditioned.RECIPE["label_dropout"]
    assert model.network.config.hidden == under_conditioned.RECIPE["hidden"]
