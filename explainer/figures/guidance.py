"""Figures of page 4 (guidance): the four fields as panels, a guided sampling run, and
curves over w."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import plotly.graph_objects as go

from explainer.fields import VIEW_EXTENT
from explainer.figures.animation import animation_figure
from explainer.figures.layout import narrow_friendly, panel_axes, panels_layout
from explainer.figures.primitives import (
    PALETTE,
    arrow_layer,
    data_image,
    data_trace,
    f32,
    legend_entry,
    points_trace,
    set_layout,
    vertical_line,
)


@dataclass(frozen=True)
class FieldPanel:
    """One field for field_panels_figure: arrows v at grid points xy over `data` (None:
    no data drawn), its shafts named `name` (a layout shape: tests read them back)."""
    name: str
    title: str
    xy: np.ndarray
    v: np.ndarray
    data: np.ndarray | None


def field_panels_figure(panels: Sequence[FieldPanel], title: str, spacing: float,
                        columns: int = 2, panel_height: int = 380) -> go.Figure:
    """Several vector fields on one chart, a panel each (stacked on a phone, see
    panels_layout): one chart draws faster than one per field (docs/ARCHITECTURE.md,
    "Figures without WebGL"). Arrow heads are coloured by |v| within each panel (the
    fields' lengths differ by an order of magnitude, e.g. a difference of two fields); no
    colour bars, as they could not follow the panels when they restack."""
    axes = panel_axes(len(panels))
    shapes: list[dict] = []
    for panel, ax in zip(panels, axes, strict=True):
        shapes += arrow_layer(panel.xy, panel.v, panel.name, spacing, showscale=False,
                              axes=(ax["xaxis"], ax["yaxis"]))[0]
    # One point-less trace per panel: Plotly draws a panel's axes only if a trace uses them.
    fig = go.Figure([legend_entry(panel.name).update(**ax)
                     for panel, ax in zip(panels, axes, strict=True)])
    rows = -(-len(panels) // columns)
    images = [None if p.data is None else data_image(p.data) for p in panels]
    return set_layout(fig, title=dict(text=title, x=0.02, font=dict(size=15)), shapes=shapes,
                      **panels_layout([p.title for p in panels], images, VIEW_EXTENT,
                                       columns, height=rows * panel_height + 100,
                                       stacked_height=len(panels) * 360 + 100,
                                       margin=dict(l=30, r=10, t=80, b=30)))


def guided_animation_figure(xs: np.ndarray, times: np.ndarray, title: str, data: np.ndarray,
                            labels: np.ndarray, label: int,
                            negative: int | None = None) -> go.Figure:
    """animation_figure for guided sampling, over the training data coloured by role:
    the asked class green, the negative class (if any) pink, the other classes grey."""
    fig = narrow_friendly(animation_figure(xs, times, title, data[labels == label],
                                            n_trails=8))
    fig.data[0].update(name="asked class", marker=dict(color=PALETTE[2], opacity=0.3))
    others = (labels != label) & (labels != (-1 if negative is None else negative))
    fig.add_trace(data_trace(data[others], "other classes"))
    if negative is not None:
        fig.add_trace(points_trace(data[labels == negative], "negative class", PALETTE[6],
                                   size=3, opacity=0.3))
    # Draw the data under the samples: move the added traces first, re-aim the frames.
    n_extra = len(fig.data) - 3
    fig.data = (*fig.data[3:], *fig.data[:3])
    for frame in fig.frames:
        frame.traces = [n_extra + 1, n_extra + 2]
    return fig


def curve_figure(x: np.ndarray, curves: dict[str, np.ndarray], title: str, x_title: str,
                 y_title: str, mark_x: float | None = None,
                 y_range: tuple[float, float] | None = None, height: int = 300) -> go.Figure:
    """A few lines over one x axis (e.g. share in class vs w), with a dotted line at the
    slider's current value."""
    colours = (PALETTE[4], PALETTE[5], PALETTE[2], PALETTE[6])
    fig = go.Figure([go.Scatter(x=f32(x), y=f32(y), mode="lines+markers", name=name,
                                line=dict(color=colours[i % len(colours)]))
                     for i, (name, y) in enumerate(curves.items())])
    y_axis: dict = dict(title=dict(text=y_title))
    if y_range is not None:
        y_axis["range"] = list(y_range)
    return set_layout(fig, shapes=[] if mark_x is None else [vertical_line(mark_x)],
                      title=dict(text=title, x=0.02, font=dict(size=15)), height=height,
                      margin=dict(l=10, r=10, t=40, b=10), xaxis=dict(title=dict(text=x_title)),
                      yaxis=y_axis, legend=dict(orientation="h", y=-0.3))
