"""Page 2: the time-varying vector field a denoiser learns, next to the exact one, and
the role of t: which class a sample goes to is decided at large t, the details last."""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial

import numpy as np
import plotly.graph_objects as go
import streamlit as st
from streamlit.delta_generator import DeltaGenerator

from explainer import chart_data, fields
from explainer.commitment import DECIDED, Commitment, commitment
from explainer.fields import (
    POINTS_AT_DEGREES,
    VIEW_EXTENT,
    Field,
    FieldNumbers,
    grid,
    middle,
)
from explainer.figures import vector_field as figures
from explainer.guidance import UNCONDITIONAL
from explainer.trained import TrainedModel
from pages import sampling_views, shared

VIEWS = ("side by side", "overlay")
GRID_SIZES = (16, 24, 32)
RINGED = "ringed: nearest data and middle > 90° apart"


@st.cache_data(max_entries=16, show_spinner=False)
def split_points(model_key: str, _model: TrainedModel, size: int) -> np.ndarray:
    """fields.split_points of the model's training set."""
    return fields.split_points(_model.data.points, size)


@st.cache_data(max_entries=128, show_spinner=False)
def field_numbers(model_key: str, _model: TrainedModel, t: int, size: int) -> FieldNumbers:
    learned = shared.cached_field(model_key, _model, "learned", t, size, UNCONDITIONAL)
    ideal = shared.cached_field(model_key, _model, "ideal", t, size, UNCONDITIONAL)
    data = _model.data.points
    return fields.field_numbers(learned, ideal, data, middle(_model.schedule, data, t),
                                split_points(model_key, _model, size))


@st.cache_data(max_entries=16, show_spinner="Sampling from noise to see when samples settle...")
def settling(model_key: str, _model: TrainedModel) -> Commitment:
    """When samples settle, on page 3's default DDPM run (shared cache: the same samples)."""
    trajectory = shared.cached_trajectory(model_key, _model, "learned", "ddpm",
                                          sampling_views.default_steps(_model),
                                          sampling_views.DEFAULT_N, UNCONDITIONAL, 0)
    return commitment(trajectory, _model.data)


# ---------------------------------------------------------------- words

def is_walk(model: TrainedModel) -> bool:
    return model.schedule.name == "random_walk"


def middle_name(model: TrainedModel) -> str:
    return "the data's middle" if is_walk(model) else "the middle (α_t × the data's centre)"


def explanation(model: TrainedModel) -> None:
    st.markdown(
        "Page 1 showed that, knowing where a walk started and where it is now, its last "
        "step points back toward the start. The network never knows the start: at every "
        "point of the plane and every t it learns the **average** way back over all the "
        "starts that could have led there. That is a **vector field that changes with t**.")
    with st.expander("The maths: what exactly the arrows are, and the words"):
        st.markdown(
            "The network predicts the noise $\\hat\\epsilon(x_t, t)$, which points *away* "
            "from the data. From it, the clean point it believes in is "
            "$\\hat x_0 = (x_t - \\sigma_t\\hat\\epsilon)/\\alpha_t$. Each arrow is the "
            "**denoising direction**\n\n"
            "$$v(x_t, t) = \\alpha_t \\hat x_0 - x_t = -\\sigma_t \\hat\\epsilon = "
            "\\sigma_t^2 \\nabla_x \\log p_t(x_t),$$\n\n"
            "proportional to the **score** $\\nabla_x \\log p_t$: the direction in which "
            "noisy points get more likely. The **ideal** field uses the exact "
            "$\\mathbb E[x_0 \\mid x_t]$ for the finite training set: the average of the "
            "training points, each weighted by how likely it is to have led to $x_t$ "
            "(weight $\\propto \\exp(-\\lVert x_t - \\alpha_t x_0^{(i)}\\rVert^2 / "
            "2\\sigma_t^2)$). "
            "It is what a perfectly trained network would output. As t grows the weights "
            "spread over more training points, and the average moves toward the middle.\n\n"
            "**Why the ringed arrows turn inward at large t.** $\\hat x_0$ is an average, "
            "not the most likely start: from a ringed point, starts across the data are "
            "plausible too, and the average of them all lies toward the middle. (The seed "
            "article's example: just inside the spiral's outer arm, the inner arms and the "
            "far side count as well, so the arrows point inward, not to the arm next to "
            "them; not because a walk is 'more likely to be far' from where it began.) "
            + ("" if is_walk(model) else
               "For DDPM the arrow aims at $\\alpha_t \\hat x_0$, and $\\alpha_t \\to 0$ "
               "pulls that toward the origin: at t = T every arrow points at the origin, "
               "whatever the data. ")
            + "\n\n"
            "**Cosine similarity** of two arrows: the cosine of the angle between them "
            "(1 = same way, 0 = at right angles, -1 = opposite). **Relative error**: the "
            "size of the learned-minus-ideal differences over all arrows together, as a "
            "share of the ideal arrows' size (0% = identical; lengths count, not only "
            "directions).")


def change_bullets(model: TrainedModel, t: int, numbers: FieldNumbers) -> list[str]:
    """The seed's claim at this t: on the ringed arrows, nearest data or middle?"""
    if numbers.split == 0:
        return ["For this data the nearest training point always lies roughly toward the "
                "middle, so the two answers cannot be told apart here."]
    return [f"The {numbers.split} ringed arrows: where the nearest training point and "
            "the data's middle lie more than 90° apart (hollows of the data).",
            f"Learned field: {numbers.learned_nearest:.0%} of them point at the nearest "
            f"training point, {numbers.learned_middle:.0%} at {middle_name(model)}.",
            f"Ideal field: {numbers.ideal_nearest:.0%} at the nearest training point, "
            f"{numbers.ideal_middle:.0%} at the middle."]


def ends_answer(model: TrainedModel, size: int, key: str) -> str:
    """The answer to page 2's question, from the ideal field at both ends of the slider."""
    schedule = model.schedule
    lo = shared.t_options(schedule.T, allow_zero=False, spacing=schedule.time_spacing)[0]
    first, last = field_numbers(key, model, lo, size), field_numbers(key, model, schedule.T, size)
    if last.split == 0:
        return ("For this data the two answers point the same way at every t: there are no "
                "ringed arrows to tell them apart.")
    target = ("the data's middle" if is_walk(model)
              else "the origin (α_T times the middle, and α_T is almost 0)")
    flipped = first.ideal_nearest > first.ideal_middle
    return (f"**At t = T, {last.ideal_middle:.0%} of the exact ringed arrows point at "
            f"{target}**, {last.ideal_nearest:.0%} at the nearest training point.\n\n"
            f"At the smallest t ({lo}): {first.ideal_nearest:.0%} at the nearest point, "
            f"{first.ideal_middle:.0%} at the middle"
            + (", the other way round." if flipped else ".")
            + "\n\nWhy: each arrow points at the average of every start that could have "
            "led here. At large t that is almost every training point, and their average "
            "is the middle"
            + ("." if is_walk(model) else
               "; DDPM's arrows aim at α_t times it, and α_t falls to almost 0."))


def agreement_bullets(numbers: FieldNumbers) -> list[str]:
    agreement, angle = numbers.agreement, numbers.angle_error
    bullets = [f"Directions: mean cosine similarity {agreement.mean_cosine:.2f} (1 = the "
               "same way).",
               f"Angles: median {np.median(angle):.0f}°, and "
               f"{np.mean(angle <= POINTS_AT_DEGREES):.0%} "
               f"of the arrows within {POINTS_AT_DEGREES}° of the exact ones.",
               f"Lengths: relative error {agreement.relative_error:.0%}; overall the "
               f"learned arrows are {agreement.length_ratio:.2f} times as long as the exact "
               "ones (root-mean-square lengths)."]
    if agreement.only_directions_agree:
        bullets.append("So the directions agree while the lengths do not. The arrows are "
                       "drawn all the same length: only their colours show it.")
    return bullets


def settling_bullets(model: TrainedModel, c: Commitment, t: int) -> list[str]:
    sigma = model.schedule.sigma
    on_class, settled = c.decided_from(c.on_final_class), c.decided_from(c.near_final)

    def from_t(t_from: int | None, what: str) -> str:
        if t_from is None:
            return f"Fewer than {DECIDED:.0%} {what} even at t = 1."
        return f"{DECIDED:.0%} {what} from t = {t_from:,} on (σ_t = {sigma[t_from]:.2f})."

    at, (class_share, settled_share) = c.nearest_time(t), c.at(t)
    start, chance = float(c.on_final_class[0]), 1 / c.num_classes
    near_chance = "about chance" if abs(start - chance) < 0.1 else "chance would be"
    bullets = [f"At t = T, {start:.0%} of the guesses lie on their final class: "
               f"{near_chance} (1 in {c.num_classes}).",
               from_t(on_class, "are on their final class"),
               from_t(settled, "are settled"),
               f"At t = {at:,} (nearest the slider): {class_share:.0%} on their final "
               f"class, {settled_share:.0%} settled."]
    if on_class is not None and (settled is None or on_class > settled):
        bullets.append("So which class a sample goes to is decided first, at larger t; "
                       "where exactly it lands, last.")
    else:
        bullets.append("Here the class is not decided before the fine position.")
    return bullets


# ---------------------------------------------------------------- figures

def field_panel(field: Field, data: np.ndarray, title: str, spacing: float, name: str,
                top: float, ringed: np.ndarray) -> go.Figure:
    """One field of the side-by-side view, its colour range fixed to 0..top."""
    fig = figures.field_figure(field.xy, field.v, data, title, spacing, name=name,
                               magnitude_range=(0.0, top))
    return figures.with_marked_points(fig, ringed, RINGED)


def side_by_side(model: TrainedModel, t: int, size: int, key: str) -> None:
    data = model.data.points
    spacing = 2 * VIEW_EXTENT / (size - 1)
    fields = {kind: shared.cached_field(key, model, kind, t, size, UNCONDITIONAL)
              for kind in ("learned", "ideal")}
    ringed = grid(size)[split_points(key, model, size)]
    # One colour range for both, so that equal colours mean equal magnitudes.
    top = max(float(np.linalg.norm(f.v, axis=1).max()) for f in fields.values())
    for col, kind, title in zip(st.columns(2), fields, ("Learned", "Ideal (exact)"),
                                strict=True):
        field = fields[kind]
        with col:
            fig = shared.cached_figure(
                ("vector field", key, kind, t, size),
                partial(field_panel, field, data, f"{title} field at t = {t:,}", spacing,
                        kind, top, ringed))
            shared.chart(fig, key=f"chart_{kind}", alt=f"The {kind} denoising direction "
                         f"at t = {t} on a {size} by {size} grid of arrows over the "
                         "training data; arrows of equal length, colour is the magnitude.",
                         name=(*shared.model_name(model), f"t{t}"),
                         data=chart_data.field_data(field.xy, data, field=field.v))


def overlay(model: TrainedModel, t: int, size: int, key: str) -> None:
    learned = shared.cached_field(key, model, "learned", t, size, UNCONDITIONAL)
    ideal = shared.cached_field(key, model, "ideal", t, size, UNCONDITIONAL)
    ringed = grid(size)[split_points(key, model, size)]
    fig = shared.cached_figure(("overlay", key, t, size), lambda: figures.with_marked_points(
        figures.comparison_field_figure(learned.xy, learned.v, ideal.v, model.data.points,
                                        f"Learned over ideal (red) at t = {t:,}",
                                        2 * VIEW_EXTENT / (size - 1)), ringed, RINGED))
    shared.chart(fig, key="chart_overlay", alt=f"The learned denoising direction drawn "
                 f"over the ideal one at t = {t}, {size} by {size} arrows; the ideal "
                 "shows in red only where the two differ.",
                 name=(*shared.model_name(model), f"t{t}"),
                 data=chart_data.field_data(learned.xy, model.data.points,
                                            learned=learned.v, ideal=ideal.v))


def angle_error(model: TrainedModel, t: int, size: int, numbers: FieldNumbers) -> None:
    fig = figures.angle_error_figure(numbers.angle_error, size,
                                     f"Where they disagree: angle at t = {t:,}",
                                     model.data.points)
    shared.chart(fig, key="chart_angle_error", name=(*shared.model_name(model), f"t{t}"),
                 data={"data": model.data.points}, drawn=True,
                 alt=f"Heat map of the angle between the learned and the ideal arrow at "
                 f"each grid point, t = {t}; transparent where they agree, red where they "
                 "differ.")


def role_of_t(active: shared.Active) -> DeltaGenerator:
    """The role of t: its chart and text (the same for every t); returns the slot for
    the bullets at the slider's t."""
    model = active.model
    st.subheader("The role of t: the big picture first, the details last")
    c = settling(active.key, model)
    figure_col, text_col = st.columns([3, 2])
    with figure_col:
        # No marker at the slider's t: the same figure for every t, drawn once outside
        # the fragment (the bullets name the t nearest the slider).
        fig = shared.cached_figure(("settling", active.key), lambda: figures.commitment_figure(
            c.times, {"x̂₀ on the class the sample ends in": c.on_final_class,
                      f"x̂₀ within {c.tolerance:g} of where it ends": c.near_final},
            1 / c.num_classes, None, model.schedule.T))
        shared.chart(fig, key="chart_settling", name=shared.model_name(model), alt=(
            f"Shares of {sampling_views.DEFAULT_N} samples whose prediction x0_hat is on "
            f"their final class, and within {c.tolerance:g} of their final place, against "
            "t."))
    with text_col:
        st.markdown(
            "Large t decides the big picture, small t the details. Samples are made from "
            "noise (page 3's DDPM run, the trained network), and at every step we ask of "
            "each one's current guess $\\hat x_0$: is it on the class the sample finally "
            f"lands on? Is it within {c.tolerance:g} of where it lands (**settled**)?")
        bullets = st.container()
        if is_walk(model):
            st.caption("The random walk's sampler takes Karras-spaced steps (Karras et al. "
                       "2022): finer and finer as σ_t falls, where the details are decided.")
    return bullets


def field_view(active: shared.Active) -> None:
    """The t slider, the view and grid controls, and the figures they drive. Only what
    they change is in the fragment (`field_view_at_t`); the text around it that they do
    not change is written once, between slots the fragment fills (docs/ARCHITECTURE.md,
    "pages/"). The presentation view shows one figure and its controls alone."""
    controls = st.container()
    if not shared.presenting():
        st.caption("Arrows: the denoising direction α_t x̂₀ − x_t, which way back to the "
                   "data, all drawn the same length; colour = its length. Grey dots: the "
                   "training data. Pink rings: the arrows the first bullets below are about.")
    fields_slot = st.container()
    if shared.presenting():
        slots = Slots(controls, st.container(), None, None)
    else:
        st.subheader("How close is the network to the exact answer?")
        error_col, text_col = st.columns([3, 2])
        with text_col:
            st.markdown(
                "The ideal field is what a perfect network trained on these same points "
                "would draw. The heat map shows, arrow by arrow, the angle between the "
                "learned and the ideal direction: transparent where they agree, red where "
                "they do not. Far from the data, where noisy points are rare at small t, "
                "the network saw few training examples: that is where to expect it to be "
                "wrong.")
            agreement = st.container()
        slots = Slots(controls, error_col, agreement, role_of_t(active))
    with fields_slot:
        field_view_at_t(active, slots)


@dataclass(frozen=True)
class Slots:
    """Where field_view_at_t writes outside its own block, in page order (None: not on
    the page, in the presentation view)."""

    controls: DeltaGenerator
    angle_error: DeltaGenerator
    agreement: DeltaGenerator | None
    settling: DeltaGenerator | None


@st.fragment
def field_view_at_t(active: shared.Active, slots: Slots) -> None:
    """The controls (in slots.controls) and everything they drive (reruns alone when one
    of them moves)."""
    model = active.model
    with slots.controls:
        t_col, view_col, size_col = st.columns([4, 2, 1], vertical_alignment="bottom")
    with t_col:
        t = shared.url_t_slider("Step t: how much noise", model.schedule.T, allow_zero=False,
                                default_fraction=0.1, spacing=model.schedule.time_spacing,
                                sigma=model.schedule.sigma)
    with view_col, shared.folded("vector_field_view"):
        view = shared.url_selectbox("View", "view", VIEWS, VIEWS[0], widget=st.radio,
                                    horizontal=True)
    with size_col, shared.folded("vector_field_grid"):
        size = shared.url_selectbox("Grid", "grid", GRID_SIZES, 24,
                                    format_func=lambda n: f"{n} x {n}")
    numbers = field_numbers(active.key, model, t, size)
    heading = (f"at t = {t:,} (an arrow points at something when within "
               f"{POINTS_AT_DEGREES}° of it):")
    if not shared.shows("fields"):
        pass
    elif view == "overlay":
        figure_col, text_col = st.columns([3, 2])
        with figure_col:
            overlay(model, t, size, active.key)
        with text_col:
            st.markdown("The learned arrows (coloured heads) are drawn over the ideal "
                        "ones (red, wider). Where the two agree they coincide; where a red "
                        "arrow sticks out in another direction, the network is off.")
            shared.what_you_see(change_bullets(model, t, numbers), heading=heading)
    else:
        side_by_side(model, t, size, active.key)
        shared.what_you_see(change_bullets(model, t, numbers), heading=heading)
    shared.predict_then_look(
        "Look at the ringed arrows. When you drag t to T, will they point at the nearest "
        "training point, or at the middle of the data?",
        ends_answer(model, size, active.key), key="vector_field_ends")
    if shared.shows("error"):
        with slots.angle_error:
            angle_error(model, t, size, numbers)
    if slots.agreement is not None:
        with slots.agreement:
            shared.what_you_see(agreement_bullets(numbers), heading=f"at t = {t:,}:")
    if slots.settling is not None:
        with slots.settling:
            shared.what_you_see(settling_bullets(model, settling(active.key, model), t))


active = shared.active_model()
st.title("2. The vector field: which way back to the data")
if not shared.presenting():
    explanation(active.model)
field_view(active)
