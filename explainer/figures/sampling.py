"""Figures of page 3 (sampling): the samplers side by side under one t slider."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import plotly.graph_objects as go

from explainer.fields import VIEW_EXTENT
from explainer.figures.animation import animation_controls, frame_indices, moving_traces
from explainer.figures.layout import CONTROLS_HEIGHT, controls_below, panel_axes, panels_layout
from explainer.figures.primitives import (
    ARROW_COLOUR,
    PALETTE,
    data_image,
    f32,
    points_trace,
    set_layout,
)


@dataclass(frozen=True)
class Panel:
    """One sampler's run for sampling_figure: its states (steps + 1, n, 2) from t = T to
    0 and its predictions x0_hat at each step but the last."""
    title: str
    xs: np.ndarray
    x0_hats: np.ndarray


# At most this many frames per animation: payload and drawing time scale with
# frames x points. See docs/ARCHITECTURE.md, "Figures without WebGL".
SAMPLING_FRAMES = 34


def sampling_figure(panels: Sequence[Panel], times: np.ndarray, title: str, data: np.ndarray,
                    show_x0_hat: bool = False, centre: np.ndarray | None = None,
                    n_trails: int = 6, max_frames: int = SAMPLING_FRAMES) -> go.Figure:
    """Several samplers' reverse processes side by side, one panel each, under ONE t
    slider and play button: the panels always show the same t, and the browser draws one
    chart instead of one per sampler (docs/ARCHITECTURE.md, "Figures without WebGL").

    Each panel: the samples, the trails of a few of them, optionally the model's
    prediction x0_hat (where each sample is heading), and a star at `centre` (the data's
    average, where samples collapse when the injected noise is left out), over the
    training data as an image (data_image; the same for every step count). The panels
    sit in one row, stacked on a phone (panels_layout)."""
    keep = frame_indices(len(times), max_frames)
    extent = max(VIEW_EXTENT, *(1.05 * float(np.abs(p.xs[-1]).max()) for p in panels))
    axes = panel_axes(len(panels))
    trails = [f32(panel.xs[:, :n_trails]) for panel in panels]

    def frame_data(k: int) -> list[go.Scattergl | go.Scatter]:
        traces = []
        for panel, panel_trails, ax in zip(panels, trails, axes, strict=True):
            traces += moving_traces(panel.xs, panel_trails, k, ARROW_COLOUR, ax)
            if show_x0_hat:  # no prediction is made at t = 0: keep the last one
                x0_hat = panel.x0_hats[min(k, len(panel.x0_hats) - 1)]
                traces.append(points_trace(x0_hat, "x0_hat (prediction)", PALETTE[2],
                                           size=3, opacity=0.5).update(**ax))
        return traces

    moving = frame_data(keep[-1])
    fig = go.Figure(data=moving)
    if centre is not None:
        for ax in axes:
            fig.add_trace(go.Scatter(x=[float(centre[0])], y=[float(centre[1])],
                                     mode="markers", name="average of the data",
                                     hoverinfo="name", **ax,
                                     marker=dict(symbol="star", size=15, color=PALETTE[3],
                                                 line=dict(width=1, color="black"))))
    fig.frames = [go.Frame(data=frame_data(k), traces=list(range(len(moving))),
                           name=str(int(times[k]))) for k in keep]
    animation_controls(fig, times, keep)
    image = data_image(data)
    set_layout(fig, title=dict(text=title, x=0.02, font=dict(size=15)), **panels_layout(
        [p.title for p in panels], [image] * len(panels), extent, columns=len(panels),
        height=(300 if len(panels) > 1 else 420) + CONTROLS_HEIGHT,
        stacked_height=360 * len(panels) + CONTROLS_HEIGHT,
        # The t slider's 158 px are in the fixed margin, so a new figure never changes it
        # (Plotly would draw that figure twice).
        margin=dict(l=30, r=10, t=70, b=160)))
    return controls_below(fig)
