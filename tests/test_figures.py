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
    from plotly.tools import return_figure_from_figure_or_data

    from explainer.figures import animation_figure
    from pages.shared import SentFigure

    rng = np.random.default_rng(0)
    xs = rng.normal(size=(11, 300, 2)).astype(np.float32)
    fig = animation_figure(xs, np.arange(10, -1, -1), "title", xs[-1])

    def sent(f: go.Figure) -> dict:  # what st.plotly_chart does with a figure
        return json.loads(pio.to_json(return_figure_from_figure_or_data(f, True), validate=False))

    frozen = sent(SentFigure(fig))
    assert frozen == sent(fig)
    assert len(frozen["frames"]) == 11 and frozen["data"][1]["x"]["bdata"]
