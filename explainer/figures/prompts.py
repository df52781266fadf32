"""Plotly figures of the text-prompt page: arrays in, go.Figure out (no model calls)."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from explainer.fields import VIEW_EXTENT
from explainer.figures.primitives import (
    PALETTE,
    data_trace,
    plane_layout,
    points_trace,
    set_layout,
)
from explainer.figures.vector_field import heatmap_figure

REGION_COLOUR = "rgba(0, 158, 115, 0.35)"  # the prompt's training points (PALETTE[2], faint)
NEGATIVE_COLOUR = "rgba(204, 121, 167, 0.35)"  # the negative prompt's (PALETTE[6], faint)


def centre_lines(centre: tuple[float, float]) -> list[dict]:
    """The vertical and horizontal lines through the data's centre: the position words'
    half-planes end there."""
    cx, cy = centre
    style = dict(type="line", xref="x", yref="y", layer="above",
                 line=dict(color="rgba(128, 128, 128, 0.9)", width=1, dash="dot"))
    return [dict(style, x0=cx, x1=cx, y0=-VIEW_EXTENT, y1=VIEW_EXTENT),
            dict(style, x0=-VIEW_EXTENT, x1=VIEW_EXTENT, y0=cy, y1=cy)]


def similarity_figure(values: np.ndarray, size: int, title: str, data: np.ndarray,
                      centre: tuple[float, float]) -> go.Figure:
    """cos(text embedding, point embedding) over the view grid, the data on top."""
    fig = heatmap_figure(values, size, title, "cosine", data, zmin=-1.0, zmax=1.0,
                         colorscale="RdBu_r")
    return set_layout(fig, shapes=centre_lines(centre))


def prompt_samples_figure(samples: np.ndarray, hits: np.ndarray, data: np.ndarray,
                          in_region: np.ndarray, in_negative: np.ndarray | None, title: str,
                          centre: tuple[float, float]) -> go.Figure:
    """Final samples over the training data: the data in the prompt's region (and in the
    negative prompt's) tinted; samples that landed in the region and on the data in green,
    the others in orange."""
    others = ~in_region if in_negative is None else ~in_region & ~in_negative
    traces = [data_trace(data[others])]
    traces.append(points_trace(data[in_region], "data in the prompt's region",
                               REGION_COLOUR, size=4, opacity=1.0))
    if in_negative is not None:
        traces.append(points_trace(data[in_negative & ~in_region],
                                   "data in the negative prompt's region", NEGATIVE_COLOUR,
                                   size=4, opacity=1.0))
    traces.append(points_trace(samples[hits], "samples in the region, on the data",
                               PALETTE[2], size=5, opacity=0.9))
    traces.append(points_trace(samples[~hits], "other samples", PALETTE[5], size=5,
                               opacity=0.9))
    fig = plane_layout(go.Figure(traces), title)
    return set_layout(fig, shapes=centre_lines(centre))
