"""Animation machinery: which states become frames, the moving points and their
trails, Play / pause and the t slider, and a plain one-cloud animation."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from explainer.fields import VIEW_EXTENT
from explainer.figures.primitives import (
    ARROW_COLOUR,
    data_trace,
    f32,
    plane_layout,
    points_trace,
    set_layout,
)
from explainer.raster import frame_indices


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
