"""Page 5: classifier-free guidance. The conditional, unconditional and difference fields,
and a guidance-scale slider over samples of one class."""

from __future__ import annotations

import numpy as np
import streamlit as st

from explainer import chart_data, claims
from explainer.fields import VIEW_EXTENT, difference_field, field_agreement, share_pointing_at
from explainer.figures import guidance as figures
from explainer.figures.guidance import FieldPanel
from explainer.guidance import Guidance
from explainer.samplers import network_passes
from explainer.trained import TrainedModel
from pages import animation_download, shared

GRID = 21  # arrows per side: readable on a phone, and cheap for the perfect model
SPACING = 2 * VIEW_EXTENT / (GRID - 1)
SAMPLER, SAMPLER_STEPS, SEED = "ddim", 50, 0
POINT_COUNTS = (250, 500, 1000)
W_MAX = 10.0  # the slider's end, and the share-vs-w curve's
CURVE_WS = (0.0, 1.0, 2.0, 3.0, 4.0, 6.0, 8.0, W_MAX)  # the share-vs-w curve's points
CURVE_TS = (0.0, 0.03, 0.1, 0.2, 0.3, 0.5, 0.7, 1.0)  # agreement-vs-t: fractions of the slider
NONE = "none"


# ---------------------------------------------------------------- text

def introduction() -> None:
    st.markdown(
        "To ask for one kind of data (a class here, a text prompt in an image model), the "
        "network also gets the class as an input. **Classifier-free guidance** exaggerates "
        "what the class changes: it compares the network's answer with the class and "
        "without it, and pushes w times along the difference. It needs no separate "
        "classifier, hence the name.")
    st.markdown(
        "When does that help? A perfect model given the class (w = 1) already samples "
        "that class exactly. Guidance earns its keep when a network **under-uses** the "
        "class, as text-to-image models do with their prompts: choose *a network that "
        "rarely saw the class* as the Denoiser below, and move w to see guidance pull its "
        "samples into the class, and what that costs.")
    st.info(
        "**Convention used here** (diffusers, Imagen): "
        "$\\hat\\epsilon_{guided} = \\hat\\epsilon_{uncond} + w\\,(\\hat\\epsilon_{cond} - "
        "\\hat\\epsilon_{uncond})$. **w = 0**: unconditional, **w = 1**: plain "
        "conditional, **w > 1**: guided, pushed past the conditional answer. Ho & Salimans "
        "2022 (who introduced it), smalldiffusion and the Welch Labs video write "
        "$(1 + w')\\,\\hat\\epsilon_{cond} - w'\\,\\hat\\epsilon_{uncond}$: "
        "the same thing with $w' = w - 1$.", icon="📐")


def maths_expander() -> None:
    with st.expander("The maths, and the words (score, cosine, in class and on the data)"):
        st.markdown(
            "The network predicts $\\hat\\epsilon(x_t, t, y)$; the label $y$ is a class or "
            "the null label 'no class' (shown instead of the class for a share of the "
            "training examples: a quarter for the trained network, 99 in 100 for the one "
            "that rarely saw the class). The arrows drawn are the denoising direction "
            "$v = \\alpha_t \\hat x_0 - x_t = -\\sigma_t \\hat\\epsilon$ (page 2), so the "
            "same formula holds for arrows: "
            "$v_{guided} = v_{uncond} + w\\,(v_{cond} - v_{uncond}) = "
            "v_{cond} + (w - 1)(v_{cond} - v_{uncond})$.\n\n"
            "In terms of probabilities, $-\\hat\\epsilon / \\sigma_t$ estimates the "
            "**score** $\\nabla \\log p_t(x)$, the direction in which the noisy data gets "
            "more likely. By Bayes' rule the conditional score is the unconditional one "
            "plus $\\nabla \\log p_t(y \\mid x)$, so guidance follows "
            "$\\nabla \\log p_t(x) + w \\nabla \\log p_t(y \\mid x)$: roughly sampling "
            "$p_t(x)\\, p_t(y \\mid x)^{w}$, the class's likelihood raised to the power w. "
            "Samples move deeper into the class and vary less; pushed too hard, past it and "
            "off the data, where the network was never trained.\n\n"
            "**Negative class** B: replace $\\hat\\epsilon_{uncond}$ by the prediction for "
            "B: $\\hat\\epsilon_B + w\\,(\\hat\\epsilon_{cond} - \\hat\\epsilon_B) = "
            "w\\,\\hat\\epsilon_{cond} - (w - 1)\\,\\hat\\epsilon_B$: toward the class with "
            "weight w and away from B with weight w - 1.\n\n"
            "**Cosine** of two arrows: 1 when they point the same way, 0 at right angles, "
            "-1 opposite; the mean cosine averages it over the grid.\n\n"
            "**In class and on the data**: a sample's nearest training point is of the "
            "class, and no farther from it than the class's own widest gap (the largest "
            "distance from one of its training points to the nearest other one; a fresh "
            "point of the class lands that close at least 99% of the time). The nearest "
            "point's class alone would count a sample thrown far past the class as in it.")


# ---------------------------------------------------------------- controls

def controls(active: shared.Active) -> tuple[int, int | None, float, str, int]:
    names = active.model.class_names
    # A class name of the previous dataset no longer fits: start from the default.
    shared.forget_if_invalid("label", lambda v: v in names)
    kinds = tuple(k for k in shared.DENOISERS
                  if k != "weak" or shared.under_conditioned_active(active) is not None)
    shared.forget_if_invalid("denoiser", lambda v: v in kinds)
    class_col, negative_col, kind_col = shared.folded("guidance_choices").columns(3)
    with class_col:
        label = shared.url_selectbox("Class to generate", "label", names, names[-1])
    shared.forget_if_invalid("negative", lambda v: v == NONE or (v in names and v != label))
    with negative_col:
        negative = shared.url_selectbox(
            "Negative class (push away from)", "negative",
            (NONE, *(name for name in names if name != label)), NONE,
            help="Replaces the unconditional prediction in the guidance formula.")
    with kind_col:
        kind = shared.url_selectbox("Denoiser", "denoiser", kinds, "learned",
                                    format_func=shared.DENOISERS.get,
                                    help="The network that rarely saw the class saw it in 1 "
                                         "training example of 100 (the trained network: 3 "
                                         "of 4): it makes good data but under-uses the "
                                         "class. The perfect model computes "
                                         "E[x0 | x_t, class] exactly from the training set.")
    # ?n= is shared with page 3, which offers more sizes: keep only a size offered here.
    shared.forget_if_invalid("n", lambda v: v in POINT_COUNTS)
    w_col, n_col = st.columns([4, 1])
    with w_col:
        w = shared.url_slider("Guidance scale w (0 = unconditional, 1 = conditional, "
                              "> 1 = guided)", "w", 0.0, W_MAX, 3.0, step=0.5)
    with n_col, shared.folded("guidance_n"):
        n = shared.url_selectbox("Samples", "n", POINT_COUNTS, 500)
    neg = None if negative == NONE else names.index(negative)
    return names.index(label), neg, float(w), kind, n


def chosen_model(active: shared.Active, kind: str) -> tuple[shared.Active, str]:
    """The model and denoiser kind the page samples: the network that rarely saw the
    class is another model, used as a trained network."""
    if kind == "weak":
        weak = shared.under_conditioned_active(active)
        assert weak is not None, "offered only where it is shipped"
        return weak, "learned"
    return active, kind


# ---------------------------------------------------------------- the fields at t

def curve_times(model: TrainedModel) -> tuple[int, ...]:
    """The agreement curve's t: CURVE_TS of the way along the t slider (in sigma_t for
    the random walk, so its first point is nearly clean too), ending at T."""
    schedule = model.schedule
    options = shared.t_options(schedule.T, allow_zero=False, spacing=schedule.time_spacing)
    return tuple(sorted({options[round(f * (len(options) - 1))] for f in CURVE_TS}))


def large_t_bullet(model: TrainedModel, label: int, T: int, cosine: float) -> str:
    """Why the two fields agree (or not) at t = T, for this process and the number shown."""
    schedule, names = model.schedule, model.class_names
    head = f"**At t = {T}**, the end: mean cosine {cosine:.2f}"
    agree = claims.fields_agree(cosine)
    if claims.large_t_shrinks_guesses(schedule):
        alpha_T = float(schedule.alpha[T])
        reason = (f"α_T = {alpha_T:.4f} shrinks every guess, with the class or "
                  "without, onto the origin, so both arrows point there")
        return (f"{head}: they agree. {reason}" if agree else
                f"{head}: they {claims.agreement_words(cosine)}, although {reason}")
    data = model.data
    gap = float(np.linalg.norm(data.points[data.labels == label].mean(0)
                               - data.points.mean(0)))
    alpha_T = float(schedule.alpha[T])
    reason = (f"here α_T = {alpha_T:.2g}, so each arrow points at its own guess: about the "
              f"average of class '{names[label]}' for the conditional field, the average of "
              f"all the data for the other, {gap:.2f} apart")
    words = claims.agreement_words(cosine)
    if agree:
        return f"{head}: they agree: {reason}, close as seen from most of the grid"
    return f"{head}: they {'do **not** agree' if words == 'differ' else words}: {reason}"


def fields_prompt(active: shared.Active, kind: str, label: int) -> None:
    """The fields' heading and question (outside the fragment: t does not change them)."""
    model, T = active.model, active.model.schedule.T
    curve = shared.cached_agreement_curve(active.key, model, kind, label, curve_times(model),
                                          GRID)
    if not shared.presenting():
        st.subheader("The fields at time t")
    shared.predict_then_look(
        f"Slide t to its end (t = {T}, nearly pure noise). Will the conditional and the "
        "unconditional arrows point the same way there?",
        large_t_bullet(model, label, T, curve[-1]), "guidance")


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
    key, T = active.key, model.schedule.T
    ts = curve_times(model)
    curve = shared.cached_agreement_curve(key, model, kind, label, ts, GRID)
    t = shared.url_t_slider("Time t (large: noisy, small: nearly clean)", T,
                            allow_zero=False, default_fraction=0.1,
                            spacing=model.schedule.time_spacing)
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
    shared.chart(fig, key="chart_fields",
                 name=(*shared.model_name(model), names[label], f"t{t}", f"w{w:g}"),
                 data=chart_data.field_data(uncond.xy, data.points, unconditional=uncond.v,
                                            conditional=cond.v, difference=diff.v,
                                            guided=guided.v, class_data=class_points),
                 alt=(
        f"Four arrow fields at t = {t}: the unconditional field over all the training data, "
        f"the conditional field of class {cls}, the conditional minus the {base_name} "
        f"field, and the guided field (w = {w:g}), each over that class's training points "
        "(grey)."))
    if shared.presenting():
        return
    st.caption("Arrows have equal length; their colour is the length |v| of the step, "
               "from dark (the shortest in its panel) to yellow (the longest): the "
               "difference is much shorter than the fields themselves. Grey dots: all the "
               f"data (unconditional) or the class {cls} only (the others).")
    difference = ("**The difference** points toward the class:" if round(towards, 2) > 0.5
                  else "**The difference**:")
    shared.what_you_see([
        f"**At t = {t}** the conditional and the unconditional arrows "
        f"{claims.agreement_words(agreement)}: mean cosine {agreement:.2f} (1 = all point "
        "the same way)",
        large_t_bullet(model, label, T, curve[-1]),
        f"**At t = {ts[0]}**, nearly clean: mean cosine {curve[0]:.2f}: they "
        f"{claims.agreement_words(curve[0])}",
        f"{difference} {towards:.0%} of its arrows point within 30° of the nearest "
        f"training point of class {cls}"])
    with st.expander("Agreement of the two fields over t", expanded=False):
        fig = figures.curve_figure(np.array(ts), {"mean cosine, cond vs uncond": np.array(curve)},
                                   f"Conditional vs unconditional field, class {cls}", "t",
                                   "mean cosine", mark_x=t, y_range=(min(0.0, min(curve)), 1.02),
                                   height=280)
        shared.chart(fig, key="chart_agreement", name=shared.model_name(model), alt=(
            f"Line chart: mean cosine between the conditional ({cls}) and unconditional "
            f"fields for t from {ts[0]} to {ts[-1]}: {curve[0]:.2f} at t = {ts[0]}, "
            f"{curve[-1]:.2f} at t = {ts[-1]}."))


# ---------------------------------------------------------------- samples at w

EFFECT_WORDS = {"into class": "more samples in the class",
                "rescued": "more of them in class and on the data",
                "out of class": "fewer samples in the class",
                "off the data": "samples thrown past the class, off the data",
                "less variety": "less variety (a smaller spread)",
                "more spread": "a wider spread"}


def effect_bullet(w: float, at_w: claims.GuidedNumbers, at_1: claims.GuidedNumbers) -> str:
    """The closing sentence: what this w did against w = 1, from the numbers."""
    if w == 1.0:
        return "**w = 1** is the plain conditional model: no guidance yet"
    effects = claims.guidance_effects(w, at_w, at_1)
    words = [EFFECT_WORDS[e] for e in effects] or ["about the same samples"]
    what = " and ".join([", ".join(words[:-1]), words[-1]] if len(words) > 1 else words)
    more = "more" if w > 1 else "less"
    return f"**Against w = 1**, {more} guidance gives {what}"


def help_bullets(curve: dict[float, shared.SampleNumbers], cls: str) -> list[str]:
    """Where guidance helps this network most, and where it overdoes it (from the curve)."""
    guided = [cw for cw in curve if cw > 1.0]
    at_1 = curve[1.0].guided()
    best_w = max(guided, key=lambda cw: curve[cw].guided().on_class)
    best = curve[best_w].guided()
    nearest_w = max(guided, key=lambda cw: curve[cw].guided().share)
    nearest = curve[nearest_w].guided().share
    if best.on_class >= at_1.on_class + claims.SHARE_STEP:
        items = [f"**Guidance rescues this network**: {at_1.on_class:.0%} of samples in "
                 f"class {cls} and on the data at w = 1, {best.on_class:.0%} at w = "
                 f"{best_w:g}"]
    elif nearest >= at_1.share + claims.SHARE_STEP:
        items = [f"**Guidance pulls more samples toward class {cls}** ({at_1.share:.0%} "
                 f"nearest it at w = 1, {nearest:.0%} at w = {nearest_w:g}), but not onto "
                 "its data"]
    else:
        items = [f"**This network needs no rescue**: {at_1.on_class:.0%} in class {cls} and "
                 "on the data at w = 1 already; no w does clearly better"]
    top = curve[W_MAX].guided()
    if top.on_class <= max(best.on_class, at_1.on_class) - claims.SHARE_STEP:
        rest = ("the rest thrown past the class, off its data"
                if top.share > at_1.share - claims.SHARE_STEP else
                "the rest pushed out of the class")
        items.append(f"**Too much at w = {W_MAX:g}**: only {top.on_class:.0%} in class and "
                     f"on the data, {rest}")
    return items


def cost_bullet(w: float, steps: int, guidance: Guidance) -> str:
    passes = network_passes(steps, guidance)
    if passes > steps:
        return (f"**Cost**: {passes} network passes per sample ({steps} DDIM steps, each "
                "asking with the class and without it); w = 0 or 1 asks once per step")
    return (f"**Cost**: {passes} network passes per sample, one per DDIM step: at w = {w:g} "
            "one answer is enough (guided, twice as many)")


def samples_section(active: shared.Active, kind: str, guidance: Guidance, n: int) -> None:
    model = active.model
    label, w, negative = guidance.label, guidance.w, guidance.negative
    assert label is not None
    names, data = model.class_names, model.data
    steps = min(SAMPLER_STEPS, model.schedule.T)
    cls = f"'{names[label]}'"
    if not shared.presenting():
        st.subheader(f"Samples at w = {w:g}")
    with shared.folded("guidance_samples_text"):
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
        curve = {cw: shared.cached_sample_numbers(key, model, kind, SAMPLER, steps, n,
                                                  Guidance(label, cw, neg), SEED)
                 for cw in CURVE_WS}
    class_spread, _ = shared.cached_data_numbers(key, model, label)
    left, right = st.columns([3, 2])
    with left:
        fig = shared.cached_figure(
            ("guided animation", key, kind, label, w, negative, n, steps),
            lambda: figures.guided_animation_figure(
                trajectory.xs, trajectory.times, f"Guided samples: class {cls}, w = {w:g}",
                data.points, data.labels, label, negative))
        shared.chart(fig, key="chart_guided_samples",
                     name=(*shared.model_name(model), names[label], f"w{w:g}"),
                     data={"data": data.points, "label": data.labels}, drawn=True, alt=(
            f"Animation of {n} samples guided toward class {cls} with w = {w:g}, from noise "
            f"to t = 0; {numbers.on_class:.0%} end in class {cls} and on its data."),
            frame=shared.url_frame(model.schedule.T), frame_in_link=True)
        animation_download.guided(key, model, kind, label, negative, n, steps, W_MAX)
    with right:
        st.metric(f"In class {cls} and on the data", f"{numbers.on_class:.0%}",
                  help="Share of samples whose nearest training point is of this class and "
                       "no farther from it than the class's own widest gap between "
                       f"training points. Nearest point of this class: {numbers.share:.0%}.")
        st.metric("Spread of the samples", f"{numbers.spread:.2f}",
                  help=f"RMS (root mean square) distance from their centre; the class's own "
                       f"training points: {class_spread:.2f}.")
        st.metric("Network passes per sample", f"{network_passes(steps, guidance)}",
                  help="One per DDIM step, two when guided (with and without the class).")
        if shared.presenting():  # the animation and its numbers fill the screen
            return
        ws = np.array(CURVE_WS)
        shares = np.array([curve[cw].share for cw in CURVE_WS])
        on_class = np.array([curve[cw].on_class for cw in CURVE_WS])
        spreads = np.array([curve[cw].spread for cw in CURVE_WS]) / class_spread
        fig = figures.curve_figure(ws, {
            f"nearest to class {cls}": shares, "in class and on the data": on_class,
            "spread ÷ class's spread": spreads}, "As w grows", "w", "", mark_x=w, height=320)
        shared.chart(fig, key="chart_share_vs_w", name=shared.model_name(model), alt=(
            f"Line chart over w from 0 to {CURVE_WS[-1]:g}: the share of samples in class "
            f"{cls} and on the data goes from {on_class[0]:.0%} to {on_class[-1]:.0%}; their "
            f"spread relative to the class's from {spreads[0]:.2f} to {spreads[-1]:.2f}."))
    shared.what_you_see(samples_bullets(w, cls, numbers, curve, class_spread, steps, guidance,
                                        None if negative is None else f"'{names[negative]}'"))
    if negative is not None and numbers.share is not None and curve[1.0].share is not None \
            and numbers.share < curve[1.0].share:
        st.caption(
            f"With a negative class, w > 1 pulls toward {cls} with weight w and pushes away "
            f"from {names[negative]!r} with weight w - 1. Far from the data the network has "
            "never been trained, so large w can overshoot: samples leave the data "
            "altogether.")
    maths_expander()


def samples_bullets(w: float, cls: str, numbers: shared.SampleNumbers,
                    curve: dict[float, shared.SampleNumbers], class_spread: float,
                    steps: int, guidance: Guidance, negative: str | None) -> list[str]:
    """The 'What you see' bullets under the samples: each claim from the numbers shown."""
    at_0, at_1 = curve[0.0], curve[1.0]
    base = "unconditional" if negative is None else f"class {negative} alone"
    return [
        f"**At w = {w:g}**: {numbers.on_class:.0%} of the samples are in class {cls} and on "
        f"its data ({numbers.share:.0%} nearest to it)",
        f"**Without guidance**: {base} {at_0.on_class:.0%}, conditional "
        f"{at_1.on_class:.0%} in class and on the data",
        f"**Spread** {numbers.spread:.2f}, the class's own {class_spread:.2f}",
        effect_bullet(w, numbers.guided(), at_1.guided()),
        *help_bullets(curve, cls),
        cost_bullet(w, steps, guidance)]


# ---------------------------------------------------------------- the page

active = shared.active_model()
st.title("5. Guidance: steering toward a class")
if not shared.presenting():
    introduction()
label, negative, w, kind, n = controls(active)
sampled, sampled_kind = chosen_model(active, kind)
chosen = Guidance(label, w, negative)
if shared.shows("fields"):
    fields_prompt(sampled, sampled_kind, label)
    fields_section(sampled, sampled_kind, chosen)
    st.divider()
if shared.shows("samples"):
    samples_section(sampled, sampled_kind, chosen, n)
