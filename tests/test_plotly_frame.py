"""The chart component's payload (pages/plotly_frame.py pack/unpack): lossless, and a
fraction of the JSON text it replaces."""

from __future__ import annotations

import base64
import json

import numpy as np
import plotly.graph_objects as go
import plotly.io as pio

from explainer.figures.sampling import Panel, sampling_figure
from pages.plotly_frame import SentFigure, pack, unpack


def as_sent_json(fig: go.Figure) -> dict:
    """The figure as Plotly's JSON without the template, as the chart used to get it."""
    spec = fig.to_dict()
    spec["layout"].pop("template", None)
    return json.loads(pio.json.to_json_plotly(spec))


def test_pack_keeps_every_array_frame_shape_and_nan() -> None:
    z = np.arange(12, dtype=np.float32).reshape(3, 4)
    x = np.array([0.5, np.nan, -2.25], dtype=np.float32)
    fig = go.Figure([go.Heatmap(z=z), go.Scatter(x=x, y=x * 2, name="pts")])
    fig.frames = [go.Frame(data=[go.Scatter(x=x + k, y=x)], traces=[1], name=str(k))
                  for k in range(3)]
    spec = as_sent_json(fig)
    assert spec["data"][0]["z"]["shape"]  # a 2-D typed array is among them
    sent = unpack(pack(json.loads(json.dumps(spec))))
    assert sent == spec
    y = np.frombuffer(base64.b64decode(sent["frames"][2]["data"][0]["x"]["bdata"]),
                      dtype=np.float32)
    np.testing.assert_array_equal(y, x + 2)  # NaN stays NaN, values bit for bit


def test_an_animation_is_sent_in_under_half_the_bytes_of_its_json() -> None:
    rng = np.random.default_rng(0)
    xs = np.cumsum(rng.normal(scale=0.1, size=(101, 500, 2)), axis=0).astype(np.float32)
    fig = sampling_figure([Panel("a", xs, xs[:-1]), Panel("b", xs, xs[:-1])],
                          np.arange(100, -1, -1), "title", xs[-1])
    text = pio.json.to_json_plotly(as_sent_json(fig))
    sent = SentFigure.of(fig)
    assert sent.figure() == json.loads(text)
    # Raw bytes instead of base64 (3/4), deflated, the trails' repeats found across frames.
    assert len(sent.payload) < 0.45 * len(text), (len(sent.payload), len(text))
