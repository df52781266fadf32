"""Figures of page 1 (random walks): walks, the data cloud, the noise schedule and the
Brownian bridge's mean last step."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go

from explainer.fields import VIEW_EXTENT
from explainer.figures.primitives import (
    CLOUD_ALPHA,
    CLOUD_RGB,
    DATA_ALPHA,
    DATA_RGB,
    PALETTE,
    class_colour,
    class_traces,
    data_trace,
    f32,
    legend_entry,
    plane_layout,
    points_image,
    set_layout,
    time_axis,
    vertical_line,
)

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


def data_cloud_figure(points: np.ndarray, labels: np.ndarray, class_names: Sequence[str],
                      title: str, extent: float = VIEW_EXTENT, height: int = 400) -> go.Figure:
    """The training set coloured by class, on the shared plane view."""
    fig = go.Figure(class_traces(points, labels, class_names))
    return plane_layout(fig, title, extent=extent, height=height)


def focus(fig: go.Figure, centre: np.ndarray, half_width: float) -> go.Figure:
    """Zoom a plane figure to the square of the given half-width around `centre` (for
    details smaller than the whole view, such as one walk's last step)."""
    cx, cy = float(centre[0]), float(centre[1])
    return set_layout(fig, xaxis=dict(range=[cx - half_width, cx + half_width]),
                      yaxis=dict(range=[cy - half_width, cy + half_width]))
