"""Page 2: the time-varying vector field a denoiser learns, next to the exact one."""

from __future__ import annotations

from functools import partial
from typing import TypedDict

import numpy as np
import plotly.graph_objects as go
import streamlit as st

from explainer import figures
from explainer.fields import (
    VIEW_EXTENT,
    Field,
    cosine_similarity,
    field_agreement,
    grid,
    share_pointing_at,
)
from explainer.guidance import Guidance
from explainer.trained import TrainedModel
from pages import plotly_frame, shared

VIEWS = ("side by side", "overlay")
GRID_SIZES = (16, 24, 32)
DEGREES = 30  # an arrow "points at" a target when within this angle of it
UNCONDITIONAL = Guidance()  # the field of all the data (null label); page 4 does classes


class FieldNumbers(TypedDict):
    """What the sentences under the figures say, for one t and grid (a plain dict: a class
    defined in a page script cannot be pickled by st.cache_data)."""

    split: int  # arrows where "nearest data" and "middle" are more than 90 degrees apart
    learned_nearest: float  # of those, the share pointing at the nearest training point
    learned_middle: float  # ... and at the data's centre
    ideal_nearest: float
    ideal_middle: float
    mean_cosine: float
    relative_error: float
    angle_error: np.ndarray  # (size*size,) degrees between the learned and the ideal arrow


@st.cache_data(max_entries=16, show_spinner=False)
def split_points(model_key: str, _model: TrainedModel, size: int) -> np.ndarray:
    """Grid points where the direction to the nearest training point and the direction to
    the data's centre are more than 90 degrees apart (e.g. just inside the spiral's outer
    arm): there, "hug the data" and "go to the middle" are different answers."""
    xy, data = grid(size), _model.data.points
    nearest = data[((xy[:, None, :] - data[None, :, :]) ** 2).sum(-1).argmin(1)]
    return cosine_similarity(nearest - xy, data.mean(0) - xy) < 0


@st.cache_data(max_entries=128, show_spinner=False)
def field_numbers(model_key: str, _model: TrainedModel, t: int, size: int) -> FieldNumbers:
    learned = shared.cached_field(model_key, _model, "learned", t, size, UNCONDITIONAL)
    ideal = shared.cached_field(model_key, _model, "ideal", t, size, UNCONDITIONAL)
    data = _model.data.points
    centre = data.mean(0, keepdims=True)
    split = split_points(model_key, _model, size)
    xy = learned.xy[split]

    def share(v: np.ndarray, targets: np.ndarray) -> float:
        return share_pointing_at(v[split], xy, targets, DEGREES) if split.any() else 0.0

    agreement = field_agreement(learned.v, ideal.v)
    cosine = np.clip(cosine_similarity(learned.v, ideal.v), -1.0, 1.0)
    return FieldNumbers(
        split=int(split.sum()),
        learned_nearest=share(learned.v, data), learned_middle=share(learned.v, centre),
        ideal_nearest=share(ideal.v, data), ideal_middle=share(ideal.v, centre),
        mean_cosine=agreement.mean_cosine, relative_error=agreement.relative_error,
        angle_error=np.degrees(np.arccos(cosine)).astype(np.float32))


def explanation() -> None:
    st.markdown(
        "Page 1 showed that, knowing where a walk started and where it is now, its last "
        "step points back to the start. The network never knows the start. Trained on "
        "millions of noisy points, it learns the **average** of that direction over all "
        "the starts that could have led here: at every point of the plane and every t, "
        "an arrow saying *which way back to the data*. That is a **vector field that "
        "changes with t**.\n\n"
        "Drag t. At **small t** little noise was added, so a noisy point is close to "
        "where it started: the arrows point to the **nearest** part of the data and hug "
        "its shape. At **large t** a point could have come from almost anywhere, so the "
        "arrows point to the **middle** of the data. On the spiral, points just inside "
        "the outer arm then point inward, not to the arm next to them: after many steps "
        "a walk from the outer arm is more likely to be far from it than this close.")
    with st.expander("The maths: what exactly the arrows are"):
        st.markdown(
            "The network predicts the noise $\\hat\\epsilon(x_t, t)$; from it, the clean "
            "point it believes in is $\\hat x_0 = (x_t - \\sigma_t\\hat\\epsilon)/\\alpha_t$. "
            "Each arrow is the **denoising direction**\n\n"
            "$$v(x_t, t) = \\alpha_t \\hat x_0 - x_t = -\\sigma_t \\hat\\epsilon = "
            "\\sigma_t^2 \\nabla_x \\log p_t(x_t),$$\n\n"
            "proportional to the score. The **ideal** field uses the exact "
            "$\\mathbb E[x_0 \\mid x_t]$ for the finite training set: a softmax-weighted "
            "average of the training points, weights "
            "$\\propto \\exp(-\\lVert x_t - \\alpha_t x_0^{(i)}\\rVert^2 / 2\\sigma_t^2)$. "
            "It is what a perfectly trained network would output. As t grows the weights "
            "spread over more training points, and the average moves toward the middle.")


def field_panel(field: Field, data: np.ndarray, title: str, spacing: float, name: str,
                top: float) -> go.Figure:
    """One field of the side-by-side view, its colour range fixed to 0..top."""
    return figures.field_figure(field.xy, field.v, data, title, spacing, name=name,
                                magnitude_range=(0.0, top))


def side_by_side(model: TrainedModel, t: int, size: int, key: str) -> None:
    data = model.data.points
    spacing = 2 * VIEW_EXTENT / (size - 1)
    fields = {kind: shared.cached_field(key, model, kind, t, size, UNCONDITIONAL)
              for kind in ("learned", "ideal")}
    # One colour range for both, so that equal colours mean equal magnitudes.
    top = max(float(np.linalg.norm(f.v, axis=1).max()) for f in fields.values())
    for col, kind, title in zip(st.columns(2), fields, ("Learned", "Ideal (exact)"),
                                strict=True):
        field = fields[kind]
        with col:
            fig = shared.cached_figure(
                ("vector field", key, kind, t, size),
                partial(field_panel, field, data, f"{title} field at t = {t}", spacing, kind,
                        top))
            plotly_frame.show(fig, key=f"chart_{kind}", alt=f"The {kind} denoising direction "
                              f"at t = {t} on a {size} by {size} grid of arrows over the "
                              "training data; arrows of equal length, colour is the magnitude.")


def overlay(model: TrainedModel, t: int, size: int, key: str) -> None:
    learned = shared.cached_field(key, model, "learned", t, size, UNCONDITIONAL)
    ideal = shared.cached_field(key, model, "ideal", t, size, UNCONDITIONAL)
    fig = figures.comparison_field_figure(
        learned.xy, learned.v, ideal.v, model.data.points,
        f"Learned over ideal (red) at t = {t}", 2 * VIEW_EXTENT / (size - 1))
    plotly_frame.show(fig, key="chart_overlay", alt=f"The learned denoising direction drawn "
                      f"over the ideal one at t = {t}, {size} by {size} arrows; the ideal "
                      "shows in red only where the two differ.")


def angle_error(model: TrainedModel, t: int, size: int, numbers: FieldNumbers) -> None:
    fig = figures.angle_error_figure(numbers["angle_error"], size,
                                     f"Where they disagree: angle at t = {t}", model.data.points)
    plotly_frame.show(fig, key="chart_angle_error", alt=f"Heat map of the angle between the "
                      f"learned and the ideal arrow at each grid point, t = {t}; transparent "
                      "where they agree, red where they differ.")


def change_sentence(model: TrainedModel, t: int, numbers: FieldNumbers, size: int,
                    key: str) -> str:
    """The seed's claim in numbers now, and for the ideal field at both ends of the t range."""
    schedule = model.schedule
    if numbers["split"] == 0:
        return (f"at t = {t} (σ_t = {schedule.sigma[t]:.2f}), for this data the nearest "
                "training point is always roughly toward the middle, so the two answers "
                "cannot be told apart here.")
    lo = shared.t_options(schedule.T, allow_zero=False, spacing=schedule.time_spacing)[0]
    ends = " and ".join(
        f"t = {end}: {n['ideal_nearest']:.0%} / {n['ideal_middle']:.0%}"
        for end, n in ((end, field_numbers(key, model, end, size)) for end in (lo, schedule.T)))
    return (f"at t = {t} (σ_t = {schedule.sigma[t]:.2f}), look at the {numbers['split']} "
            f"arrows where the nearest training point and the data's middle lie in "
            f"different directions (more than 90° apart: in hollows of the data, such as "
            f"just inside the spiral's outer arm): "
            f"{numbers['learned_nearest']:.0%} of the learned arrows point within {DEGREES}° "
            f"of the nearest training point, {numbers['learned_middle']:.0%} within "
            f"{DEGREES}° of the middle (ideal field: {numbers['ideal_nearest']:.0%} / "
            f"{numbers['ideal_middle']:.0%}). The ideal field at the ends of the slider: "
            f"{ends}.")


def agreement_sentence(t: int, numbers: FieldNumbers) -> str:
    angle = numbers["angle_error"]
    return (f"learned vs ideal at t = {t}: mean cosine similarity {numbers['mean_cosine']:.2f} "
            f"(1 = every arrow the same way), relative error "
            f"{100 * numbers['relative_error']:.0f}%; median angle {np.median(angle):.0f}°, "
            f"{np.mean(angle <= DEGREES):.0%} of arrows within {DEGREES}°.")


@st.fragment
def field_view(active: shared.Active) -> None:
    """The t slider, view and grid controls, and the figures they drive."""
    model = active.model
    t_col, view_col, size_col = st.columns([4, 2, 1], vertical_alignment="bottom")
    with t_col:
        t = shared.url_t_slider("Step t: how much noise", model.schedule.T, allow_zero=False,
                                default_fraction=0.1, spacing=model.schedule.time_spacing)
    with view_col:
        view = shared.url_selectbox("View", "view", VIEWS, VIEWS[0], widget=st.radio,
                                    horizontal=True)
    with size_col:
        size = shared.url_selectbox("Grid", "grid", GRID_SIZES, 24,
                                    format_func=lambda n: f"{n} x {n}")
    st.caption("Arrows: the denoising direction α_t x̂_0 − x_t (= −σ_t ε̂, proportional "
               "to the score ∇ log p_t), all drawn the same length; colour = its magnitude. "
               "Grey dots: the training data.")
    numbers = field_numbers(active.key, model, t, size)
    if view == "overlay":
        figure_col, text_col = st.columns([3, 2])
        with figure_col:
            overlay(model, t, size, active.key)
        with text_col:
            st.markdown("The learned arrows (coloured heads) are drawn over the ideal "
                        "ones (red, wider). Where the two agree they coincide; where a red "
                        "arrow sticks out in another direction, the network is off.")
            shared.sentence(change_sentence(model, t, numbers, size, active.key))
    else:
        side_by_side(model, t, size, active.key)
        shared.sentence(change_sentence(model, t, numbers, size, active.key))
    st.subheader("How close is the network to the exact answer?")
    error_col, text_col = st.columns([3, 2])
    with error_col:
        angle_error(model, t, size, numbers)
    with text_col:
        st.markdown(
            "The ideal field is what a perfect network trained on these same points would "
            "draw. The heat map shows, arrow by arrow, the angle between the learned and "
            "the ideal direction: transparent where they agree, red where they do not. "
            "Far from the data, where noisy points are rare at small t, the network saw "
            "few training examples: that is where to expect it to be wrong.")
        shared.sentence(agreement_sentence(t, numbers))


active = shared.active_model()
st.title("2. The vector field: which way back to the data")
explanation()
field_view(active)
