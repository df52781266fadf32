"""The pieces every figure is made of: the palette and theme colours, float32 arrays,
fast layout updates, the equal-aspect plane view, point traces, arrows as layout shapes
(arrow_layer), point clouds as raster images (points_image, data_image) and time axes.

Pure Plotly: arrays in, figure parts out; no model calls. Conventions shared by every
figure: float32 arrays (Plotly sends them as compact typed arrays), fixed equal-aspect
axes over the same view, one palette that reads on light and dark backgrounds, arrows as
layout shapes over the training data as an image wherever a chart is redrawn for every t
(docs/ARCHITECTURE.md, "Figures without WebGL").
"""

from __future__ import annotations

import functools
from collections.abc import Sequence

import numpy as np
import plotly.colors
import plotly.graph_objects as go

from explainer.fields import VIEW_EXTENT
from explainer.raster import (  # noqa: F401 (figures import them here)
    ARROW_COLOUR,
    CLOUD_ALPHA,
    CLOUD_RGB,
    DATA_ALPHA,
    DATA_RGB,
    PALETTE,
    points_png,
)

PALETTE_NAMES = ("orange", "sky blue", "green", "yellow", "blue", "red", "pink", "grey")


DATA_COLOUR = f"rgba{(*DATA_RGB, DATA_ALPHA)}"


MAGNITUDE_SCALE = "Viridis"


def class_colour(k: int) -> str:
    return PALETTE[k % len(PALETTE)]


def class_colour_name(k: int) -> str:
    """class_colour(k) in words (for a control that names a drawn line by its colour)."""
    return PALETTE_NAMES[k % len(PALETTE_NAMES)]


def f32(a: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(a, dtype=np.float32)


def _merged(base: dict, changes: dict) -> dict:
    """base with changes written over it, nested dicts merged key by key."""
    out = dict(base)
    for key, value in changes.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            value = _merged(out[key], value)
        out[key] = value
    return out


def set_layout(fig: go.Figure, **changes: object) -> go.Figure:
    """fig.update_layout(**changes) in a fifth of the time, nested dicts only (no
    "xaxis_title" shorthands): the merged layout is validated once, not path by path.
    The default template is left out of the merge (Plotly restores it itself; writing
    it back would revalidate it). See docs/ARCHITECTURE.md, "Figures without WebGL"."""
    base = fig.layout.to_plotly_json()
    base.pop("template", None)
    fig.layout = _merged(base, changes)
    return fig


def vertical_line(x: float) -> dict:
    """A dotted line across the plot at x (what fig.add_vline draws, as a layout shape)."""
    return dict(type="line", x0=x, x1=x, xref="x", y0=0, y1=1, yref="y domain",
                line=dict(dash="dot", color="gray"))


def plane_layout(fig: go.Figure, title: str = "", extent: float = VIEW_EXTENT,
                 height: int = 460) -> go.Figure:
    """Equal-aspect axes over [-extent, extent]^2, a legend below, tight margins."""
    return set_layout(
        fig, title=dict(text=title, x=0.02, font=dict(size=15)), height=height,
        margin=dict(l=10, r=10, t=40 if title else 10, b=50),
        # Anchored to the bottom of the whole figure (not the plot area), so the legend
        # never covers the x-axis tick labels, whatever the figure's height.
        legend=dict(orientation="h", yref="container", yanchor="bottom", y=0.0, x=0),
        uirevision="plane",  # keep the user's zoom when only the data changes
        # Both axes constrained: in a narrow or tall chart the square view shrinks instead
        # of one axis stretching to show empty space.
        xaxis=dict(range=[-extent, extent], zeroline=False, constrain="domain"),
        yaxis=dict(range=[-extent, extent], zeroline=False, scaleanchor="x", scaleratio=1,
                   constrain="domain"),
    )


def data_trace(points: np.ndarray, name: str = "training data", size: int = 3) -> go.Scattergl:
    p = f32(points)
    return go.Scattergl(x=p[:, 0], y=p[:, 1], mode="markers", name=name, hoverinfo="skip",
                        marker=dict(size=size, color=DATA_COLOUR))


def class_traces(points: np.ndarray, labels: np.ndarray, class_names: Sequence[str],
                 size: int = 4, opacity: float = 0.8) -> list[go.Scattergl]:
    traces = []
    for k, name in enumerate(class_names):
        p = f32(points[labels == k])
        traces.append(go.Scattergl(x=p[:, 0], y=p[:, 1], mode="markers", name=name,
                                   marker=dict(size=size, color=class_colour(k),
                                               opacity=opacity)))
    return traces


def points_trace(points: np.ndarray, name: str, colour: str = ARROW_COLOUR,
                 size: int = 4, opacity: float = 0.7) -> go.Scattergl:
    p = f32(points)
    return go.Scattergl(x=p[:, 0], y=p[:, 1], mode="markers", name=name,
                        marker=dict(size=size, color=colour, opacity=opacity))


MAGNITUDE_BINS = 8  # arrow-head colours: |v| in 8 equal bands of the colour scale


def magnitude_colours(bins: int = MAGNITUDE_BINS) -> list[str]:
    """The colour of each band of |v|: the middle of its stretch of MAGNITUDE_SCALE."""
    return plotly.colors.sample_colorscale(MAGNITUDE_SCALE,
                                           [(k + 0.5) / bins for k in range(bins)])


def stepped_scale(colours: Sequence[str]) -> list[list]:
    """A colour scale of flat bands, so the colour bar shows exactly the heads' colours."""
    n = len(colours)
    return [[edge / n, c] for k, c in enumerate(colours) for edge in (k, k + 1)]


def _path(polylines: np.ndarray) -> str:
    """(n, k, 2) polylines as one SVG path in data coordinates ("M x,y L x,y ...")."""
    n, k, _ = polylines.shape
    template = "M{:.4f},{:.4f}" + "L{:.4f},{:.4f}" * (k - 1)
    return "".join(template.format(*row) for row in polylines.reshape(n, 2 * k).tolist())


def _path_shape(polylines: np.ndarray, colour: str, width: float, name: str,
                axes: tuple[str, str] = ("x", "y")) -> dict:
    return dict(type="path", path=_path(polylines), xref=axes[0], yref=axes[1],
                layer="above", line=dict(color=colour, width=width), name=name,
                legendgroup=name)


def arrow_layer(xy: np.ndarray, v: np.ndarray, name: str, spacing: float,
                colour: str | None = None, showscale: bool = True,
                magnitude_range: tuple[float, float] | None = None,
                shaft_width: float = 1.3,
                axes: tuple[str, str] = ("x", "y")) -> tuple[list[dict], list[go.Scatter]]:
    """Arrows of equal length (0.8 x grid spacing) pointing along v, as layout shapes:
    the shafts are one path named `name` of (tail, tip) segments in grid order; the heads
    are chevrons coloured by the magnitude |v| in MAGNITUDE_BINS bands over
    `magnitude_range` if given (so that two panels share one colour scale), or all in
    `colour`. Returns (shapes, traces): the traces hold the legend line and the colour
    bar (if shown), and no points. `axes`: the panel's x and y axes, if not the first.

    Why shapes: a new t redraws one SVG path per colour band and no WebGL. See
    docs/ARCHITECTURE.md, "Figures without WebGL"."""
    xy, v = f32(xy), f32(v)
    norm = np.linalg.norm(v, axis=1)
    unit = v / np.maximum(norm, 1e-12)[:, None]
    length = 0.8 * spacing
    tip = xy + length * unit
    back = tip - 0.35 * length * unit  # the chevron's arms end 35% of the way back
    side = 0.2 * length * np.stack([-unit[:, 1], unit[:, 0]], axis=1)
    chevrons = np.stack([back + side, tip, back - side], axis=1)
    shaft_colour = colour or "rgba(120, 120, 120, 0.8)"
    shapes = [_path_shape(np.stack([xy, tip], axis=1), shaft_colour, shaft_width, name, axes)]
    # The legend line is a trace without points: a shape's own legend symbol is a hexagon.
    legend = legend_entry(name, mode="lines", legendgroup=name,
                          line=dict(color=shaft_colour, width=shaft_width))
    if colour is not None:
        return shapes + [_path_shape(chevrons, colour, 1.6, f"{name} (heads)", axes)], [legend]
    lo, hi = magnitude_range or (float(norm.min()), float(norm.max()))
    band = np.clip(((norm - lo) / max(hi - lo, 1e-12) * MAGNITUDE_BINS).astype(int),
                   0, MAGNITUDE_BINS - 1)
    colours = magnitude_colours()
    shapes += [_path_shape(chevrons[band == k], c, 1.8, f"{name} (heads)", axes)
               for k, c in enumerate(colours) if (band == k).any()]
    if not showscale:
        return shapes, [legend]
    colour_bar = go.Scatter(  # on an invisible one-point trace
        x=[None], y=[None], mode="markers", showlegend=False, hoverinfo="skip",
        marker=dict(color=[lo, hi], cmin=lo, cmax=hi, colorscale=stepped_scale(colours),
                    showscale=True, colorbar=dict(title=dict(text="|v|", side="right"),
                                                  thickness=10, len=0.6)))
    return shapes, [legend, colour_bar]


@functools.lru_cache(maxsize=64)
def _points_png(layers: tuple[tuple[bytes, tuple[int, int, int], float], ...], extent: float,
                radius: float) -> str:
    return points_png([(np.frombuffer(points, dtype=np.float32).reshape(-1, 2), rgb, alpha)
                       for points, rgb, alpha in layers], extent, radius=radius)


def points_image(layers: Sequence[tuple[np.ndarray, tuple[int, int, int], float]],
                 extent: float = VIEW_EXTENT, radius: float = 2.4,
                 layer: str = "below") -> dict:
    """Dots as a layout image over [-extent, extent]^2, one (points, rgb, alpha) layer over
    the other (explainer/raster.py), in place of scatter traces of many points that a
    chart redraws on every slider move: the browser draws an image without WebGL. Cached
    per point sets and style. Several layers make one image: plotly.js 4.1 drew only one
    of two images placed on the same axes and area."""
    key = tuple((f32(points).tobytes(), tuple(rgb), float(alpha))
                for points, rgb, alpha in layers)
    png = _points_png(key, float(extent), float(radius))
    return dict(source=png, xref="x", yref="y", x=-extent, y=extent, sizex=2 * extent,
                sizey=2 * extent, sizing="stretch", layer=layer)


def data_image(points: np.ndarray, extent: float = VIEW_EXTENT, radius: float = 2.4,
               layer: str = "below") -> dict:
    """The training data as an image (points_image), for charts redrawn on every t while
    the data stays: made once per point set."""
    return points_image([(points, DATA_RGB, DATA_ALPHA)], extent, radius, layer)


def legend_entry(name: str, **style: object) -> go.Scatter:
    """A legend entry for something drawn outside the traces (an image, shapes): a trace
    without points. By default the training data's grey dot."""
    if not style:
        style = dict(mode="markers", marker=dict(size=6, color=DATA_COLOUR))
    return go.Scatter(x=[None], y=[None], name=name, hoverinfo="skip", **style)


def time_axis(T: int, log_t: bool) -> dict:
    """The t axis of a chart over 0..T. Log for the random walk: its 65,536 steps spread
    the data's whole story (sigma_t from 0.025 to about the data's width) over the first
    1-2% of a plain axis."""
    if not log_t:
        return dict(title=dict(text="t"))
    return dict(title=dict(text="t (log scale)"), type="log",
                range=[0.0, float(np.log10(T)) + 0.02])


def log_ticks(lo: float, hi: float) -> tuple[list[float], list[str]]:
    """Tick values m x 10^k covering [lo, hi] (one beyond each end) and their labels
    written out in full: Plotly's own log ticks label 0.3 as a bare "3" (a digit of the
    decade), which reads as three. Narrow ranges get more mantissas m."""
    if not (0 < lo <= hi and np.isfinite(hi)):
        return [], []
    decades = np.log10(hi / lo)
    mantissas = (1, 2, 5) if decades > 2.5 else (1, 2, 3, 5) if decades > 1 else (
        1, 1.5, 2, 3, 5, 7)
    values = [m * 10.0**k for k in range(int(np.floor(np.log10(lo))) - 1,
                                         int(np.ceil(np.log10(hi))) + 1) for m in mantissas]
    below = [v for v in values if v < lo][-1:]
    above = [v for v in values if v > hi][:1]
    shown = below + [v for v in values if lo <= v <= hi] + above
    return shown, [f"{v:.10g}" for v in shown]
