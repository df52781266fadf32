"""Plotly figures of pictures: arrays in, go.Figure out (the pictures page).

A grid of pictures is one Heatmap of a mosaic (the pictures side by side with NaN gaps),
not one trace per picture: a 3 x 7 grid of 32 x 32 pictures is one ~100 kB trace that
builds in a few ms. Every picture uses one fixed grey scale (GREY_RANGE), so contrast
can be compared across the grid: a low-contrast picture looks low in contrast.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import plotly.graph_objects as go

from explainer.figures.primitives import DATA_COLOUR, PALETTE, f32, set_layout

GREY_RANGE = 1.75  # pixel value -1.75 is black, +1.75 white
GAP = 2  # pixels of gap between pictures in a grid (a fraction of one picture's pixels)
SAMPLER_COLOURS = {"ddpm": PALETTE[4], "no_noise": PALETTE[5], "ddim": PALETTE[2]}
# DDPM's and DDIM's spectra lie on top of each other: different markers and dashes keep
# both visible.
SAMPLER_STYLES = {"ddpm": ("solid", "circle"), "no_noise": ("solid", "square"),
                  "ddim": ("dash", "diamond-open")}
HOVER = "pixel value %{z:.2f}<extra></extra>"


def mosaic(images: np.ndarray, gap: int = GAP) -> np.ndarray:
    """(rows, cols, S, S) pictures -> one (rows (S + gap) - gap, ...) array, NaN between."""
    rows, cols, S, _ = images.shape
    step = S + gap
    out = np.full((rows * step - gap, cols * step - gap), np.nan, dtype=np.float32)
    for r in range(rows):
        for c in range(cols):
            out[r * step:r * step + S, c * step:c * step + S] = images[r, c]
    return out


def _centres(count: int, size: int, gap: int) -> list[float]:
    return [k * (size + gap) + (size - 1) / 2 for k in range(count)]


def _grey_heatmap(z: np.ndarray, **kwargs: object) -> go.Heatmap:
    return go.Heatmap(z=f32(z), colorscale="gray", zmin=-GREY_RANGE, zmax=GREY_RANGE,
                      hovertemplate=HOVER, hoverongaps=False, **kwargs)


def _colorbar(show: bool) -> dict:
    return dict(showscale=show, colorbar=dict(title=dict(text="pixel"), thickness=10,
                                              len=0.9, tickvals=[-1.5, -1, -0.5, 0, 0.5, 1, 1.5]))


def picture_grid(images: np.ndarray, row_titles: Sequence[str], col_titles: Sequence[str],
                 title: str = "", cell_px: int = 96, colorbar: bool = True) -> go.Figure:
    """A rows x cols grid of pictures ((rows, cols, S, S), row 0 of a picture at its top),
    titled by its columns (above) and rows (left)."""
    rows, cols, S, _ = images.shape
    gap = max(1, S // 16)
    fig = go.Figure(_grey_heatmap(mosaic(images, gap), **_colorbar(colorbar)))
    top = 40 if title else 10
    return set_layout(
        fig, title=dict(text=title, x=0.02, font=dict(size=15)),
        height=rows * cell_px + top + 40, margin=dict(l=10, r=10, t=top + 30, b=10),
        xaxis=dict(side="top", tickvals=_centres(cols, S, gap), ticktext=list(col_titles),
                   showgrid=False, zeroline=False, constrain="domain", ticks=""),
        yaxis=dict(autorange="reversed", tickvals=_centres(rows, S, gap),
                   ticktext=list(row_titles), showgrid=False, zeroline=False,
                   scaleanchor="x", constrain="domain", ticks=""))


def numbered_picture(image: np.ndarray, title: str, height: int = 340) -> go.Figure:
    """One small picture with each pixel's value written on it."""
    fig = go.Figure(_grey_heatmap(image, texttemplate="%{z:.1f}", textfont=dict(size=10),
                                  showscale=False))
    S = image.shape[0]
    axis = dict(showgrid=False, zeroline=False, showticklabels=False, ticks="")
    return set_layout(fig, title=dict(text=title, x=0.02, font=dict(size=15)), height=height,
                      margin=dict(l=10, r=10, t=40, b=10),
                      xaxis=dict(axis, range=[-0.5, S - 0.5], constrain="domain"),
                      yaxis=dict(axis, autorange="reversed", scaleanchor="x",
                                 constrain="domain"))


def two_pixel_figure(cloud: np.ndarray, picked: np.ndarray, names: Sequence[str],
                     height: int = 380) -> go.Figure:
    """Left: each picked point as a picture of two pixels (its x and y as grey levels,
    the values written on them). Right: the cloud with the picked points marked."""
    n = len(picked)
    tiles = go.Heatmap(z=f32(picked), x=["pixel 1 = x", "pixel 2 = y"], y=list(names),
                       colorscale="gray", zmin=-GREY_RANGE, zmax=GREY_RANGE,
                       texttemplate="%{z:.2f}", textfont=dict(size=14), xgap=3, ygap=6,
                       showscale=False, hovertemplate="%{y}, %{x}: %{z:.2f}<extra></extra>")
    colours = [PALETTE[k % len(PALETTE)] for k in range(n)]
    traces = [
        tiles,
        go.Scattergl(x=f32(cloud[:, 0]), y=f32(cloud[:, 1]), mode="markers", xaxis="x2",
                     yaxis="y2", name="the 2D data", hoverinfo="skip",
                     marker=dict(size=3, color=DATA_COLOUR)),
        go.Scatter(x=f32(picked[:, 0]), y=f32(picked[:, 1]), mode="markers+text",
                   xaxis="x2", yaxis="y2", text=list(names), textposition="top right",
                   textfont=dict(size=15), name="the pictures on the left",
                   marker=dict(size=13, color=colours, line=dict(width=1.5, color="white")),
                   hovertemplate="(%{x:.2f}, %{y:.2f})<extra></extra>"),
    ]
    extent = float(np.abs(cloud).max()) * 1.1
    return set_layout(
        go.Figure(traces), height=height, showlegend=False,
        margin=dict(l=10, r=10, t=30, b=30),
        xaxis=dict(domain=[0, 0.32], side="top", showgrid=False, zeroline=False),
        yaxis=dict(autorange="reversed", showgrid=False, zeroline=False),
        xaxis2=dict(domain=[0.5, 1], anchor="y2", range=[-extent, extent],
                    title=dict(text="x = pixel 1"), constrain="domain"),
        yaxis2=dict(anchor="x2", range=[-extent, extent], scaleanchor="x2",
                    title=dict(text="y = pixel 2"), constrain="domain"))


@dataclass(frozen=True)
class Curve:
    """One line of a spectrum figure."""

    name: str
    power: np.ndarray  # (S/2,) power at f = 1..S/2
    colour: str
    dash: str = "solid"
    marker: str | None = None  # a Plotly marker symbol, or no markers


def spectrum_figure(curves: Sequence[Curve], title: str, decided: float | None = None,
                    y_range: tuple[float, float] | None = None, height: int = 380
                    ) -> go.Figure:
    """Radially averaged power spectra on log-log axes, with a dotted line at the
    frequency `decided` (where the signal's power equals the noise's)."""
    traces = []
    for curve in curves:
        f = np.arange(1, len(curve.power) + 1)
        traces.append(go.Scatter(
            x=f32(f), y=f32(np.maximum(curve.power, 1e-12)), name=curve.name,
            mode="lines" if curve.marker is None else "lines+markers",
            line=dict(color=curve.colour, dash=curve.dash, width=2),
            marker=dict(size=8, symbol=curve.marker or "circle"),
            hovertemplate="f = %{x}: %{y:.3g}<extra>" + curve.name + "</extra>"))
    shapes = []
    if decided is not None and np.isfinite(decided) and decided >= 1:
        shapes.append(dict(type="line", x0=decided, x1=decided, xref="x", y0=0, y1=1,
                           yref="y domain", line=dict(dash="dot", color="gray")))
    y_axis: dict = dict(type="log", title=dict(text="power"), exponentformat="power")
    if y_range is not None:
        y_axis["range"] = [np.log10(y_range[0]), np.log10(y_range[1])]
    top = max(len(curve.power) for curve in curves)
    octaves = [2**k for k in range(int(np.log2(top)) + 1)]
    return set_layout(
        go.Figure(traces), shapes=shapes, title=dict(text=title, x=0.02, font=dict(size=15)),
        height=height, margin=dict(l=10, r=10, t=40, b=10),
        xaxis=dict(type="log", title=dict(text="frequency f (cycles per picture)"),
                   range=[np.log10(0.9), np.log10(top * 1.1)], tickvals=octaves),
        yaxis=y_axis, legend=dict(orientation="h", yref="container", yanchor="bottom", y=0.0),
        uirevision="spectrum")
