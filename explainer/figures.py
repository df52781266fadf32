"""Pure Plotly figure builders: arrays in, go.Figure out. No model calls here.

Conventions shared by every figure: float32 arrays (Plotly sends them as compact typed
arrays), fixed equal-aspect axes over the same view, one palette that reads on light
and dark backgrounds, arrows as layout shapes (arrow_layer) over the training data as an
image (data_image) wherever a chart is redrawn for every t.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import plotly.colors
import plotly.graph_objects as go

from explainer.fields import VIEW_EXTENT
from explainer.raster import points_png

# Okabe-Ito: distinguishable for colour-blind readers, visible on white and on black.
PALETTE = ("#E69F00", "#56B4E9", "#009E73", "#F0E442", "#0072B2", "#D55E00", "#CC79A7",
           "#999999")
DATA_RGB, DATA_ALPHA = (150, 150, 150), 0.45
DATA_COLOUR = f"rgba{(*DATA_RGB, DATA_ALPHA)}"
CLOUD_RGB, CLOUD_ALPHA = (86, 180, 233), 0.35  # the noised cloud on page 1
ARROW_COLOUR = "#0072B2"
MAGNITUDE_SCALE = "Viridis"


def class_colour(k: int) -> str:
    return PALETTE[k % len(PALETTE)]


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


# A path or curve over t = 0..T is drawn through at most this many of its steps: the
# random walk has 65,536, and all of them for ten walks made the figure ~4 MB of JSON.
MAX_DRAWN_STEPS = 1000


def drawn_steps(t: int, limit: int = MAX_DRAWN_STEPS) -> np.ndarray:
    """The steps 0..t a path is drawn through: every step up to `limit`, beyond that
    `limit` evenly spaced ones (always with 0 and t). A Brownian path drawn through every
    k-th step is a Brownian path with k-times the step variance: it looks the same."""
    return np.unique(np.linspace(0, t, min(t, limit) + 1).round().astype(int))


def walks_figure(paths: np.ndarray, t: int, data: np.ndarray, extent: float,
                 cloud: np.ndarray | None = None) -> go.Figure:
    """Random-walk paths (T+1, k, 2) drawn up to step t over the data (and the noised
    cloud at t): start points as circles, current positions as crosses. The data and
    the cloud are images (points_image): no WebGL to redraw as t moves."""
    dots = [(data, DATA_RGB, DATA_ALPHA)]
    traces = [legend_entry("data (t = 0)")]
    if cloud is not None:
        dots.insert(0, (cloud, CLOUD_RGB, CLOUD_ALPHA))
        traces.append(legend_entry(f"all points at t = {t:,}", mode="markers",
                                   marker=dict(size=6, color=f"rgb{CLOUD_RGB}")))
    steps = drawn_steps(t)
    for i in range(paths.shape[1]):
        c = class_colour(i)
        path = f32(paths[steps, i])
        traces.append(go.Scatter(x=path[:, 0], y=path[:, 1], mode="lines", showlegend=False,
                                 line=dict(width=1.2, color=c), hoverinfo="skip"))
        traces.append(go.Scatter(x=path[[0, -1], 0], y=path[[0, -1], 1], mode="markers",
                                 showlegend=False, hoverinfo="skip",
                                 marker=dict(size=[10, 11], color=c, symbol=["circle", "x"],
                                             line=dict(width=1, color="white"))))
    fig = plane_layout(go.Figure(traces), f"Random walks up to t = {t:,}", extent=extent)
    return set_layout(fig, images=[points_image(dots, extent)])


def time_axis(T: int, log_t: bool) -> dict:
    """The t axis of a chart over 0..T. Log for the random walk: its 65,536 steps spread
    the data's whole story (sigma_t from 0.025 to about the data's width) over the first
    1-2% of a plain axis."""
    if not log_t:
        return dict(title=dict(text="t"))
    return dict(title=dict(text="t (log scale)"), type="log",
                range=[0.0, float(np.log10(T)) + 0.02])


def curve_steps(T: int, log_t: bool) -> np.ndarray:
    """The steps a curve over 0..T is drawn through: drawn_steps, or on a log axis ~400
    steps evenly spaced in log t from t = 1 (t = 0 has no place there)."""
    if not log_t:
        return drawn_steps(T)
    return np.unique(np.geomspace(1, T, 400).round().astype(int))


def schedule_figure(alpha: np.ndarray, sigma: np.ndarray, t: int,
                    log_t: bool = False) -> go.Figure:
    T = len(alpha) - 1
    steps = curve_steps(T, log_t)
    fig = go.Figure([
        go.Scatter(x=f32(steps), y=f32(alpha[steps]), name="alpha_t (signal kept)",
                   line=dict(color=PALETTE[4])),
        go.Scatter(x=f32(steps), y=f32(sigma[steps]), name="sigma_t (noise std)",
                   line=dict(color=PALETTE[5])),
    ])
    return set_layout(fig, shapes=[vertical_line(t)] if t > 0 or not log_t else [],
                      title=dict(text="Noise schedule", x=0.02, font=dict(size=15)),
                      height=280, margin=dict(l=10, r=10, t=40, b=60),
                      xaxis=time_axis(T, log_t),
                      # At the bottom of the whole figure, clear of the axis title.
                      legend=dict(orientation="h", yref="container", yanchor="bottom", y=0,
                                  x=0))


def bridge_figure(x0: np.ndarray, x_t: np.ndarray, mc_step: np.ndarray,
                  formula_step: np.ndarray, data: np.ndarray, scale: float,
                  aim: np.ndarray | None = None, aim_name: str = "") -> go.Figure:
    """x0, x_t, and the two estimates of the mean last step drawn from x_t (magnified
    by `scale` so that a step of a single walk is visible); `aim`, if given, is the point
    the mean step aims at when that is not x0 (DDPM: gamma_t x0), with the origin."""
    fig = go.Figure([data_trace(data)])
    fig.add_trace(go.Scatter(x=[x0[0]], y=[x0[1]], mode="markers+text", name="x0 (start)",
                             text=["x0"], textposition="top center",
                             marker=dict(size=12, color=PALETTE[2])))
    fig.add_trace(go.Scatter(x=[x_t[0]], y=[x_t[1]], mode="markers+text", name="x_t (now)",
                             text=["x_t"], textposition="bottom center",
                             marker=dict(size=12, color=PALETTE[5], symbol="x")))
    if aim is not None:
        fig.add_trace(go.Scatter(x=[aim[0], 0.0], y=[aim[1], 0.0], mode="markers+text",
                                 name=aim_name, text=["γ x0", "0"],
                                 textposition=["middle left", "bottom right"],
                                 marker=dict(size=[16, 8], color=PALETTE[6],
                                             symbol=["diamond-open", "cross"],
                                             line=dict(width=2, color=PALETTE[6]))))
    for step, name, colour, dash in ((formula_step, "formula", PALETTE[4], "solid"),
                                     (mc_step, "Monte Carlo", PALETTE[0], "dash")):
        end = x_t + scale * step
        fig.add_trace(go.Scatter(x=[x_t[0], end[0]], y=[x_t[1], end[1]],
                                 mode="lines+markers", name=f"{name} (x{scale:,.6g})",
                                 line=dict(width=3, color=colour, dash=dash),
                                 marker=dict(size=[0, 9], symbol="diamond")))
    return plane_layout(fig, "Mean last step, given x0 and x_t", extent=2.5, height=420)


def frame_indices(n_times: int, max_frames: int) -> np.ndarray:
    """Which of n_times states an animation shows: at most max_frames, evenly spaced,
    always the first (t = T) and the last (t = 0)."""
    return np.unique(np.linspace(0, n_times - 1, min(max_frames, n_times)).round().astype(int))


def trails_xy(trails: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """x and y of one line trace drawing each particle's path up to step k (trails is
    (steps, particles, 2)): the paths one after another, NaN-separated."""
    tr = trails[: k + 1]
    sep = np.full((1, tr.shape[1]), np.nan, dtype=np.float32)
    return (np.concatenate([tr[:, :, 0], sep]).T.ravel(),
            np.concatenate([tr[:, :, 1], sep]).T.ravel())


def moving_traces(xs: np.ndarray, trails: np.ndarray, k: int, colour: str,
                  axes: dict | None = None) -> list[go.Scattergl | go.Scatter]:
    """What an animation frame redraws for one cloud: the points at step k and the trails
    of a few of them up to k (`axes`: the subplot's xaxis/yaxis, if not the first)."""
    tx, ty = trails_xy(trails, k)
    return [points_trace(xs[k], "samples", colour, size=3, opacity=0.6).update(**(axes or {})),
            go.Scatter(x=tx, y=ty, mode="lines", name="trajectories", hoverinfo="skip",
                       line=dict(width=1, color="rgba(213,94,0,0.8)"), **(axes or {}))]


# Play runs the whole animation in about this long, whatever its number of frames, within
# these bounds per frame: at a fixed 60 ms a frame, 10 steps were over in 0.6 s.
PLAY_SECONDS = 3.0
FRAME_MS = (60, 600)


def frame_duration_ms(n_frames: int) -> int:
    """How long Play shows each of n_frames frames (the first is shown at once)."""
    per_frame = 1000 * PLAY_SECONDS / max(n_frames - 1, 1)
    return int(min(max(per_frame, FRAME_MS[0]), FRAME_MS[1]))


def animation_controls(fig: go.Figure, times: np.ndarray, keep: np.ndarray) -> go.Figure:
    """Play / pause buttons and a t slider for the frames named by `times[keep]` (played in
    the browser, no server trips; frame_duration_ms paces Play)."""
    duration = frame_duration_ms(len(keep))
    steps = [dict(method="animate", label=str(int(times[k])),
                  args=[[str(int(times[k]))], dict(mode="immediate", frame=dict(duration=0,
                        redraw=True), transition=dict(duration=0))]) for k in keep]
    return set_layout(
        fig, updatemenus=[dict(type="buttons", showactive=False, x=0, y=0, xanchor="left",
                          yanchor="top", pad=dict(t=40, r=10), buttons=[
                              dict(label="▶ Play", method="animate",
                                   args=[None, dict(frame=dict(duration=duration,
                                                               redraw=True),
                                                    fromcurrent=True,
                                                    transition=dict(duration=0))]),
                              dict(label="❚❚", method="animate",
                                   args=[[None], dict(mode="immediate",
                                                      frame=dict(duration=0, redraw=False))])])],
        sliders=[dict(active=len(keep) - 1, steps=steps, x=0.15, len=0.85, y=0,
                      pad=dict(t=30), currentvalue=dict(prefix="t = "))],
    )


def animation_figure(xs: np.ndarray, times: np.ndarray, title: str, data: np.ndarray,
                     n_trails: int = 12, max_frames: int = 50,
                     colour: str = ARROW_COLOUR) -> go.Figure:
    """The reverse process as Plotly frames: the cloud at each step over the data (the
    first trace), plus the trails of a few particles up to that step."""
    keep = frame_indices(len(times), max_frames)
    trails = f32(xs[:, :n_trails])
    extent = max(VIEW_EXTENT, 1.05 * float(np.abs(xs[-1]).max()))
    fig = go.Figure(data=[data_trace(data), *moving_traces(xs, trails, keep[-1], colour)])
    fig.frames = [go.Frame(data=moving_traces(xs, trails, k, colour), traces=[1, 2],
                           name=str(int(times[k]))) for k in keep]
    animation_controls(fig, times, keep)
    plane_layout(fig, title, extent=extent, height=500)
    return set_layout(fig, margin=dict(b=90), showlegend=False)


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


def loss_figure(steps: np.ndarray, losses: np.ndarray, smooth: np.ndarray) -> go.Figure:
    finite = np.asarray(losses, dtype=np.float64)
    finite = finite[np.isfinite(finite) & (finite > 0)]
    tick_values, tick_text = log_ticks(float(finite.min()), float(finite.max())) if len(
        finite) else ([], [])
    fig = go.Figure([
        go.Scattergl(x=f32(steps), y=f32(losses), mode="lines", name="batch loss",
                     line=dict(width=1, color="rgba(150,150,150,0.5)")),
        go.Scattergl(x=f32(steps), y=f32(smooth), mode="lines", name="running mean",
                     line=dict(width=2, color=PALETTE[5])),
    ])
    return set_layout(fig, title=dict(text="Training loss |eps - eps_hat|^2", x=0.02),
                      height=280, margin=dict(l=10, r=10, t=40, b=10),
                      xaxis=dict(title=dict(text="step")),
                      yaxis=dict(type="log", tickmode="array", tickvals=tick_values,
                                 ticktext=tick_text),
                      legend=dict(orientation="h", y=-0.3))


def data_cloud_figure(points: np.ndarray, labels: np.ndarray, class_names: Sequence[str],
                      title: str, extent: float = VIEW_EXTENT, height: int = 400) -> go.Figure:
    """The training set coloured by class, on the shared plane view."""
    fig = go.Figure(class_traces(points, labels, class_names))
    return plane_layout(fig, title, extent=extent, height=height)


def _controls_below(fig: go.Figure) -> go.Figure:
    """animation_controls for a narrow column or a phone: the play buttons side by side
    under the plot, the step slider below them at full width, its "t = ..." read-out on
    the right where the buttons cannot cover it (needs a bottom margin of 130 px)."""
    fig.layout.updatemenus[0].update(direction="left", pad=dict(t=36, r=10))
    fig.layout.sliders[0].update(x=0, len=1, pad=dict(t=78),
                                 currentvalue=dict(prefix="t = ", xanchor="right"))
    return fig


def _narrow_friendly(fig: go.Figure) -> go.Figure:
    """animation_figure with _controls_below, and the room they take."""
    return set_layout(_controls_below(fig), margin=dict(b=130), height=fig.layout.height + 40)


@dataclass(frozen=True)
class Panel:
    """One sampler's run for sampling_figure: its states (steps + 1, n, 2) from t = T to
    0 and its predictions x0_hat at each step but the last."""
    title: str
    xs: np.ndarray
    x0_hats: np.ndarray


SIDE_BY_SIDE_MIN_WIDTH = 560  # px; a narrower chart stacks its panels (_panels_layout)
CONTROLS_HEIGHT = 170  # px: the panel titles, the play buttons and the t slider
# At most this many frames per animation: payload and drawing time scale with
# frames x points. See docs/ARCHITECTURE.md, "Figures without WebGL".
SAMPLING_FRAMES = 34


def _panel_axes(n: int) -> list[dict[str, str]]:
    """The axes of n panels: x/y, x2/y2, ..."""
    return [dict(xaxis=f"x{i + 1}" if i else "x", yaxis=f"y{i + 1}" if i else "y")
            for i in range(n)]


def _panels_layout(titles: Sequence[str], images: Sequence[dict | None], extent: float,
                   columns: int, height: int, stacked_height: int, margin: dict) -> dict:
    """Layout of a figure of panels (sampling_figure, field_panels_figure): a grid of
    `columns`, equal square axes over [-extent, extent]^2, each panel's data image (if
    any) under it, each title over its own panel (annotations placed in the panel's axis
    domain, so they move with it when the chart page stacks the panels). layout.meta.stack
    tells the chart page (assets/plotly_frame) to stack the panels in one column, and how
    tall that is, when the chart is narrower than SIDE_BY_SIDE_MIN_WIDTH."""
    axes = _panel_axes(len(titles))
    layout: dict = dict(
        height=height, showlegend=False, margin=margin, uirevision="plane",
        grid=dict(rows=-(-len(titles) // columns), columns=columns, pattern="independent",
                  xgap=0.08, ygap=0.12),
        images=[{**image, "xref": ax["xaxis"], "yref": ax["yaxis"]}
                for image, ax in zip(images, axes, strict=True) if image is not None],
        annotations=[dict(text=f"<b>{title}</b>", showarrow=False, x=0.5, y=1.0,
                          xref=f"{ax['xaxis']} domain", yref=f"{ax['yaxis']} domain",
                          xanchor="center", yanchor="bottom", font=dict(size=14))
                     for title, ax in zip(titles, axes, strict=True)],
        meta=dict(stack=dict(below=SIDE_BY_SIDE_MIN_WIDTH, height=stacked_height)))
    for ax in axes:
        # automargin off: fixed margins never change between figures (see sampling_figure)
        square = dict(range=[-extent, extent], zeroline=False, constrain="domain",
                      automargin=False)
        layout[ax["xaxis"].replace("x", "xaxis")] = square
        layout[ax["yaxis"].replace("y", "yaxis")] = dict(square, scaleanchor=ax["xaxis"],
                                                        scaleratio=1)
    return layout


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
    sit in one row, stacked on a phone (_panels_layout)."""
    keep = frame_indices(len(times), max_frames)
    extent = max(VIEW_EXTENT, *(1.05 * float(np.abs(p.xs[-1]).max()) for p in panels))
    axes = _panel_axes(len(panels))
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
    set_layout(fig, title=dict(text=title, x=0.02, font=dict(size=15)), **_panels_layout(
        [p.title for p in panels], [image] * len(panels), extent, columns=len(panels),
        height=(300 if len(panels) > 1 else 420) + CONTROLS_HEIGHT,
        stacked_height=360 * len(panels) + CONTROLS_HEIGHT,
        # The t slider's 158 px are in the fixed margin, so a new figure never changes it
        # (Plotly would draw that figure twice).
        margin=dict(l=30, r=10, t=70, b=160)))
    return _controls_below(fig)


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
    _panels_layout): one chart draws faster than one per field (docs/ARCHITECTURE.md,
    "Figures without WebGL"). Arrow heads are coloured by |v| within each panel (the
    fields' lengths differ by an order of magnitude, e.g. a difference of two fields); no
    colour bars, as they could not follow the panels when they restack."""
    axes = _panel_axes(len(panels))
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
                      **_panels_layout([p.title for p in panels], images, VIEW_EXTENT,
                                       columns, height=rows * panel_height + 100,
                                       stacked_height=len(panels) * 360 + 100,
                                       margin=dict(l=30, r=10, t=80, b=30)))


def guided_animation_figure(xs: np.ndarray, times: np.ndarray, title: str, data: np.ndarray,
                            labels: np.ndarray, label: int,
                            negative: int | None = None) -> go.Figure:
    """animation_figure for guided sampling, over the training data coloured by role:
    the asked class green, the negative class (if any) pink, the other classes grey."""
    fig = _narrow_friendly(animation_figure(xs, times, title, data[labels == label],
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


def focus(fig: go.Figure, centre: np.ndarray, half_width: float) -> go.Figure:
    """Zoom a plane figure to the square of the given half-width around `centre` (for
    details smaller than the whole view, such as one walk's last step)."""
    cx, cy = float(centre[0]), float(centre[1])
    return set_layout(fig, xaxis=dict(range=[cx - half_width, cx + half_width]),
                      yaxis=dict(range=[cy - half_width, cy + half_width]))


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
                      t: int, T: int) -> go.Figure:
    """Shares of samples (0..1) against the time their prediction was made at (a log t
    axis: the shares change at small t, for DDPM's 200 steps too), with the chance level
    dotted and a dotted line at the slider's t."""
    colours = (PALETTE[4], PALETTE[5])
    fig = go.Figure([go.Scatter(x=f32(times), y=f32(curve), mode="lines+markers", name=name,
                                marker=dict(size=4), line=dict(color=colours[i % 2]))
                     for i, (name, curve) in enumerate(curves.items())])
    fig.add_trace(go.Scatter(x=[1, T], y=[chance, chance], mode="lines",
                             name=f"chance (1 in {round(1 / chance)})", hoverinfo="skip",
                             line=dict(color="gray", dash="dot", width=1)))
    return set_layout(fig, shapes=[vertical_line(t)],
                      title=dict(text="When a sample's prediction x̂₀ settles", x=0.02,
                                 font=dict(size=15)),
                      height=380, margin=dict(l=10, r=10, t=40, b=80),
                      xaxis=time_axis(T, log_t=True),
                      yaxis=dict(title=dict(text="share of samples"), range=[0, 1.02],
                                 tickformat=".0%"),
                      legend=dict(orientation="h", yref="container", yanchor="bottom", y=0,
                                  x=0))


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
    _controls_below(set_layout(fig, sliders=[slider], updatemenus=[menu], showlegend=False,
                               margin=dict(b=130), images=[data_image(data, extent)]))
    # The labels are long: shown once, as the current value, not under every tick.
    fig.layout.sliders[0].update(active=0, font=dict(color="rgba(0,0,0,0)"),
                                 currentvalue=dict(prefix="", font=dict(size=13,
                                                                        color="#808080")))
    return fig

