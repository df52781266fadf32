"""Page 5: classifier-free guidance. One network, asked with and without a class; the
difference of its two answers, scaled by w, steers samples into the class."""

from __future__ import annotations

import numpy as np
import streamlit as st

from explainer import figures
from explainer.fields import VIEW_EXTENT, difference_field, field_agreement, share_pointing_at
from explainer.figures import FieldPanel
from explainer.guidance import Guidance
from explainer.trained import TrainedModel
from pages import plotly_frame, shared

DENOISERS = {"learned": "the trained network",
             "ideal": "the perfect model (exact denoiser of the training set)"}
GRID = 21  # arrows per side: readable on a phone, and cheap for the perfect model
SPACING = 2 * VIEW_EXTENT / (GRID - 1)
SAMPLER, SAMPLER_STEPS, SEED = "ddim", 50, 0
POINT_COUNTS = (250, 500, 1000)
CURVE_WS = (0.0, 0.5, 1.0, 1.5, 2.0, 3.0, 5.0, 8.0)  # the share-vs-w curve's points
CURVE_TS = (0.01, 0.03, 0.1, 0.2, 0.3, 0.5, 0.7, 1.0)  # agreement-vs-t, as fractions of T
NONE = "none"


# ---------------------------------------------------------------- text

def introduction() -> None:
    st.markdown(
        "So far the model makes *some* data. To ask for a particular kind (a class here, "
        "a text prompt in an image model), give the network the class as an extra input. "
        "The seed article's point: that alone is often not enough. The one network has "
        "to pull points toward the data **and** toward the class region at once, and the "
        "first pull can win, leaving samples stranded in between.\n\n"
        "**Classifier-free guidance** separates the two. The same network is trained to "
        "answer with a class *and* with 'no class' (the class is dropped at random during "
        "training). The **conditional** field points to the class region, the "
        "**unconditional** field to the data in general; their **difference** points "
        "toward the class and away from the average of all the data. Guidance follows "
        "the conditional field plus an extra push along that difference.")
    st.info(
        "**Convention used here** (diffusers, Imagen): "
        "$\\hat\\epsilon_{guided} = \\hat\\epsilon_{uncond} + w\\,(\\hat\\epsilon_{cond} - "
        "\\hat\\epsilon_{uncond})$. **w = 0**: unconditional, **w = 1**: plain "
        "conditional, **w > 1**: guided, pushed past the conditional answer. "
        "smalldiffusion and the Welch Labs video write "
        "$\\hat\\epsilon_{cond} + w'\\,(\\hat\\epsilon_{cond} - \\hat\\epsilon_{uncond})$: "
        "the same thing with $w' = w - 1$.", icon="📐")
    with st.expander("The maths"):
        st.markdown(
            "The network predicts $\\hat\\epsilon(x_t, t, y)$; the label $y$ is a class or "
            "the null label 'no class' (shown instead of the class for a quarter of the "
            "training examples). "
            "The arrows drawn are the denoising direction "
            "$v = \\alpha_t \\hat x_0 - x_t = -\\sigma_t \\hat\\epsilon$ (page 2), so the "
            "same formula holds for arrows: "
            "$v_{guided} = v_{uncond} + w\\,(v_{cond} - v_{uncond}) = "
            "v_{cond} + (w - 1)(v_{cond} - v_{uncond})$.\n\n"
            "In terms of probabilities, $-\\hat\\epsilon / \\sigma_t$ estimates the score "
            "$\\nabla \\log p_t(x)$, so guidance samples from roughly "
            "$p_t(x)\\, p_t(y \\mid x)^{w}$: the class's likelihood is raised to the power w, "
            "sharpening it. Samples then sit deeper inside the class, and less varied.\n\n"
            "**Negative class**: replace $\\hat\\epsilon_{uncond}$ by the prediction for "
            "the negative class B: "
            "$\\hat\\epsilon_B + w\\,(\\hat\\epsilon_{cond} - \\hat\\epsilon_B)$ pushes "
            "toward the class and away from B.\n\n"
            "**Why the two fields agree at large t**: there, $x_t$ is nearly pure noise, so "
            "every class's best guess of $x_0$ is close to the middle of the data, "
            "and both fields point there. At small t the noisy point still 'remembers' "
            "where it is, and the conditional field points to the class region only.")


# ---------------------------------------------------------------- controls

def controls(model: TrainedModel) -> tuple[int, int | None, float, str, int]:
    names = model.class_names
    # A class name of the previous dataset no longer fits: start from the default.
    shared.forget_if_invalid("label", lambda v: v in names)
    class_col, negative_col, kind_col = st.columns(3)
    with class_col:
        label = shared.url_selectbox("Class to generate", "label", names, names[-1])
    shared.forget_if_invalid("negative", lambda v: v == NONE or (v in names and v != label))
    with negative_col:
        negative = shared.url_selectbox(
            "Negative class (push away from)", "negative",
            (NONE, *(name for name in names if name != label)), NONE,
            help="Replaces the unconditional prediction in the guidance formula.")
    with kind_col:
        kind = shared.url_selectbox("Denoiser", "denoiser", tuple(DENOISERS), "learned",
                                    format_func=DENOISERS.get,
                                    help="The perfect model computes E[x0 | x_t, class] "
                                         "exactly from the training set.")
    # ?n= is shared with page 3, which offers more sizes: keep only a size offered here.
    shared.forget_if_invalid("n", lambda v: v in POINT_COUNTS)
    w_col, n_col = st.columns([4, 1])
    with w_col:
        w = shared.url_slider("Guidance scale w (0 = unconditional, 1 = conditional, "
                              "> 1 = guided)", "w", 0.0, 10.0, 3.0, step=0.5)
    with n_col:
        n = shared.url_selectbox("Samples", "n", POINT_COUNTS, 500)
    neg = None if negative == NONE else names.index(negative)
    return names.index(label), neg, float(w), kind, n


# ---------------------------------------------------------------- the fields at t

@st.fragment
def fields_section(active: shared.Active, kind: str, guidance: Guidance) -> None:
    """The t slider and the four fields it drives (reruns alone when t moves)."""
    model = active.model
    label, w, negative = guidance.label, guidance.w, guidance.negative
    assert label is not None
    names, data = model.class_names, model.data
    class_points = data.points[data.labels == label]
    base = Guidance() if negative is None else Guidance(negative)
    base_name = "unconditional" if negative is None else f"class '{names[negative]}'"
    st.subheader("The fields at time t")
    t = shared.url_t_slider("Time t (large: noisy, small: nearly clean)", model.schedule.T,
                            allow_zero=False, default_fraction=0.1,
                            spacing=model.schedule.time_spacing)
    key, T = active.key, model.schedule.T
    cond = shared.cached_field(key, model, kind, t, GRID, Guidance(label))
    uncond = shared.cached_field(key, model, kind, t, GRID, Guidance())
    base_field = uncond if negative is None else shared.cached_field(key, model, kind, t,
                                                                     GRID, base)
    guided = shared.cached_field(key, model, kind, t, GRID, guidance)
    diff = difference_field(cond, base_field)
    agreement = field_agreement(cond.v, uncond.v).mean_cosine
    towards = share_pointing_at(diff.v, diff.xy, class_points)
    cls = f"'{names[label]}'"
    drawn_from = (key, kind, t, label, w, negative)  # what the four fields depend on
    panels = [
        FieldPanel("unconditional", "Unconditional (no class)", uncond.xy, uncond.v,
                   data.points),
        FieldPanel("conditional", f"Conditional: class {cls} (w = 1)", cond.xy, cond.v,
                   class_points),
        FieldPanel("difference", f"Difference: {cls} minus {base_name}", diff.xy, diff.v,
                   class_points),
        FieldPanel("guided", f"Guided: w = {w:g}", guided.xy, guided.v, class_points)]
    fig = shared.cached_figure(("guidance fields", *drawn_from), lambda: (
        figures.field_panels_figure(panels, f"The four fields at t = {t}", SPACING)))
    plotly_frame.show(fig, key="chart_fields", alt=(
        f"Four arrow fields at t = {t}: the unconditional field over all the training data, "
        f"the conditional field of class {cls}, the conditional minus the {base_name} "
        f"field, and the guided field (w = {w:g}), each over that class's training points "
        "(grey)."))
    st.caption("Arrows have equal length; their colour is the length |v| of the step, "
               "from dark (the shortest in its panel) to yellow (the longest): the "
               "difference is much shorter than the fields themselves. Grey dots: all the "
               f"data (unconditional) or the class {cls} only (the others).")
    ts = tuple(sorted({max(1, round(f * T)) for f in CURVE_TS}))
    curve = shared.cached_agreement_curve(key, model, kind, label, ts, GRID)
    shared.sentence(
        f"at t = {t} the conditional and the unconditional field agree with mean cosine "
        f"{agreement:.2f} (1 = every arrow points the same way); at t = {ts[-1]} it is "
        f"{curve[-1]:.2f}, at t = {ts[0]}, {curve[0]:.2f}. {towards:.0%} of the difference "
        f"field's arrows point within 30° of the nearest training point of class {cls}.")
    with st.expander("Agreement of the two fields over t", expanded=False):
        fig = figures.curve_figure(np.array(ts), {"mean cosine, cond vs uncond": np.array(curve)},
                                   f"Conditional vs unconditional field, class {cls}", "t",
                                   "mean cosine", mark_x=t, y_range=(min(0.0, min(curve)), 1.02),
                                   height=280)
        plotly_frame.show(fig, key="chart_agreement", alt=(
            f"Line chart: mean cosine between the conditional ({cls}) and unconditional "
            f"fields for t from {ts[0]} to {ts[-1]}: {curve[0]:.2f} at t = {ts[0]}, "
            f"{curve[-1]:.2f} at t = {ts[-1]}."))


# ---------------------------------------------------------------- samples at w

def samples_section(active: shared.Active, kind: str, guidance: Guidance, n: int) -> None:
    model = active.model
    label, w, negative = guidance.label, guidance.w, guidance.negative
    assert label is not None
    names, data = model.class_names, model.data
    steps = min(SAMPLER_STEPS, model.schedule.T)
    cls = f"'{names[label]}'"
    st.subheader(f"Samples at w = {w:g}")
    st.markdown(
        f"{n} points start from the same noise for every w and follow the **guided** "
        f"field with DDIM ({steps} steps, deterministic), so what changes between two "
        "values of w is the guidance alone. Green: the asked class; grey: the other "
        "classes" + ("; pink: the negative class." if negative is not None else "."))
    key, neg = active.key, negative
    with st.spinner("Sampling..."):
        trajectory = shared.cached_trajectory(key, model, kind, SAMPLER, steps, n, guidance,
                                              SEED)
        numbers = shared.cached_sample_numbers(key, model, kind, SAMPLER, steps, n, guidance,
                                               SEED)
        curve = [shared.cached_sample_numbers(key, model, kind, SAMPLER, steps, n,
                                              Guidance(label, cw, neg), SEED)
                 for cw in CURVE_WS]
    class_spread, _ = shared.cached_data_numbers(key, model, label)
    left, right = st.columns([3, 2])
    with left:
        fig = shared.cached_figure(
            ("guided animation", key, kind, label, w, negative, n, steps),
            lambda: figures.guided_animation_figure(
                trajectory.xs, trajectory.times, f"Guided samples: class {cls}, w = {w:g}",
                data.points, data.labels, label, negative))
        plotly_frame.show(fig, key="chart_guided_samples", alt=(
            f"Animation of {n} samples guided toward class {cls} with w = {w:g}, from noise "
            f"to t = 0; {numbers.share:.0%} end nearest to a training point of class {cls}."))
    with right:
        st.metric(f"Samples in class {cls}", f"{numbers.share:.0%}",
                  help="Share of samples whose nearest training point is of this class.")
        st.metric("Spread of the samples", f"{numbers.spread:.2f}",
                  help=f"RMS distance from their centre; the class's own training points: "
                       f"{class_spread:.2f}.")
        st.caption(f"The class's training points have spread {class_spread:.2f}. Mean "
                   f"distance of the samples to the nearest training point of class {cls}: "
                   f"{numbers.distance:.3f}.")
        shares = np.array([c.share for c in curve])
        spreads = np.array([c.spread for c in curve]) / class_spread
        fig = figures.curve_figure(np.array(CURVE_WS), {
            f"share in class {cls}": shares, "spread ÷ class's spread": spreads},
            "As w grows", "w", "", mark_x=w, height=300)
        plotly_frame.show(fig, key="chart_share_vs_w", alt=(
            f"Line chart over w from 0 to {CURVE_WS[-1]:g}: the share of samples in class "
            f"{cls} goes from {shares[0]:.0%} to {shares[-1]:.0%}; their spread relative to "
            f"the class's from {spreads[0]:.2f} to {spreads[-1]:.2f}."))
    at = {cw: c.share for cw, c in zip(CURVE_WS, curve, strict=True)}
    shared.sentence(samples_sentence(w, n, cls, numbers, at, class_spread,
                                     None if negative is None else f"'{names[negative]}'"))
    if negative is not None and numbers.share < at[1.0]:
        st.caption(
            f"With a negative class, w > 1 pushes away from {names[negative]!r} as hard as "
            f"toward {cls}. Far from the data the network has never been trained, so large "
            "w can overshoot: samples leave the data altogether.")


def samples_sentence(w: float, n: int, cls: str, numbers: shared.SampleNumbers,
                     at: dict[float, float | None], class_spread: float,
                     negative: str | None) -> str:
    base = "unconditional" if negative is None else f"class {negative} alone"
    text = (f"at w = {w:g}, {numbers.share:.0%} of {n} samples are nearest to a training "
            f"point of class {cls} (w = 0, {base}: {at[0.0]:.0%}; w = 1, conditional: "
            f"{at[1.0]:.0%}); their spread is {numbers.spread:.2f} against the class's "
            f"{class_spread:.2f}")
    if negative is None:
        return text + ": more guidance, fewer samples outside the class, and less variety."
    return text + "."


# ---------------------------------------------------------------- the page

active = shared.active_model()
st.title("5. Guidance: steering toward a class")
introduction()
label, negative, w, kind, n = controls(active.model)
chosen = Guidance(label, w, negative)
fields_section(active, kind, chosen)
st.divider()
samples_section(active, kind, chosen, n)
