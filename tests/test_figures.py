"""Figure helpers that the pages lean on for speed."""

import numpy as np
import plotly.graph_objects as go
import pytest

from explainer.figures import random_walks
from explainer.figures.primitives import set_layout


def test_set_layout_merges_nested_keys_and_keeps_the_template() -> None:
    fig = go.Figure(layout=dict(height=300, xaxis=dict(range=[0, 1], zeroline=False)))
    set_layout(fig, xaxis=dict(range=[-2, 2]), title=dict(text="T"))
    assert fig.layout.height == 300 and fig.layout.title.text == "T"
    assert tuple(fig.layout.xaxis.range) == (-2, 2) and fig.layout.xaxis.zeroline is False
    assert fig.layout.template.layout.colorway  # Plotly's default template is still there


def test_a_sent_figure_sends_the_same_chart_as_the_figure_it_froze() -> None:
    import json

    import numpy as np
    import plotly.io as pio

    from explainer.figures.animation import animation_figure
    from pages.plotly_frame import SentFigure

    rng = np.random.default_rng(0)
    xs = rng.normal(size=(11, 300, 2)).astype(np.float32)
    fig = animation_figure(xs, np.arange(10, -1, -1), "title", xs[-1])

    whole = json.loads(pio.to_json(fig, validate=False))
    sent = SentFigure.of(fig).figure()
    # Everything but Plotly's default template (the chart page themes the figure itself).
    assert "template" not in sent["layout"] and "template" in whole["layout"]
    whole["layout"].pop("template")
    assert sent == whole
    assert len(sent["frames"]) == 11 and sent["data"][1]["x"]["bdata"]  # compact arrays


def test_the_chart_component_is_served_with_plotly_js_beside_it() -> None:
    from pages.plotly_frame import CHART_PAGE, PLOTLY_JS, served_dir

    folder = served_dir()
    assert (folder / "index.html").read_bytes() == CHART_PAGE.read_bytes()
    assert (folder / "plotly.min.js").stat().st_size == PLOTLY_JS.stat().st_size
    assert served_dir() == folder  # made once; the next server start reuses it


def test_arrow_heads_sit_on_the_tips_in_the_colour_of_their_magnitude_band() -> None:
    import numpy as np
    from apptest_helpers import arrow_segments

    from explainer.figures.primitives import arrow_layer, magnitude_colours

    xy = np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0]], dtype=np.float32)
    v = np.array([[0.5, 0.0], [0.0, 2.0], [-7.9, 0.0]], dtype=np.float32)  # |v| 0.5, 2, 7.9
    shapes, colour_bar = arrow_layer(xy, v, "field", spacing=1.0, magnitude_range=(0.0, 8.0))
    shaft, heads = shapes[0], shapes[1:]
    assert shaft["name"] == "field" and len(colour_bar) == 2  # legend line, colour bar
    tails, unit = arrow_segments(shaft["path"])
    assert np.allclose(tails, xy, atol=1e-4)
    assert np.allclose(unit, v / np.linalg.norm(v, axis=1, keepdims=True), atol=1e-3)
    tips = xy + 0.8 * unit
    colours = magnitude_colours()
    # |v| = 0.5 -> band 0, 2 -> band 2, 7.9 -> band 7 of 8 over [0, 8]; empty bands are left
    # out. Each head is a chevron "M arm L tip L arm" whose middle point is the tip.
    assert [h["line"]["color"] for h in heads] == [colours[0], colours[2], colours[7]]
    for head, tip in zip(heads, tips, strict=True):
        assert head["path"].count("M") == 1
        middle = head["path"].split("L")[1]
        assert np.allclose([float(c) for c in middle.split(",")], tip, atol=1e-4)
    fixed, legend = arrow_layer(xy, v, "ideal", spacing=1.0, colour="#D55E00")
    assert len(fixed) == 2 and fixed[1]["line"]["color"] == "#D55E00"
    assert [trace.name for trace in legend] == ["ideal"]  # a legend line, no colour bar


def test_the_data_image_shows_the_points_where_they_are() -> None:
    """The PNG decodes (chunks, CRCs, zlib) to dots at the points' pixels, nothing else."""
    import base64
    import struct
    import zlib

    import numpy as np

    from explainer.raster import points_png

    points = np.array([[-1.0, 1.0], [1.5, -0.5]], dtype=np.float32)
    # A half-transparent white layer under the first point: covered where they overlap.
    under = np.array([[-1.0, 1.0], [0.0, 0.0]], dtype=np.float32)
    url = points_png([(under, (255, 255, 255), 0.5), (points, (10, 20, 30), 1.0)],
                     extent=2.0, size=41, radius=1.0)
    png = base64.b64decode(url.removeprefix("data:image/png;base64,"))
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    chunks, at = {}, 8
    while at < len(png):
        (length,) = struct.unpack(">I", png[at:at + 4])
        kind, body = png[at + 4:at + 8], png[at + 8:at + 8 + length]
        assert struct.unpack(">I", png[at + 8 + length:at + 12 + length])[0] == zlib.crc32(
            kind + body)
        chunks[kind], at = body, at + 12 + length
    width, height = struct.unpack(">II", chunks[b"IHDR"][:8])
    rows = np.frombuffer(zlib.decompress(chunks[b"IDAT"]), np.uint8).reshape(height, -1)
    assert (width, height) == (41, 41) and (rows[:, 0] == 0).all()  # no filter
    rgba = rows[:, 1:].reshape(41, 41, 4)
    alpha = rgba[..., 3]
    # x = -1 -> column 10, y = 1 -> row 10 (row 0 is y = +2); x = 1.5 -> 35, y = -0.5 -> 25.
    assert alpha[10, 10] == 255 and alpha[25, 35] == 255
    assert (rgba[10, 10, :3] == (10, 20, 30)).all()
    # The lower layer shows where nothing covers it: x = 0, y = 0 -> row 20, column 20.
    assert alpha[20, 20] == 128 and (rgba[20, 20, :3] == 255).all()
    lit = np.argwhere(alpha > 0)
    near = np.min([np.abs(lit - centre).max(1) for centre in ([10, 10], [25, 35], [20, 20])],
                  axis=0)
    assert near.max() <= 1  # a radius-1 dot lights its own pixel and its neighbours only


def test_sampling_panels_share_one_t_slider_and_each_frame_moves_every_panel() -> None:
    """sampling_figure: one panel per sampler; frame t shows every panel's cloud at
    that same t (and its x0_hat from that step), the slider names the frames' t."""
    import numpy as np

    from explainer.figures.sampling import Panel, sampling_figure

    rng = np.random.default_rng(1)
    times = np.arange(100, -1, -1)  # T = 100 down to 0 in 100 steps
    panels = [Panel(name, rng.normal(size=(101, 40, 2)).astype(np.float32),
                    rng.normal(size=(100, 40, 2)).astype(np.float32))
              for name in ("A", "B", "C")]
    fig = sampling_figure(panels, times, "title", rng.normal(size=(50, 2)), show_x0_hat=True,
                          centre=np.zeros(2), max_frames=34)
    frames = fig.frames
    assert len(frames) == 34 and frames[0].name == "100" and frames[-1].name == "0"
    assert [s.label for s in fig.layout.sliders[0].steps] == [f.name for f in frames]
    stars = [d for d in fig.data if d.name == "average of the data"]
    assert [(d.xaxis, d.yaxis) for d in stars] == [("x", "y"), ("x2", "y2"), ("x3", "y3")]
    for frame in frames:
        k = 100 - int(frame.name)  # the step this frame shows
        assert list(frame.traces) == list(range(len(frame.data)))  # the moving traces first
        for i, panel in enumerate(panels):
            axis = "x" if i == 0 else f"x{i + 1}"
            samples, trails, x0_hat = (d for d in frame.data if d.xaxis == axis)
            assert np.array_equal(np.stack([samples.x, samples.y], 1), panel.xs[k])
            assert np.array_equal(np.stack([x0_hat.x, x0_hat.y], 1),
                                  panel.x0_hats[min(k, 99)])
            # trails: the first particles' paths from t = T up to this frame's t
            assert np.array_equal(trails.x[: k + 1], panel.xs[: k + 1, 0, 0])
    # In the initial view every trace is the last frame's (t = 0).
    assert all(np.array_equal(a.x, b.x, equal_nan=True)
               for a, b in zip(fig.data, frames[-1].data, strict=False))
    stack = fig.layout.meta["stack"]
    assert fig.layout.grid.columns == 3 and fig.layout.grid.rows == 1
    assert stack["below"] > 390 and stack["height"] > fig.layout.height  # a phone stacks them


def test_field_panels_draw_each_field_on_its_own_axes() -> None:
    """field_panels_figure: panel i's arrows point along its own v and sit on
    axes x{i}/y{i}; its data image (if any) too; a 2-column grid that stacks on a phone."""
    import apptest_helpers as ui
    import numpy as np

    from explainer.figures.guidance import FieldPanel, field_panels_figure

    rng = np.random.default_rng(2)
    xy = rng.uniform(-1, 1, size=(25, 2)).astype(np.float32)
    panels = [FieldPanel(f"f{i}", f"Field {i}", xy, rng.normal(size=(25, 2)),
                         None if i == 1 else rng.normal(size=(30, 2))) for i in range(3)]
    fig = field_panels_figure(panels, "t = 5", spacing=0.2)
    sent = set_layout(fig).to_plotly_json()  # as a dict, like the browser gets it
    for i, panel in enumerate(panels):
        tails, directions = ui.arrows(sent, panel.name)
        unit = panel.v / np.linalg.norm(panel.v, axis=1, keepdims=True)
        assert np.allclose(tails, xy, atol=1e-4)  # the path keeps 4 decimals
        assert np.allclose(directions, unit, atol=2e-3)
        axes = ("x", "y") if i == 0 else (f"x{i + 1}", f"y{i + 1}")
        assert {(s["xref"], s["yref"]) for s in sent["layout"]["shapes"]
                if s["name"].startswith(panel.name)} == {axes}
    assert [(im["xref"], im["yref"]) for im in sent["layout"]["images"]] == [
        ("x", "y"), ("x3", "y3")]  # panel 1 has no data
    assert (sent["layout"]["grid"]["rows"], sent["layout"]["grid"]["columns"]) == (2, 2)
    assert sent["layout"]["meta"]["stack"]["height"] > sent["layout"]["height"] / 2


def test_walks_are_drawn_through_at_most_a_thousand_steps_ending_where_they_are() -> None:
    """A path over the walk's 65,536 steps is drawn through 1,001 of them (the JSON of ten
    whole walks was ~4 MB); short paths through every step; always from x0 to x_t."""
    np.testing.assert_array_equal(random_walks.drawn_steps(30), np.arange(31))
    long = random_walks.drawn_steps(65536)
    assert len(long) == 1001 and long[0] == 0 and long[-1] == 65536
    assert (np.diff(long) > 0).all()
    rng = np.random.default_rng(0)
    paths = np.cumsum(rng.standard_normal((16385, 3, 2)), axis=0).astype(np.float32)
    data = rng.standard_normal((50, 2)).astype(np.float32)
    for t in (7, 16384):
        fig = random_walks.walks_figure(paths, t, data, extent=200.0)
        lines = [d for d in fig.data if d.mode == "lines"]
        assert len(lines) == 3
        for i, line in enumerate(lines):
            xy = np.column_stack([line.x, line.y])
            assert len(xy) == min(t, 1000) + 1
            np.testing.assert_array_equal(xy[0], paths[0, i])
            np.testing.assert_array_equal(xy[-1], paths[t, i])


def test_play_lasts_seconds_whatever_the_number_of_steps() -> None:
    """Play paces its frames so a run of few steps is not over in a blink (60 ms a frame
    finished 10 steps in 0.6 s) and a long one does not drag."""
    from explainer.figures.animation import FRAME_MS
    from explainer.figures.sampling import Panel, sampling_figure

    rng = np.random.default_rng(0)
    plays = {}
    for steps in (1, 10, 200):
        xs = rng.normal(size=(steps + 1, 50, 2)).astype(np.float32)
        fig = sampling_figure([Panel("DDPM", xs, xs[:-1])], np.arange(steps, -1, -1), "t",
                              xs[-1]).to_dict()
        play = fig["layout"]["updatemenus"][0]["buttons"][0]
        assert play["label"] == "▶ Play"
        per_frame = play["args"][1]["frame"]["duration"]
        assert FRAME_MS[0] <= per_frame <= FRAME_MS[1]
        plays[steps] = per_frame * (len(fig["frames"]) - 1) / 1000
    assert plays[1] >= 0.5  # one jump, shown slowly enough to see it
    assert 2.0 <= plays[10] <= 4.0 and 2.0 <= plays[200] <= 4.0, plays


def test_the_loss_axis_labels_its_log_ticks_with_their_values() -> None:
    """Plotly's own log ticks label 0.3 as "3"; every label must read as its tick's value."""
    from explainer.figures.train import loss_figure

    steps = np.arange(1, 401)
    losses = 1.3 * np.exp(-steps / 80) + 0.25
    axis = loss_figure(steps, losses, losses).to_dict()["layout"]["yaxis"]
    assert axis["type"] == "log" and axis["tickmode"] == "array"
    values, labels = axis["tickvals"], axis["ticktext"]
    assert "0.3" in labels and "3" not in labels
    for value, label in zip(values, labels, strict=True):
        assert float(label) == pytest.approx(value)
    inside = [v for v in values if 0.25 <= v <= 1.55]
    assert len(inside) >= 4  # enough ticks to read the curve off
    wide = loss_figure(steps, np.geomspace(2.0, 0.002, 400), np.geomspace(2.0, 0.002, 400))
    for value, label in zip(wide.layout.yaxis.tickvals, wide.layout.yaxis.ticktext,
                            strict=True):
        assert float(label) == pytest.approx(value)
