"""Figures of page 2 (vector field): one field or two compared arrow by arrow, the angle
between them, and when a sample's prediction settles."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from explainer.fields import VIEW_EXTENT
from explainer.figures.primitives import (
    PALETTE,
    arrow_layer,
    data_image,
    f32,
    legend_entry,
    plane_layout,
    set_layout,
    time_axis,
    vertical_line,
)


def field_figure(xy: np.ndarray, v: np.ndarray, data: np.ndarray | None, title: str,
                 spacing: float, colour: str | None = None,
                 overlay: tuple[np.ndarray, str, str] | None = None, name: str = "field",
                 magnitude_range: tuple[float, float] | None = None) -> go.Figure:
    """A vector field over the data cloud; `overlay` = (v2, name, colour) draws a second
    field on the same grid in a fixed colour, for comparing two fields arrow by arrow."""
    shapes, traces = arrow_layer(xy, v, name, spacing, colour,
                                 magnitude_range=magnitude_range)
    if overlay is not None:
        v2, overlay_name, c2 = overlay
        overlay_shapes, overlay_legend = arrow_layer(xy, v2, overlay_name, spacing, c2,
                                                     showscale=False)
        shapes, traces = shapes + overlay_shapes, traces + overlay_legend
    return _over_data(traces, shapes, data, title)


def _over_data(traces: list, shapes: list[dict], data: np.ndarray | None, title: str,
               radius: float = 2.4, layer: str = "below") -> go.Figure:
    """A plane figure with the training data (if any) as an image, under everything (or
    `layer="above"` the traces)."""
    images = []
    if data is not None:
        traces = [legend_entry("training data"), *traces]
        images = [data_image(data, radius=radius, layer=layer)]
    return set_layout(plane_layout(go.Figure(traces), title), shapes=shapes, images=images)


def heatmap_figure(values: np.ndarray, size: int, title: str, colorbar_title: str,
                   data: np.ndarray | None = None, zmin: float = 0.0,
                   zmax: float | None = None, colorscale: str | list = "Magma") -> go.Figure:
    """A scalar over the view grid (row-major y then x, as fields.grid makes it)."""
    axis = np.linspace(-VIEW_EXTENT, VIEW_EXTENT, size, dtype=np.float32)
    heatmap = go.Heatmap(x=axis, y=axis, z=f32(values.reshape(size, size)),
                         colorscale=colorscale, zmin=zmin, zmax=zmax,
                         colorbar=dict(title=dict(text=colorbar_title), thickness=10))
    return _over_data([heatmap], [], data, title, radius=1.6, layer="above")  # over the map


def angle_error_figure(degrees: np.ndarray, size: int, title: str,
                       data: np.ndarray | None = None, zmax: float = 90.0) -> go.Figure:
    """Per-arrow angle (degrees) between two fields on the view grid. Agreement is
    transparent and disagreement opaque vermillion, so only the errors stand out on light
    and dark themes (Magma's near-black 0 is repainted by Streamlit's frontend)."""
    return heatmap_figure(degrees, size, title, "degrees", data, zmin=0.0, zmax=zmax,
                          colorscale=[[0.0, "rgba(213, 94, 0, 0)"],
                                      [1.0, "rgba(213, 94, 0, 1)"]])


def comparison_field_figure(xy: np.ndarray, v_top: np.ndarray, v_under: np.ndarray,
                            data: np.ndarray | None, title: str, spacing: float,
                            names: tuple[str, str] = ("learned", "ideal (exact)"),
                            under_colour: str = PALETTE[5]) -> go.Figure:
    """Two fields on one grid: `v_under` first, in one colour with wider shafts, then
    `v_top` over it, coloured by magnitude. Where the two agree the top arrow hides the
    other, so `under_colour` shows exactly where (and how) they differ."""
    under, under_legend = arrow_layer(xy, v_under, names[1], spacing, under_colour,
                                      showscale=False, shaft_width=3)
    top, top_legend = arrow_layer(xy, v_top, names[0], spacing)
    return _over_data(under_legend + top_legend, under + top, data, title)


def with_marked_points(fig: go.Figure, xy: np.ndarray, name: str) -> go.Figure:
    """`fig` with open rings at the points xy (e.g. the grid points a sentence talks
    about), in the legend as `name`."""
    p = f32(xy)
    fig.add_trace(go.Scatter(x=p[:, 0], y=p[:, 1], mode="markers", name=name,
                             hoverinfo="skip",
                             marker=dict(size=11, symbol="circle-open", color=PALETTE[6],
                                         opacity=0.8, line=dict(width=1))))
    return fig


def commitment_figure(times: np.ndarray, curves: dict[str, np.ndarray], chance: float,
                      t: int | None, T: int) -> go.Figure:
    """Shares of samples (0..1) against the time their prediction was made at (a log t
    axis: the shares change at small t, for DDPM's 200 steps too), with the chance level
    dotted and, if t is given, a dotted line at t."""
    colours = (PALETTE[4], PALETTE[5])
    fig = go.Figure([go.Scatter(x=f32(times), y=f32(curve), mode="lines+markers", name=name,
                                marker=dict(size=4), line=dict(color=colours[i % 2]))
                     for i, (name, curve) in enumerate(curves.items())])
    fig.add_trace(go.Scatter(x=[1, T], y=[chance, chance], mode="lines",
                             name=f"chance (1 in {round(1 / chance)})", hoverinfo="skip",
                             line=dict(color="gray", dash="dot", width=1)))
    return set_layout(fig, shapes=[] if t is None else [vertical_line(t)],
                      title=dict(text="When a sample's prediction x̂₀ settles", x=0.02,
                                 font=dict(size=15)),
                      height=380, margin=dict(l=10, r=10, t=40, b=80),
                      xaxis=time_axis(T, log_t=True),
                      yaxis=dict(title=dict(text="share of samples"), range=[0, 1.02],
                                 tickformat=".0%"),
                      legend=dict(orientation="h", yref="container", yanchor="bottom", y=0,
                                  x=0))
