"""Page 3: the reverse process. From pure noise back to data with three update rules:
DDPM, the same rule without its injected noise (the cloud collapses), and DDIM."""

from __future__ import annotations

import math

import streamlit as st

from explainer.samplers import SAMPLER_LABELS, SAMPLER_NAMES
from explainer.trained import TrainedModel
from pages import plotly_frame, sampling_views, shared
from pages.sampling_views import (
    DEFAULT_N,
    POINT_COUNTS,
    TITLES,
    default_steps,
    sampling_view,
    step_choices,
)

SAMPLER_CHOICES = ("all", *SAMPLER_NAMES)
CHOICE_LABELS = {"all": "All three side by side", **SAMPLER_LABELS}
SHORT_NAMES = {"ddpm": "DDPM", "no_noise": "without noise", "ddim": "DDIM"}
DENOISERS = {"learned": "the trained network",
             "ideal": "the perfect model (exact denoiser of the training set)"}
COLLAPSED = 0.25  # a cloud with less than this share of the data's spread has collapsed
# Samples on the data (mean distance to it under NEAR_DATA; a real sample's is ~0.013) that
# still score PILED_UP times the floor have piled up on parts of it. Without the noise on
# data whose average is off the data (the 8 gaussians, the rings) the points do not
# collapse to that average: it is an unstable point, and each falls onto the part of the
# data nearest it (the random walk's no-noise run on the gaussians: spread 0.95 of the
# data's, every blob shrunk to its centre, ~13x the floor).
PILED_UP = 5.0
NEAR_DATA = 0.05


# ---------------------------------------------------------------- text

def introduction() -> None:
    st.markdown(
        "Generating data is the forward process run backwards. Start from **pure noise**: "
        "a cloud drawn from the distribution every walk ends in at t = T. At each step, "
        "ask the network where each point came from (its guess $\\hat x_0$, the vector "
        "field of page 2) and move a little toward it, from t = T down to 0.\n\n"
        "How exactly to move is a choice, and it matters:\n"
        "- **DDPM**: step toward $\\hat x_0$, then **add a little fresh noise** (Ho et al., "
        "Algorithm 2 on the Home page).\n"
        "- **Without the noise**: the same step, with the fresh noise left out. The seed "
        "article's claim: the points then **collapse toward the average of the data**, the "
        "'blurry tree in a desert' of an image model. (Where the average lies off the "
        "data, as for the 8 gaussians, the points pile up on the parts of the data nearest "
        "it instead: try the perfect model there.)\n"
        "- **DDIM**: no fresh noise either, yet correct, because it uses a different update: "
        "it keeps each point's own predicted noise $\\hat\\epsilon$ and rescales it, "
        "$x_s = \\alpha_s \\hat x_0 + \\sigma_s \\hat\\epsilon$. It is deterministic and "
        "works with far fewer steps.\n\n"
        "Press ▶ Play under the figure, or drag its t slider: the animation runs in your "
        "browser, all panels at the same t. Orange lines follow a few points all the way.")
    with st.expander("The maths: one posterior, three update rules"):
        st.markdown(
            "Every process here is $x_t = \\alpha_t x_0 + \\sigma_t \\epsilon$. For a step "
            "from t down to s (s = t - 1 when steps = T), let $a = \\alpha_t / \\alpha_s$ "
            "and $v = \\sigma_t^2 - a^2 \\sigma_s^2$. If we knew $x_0$, the forward process "
            "would tell us exactly where $x_s$ lies:")
        st.latex(r"q(x_s \mid x_t, x_0) = \mathcal N\!\left("
                 r"\frac{a\,\sigma_s^2}{\sigma_t^2}\, x_t + \frac{\alpha_s v}{\sigma_t^2}\, x_0,"
                 r"\;\frac{v\,\sigma_s^2}{\sigma_t^2}\, I\right)")
        st.markdown(
            "We don't know $x_0$, so we plug in the network's guess "
            "$\\hat x_0 = (x_t - \\sigma_t \\hat\\epsilon) / \\alpha_t$.\n\n"
            "- **DDPM** draws $x_s$ from this Gaussian: its mean plus "
            "$\\sqrt{v \\sigma_s^2 / \\sigma_t^2}\\, z$ with fresh $z \\sim \\mathcal N(0, I)$ "
            "(no noise on the very last step). For DDPM's schedule this is exactly Ho et "
            "al.'s Algorithm 2; for the random walk the mean is "
            "$\\frac{t-1}{t} x_t + \\frac1t \\hat x_0$, the Brownian bridge of page 1.\n"
            "- **Without the noise**: $x_s$ = the mean. At large t every point's "
            "$\\hat x_0$ is nearly the same, the average of the data (page 2: all arrows "
            "point to the middle). The mean is a weighted average of $x_t$ and that "
            "$\\hat x_0$, so each step pulls the cloud together, and nothing spreads it "
            "out again. Precisely: what is left of each point's own noise, "
            "$x_s - \\alpha_s \\hat x_0$, is $\\frac{a \\sigma_s^2}{\\sigma_t}\\hat\\epsilon$: "
            "a factor $a \\sigma_s / \\sigma_t < 1$ less than the $\\sigma_s \\hat\\epsilon$ "
            "the path needs, at every step. By the time t is small enough for "
            "$\\hat x_0$ to tell the data's parts apart, the points are in one bunch.\n"
            "- **DDIM** (Song et al. 2021, $\\eta = 0$): "
            "$x_s = \\alpha_s \\hat x_0 + \\sigma_s \\hat\\epsilon$. It keeps exactly "
            "$\\sigma_s \\hat\\epsilon$, so at every step the cloud has the spread the "
            "forward process has at s, without any fresh randomness: the only randomness "
            "is the starting noise.")


# ---------------------------------------------------------------- controls

def controls(model: TrainedModel) -> tuple[str, str, int, int, int, bool]:
    T = model.schedule.T
    # A steps value from a process with a larger T no longer fits: start from the default.
    choices = step_choices(T)
    shared.forget_if_invalid("steps", lambda v: v in choices)
    shared.forget_if_invalid("n", lambda v: v in POINT_COUNTS)  # ?n= is shared with page 4
    choice_col, kind_col = st.columns([3, 2])
    with choice_col:
        sampler = shared.url_selectbox("Sampler", "sampler", SAMPLER_CHOICES, "all",
                                       widget=st.radio, horizontal=True,
                                       format_func=CHOICE_LABELS.get)
    with kind_col:
        kind = shared.url_selectbox("Denoiser", "denoiser", tuple(DENOISERS), "learned",
                                    format_func=DENOISERS.get,
                                    help="The perfect model computes E[x0 | x_t] exactly "
                                         "from the training set: what a network would "
                                         "output if training were perfect.")
    steps_col, n_col, seed_col, x0_col = st.columns([3, 1, 1, 1], vertical_alignment="bottom")
    with steps_col:
        steps = shared.url_selectbox(f"Steps (of T = {T})", "steps", choices,
                                     default_steps(model), widget=st.select_slider,
                                     help=f"How many updates from t = T to 0: "
                                          f"{', '.join(map(str, choices))}. With fewer than "
                                          "T, each update jumps several t (for the random "
                                          "walk, finer jumps as the noise gets small). DDPM "
                                          "and its no-noise twin want many; DDIM copes with "
                                          "few.")
    with n_col:
        n = shared.url_selectbox("Points", "n", POINT_COUNTS, DEFAULT_N)
    with seed_col:
        seed = shared.url_seed_input("Which starting noise (and which injected noise) is drawn.")
    with x0_col:
        show_x0_hat = st.checkbox("Show x̂₀", key="show_x0_hat",
                                  help="Draw the network's guess x̂₀ (green) at each step: "
                                       "where each point is heading.")
    return sampler, kind, steps, n, seed, show_x0_hat


# ---------------------------------------------------------------- figures and numbers

def quality_text(ratio: float) -> str:
    if not math.isfinite(ratio):
        return "no finite samples"
    return f"{ratio:.1f}x" if ratio < 100 else f"{ratio:.0f}x"


def numbers_block(title: str, numbers: shared.SampleNumbers, data_spread: float) -> None:
    st.markdown(
        f"**{title}**  \n"
        f"Quality **{quality_text(numbers.quality)}** the floor  \n"
        f"Spread **{numbers.spread:.2f}** (data {data_spread:.2f})  \n"
        f"Distance to data **{numbers.distance:.3f}**")


NUMBERS_HELP = (
    "**Quality**: MMD² between the samples and a fresh draw of the data, divided by the "
    "same number for an independent draw of the data, i.e. a perfect sampler (the floor): "
    "1x or less means the samples are as close to the data as real data is. "
    "**Spread**: RMS distance from the cloud's own centre. **Distance to data**: mean "
    "distance from a sample to its nearest training point (small even for a collapsed "
    "cloud, if it lands on the data).")


def animation_alt(numbers: dict[str, shared.SampleNumbers], model: TrainedModel, steps: int,
                  n: int, data_spread: float) -> str:
    """The chart's accessible name: what it shows, and where each sampler ends."""
    ends = "; ".join(f"{SHORT_NAMES[name]} ends with spread {nums.spread:.2f}"
                     for name, nums in numbers.items())
    return (f"Animation of {n} points moving from noise at t = {model.schedule.T} to samples "
            f"at t = 0 in {steps} steps, one panel per sampler, over the grey training "
            f"data; a star marks the data's average. {ends} (data {data_spread:.2f}).")


def describe(sampler: str, numbers: shared.SampleNumbers, data_spread: float,
             data_centre: tuple[float, float]) -> str:
    name = SHORT_NAMES[sampler]
    x, y = numbers.centre
    head = (f"{name}: spread {numbers.spread:.2f} (data {data_spread:.2f}), "
            f"{quality_text(numbers.quality)} floor")
    if numbers.spread < COLLAPSED * data_spread:
        return (f"{head}: collapsed into one spot at ({x:.2f}, {y:.2f}); the data's average "
                f"is at ({data_centre[0]:.2f}, {data_centre[1]:.2f})")
    notes = []
    if numbers.spread < 0.8 * data_spread:
        notes.append(f"shrunk to {numbers.spread / data_spread:.0%} of the data's spread")
    if numbers.quality >= PILED_UP and numbers.distance < NEAR_DATA:
        notes.append("the samples pile up on parts of the data instead of covering it")
    return f"{head}: {', and '.join(notes)}" if notes else head


@st.fragment
def reverse_process(active: shared.Active) -> None:
    """The controls and the figures they drive (reruns alone when a control moves)."""
    model = active.model
    sampler, kind, steps, n, seed, show_x0_hat = controls(model)
    chosen = SAMPLER_NAMES if sampler == "all" else (sampler,)
    with st.spinner("Sampling..."):
        fig, results = sampling_view(active, chosen, kind, steps, n, seed, show_x0_hat)
    data_spread, data_centre = shared.cached_data_numbers(active.key, model)
    plotly_frame.show(fig, key="chart_sampling",
                      alt=animation_alt(results, model, steps, n, data_spread))
    for column, name in zip(st.columns(len(chosen)), chosen, strict=True):
        with column:
            numbers_block(TITLES[name], results[name], data_spread)
    st.caption(NUMBERS_HELP)
    shared.sentence("; ".join(describe(name, numbers, data_spread, data_centre)
                              for name, numbers in results.items()) + ".")
    if kind == "ideal":
        st.caption("The perfect model knows only the training set, so its good samples land "
                   "on (copies of) training points: a network that fitted its data this "
                   "perfectly would memorise it rather than generalise.")


# ---------------------------------------------------------------- the page

active = shared.active_model()
st.title("3. Sampling: from noise back to data")
introduction()
reverse_process(active)
sampling_views.warm_in_background(active)
