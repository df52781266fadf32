"""Figures of the home page: data -> noise -> new data as one animation."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from explainer.figures.animation import animation_controls
from explainer.figures.layout import controls_below
from explainer.figures.primitives import CLOUD_RGB, data_image, f32, plane_layout, set_layout


def round_trip_figure(forward: np.ndarray, forward_times: np.ndarray, reverse: np.ndarray,
                      reverse_times: np.ndarray, data: np.ndarray, extent: float,
                      frame_ms: int = 90) -> go.Figure:
    """The whole story as one animation over the training data (an image): points noised
    step by step (`forward`, (k, n, 2) at forward_times, 0 up to T), then new points made
    from fresh noise (`reverse`, (m, n, 2) at reverse_times, T down to 0). One points
    trace changes per frame; the slider under it says which way and at which t."""
    states = [(f32(x), CLOUD_RGB, f"adding noise: t = {int(t)}")
              for x, t in zip(forward, forward_times, strict=True)]
    states += [(f32(x), (213, 94, 0), f"removing noise: t = {int(t)}")
               for x, t in zip(reverse, reverse_times, strict=True)]

    def points(k: int) -> go.Scatter:
        x, rgb, _ = states[k]
        return go.Scatter(x=x[:, 0], y=x[:, 1], mode="markers", name="points",
                          hoverinfo="skip", marker=dict(size=4, color=f"rgb{rgb}",
                                                        opacity=0.7))

    fig = go.Figure([points(0)])
    fig.frames = [go.Frame(data=[points(k)], traces=[0], name=str(k))
                  for k in range(len(states))]
    frames = np.arange(len(states))
    animation_controls(fig, frames, frames)
    slider = fig.layout.sliders[0].to_plotly_json()
    for step, (_, _, label) in zip(slider["steps"], states, strict=True):
        step["label"] = label
    menu = fig.layout.updatemenus[0].to_plotly_json()
    menu["buttons"][0]["args"][1]["frame"]["duration"] = frame_ms
    plane_layout(fig, "Data → noise → new data", extent=extent, height=430)
    controls_below(set_layout(fig, sliders=[slider], updatemenus=[menu], showlegend=False,
                               margin=dict(b=130), images=[data_image(data, extent)]))
    # The labels are long: shown once, as the current value, not under every tick.
    fig.layout.sliders[0].update(active=0, font=dict(color="rgba(0,0,0,0)"),
                                 currentvalue=dict(prefix="", font=dict(size=13,
                                                                        color="#808080")))
    return fig
