"""Page 1: the forward process. Data becomes noise by random walks; the last step of a
walk, given where it started and where it is now, points back to the start."""

from __future__ import annotations

import numpy as np
import streamlit as st

from explainer import figures
from explainer.bridge import (
    NARROW_WINDOW,
    NOISY,
    WIDE_WINDOW,
    LastStepEstimate,
    last_step_estimate,
)
from explainer.fields import VIEW_EXTENT
from explainer.metrics import spread
from explainer.schedules import forward_paths, noised_cloud
from explainer.trained import TrainedModel
from pages import plotly_frame, shared

COLOUR_NAMES = ("orange", "sky blue", "green", "yellow", "blue", "red", "pink", "grey")
WALK_COUNTS = (400_000, 1_600_000)  # Monte Carlo sizes offered: fast, and 2x more precise


# ---------------------------------------------------------------- cached backend calls

@st.cache_data(max_entries=64, show_spinner=False)
def walk_paths(model_key: str, _model: TrainedModel, count: int, seed: int) -> np.ndarray:
    """Whole random-walk paths (T+1, count, 2) of `count` training points picked by seed."""
    points = _model.data.points
    picks = np.random.default_rng(seed).choice(len(points), size=count, replace=False)
    return forward_paths(_model.schedule, points[picks], seed=seed)


@st.cache_data(max_entries=128, show_spinner=False)
def cloud_at(model_key: str, _model: TrainedModel, t: int) -> np.ndarray:
    # One fixed seed for every t: the cloud then changes smoothly as the slider moves.
    return noised_cloud(_model.schedule, _model.data.points, t, seed=0)


@st.cache_data(max_entries=64, show_spinner=False)
def last_step(model_key: str, _model: TrainedModel, x0: tuple[float, float],
              x_t: tuple[float, float], t: int, walks: int) -> LastStepEstimate:
    return last_step_estimate(_model.schedule, np.array(x0), np.array(x_t), t, walks=walks)


# ---------------------------------------------------------------- helpers

def view_extent(*clouds: np.ndarray) -> float:
    """Half-width of a view that holds (almost all of) the given points."""
    reach = max(float(np.quantile(np.abs(c), 0.99)) for c in clouds)
    return max(VIEW_EXTENT, round(1.1 * reach, 1))


def vec(v: np.ndarray, digits: int = 3) -> str:
    return f"({v[0]:.{digits}f}, {v[1]:.{digits}f})"


def next_seed() -> None:
    st.session_state["seed"] = (st.session_state.get("seed", 0) + 1) % 10_000


# ---------------------------------------------------------------- sections

def introduction(model: TrainedModel) -> None:
    data = model.data
    text, figure = st.columns([3, 2])
    with text:
        st.markdown(
            "Each dot on the right is one training example. Think of an image as a point "
            "in a space with one axis per pixel; here there are only two axes, so we can "
            "see everything.\n\n"
            "The **forward process** destroys the data on purpose: at every step t each "
            "point takes a small random step. After a few steps the shape is blurred; "
            "after T steps nothing of it is left, only a cloud of noise. Each point has "
            "done a **random walk** (Brownian motion).\n\n"
            "A diffusion model is trained to undo this. That sounds impossible, since "
            "each step is pure chance; the last section of this page shows why it is not.")
        with st.expander("The maths: one formula for every t"):
            st.markdown(
                "Noise is added step by step, but the walk after t steps has a closed "
                "form: $x_t = \\alpha_t x_0 + \\sigma_t \\epsilon$ with "
                "$\\epsilon \\sim \\mathcal N(0, I)$.\n\n"
                "- **Random walk** (variance exploding): $x_t = x_{t-1} + s z$, so "
                "$\\alpha_t = 1$ and $\\sigma_t = s\\sqrt t$.\n"
                "- **DDPM** (variance preserving): $x_t = \\sqrt{1-\\beta_t}\\,x_{t-1} + "
                "\\sqrt{\\beta_t}\\, z$, so $\\alpha_t = \\sqrt{\\bar\\alpha_t}$ and "
                "$\\sigma_t = \\sqrt{1-\\bar\\alpha_t}$ with "
                "$\\bar\\alpha_t = \\prod_{s \\le t} (1-\\beta_s)$: the points also shrink "
                "toward 0, so the cloud ends as $\\mathcal N(0, I)$.\n\n"
                "Training draws $x_t$ directly from this formula (no walking needed); the "
                "walks below are drawn step by step to show the picture behind it.")
    with figure:
        counts = np.bincount(data.labels, minlength=data.num_classes)
        fig = figures.data_cloud_figure(data.points, data.labels, data.class_names,
                                        f"Training data: {data.name}", height=380)
        plotly_frame.show(fig, key="chart_data_cloud", alt=f"Scatter plot of the {data.name} "
                          f"training set, {len(data.points)} points coloured by class.")
        classes = ", ".join(f"{name} {n}" for name, n in zip(data.class_names, counts, strict=True))
        shared.sentence(f"{len(data.points):,} training points in {data.num_classes} classes "
                        f"({classes}); their spread (RMS distance from the centre) is "
                        f"{spread(data.points):.2f}.")


def walk_controls() -> tuple[int, int]:
    st.subheader("Follow a few points on their walk")
    count_col, seed_col, dice_col = st.columns([3, 1, 1], vertical_alignment="bottom")
    with count_col:
        count = shared.url_slider("Walks to draw", "walks", 1, 8, 3,
                                  help="How many training points to follow.")
    with seed_col:
        seed = shared.url_seed_input("Which training points walk, and which noise they get.")
    with dice_col:
        st.button("🎲 Random points", on_click=next_seed, width="stretch")
    return count, seed


@st.fragment
def forward_process(active: shared.Active, count: int, seed: int) -> None:
    """The t slider and everything it drives (reruns alone when the slider moves)."""
    model = active.model
    paths = walk_paths(active.key, model, count, seed)
    schedule, data = model.schedule, model.data.points
    t = shared.url_t_slider("Step t: how many noise steps have been added", schedule.T,
                            allow_zero=True, default_fraction=0.1,
                            spacing=schedule.time_spacing)
    alpha_t, sigma_t = float(schedule.alpha[t]), float(schedule.sigma[t])
    cloud = cloud_at(active.key, model, t)
    walks_col, schedule_col = st.columns([3, 2])
    with walks_col:
        fig = shared.cached_figure(("walks", active.key, count, seed, t), lambda: (
            figures.walks_figure(paths, t, data,
                                 view_extent(cloud, paths[: t + 1].reshape(-1, 2), data),
                                 cloud)))
        plotly_frame.show(fig, key="chart_walks", alt=f"{paths.shape[1]} random walks drawn up to "
                          f"step {t}, over the training data and the whole cloud noised to "
                          f"step {t}.")
        moved = float(np.linalg.norm(paths[t] - paths[0], axis=1).mean())
        shared.sentence(
            f"at t = {t} the noised cloud's spread is {spread(cloud):.2f} (data: "
            f"{spread(data):.2f}); σ_t = {sigma_t:.2f}, α_t = {alpha_t:.2f}. The "
            f"{paths.shape[1]} walks (circle = start, cross = now) are on average "
            f"{moved:.2f} from where they started.")
    with schedule_col:
        fig = shared.cached_figure(("schedule", active.key, t), lambda: (
            figures.schedule_figure(schedule.alpha, schedule.sigma, t)))
        plotly_frame.show(fig, key="chart_schedule", alt=f"Noise schedule: alpha_t and sigma_t for "
                          f"t = 0 to {schedule.T}, with a marker at t = {t}.")
        shared.sentence(schedule_sentence(model, t))
    st.divider()
    bridge_section(active, paths, t)


def schedule_sentence(model: TrainedModel, t: int) -> str:
    schedule = model.schedule
    alpha_t, sigma_t = float(schedule.alpha[t]), float(schedule.sigma[t])
    end = (f"at t = T = {schedule.T}, α_T = {schedule.alpha[-1]:.3f} and σ_T = "
           f"{schedule.sigma[-1]:.2f}")
    if schedule.name == "random_walk":
        return (f"α_t = 1 at every step (a walk never shrinks toward 0); the noise's std "
                f"grows like √t: σ_t = {sigma_t:.2f} at t = {t}; {end}, about "
                f"{schedule.sigma[-1] / spread(model.data.points):.0f}x the data's spread.")
    return (f"at t = {t} each point keeps α_t = {alpha_t:.2f} of its position and gets noise "
            f"of std σ_t = {sigma_t:.2f} (α_t² + σ_t² = 1); {end}: pure noise N(0, I).")


def bridge_section(active: shared.Active, paths: np.ndarray, t: int) -> None:
    model = active.model
    walk_rule = model.schedule.name == "random_walk"
    # \\mid, not "|": a bare "|" would split the markdown table's cell.
    formula_text = ("(x_0 - x_t) / t" if walk_rule
                    else "E[x_{t-1} \\mid x_t, x_0] - x_t")
    st.subheader("Why the last step points back: the Brownian bridge")
    st.markdown(
        "Each step of a walk is pure chance. But suppose you know where a walk **started** "
        "($x_0$) and where it **is now** ($x_t$). Among all the walks that went from "
        "$x_0$ to $x_t$, the last step they took is not random on average: it points back "
        "toward $x_0$. This is what the network learns: at a noisy point, which way back "
        "to the data. Below, we simulate hundreds of thousands of walks from $x_0$, keep "
        "those that ended at $x_t$, and average their last step $x_{t-1} - x_t$.")
    with st.expander("The maths, and a correction to the seed article"):
        st.markdown(
            "For the random walk, $\\mathbb E[x_{t-1} - x_t \\mid x_t, x_0] = "
            "\\dfrac{x_0 - x_t}{t}$: the walk pinned at both ends is a Brownian bridge, "
            "and on average it covers the remaining distance in equal parts. For any "
            "Gaussian path (DDPM too) the left side is the mean of the posterior "
            "$q(x_{t-1} \\mid x_t, x_0)$ minus $x_t$, the same posterior the DDPM sampler "
            "uses.")
    st.info(
        "The seed article writes $\\mathbb E[x_{99} - x_{100} \\mid x_0] = "
        "\\mathbb E[x_0 - x_{100} \\mid x_0] / 100$, conditioning on $x_0$ alone. For the "
        "random walk both sides are then **zero**: each step is independent of where the "
        "walk began. The claim holds when we condition on **both** $x_0$ and $x_t$: "
        "$\\mathbb E[x_{t-1} - x_t \\mid x_t, x_0]$. That is what is simulated here.",
        icon="✏️")
    if t == 0:
        st.warning("Move t above 0: at t = 0 no step has been taken yet.")
        return
    x0, x_t, walks = bridge_controls(paths, t)
    est = last_step(active.key, model, x0, x_t, t, walks)
    if est.kept == 0:
        st.warning(f"None of the {walks:,} walks from x_0 ended near this x_t: it is very "
                   "unlikely after t steps. Pick a point nearer x_0, or a larger t.")
        return
    x0_arr, xt_arr = np.array(x0), np.array(x_t)
    length = float(np.linalg.norm(est.formula))
    scale = float(f"{np.linalg.norm(x0_arr - xt_arr) / length:.3g}") if length > 0 else 1.0
    fig_col, numbers_col = st.columns([3, 2])
    with fig_col:
        fig = figures.bridge_figure(x0_arr, xt_arr, est.mean_step, est.formula,
                                    model.data.points, scale)
        # Zoom to x0, x_t and the formula's arrow (the step is small next to the whole
        # data); a noisy Monte Carlo arrow (large t: magnified hundreds of times) may
        # leave the view rather than shrink the rest to a dot.
        shown = np.stack([x0_arr, xt_arr, xt_arr + scale * est.formula])
        low, high = shown.min(0), shown.max(0)
        half = max(0.35, 0.65 * float((high - low).max()))
        figures.focus(fig, (low + high) / 2, half)
        mc_off_view = bool(np.abs(xt_arr + scale * est.mean_step - (low + high) / 2).max()
                           > half)
        plotly_frame.show(fig, key="chart_bridge", alt=(
            f"The start x0, the point x_t at t = {t}, and the mean last step drawn from x_t, "
            f"magnified {scale:g} times: Monte Carlo and formula."))
    with numbers_col:
        bridge_numbers(est, formula_text, walks, float(model.schedule.sigma[t]))
    shared.sentence(bridge_sentence(est, t, scale, walk_rule, mc_off_view))


def bridge_controls(paths: np.ndarray, t: int) -> tuple[tuple[float, float],
                                                         tuple[float, float], int]:
    count = paths.shape[1]
    walk_col, size_col = st.columns(2)
    with walk_col:
        i = st.selectbox("Walk", range(count), key="bridge_walk",
                         format_func=lambda k: f"walk {k + 1} ({COLOUR_NAMES[k]})",
                         help="x_0 is where this walk started.")
    with size_col:
        walks = st.selectbox("Walks simulated", WALK_COUNTS, key="bridge_walks",
                             format_func=lambda n: f"{n:,}",
                             help="More walks: a smaller standard error, a slower answer.")
    x0 = (round(float(paths[0, i, 0]), 3), round(float(paths[0, i, 1]), 3))
    end = (round(float(paths[t, i, 0]), 3), round(float(paths[t, i, 1]), 3))
    if not st.checkbox("Choose x_t myself (instead of where the walk is at t)",
                       key="bridge_custom"):
        return x0, end, walks
    x_col, y_col = st.columns(2)
    with x_col:
        x = st.number_input("x_t, first coordinate", -20.0, 20.0, end[0], 0.1, key="bridge_x")
    with y_col:
        y = st.number_input("x_t, second coordinate", -20.0, 20.0, end[1], 0.1, key="bridge_y")
    return x0, (round(x, 3), round(y, 3)), walks


def bridge_numbers(est: LastStepEstimate, formula_text: str, walks: int,
                   sigma_t: float) -> None:
    st.markdown(
        "| | first | second |\n|---|---:|---:|\n"
        f"| Monte Carlo mean of $x_{{t-1}} - x_t$ | {est.mean_step[0]:+.4f} | "
        f"{est.mean_step[1]:+.4f} |\n"
        f"| its standard error | {est.std_error[0]:.4f} | {est.std_error[1]:.4f} |\n"
        f"| formula ${formula_text}$ | {est.formula[0]:+.4f} | {est.formula[1]:+.4f} |")
    st.caption(f"Walks kept: {est.kept:,} of {walks:,} (those that ended within "
               f"{est.radius:.3f} = {est.radius / sigma_t:.1f} σ_t of x_t; "
               f"{WIDE_WINDOW:g} σ_t where {NARROW_WINDOW:g} σ_t leaves the mean step under "
               f"{NOISY:g} standard errors long).")


def bridge_sentence(est: LastStepEstimate, t: int, scale: float, walk_rule: bool,
                    mc_off_view: bool) -> str:
    if np.all(est.std_error == 0):
        agree = "they are exactly equal: at t = 1 the step before is x_0 itself."
    else:
        z = float(np.max(np.abs(est.mean_step - est.formula) / est.std_error))
        agree = f"they differ by at most {z:.1f} standard errors."
    target = "lands on x_0" if walk_rule else "points back toward the data"
    noisy = (" The Monte Carlo arrow, magnified as much, leaves the view: at large t one "
             "walk's step is far larger than the mean step, so its average is noisy; "
             "simulate more walks." if mc_off_view else "")
    return (f"at t = {t}, the {est.kept:,} walks that ended at x_t took on average the last "
            f"step {vec(est.mean_step)}; the formula gives {vec(est.formula)}, and {agree} "
            f"Magnified {scale:g} times, the formula's arrow {target}.{noisy}")


# ---------------------------------------------------------------- the page

active = shared.active_model()
st.title("1. Random walks: how data becomes noise")
introduction(active.model)
count, seed = walk_controls()
forward_process(active, count, seed)
