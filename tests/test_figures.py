"""Figure helpers that the pages lean on for speed."""

import plotly.graph_objects as go

from explainer.figures import set_layout


def test_set_layout_merges_nested_keys_and_keeps_the_template() -> None:
    fig = go.Figure(layout=dict(height=300, xaxis=dict(range=[0, 1], zeroline=False)))
    set_layout(fig, xaxis=dict(range=[-2, 2]), title=dict(text="T"))
    assert fig.layout.height == 300 and fig.layout.title.text == "T"
    assert tuple(fig.layout.xaxis.range) == (-2, 2) and fig.layout.xaxis.zeroline is False
    assert fig.layout.template.layout.colorway  # Plotly's default template is still there
