"""explainer/chart_data.py: the data behind a chart read back from its figure (every
trace, frame and arrow, named), the named data of the pages, and the files (NPZ with a
README, CSV of one table, bounded in size)."""

from __future__ import annotations

import io

import numpy as np
import plotly.graph_objects as go
import pytest

from explainer import chart_data
from explainer.figures.primitives import arrow_layer
from explainer.figures.random_walks import drawn_steps, walks_figure
from explainer.figures.sampling import Panel, sampling_figure
from pages.plotly_frame import SentFigure


def load(raw: bytes) -> dict[str, np.ndarray]:
    with np.load(io.BytesIO(raw)) as npz:  # allow_pickle=False by default
        return {k: npz[k] for k in npz.files}


def test_a_sampling_animation_gives_each_panel_s_samples_and_their_frames() -> None:
    rng = np.random.default_rng(0)
    xs = np.cumsum(rng.normal(scale=0.1, size=(21, 50, 2)), axis=0).astype(np.float32)
    fig = sampling_figure([Panel("DDPM", xs, xs[:-1]), Panel("DDIM", xs[::-1], xs[1:])],
                          np.arange(20, -1, -1), "title", xs[-1])
    for spec in (fig.to_dict(), SentFigure.of(fig).figure()):  # either JSON form
        arrays = chart_data.figure_arrays(spec)
        frames = arrays["ddim_samples_xy_frames"]
        assert frames.shape == (len(fig.frames), 50, 2)
        assert len(arrays["frame_names"]) == len(fig.frames)
        # Each frame's row is what that frame draws, and the figure opens on the last.
        for k, frame in enumerate(fig.frames):
            trace = frame.data[[fig.data[i].name for i in frame.traces].index("samples")]
            np.testing.assert_array_equal(arrays["ddpm_samples_xy_frames"][k, :, 0], trace.x)
        np.testing.assert_array_equal(arrays["ddpm_samples_xy"], xs[-1])
        np.testing.assert_array_equal(arrays["ddim_samples_xy"], xs[0])


def test_walks_figure_s_traces_and_the_walks_data_agree() -> None:
    rng = np.random.default_rng(1)
    paths = np.cumsum(rng.normal(size=(31, 3, 2)), axis=0).astype(np.float32)
    data = rng.normal(size=(100, 2)).astype(np.float32)
    t = 20
    spec = walks_figure(paths, t, data, 3.0, data).to_dict()
    drawn = chart_data.figure_arrays(spec)
    named = chart_data.walks_data(paths, t, data, data)
    assert named["trajectories"].shape == (t + 1, 3, 2)
    np.testing.assert_array_equal(named["t"], np.arange(t + 1))
    lines = [v for k, v in drawn.items() if k.endswith("_xy") and len(v) > 2]
    for i, line in enumerate(lines):  # each walk's line is its trajectory at the drawn steps
        np.testing.assert_array_equal(line, named["trajectories"][drawn_steps(t), i])


def test_arrows_are_read_back_as_tail_tip_segments() -> None:
    xy = np.array([[0.0, 0.0], [1.0, 0.5], [-1.0, 2.0]], dtype=np.float32)
    v = np.array([[1.0, 0.0], [0.0, -2.0], [3.0, 4.0]], dtype=np.float32)
    shapes, _ = arrow_layer(xy, v, "learned", 0.5)
    fig = go.Figure(layout=dict(shapes=shapes))
    segments = chart_data.figure_arrays(fig.to_dict())["learned_segments"]
    assert segments.shape == (3, 2, 2)
    direction = segments[:, 1] - segments[:, 0]
    unit = v / np.linalg.norm(v, axis=1, keepdims=True)
    np.testing.assert_allclose(direction / np.linalg.norm(direction, axis=1, keepdims=True),
                               unit, atol=1e-3)


def test_heatmaps_legend_entries_and_text() -> None:
    z = np.arange(12, dtype=np.float32).reshape(3, 4)
    fig = go.Figure([go.Heatmap(z=z, x=["a", "b", "c", "d"], name="angle"),
                     go.Scatter(x=[None], y=[None], name="legend only"),
                     go.Scatter(x=[1.0, None, 2.0], y=[3.0, None, 4.0], name="gapped")])
    arrays = chart_data.figure_arrays(fig.to_dict())
    np.testing.assert_array_equal(arrays["angle_z"], z)
    assert list(arrays["angle_x"]) == ["a", "b", "c", "d"]
    assert not any(k.startswith("legend_only") for k in arrays)  # nothing drawn, nothing kept
    np.testing.assert_array_equal(arrays["gapped_xy"], [[1, 3], [np.nan, np.nan], [2, 4]])


def test_npz_has_readme_listing_every_array_and_opens_without_pickle() -> None:
    arrays = chart_data.field_data(np.zeros((4, 2)), np.ones((7, 2)), field=np.ones((4, 2)))
    out = load(chart_data.npz_bytes(arrays, "A field."))
    assert set(out) == {"README", "xy", "data", "field"}
    readme = str(out["README"])
    assert readme.startswith("A field.") and "field: shape (4, 2)" in readme
    np.testing.assert_array_equal(out["data"], np.ones((7, 2)))


def test_a_table_of_points_is_csv_and_anything_else_is_not() -> None:
    points = np.array([[0.1234567891, -2.0], [3.5, 4.25]], dtype=np.float64)
    table = chart_data.points_data(points, np.array([1, 0]), ("inner", "outer"))
    assert chart_data.is_table(table)
    lines = chart_data.csv_bytes(table).decode().splitlines()
    assert lines == ["points_x,points_y,label,class_name", "0.1234568,-2,1,outer",
                     "3.5,4.25,0,inner"]
    assert chart_data.is_table(chart_data.schedule_data(np.ones(5), np.zeros(5)))
    assert not chart_data.is_table(chart_data.walks_data(np.zeros((3, 2, 2)), 1,
                                                         np.zeros((5, 2)), np.zeros((5, 2))))


def test_a_csv_cell_with_a_comma_is_quoted() -> None:
    table = {"x": np.array([1.0]), "class_name": np.array(['a, "b"'])}
    assert chart_data.csv_bytes(table).decode().splitlines()[1] == '1,"a, ""b"""'


def test_sizes_are_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(chart_data, "MAX_CHART_DATA_BYTES", 1000)
    big = {"points": np.zeros((200, 2))}  # 3,200 bytes
    with pytest.raises(ValueError, match="over the 0 MB limit"):
        chart_data.npz_bytes(big, "")
    with pytest.raises(ValueError, match="limit"):
        chart_data.csv_bytes(big)


def test_file_stems_are_safe_and_short() -> None:
    assert chart_data.file_stem(["sampling", "Two moons", "t10", "", "w1.5"]) == \
        "sampling-two_moons-t10-w1.5"
    stem = chart_data.file_stem(["prompts", "../../etc/passwd " + "x" * 300])
    assert "/" not in stem and len(stem) <= len("prompts-") + chart_data.FILE_PART_CHARS
