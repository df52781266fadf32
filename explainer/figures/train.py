"""Figures of page 5 (train): the loss curve and the trained model's samples."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from explainer.figures.primitives import (
    PALETTE,
    data_trace,
    f32,
    log_ticks,
    plane_layout,
    points_trace,
    set_layout,
)


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


def samples_figure(data: np.ndarray, samples: np.ndarray) -> go.Figure:
    """A trained model's samples over its training data."""
    return plane_layout(go.Figure([
        data_trace(data, "training data"),
        points_trace(samples, "your model's DDPM samples", size=3, opacity=0.6),
    ]), "Your model's samples over the training data")
