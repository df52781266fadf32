"""A user's own CSV points: read into a Dataset scaled like the built-in sets, every bad
file refused with one line, and a model trained on them round-trips through a checkpoint
and the command line."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from explainer import checkpoints, limits
from explainer.checkpoints import CheckpointError
from explainer.cli import main
from explainer.figures.primitives import data_image
from explainer.metrics import sample_quality
from explainer.training import TrainConfig, Training
from explainer.user_data import (
    EXTENT,
    SINGLE_CLASS,
    USER_DATA_NAME,
    USER_TRAIN_POINTS,
    check_class_names,
    read_csv,
)


def csv_bytes(points: np.ndarray, classes: list[str] | None = None,
              header: str | None = "x,y,class") -> bytes:
    rows = [f"{x!r},{y!r}" + ("" if classes is None else f",{c}")
            for (x, y), c in zip(points.tolist(), classes or [None] * len(points),
                                 strict=True)]
    if header is not None:
        rows.insert(0, header if classes is not None else "x,y")
    return ("\n".join(rows) + "\n").encode()


def blob(n: int = 100, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).normal([10.0, -3.0], [4.0, 1.0], (n, 2))


# ---------------------------------------------------------------- good files


def test_points_are_scaled_into_the_view_keeping_their_shape() -> None:
    points = blob()
    own = read_csv(csv_bytes(points))
    got = own.dataset.points.astype(np.float64)
    # Centred bounding box, the longer side spanning -EXTENT..EXTENT.
    assert np.allclose(got.min(0) + got.max(0), 0, atol=1e-5)
    assert np.isclose(np.abs(got).max(), EXTENT, atol=1e-5)
    # One factor on both axes: distances scale uniformly.
    d_in = np.linalg.norm(points[1:] - points[:-1], axis=1)
    d_out = np.linalg.norm(got[1:] - got[:-1], axis=1)
    assert np.allclose(d_out, d_in * own.scale, rtol=1e-4)
    assert own.dataset.name == USER_DATA_NAME
    assert own.dataset.class_names == (SINGLE_CLASS,)
    assert (own.dataset.labels == 0).all() and own.rows == 100


def test_no_header_and_classes_in_numeric_order() -> None:
    classes = [str(c) for c in np.arange(60) % 3 * 5]  # 0, 5, 10: "10" < "5" as text
    own = read_csv(csv_bytes(blob(60), classes, header=None))
    assert own.dataset.class_names == ("0", "5", "10")
    assert np.array_equal(own.dataset.labels, np.arange(60) % 3)


def test_header_in_any_order_with_extra_columns() -> None:
    points = blob(30)
    text = "label,id,Y,X\n" + "\n".join(f"{'ab'[i % 2]},{i},{y},{x}"
                                        for i, (x, y) in enumerate(points))
    own = read_csv(text.encode())
    reference = read_csv(csv_bytes(points, ["ab"[i % 2] for i in range(30)]))
    assert np.allclose(own.dataset.points, reference.dataset.points)
    assert own.dataset.class_names == ("a", "b")


def test_many_points_are_thinned_keeping_each_class_share(tmp_path: Path) -> None:
    n = 9000
    classes = ["rare" if i % 100 == 0 else "common" for i in range(n)]
    path = tmp_path / "big.csv"
    path.write_bytes(csv_bytes(blob(n), classes))
    d = read_csv(path).dataset
    assert abs(len(d.points) - USER_TRAIN_POINTS) <= d.num_classes
    counts = np.bincount(d.labels, minlength=2)
    assert counts[d.class_names.index("rare")] == round(90 * USER_TRAIN_POINTS / n)


# ---------------------------------------------------------------- bad files


def bad_file_cases() -> dict[str, tuple[bytes, str]]:
    good = blob(30)
    text = csv_bytes(good).decode()
    return {
        "too few points": (csv_bytes(blob(limits.MIN_USER_POINTS - 1)), "at least 20"),
        "nan": (text.replace(text.splitlines()[5].split(",")[0], "nan", 1).encode(),
                "finite"),
        "infinite": (text.replace(text.splitlines()[3].split(",")[1], "-inf", 1).encode(),
                     "finite"),
        "missing column": (b"x,z\n" + b"\n".join(b"1,2" for _ in range(30)), "missing "
                           "column 'y'"),
        "non-numeric": (text.replace(text.splitlines()[7].split(",")[1], "abc", 1).encode(),
                        "y is not a number"),
        "short row": (text.replace(text.splitlines()[7], "1.0", 1).encode(), "1 fields"),
        "too many rows": (b"x,y\n" + b"1,2\n" * (limits.MAX_USER_ROWS + 1), "at most 100,000"),
        "binary": (b"\x89PNG\r\n\x1a\n\0\0\0" + bytes(range(256)) * 10, "binary"),
        "utf-16": (("x,y\n" + "1,2\n" * 30).encode("utf-16"), "binary"),
        "latin-1": (("x,y\n" + "1,2\n" * 30 + "\u00e9,1\n").encode("latin-1"), "UTF-8"),
        "semicolons": (text.replace(",", ";").encode(), "semicolons"),
        "tabs": (text.replace(",", "\t").encode(), "tabs"),
        "one column": (b"\n".join(b"1.5" for _ in range(30)), "one column"),
        "too many classes": (csv_bytes(blob(30), [f"c{i % 11}" for i in range(30)]),
                             "more than 10"),
        "markup class": (csv_bytes(blob(30), ["<b>x</b>" if i % 2 else "a" for i in range(30)]),
                         "not a plain name"),
        "all at one place": (csv_bytes(np.ones((30, 2))), "same place"),
        "empty": (b"\n\n", "empty"),
        "too large": (b"x,y\n" + b"0" * limits.MAX_USER_CSV_BYTES, "at most 5 MB"),
    }


@pytest.mark.parametrize("case", list(bad_file_cases()))
def test_bad_files_get_one_line(case: str) -> None:
    data, fragment = bad_file_cases()[case]
    with pytest.raises(ValueError) as info:
        read_csv(data)
    message = str(info.value)
    assert fragment in message and "\n" not in message


def test_a_too_large_file_is_refused_before_reading(tmp_path: Path, monkeypatch) -> None:
    path = tmp_path / "huge.csv"
    with path.open("wb") as f:  # sparse: no 6 MB written
        f.truncate(limits.MAX_USER_CSV_BYTES + 1)
    monkeypatch.setattr(Path, "read_bytes", lambda self: pytest.fail("read the file"))
    with pytest.raises(ValueError, match="at most 5 MB"):
        read_csv(path)


@pytest.mark.parametrize("names", [[], ["a"] * 2, ["a" * 25], [3], "ab",
                                   [f"c{i}" for i in range(11)], ["*a"], ["a\nb"]])
def test_class_names_are_checked(names) -> None:
    with pytest.raises(ValueError):
        check_class_names(names)


# ---------------------------------------------------------------- a model on them


@pytest.fixture(scope="module")
def own_model():
    own = read_csv(csv_bytes(blob(200), ["in" if i % 2 else "out" for i in range(200)]))
    config = TrainConfig(dataset=USER_DATA_NAME, steps=30, hidden=32, depth=2,
                         n_data=len(own.dataset.points))
    run = Training(config, own.dataset)
    for _ in run.run():
        pass
    return run.model()


def test_a_model_of_user_data_round_trips_through_a_checkpoint(own_model) -> None:
    loaded = checkpoints.load(checkpoints.to_bytes(own_model))
    assert loaded.data.name == USER_DATA_NAME
    assert loaded.class_names == ("in", "out")
    assert np.array_equal(loaded.data.points, own_model.data.points)


def edited(model, **data) -> bytes:
    raw = checkpoints.to_dict(model)
    raw["data"].update(data)
    import io

    import torch
    buffer = io.BytesIO()
    torch.save(raw, buffer)
    return buffer.getvalue()


@pytest.mark.parametrize("data", [{"name": "your dat"},
                                  {"class_names": ["in", "<script>"]},
                                  {"class_names": ["in", "in"]},
                                  {"class_names": ["in"]}])
def test_a_checkpoint_of_user_data_keeps_the_validation_strict(own_model, data) -> None:
    with pytest.raises(CheckpointError):
        checkpoints.load(edited(own_model, **data))


def test_user_data_quality_is_measured_against_its_own_points(own_model) -> None:
    points = own_model.data.points
    rng = np.random.default_rng(5)
    near = points[rng.integers(0, len(points), 500)] + rng.normal(0, 0.01, (500, 2))
    far = near + 1.0
    assert sample_quality(near, own_model.data).ratio < 3
    assert sample_quality(far, own_model.data).ratio > 30


def test_training_on_user_data_needs_the_points() -> None:
    with pytest.raises(ValueError, match="needs the points"):
        Training(TrainConfig(dataset=USER_DATA_NAME))


# ---------------------------------------------------------------- command line


@pytest.mark.slow
def test_cli_trains_on_a_csv(tmp_path: Path) -> None:
    source = tmp_path / "mine.csv"
    source.write_bytes(csv_bytes(blob(300), ["a" if i % 3 else "b" for i in range(300)]))
    out = tmp_path / "mine.pt"
    assert main(["train", "--data", str(source), "--process", "ddpm", "--steps", "20",
                 "--hidden", "16", "--depth", "1", "--out", str(out)]) == 0
    model = checkpoints.load(out)
    assert model.data.name == USER_DATA_NAME and model.class_names == ("a", "b")
    assert np.allclose(model.data.points, read_csv(source).dataset.points)


@pytest.mark.parametrize("case", ["too few points", "binary", "semicolons", "nan"])
def test_cli_bad_csv_exits_2_with_one_line(case: str, tmp_path: Path, capsys) -> None:
    source = tmp_path / "bad.csv"
    source.write_bytes(bad_file_cases()[case][0])
    out = tmp_path / "never.pt"
    assert main(["train", "--data", str(source), "--process", "ddpm", "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("python -m explainer train: error:") and "\n" not in err
    assert not out.exists()


def test_cli_missing_csv(tmp_path: Path, capsys) -> None:
    assert main(["train", "--data", str(tmp_path / "no.csv"), "--process", "ddpm",
                 "--out", str(tmp_path / "x.pt")]) == 2
    assert "no such file" in capsys.readouterr().err


# ---------------------------------------------------------------- the Train page


def open_with_own_data():
    import apptest_helpers as ui

    return ui.open_page("pages/train.py", train_dataset=USER_DATA_NAME, train_budget="steps",
                        train_steps="100", train_hidden="64", train_depth="2")


def page_errors(at) -> str:
    return " ".join(e.value for e in at.error)


def test_train_page_refuses_bad_csv_and_changes_nothing() -> None:
    at = open_with_own_data()
    assert not at.exception, [e.value for e in at.exception]
    assert at.button(key="train_go").disabled  # nothing to train on yet
    good = csv_bytes(blob(40), ["a" if i % 2 else "b" for i in range(40)])
    at.file_uploader(key="train_csv").set_value(("mine.csv", good, "text/csv")).run()
    assert not at.exception and not at.error
    kept = at.session_state["train_own_data"]
    assert kept[1].dataset.class_names == ("a", "b")
    assert not at.button(key="train_go").disabled
    assert "`mine.csv`: 40 points, 2 classes (a, b)" in " ".join(m.value for m in at.markdown)
    for case, (data, fragment) in bad_file_cases().items():
        at.file_uploader(key="train_csv").set_value((f"{case}.csv", data, "text/csv")).run()
        assert not at.exception, (case, [e.value for e in at.exception])
        message = page_errors(at)
        assert fragment in message and "Nothing was changed" in message, (case, message)
        assert at.session_state["train_own_data"] is kept, case
        assert "user_model" not in at.session_state


@pytest.mark.slow
def test_csv_to_trained_model_to_checkpoint_to_sampling_page() -> None:
    import apptest_helpers as ui

    at = open_with_own_data()
    points = blob(300)
    good = csv_bytes(points, ["left" if x < 10 else "right" for x, _ in points])
    at.file_uploader(key="train_csv").set_value(("mine.csv", good, "text/csv")).run()
    at.button(key="train_go").click().run()
    assert not at.exception, [e.value for e in at.exception]
    token, model = at.session_state["user_model"]
    assert model.data.name == USER_DATA_NAME and model.steps_trained == 100
    assert model.class_names == ("left", "right") and model.quality is not None
    assert np.array_equal(model.data.points, read_csv(good).dataset.points)
    # The download holds a checkpoint that loads with the same data.
    loaded = checkpoints.load(at.session_state["_kept_model"].checkpoint)
    assert loaded.data.name == USER_DATA_NAME
    assert np.array_equal(loaded.data.points, model.data.points)
    # The sampling page opens with it: its chart draws this model's training data.
    at.switch_page("pages/sampling.py").run()
    assert not at.exception, [e.value for e in at.exception]
    assert ui.charts(at), "no chart on the sampling page"
    image = next(iter(ui.charts(at).values()))["layout"]["images"][0]
    expected = data_image(model.data.points, extent=image["sizex"] / 2)["source"]
    assert image["source"] == expected
