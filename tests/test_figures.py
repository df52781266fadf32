"""Figure helpers that the pages lean on for speed."""

import plotly.graph_objects as go

from explainer.figures import set_layout


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

    from explainer.figures import animation_figure
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

    from explainer.figures import MAGNITUDE_BINS, arrow_traces, magnitude_colours

    xy = np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0]], dtype=np.float32)
    v = np.array([[0.5, 0.0], [0.0, 2.0], [-7.9, 0.0]], dtype=np.float32)  # |v| 0.5, 2, 7.9
    traces = arrow_traces(xy, v, "field", spacing=1.0, magnitude_range=(0.0, 8.0))
    shaft, heads = traces[0], traces[1:1 + MAGNITUDE_BINS]
    assert shaft.name == "field" and len(traces) == MAGNITUDE_BINS + 2  # + the colour bar
    tips = np.stack([shaft.x[1::3], shaft.y[1::3]], axis=1)
    assert np.allclose(tips, xy + 0.8 * v / np.linalg.norm(v, axis=1, keepdims=True))
    colours = magnitude_colours()
    # |v| = 0.5 -> band 0, 2 -> band 2, 7.9 -> band 7 of 8 over [0, 8].
    for band, tip in ((0, tips[0]), (2, tips[1]), (7, tips[2])):
        head = heads[band]
        assert head.line.color == colours[band]
        assert np.allclose([head.x[1], head.y[1]], tip)  # the chevron's middle point
    assert sum(len(h.x) for h in heads) == 3 * 4  # 3 chevrons of 3 points + NaN each
    fixed = arrow_traces(xy, v, "ideal", spacing=1.0, colour="#D55E00")
    assert len(fixed) == 2 and fixed[1].line.color == "#D55E00"
