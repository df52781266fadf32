"""Page 3: the reverse process. From pure noise back to data with three update rules:
DDPM, the same rule without its injected noise (the cloud collapses), and DDIM."""

from __future__ import annotations

import math

import numpy as np
import streamlit as st

from explainer import animations, claims, export
from explainer.claims import NoNoiseRun
from explainer.guidance import Guidance
from explainer.metrics import quality_verdict
from explainer.samplers import (
    SAMPLER_LABELS,
    SAMPLER_NAMES,
    network_passes,
    no_noise_kept,
    no_noise_step_ratio,
    timesteps,
)
from explainer.trained import TrainedModel
from pages import animation_download, sampling_views, shared
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
SHORT_NAMES = {"ddpm": "DDPM", "no_noise": "Without noise", "ddim": "DDIM",
               "all": "All three"}
DENOISERS = {kind: shared.DENOISERS[kind] for kind in ("learned", "ideal")}


# ---------------------------------------------------------------- text

def introduction() -> None:
    st.markdown(
        "Generating data is the forward process run backwards: start from **pure noise** "
        "and, step by step from t = T down to 0, move each point a little toward the "
        "network's guess of where it came from ($\\hat x_0$, the field of page 2). "
        "**DDPM** adds a little fresh noise after each step; **without the noise** is the "
        "same step with that noise left out; **DDIM** leaves it out too, but takes a "
        "different step. Press ▶ Play under the figure: the orange lines follow a few "
        "points all the way, and the star marks the average of the data.")


def predict_answer(run: NoNoiseRun, numbers: shared.SampleNumbers, model: TrainedModel,
                   kind: str, steps: int, data_spread: float,
                   data_centre: tuple[float, float]) -> str:
    """The 'predict, then look' answer: the no-noise run on screen, phase by phase."""
    if steps == 1:  # one jump: nothing to shrink or land, and the same for every sampler
        return one_step_bullet(model, kind, numbers, data_spread, data_centre)
    story = no_noise_bullets(run, numbers, model, data_spread)
    if steps > 1:
        story.append(why_bullet(model, steps, run))
    return "\n".join(f"- {line}" for line in story)


# ---------------------------------------------------------------- controls

def controls(model: TrainedModel) -> tuple[str, str, int, int, int, bool]:
    T = model.schedule.T
    # A steps value from a process with a larger T no longer fits: start from the default.
    choices = step_choices(T)
    shared.forget_if_invalid("steps", lambda v: v in choices)
    shared.forget_if_invalid("n", lambda v: v in POINT_COUNTS)  # ?n= is shared with page 4
    shared.forget_if_invalid("denoiser", lambda v: v in DENOISERS)  # page 4 offers more
    choice_col, kind_col = shared.folded("sampling_choices").columns([3, 2])
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
    spacing = ("Karras spacing: evenly spaced in sigma_t^(1/7), so the jumps get finer as "
               "the noise gets small, where the detail is decided"
               if model.schedule.sampling_spacing == "karras" else "evenly spaced in t")
    with steps_col:
        steps = shared.url_selectbox(f"Steps (of T = {T})", "steps", choices,
                                     default_steps(model), widget=st.select_slider,
                                     help=f"How many updates from t = T to 0: "
                                          f"{', '.join(map(str, choices))}. With fewer than "
                                          f"T, each update jumps several t ({spacing}). "
                                          "Each step asks the network once per point. "
                                          "DDPM and its no-noise twin want many; DDIM "
                                          "copes with few.")
    with n_col, shared.folded("sampling_n"):
        n = shared.url_selectbox("Points", "n", POINT_COUNTS, DEFAULT_N)
    with seed_col, shared.folded("sampling_seed"):
        seed = shared.url_seed_input("Which starting noise (and which injected noise) is drawn.")
    with x0_col, shared.folded("sampling_x0"):
        show_x0_hat = st.checkbox("Show x̂₀", key="show_x0_hat",
                                  help="Draw the network's guess x̂₀ (green) at each step: "
                                       "where each point is heading.")
    return sampler, kind, steps, n, seed, show_x0_hat


# ---------------------------------------------------------------- numbers and sentences

def quality_text(ratio: float) -> str:
    if not math.isfinite(ratio):
        return "no finite samples"
    return f"{ratio:.1f}x" if ratio < 100 else f"{ratio:.0f}x"


def numbers_block(title: str, numbers: shared.SampleNumbers, data_spread: float) -> None:
    verdict = quality_verdict(numbers.quality) if math.isfinite(numbers.quality) else ""
    st.markdown(
        f"**{title}**  \n"
        f"Quality **{quality_text(numbers.quality)}** the floor (lower is better): "
        f"{verdict}  \n"
        f"Spread **{numbers.spread:.2f}** (data {data_spread:.2f})  \n"
        f"Distance to data **{numbers.distance:.3f}**")


def animation_alt(numbers: dict[str, shared.SampleNumbers], model: TrainedModel, steps: int,
                  n: int, data_spread: float) -> str:
    """The chart's accessible name: what it shows, and where each sampler ends."""
    ends = "; ".join(f"{SHORT_NAMES[name].lower()} ends with spread {nums.spread:.2f}"
                     for name, nums in numbers.items())
    return (f"Animation of {n} points moving from noise at t = {model.schedule.T} to samples "
            f"at t = 0 in {steps} steps, one panel per sampler, over the grey training "
            f"data; a star marks the data's average. {ends} (data {data_spread:.2f}).")


LANDING_NOTES = {"one bunch": "collapsed into one bunch on the data",
                 "collapsed off the data": "collapsed into one bunch, off the data",
                 "piled up": "the samples pile up on parts of the data instead of "
                             "covering it",
                 "shrunk": "shrunk: less varied than the data",
                 "off the data": "its samples lie off the data", "covers": ""}


def describe(sampler: str, numbers: shared.SampleNumbers, data_spread: float) -> str:
    """One sampler's bullet: its spread and quality (three numbers), and how it ends."""
    head = (f"**{SHORT_NAMES[sampler]}**: spread {numbers.spread:.2f} (data "
            f"{data_spread:.2f}), {quality_text(numbers.quality)} the floor")
    if not math.isfinite(numbers.quality):
        return head
    note = LANDING_NOTES[claims.landing(numbers.quality, numbers.spread, numbers.distance,
                                        data_spread)]
    return f"{head}: {quality_verdict(numbers.quality)}" + (f"; {note}" if note else "")


def no_noise_bullets(run: NoNoiseRun, numbers: shared.SampleNumbers, model: TrainedModel,
                     data_spread: float) -> list[str]:
    """The no-noise run in order: it shrinks (toward the scaled average), then lands."""
    where = ""
    if run.near_average(data_spread):
        where = " toward " + ("" if not run.average_is_scaled() else
                              f"alpha_t = {run.alpha_at_smallest:.2f} times ") + (
            "the average of the data")
    if run.shrinks_all_the_way():
        return [f"**Without noise** the cloud keeps shrinking{where} to the very end, and "
                + landing_text(run, numbers, model, data_spread, again=False)]
    return [f"**Without noise, first** the cloud shrinks{where}: spread "
            f"{run.smallest_spread:.2f} at t = {run.smallest_at}",
            "**then** it " + landing_text(run, numbers, model, data_spread, again=True)]


def landing_text(run: NoNoiseRun, numbers: shared.SampleNumbers, model: TrainedModel,
                 data_spread: float, again: bool) -> str:
    """Where the no-noise cloud ends (claims.landing), as the end of a sentence; `again`:
    after it has been smaller, so spreading out is spreading out again."""
    ending = claims.landing(numbers.quality, numbers.spread, numbers.distance, data_spread)
    name = model.class_names[run.top_class]
    if ending == "one bunch":
        return (f"lands as one bunch on the data: spread {run.final_spread:.2f}, "
                f"{run.top_share:.0%} of it on class '{name}'")
    if ending == "piled up":
        how = "spreads out onto the data again" if again else "lands on the data"
        return (f"{how} but piles up on parts of it: spread {numbers.spread:.2f} (data "
                f"{data_spread:.2f}), {quality_text(numbers.quality)} the floor")
    if ending == "shrunk":
        return (f"lands on the data, shrunk to {numbers.spread / data_spread:.0%} of the "
                "data's spread" + (f", {run.top_share:.0%} of it on class '{name}'"
                                   if run.lands_on_one_class() else ""))
    if ending == "covers":
        return (f"{'spreads out over the data again' if again else 'ends spread over the data'}"
                f": spread {numbers.spread:.2f} (data {data_spread:.2f})")
    return f"ends off the data: mean distance {numbers.distance:.3f} to it"


def why_bullet(model: TrainedModel, steps: int, run: NoNoiseRun) -> str:
    """Why the noise helps, in the numbers of the steps on screen."""
    schedule = model.schedule
    ratio = float(np.median(no_noise_step_ratio(schedule, step_times(model, steps))))
    t = max(run.smallest_at, 1)
    kept = no_noise_kept(schedule, t)
    share = f"{kept:.1%}" if kept >= 0.001 else "less than 0.1%"
    return (f"**Why:** without the noise each of these steps moves the points {ratio:.2f}x "
            f"as far toward the guess as DDIM's step does; by t = {t} they keep only "
            f"{share} of the spread DDIM keeps")


def step_times(model: TrainedModel, steps: int) -> list[int]:
    return timesteps(model.schedule.T, steps, model.schedule.sampling_spacing)


def one_step_bullet(model: TrainedModel, kind: str, numbers: shared.SampleNumbers,
                    data_spread: float, data_centre: tuple[float, float]) -> str:
    """Why one step throws the trained network's cloud out (or lands near the average)."""
    head = ("**One step**: all three samplers make the same single jump, from $x_T$ "
            "straight to the guess $\\hat x_0$ at t = T (no noise is added on a last step). ")
    if numbers.spread > claims.THROWN_OUT * data_spread:
        amplification = claims.one_step_amplification(model.schedule)
        return head + (
            "That guess is $(x_T - \\sigma_T \\hat\\epsilon) / \\alpha_T$: the "
            f"{'network' if kind == 'learned' else 'model'}'s small errors in "
            f"$\\hat\\epsilon$ are multiplied by $\\sigma_T / \\alpha_T$ = {amplification:.0f}, "
            f"which throws the cloud out to spread {numbers.spread:.2f}")
    off_centre = float(np.hypot(numbers.centre[0] - data_centre[0],
                                numbers.centre[1] - data_centre[1]))
    where = (" near the star (the average of the data)"
             if off_centre <= claims.NEAR_AVERAGE * data_spread else "")
    return head + (f"At t = T the guesses are all alike, so the cloud lands in one bunch"
                   f"{where}: spread {numbers.spread:.2f}" if numbers.spread
                   < claims.COLLAPSED * data_spread else
                   f"The cloud lands{where} with spread {numbers.spread:.2f}")


def cost_bullet(kind: str, steps: int, n: int) -> str:
    passes = network_passes(steps)
    who = "network" if kind == "learned" else "perfect model (a sum over every training point)"
    return (f"**Cost**: every sampler asks the {who} once per step: {passes:,} "
            f"pass{'es' if passes > 1 else ''} per sample, {passes * n:,} for these {n:,} "
            "points")


def bullets(results: dict[str, shared.SampleNumbers], run: NoNoiseRun | None,
            model: TrainedModel, kind: str, steps: int, n: int, data_spread: float,
            data_centre: tuple[float, float]) -> list[str]:
    """The 'What you see' bullets for the samplers on screen, in the figure's order."""
    items = []
    if steps == 1:  # one jump, the same for every sampler: one bullet for all
        first = next(iter(results.values()))
        items.append(one_step_bullet(model, kind, first, data_spread, data_centre))
        if len(results) > 1:
            results = {"all": first}
    for name, numbers in results.items():
        if name == "no_noise" and run is not None and steps > 1:
            items += no_noise_bullets(run, numbers, model, data_spread)
            items.append(why_bullet(model, steps, run))
        else:
            items.append(describe(name, numbers, data_spread))
    items.append(cost_bullet(kind, steps, n))
    return items


# ---------------------------------------------------------------- expanders

def why_noise_expander(model: TrainedModel, steps: int) -> None:
    schedule = model.schedule
    ratios = no_noise_step_ratio(schedule, step_times(model, steps))
    T = schedule.T
    with st.expander("Why the noise helps"):
        st.markdown(
            "Both steps can be written as $x_t / a$ minus a multiple of $\\hat\\epsilon$, "
            "with $a = \\alpha_t / \\alpha_s$: DDIM moves $\\sigma_t / a - \\sigma_s$ along "
            "$-\\hat\\epsilon$ (toward the guess $\\hat x_0$), the no-noise step "
            "$v / (a \\sigma_t)$. Their ratio is")
        st.latex(r"\frac{\text{no-noise step}}{\text{DDIM step}} = "
                 r"\frac{\sigma_t + a\,\sigma_s}{\sigma_t}")
        st.markdown(
            ("With one step it is 1: that step goes to t = 0, where both rules land on "
             "$\\hat x_0$. " if steps == 1 else
             f"For these {steps} steps it is {ratios[0]:.2f} on the first step and "
             f"{ratios[-1]:.2f} on the last (to t = 0). ") +
            "It is nearly 2 whenever steps are small: the no-noise step goes nearly twice "
            "as far. DDPM's fresh noise puts the spread back; left out, nothing does. In "
            "the limit of small steps these are the **reverse SDE**'s drift (taken without "
            "its noise) and the **probability-flow ODE**'s, whose pull toward the data is "
            "half as strong and which keeps the forward process's spread without noise.")
        st.markdown(
            "Step by step, what the no-noise rule keeps of each point's own noise "
            "$x_s - \\alpha_s \\hat x_0$ is $a \\sigma_s / \\sigma_t$ of what DDIM keeps; "
            "from t = T to s, whatever the steps, that multiplies up to "
            "$\\frac{\\alpha_T}{\\alpha_s} \\frac{\\sigma_s}{\\sigma_T}$.")
        if claims.large_t_shrinks_guesses(schedule):
            st.markdown(
                f"Here $\\alpha_T$ = {float(schedule.alpha[T]):.4f}: that share is tiny at "
                "every t, so the cloud shrinks to a point around the guess, the average of "
                "the data scaled by $\\alpha_t$, long before the guesses tell the data's "
                "parts apart; the perfect model's cloud does the same (it is the rule, not "
                "the network). What it lands on then is the data nearest that point (the "
                "bullets above say where this run lands).")
        else:
            st.markdown(
                f"Here $\\alpha_t = 1$ and the share is $\\sigma_s / \\sigma_T$, with "
                f"$\\sigma_T$ = {float(schedule.sigma[T]):.1f}: by the time $\\sigma_s$ is "
                f"1, about the data's size, the cloud keeps {1 / float(schedule.sigma[T]):.2f} "
                "of the spread DDIM keeps, not nothing. So it shrinks a lot, but not to one "
                "spot (the bullets above give its smallest spread).")


def maths_expander() -> None:
    with st.expander("The maths: one posterior, three update rules"):
        st.markdown(
            "Every process here is $x_t = \\alpha_t x_0 + \\sigma_t \\epsilon$. For a step "
            "from t down to s (s = t - 1 when steps = T), let $a = \\alpha_t / \\alpha_s$ "
            "and $v = \\sigma_t^2 - a^2 \\sigma_s^2$. If we knew $x_0$, the forward process "
            "would tell us exactly where $x_s$ lies, the **posterior** (the distribution of "
            "$x_s$ once $x_t$ and $x_0$ are known):")
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
            "- **Without the noise**: $x_s$ = the mean. What is left of each point's own "
            "noise, $x_s - \\alpha_s \\hat x_0$, is "
            "$\\frac{a \\sigma_s^2}{\\sigma_t}\\hat\\epsilon$: a factor "
            "$a \\sigma_s / \\sigma_t < 1$ less than the $\\sigma_s \\hat\\epsilon$ the path "
            "needs, at every step (see 'Why the noise helps').\n"
            "- **DDIM** (Song et al. 2021, $\\eta = 0$): "
            "$x_s = \\alpha_s \\hat x_0 + \\sigma_s \\hat\\epsilon$, without any fresh "
            "randomness: the only randomness is the starting noise. It is Euler's method on "
            "the probability-flow ODE, whose exact solution has the forward process's "
            "spread at every t; with finite steps DDIM keeps that spread only "
            "approximately (compare its spread with the data's above).")


def words_expander() -> None:
    with st.expander("The words: quality, MMD, RMS, network pass, Karras spacing"):
        st.markdown(
            "- **Quality** compares the samples with a fresh draw of the data by **MMD** "
            "(maximum mean discrepancy: how different two clouds look to a Gaussian "
            "'blur' of width 0.25; 0 for identical clouds). Two independent draws of real "
            "data score a small positive number, **the floor**; the quality is the samples' "
            "MMD divided by it. **Lower is better**: 1x is as close as real data gets; "
            "600x is far off.\n"
            "- **Spread**: the **RMS** (root mean square) distance of the samples from their "
            "own centre: how wide the cloud is.\n"
            "- **Distance to data**: mean distance from a sample to its nearest training "
            "point. Small even for a collapsed cloud, if it lands on the data.\n"
            "- **Network pass**: one evaluation of the network on a point; a sampler makes "
            "one per step per point (guidance, page 4, two).\n"
            "- **Karras spacing** (Karras et al. 2022): how the random walk's steps are "
            "spread over its 65,536 t when there are fewer of them: evenly in "
            "$\\sigma_t^{1/7}$, so the steps get finer as the noise gets small.")


def run_download(active: shared.Active, samplers: tuple[str, ...], kind: str,
                 steps: int, n: int, seed: int) -> None:
    """This view's run as a GIF or MP4 file, made on click (explainer/animations.py)."""
    def make(fmt: str, progress: export.Progress) -> bytes:
        runs = [shared.cached_trajectory(active.key, active.model, kind, s, steps, n,
                                         Guidance(), seed) for s in samplers]
        title = f"{steps} step{'s' if steps > 1 else ''} from t = {active.model.schedule.T} to 0"
        return export.in_worker(
            animations.sampling,
            [animations.Panel(TITLES[s], r.xs) for s, r in zip(samplers, runs, strict=True)],
            runs[0].times, active.model.data.points, title, fmt, progress=progress)

    animation_download.download("sampling_gif", "an animation of this run",
                                (active.key, samplers, kind, steps, n, seed),
                                f"sampling-{'-'.join(samplers)}-{steps}steps", make)


# ---------------------------------------------------------------- the fragment

@st.fragment
def reverse_process(active: shared.Active) -> None:
    """The controls and the figures they drive (reruns alone when a control moves)."""
    model = active.model
    sampler, kind, steps, n, seed, show_x0_hat = controls(model)
    chosen = SAMPLER_NAMES if sampler == "all" else (sampler,)
    with st.spinner("Sampling..."):
        fig, results = sampling_view(active, chosen, kind, steps, n, seed, show_x0_hat)
    data_spread, data_centre = shared.cached_data_numbers(active.key, model)

    def no_noise_run() -> NoNoiseRun:
        return shared.cached_no_noise_run(active.key, model, kind, steps, n, seed)

    def answer() -> str:
        numbers = shared.cached_sample_numbers(active.key, model, kind, "no_noise", steps, n,
                                               Guidance(), seed)
        return predict_answer(no_noise_run(), numbers, model, kind, steps, data_spread,
                              data_centre)

    shared.predict_then_look(
        "Leave out the fresh noise (DDPM, no noise): where will the points end up?", answer,
        "sampling")
    shared.chart(fig, key="chart_sampling",
                 alt=animation_alt(results, model, steps, n, data_spread),
                 name=(*shared.model_name(model), sampler, kind, f"{steps}steps"),
                 data={"data": model.data.points}, drawn=True,
                 frame=shared.url_frame(model.schedule.T), frame_in_link=True)
    if shared.presenting():  # the figure and its steps alone
        return
    run_download(active, chosen, kind, steps, n, seed)
    for column, name in zip(st.columns(len(chosen)), chosen, strict=True):
        with column:
            numbers_block(TITLES[name], results[name], data_spread)
    run = no_noise_run() if "no_noise" in results else None
    shared.what_you_see(bullets(results, run, model, kind, steps, n, data_spread,
                                data_centre))
    if kind == "ideal":
        st.caption("The perfect model knows only the training set, so its good samples land "
                   "on (copies of) training points: a network that fitted its data this "
                   "perfectly would memorise it rather than generalise.")
    why_noise_expander(model, steps)


# ---------------------------------------------------------------- the page

active = shared.active_model()
st.title("3. Sampling: from noise back to data")
if not shared.presenting():
    introduction()
reverse_process(active)
if not shared.presenting():
    maths_expander()  # the same for every control: outside the fragment, sent once
    words_expander()
sampling_views.warm_in_background(active)
