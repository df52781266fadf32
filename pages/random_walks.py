"""Page 1: the forward process. Data becomes noise by random walks; the last step of a
walk, given where it started and where it is now, points back to the start (for DDPM:
toward gamma_t x0, and to x0 itself once the walk is divided by alpha_t)."""

from __future__ import annotations

import numpy as np
import streamlit as st
from streamlit.delta_generator import DeltaGenerator

from explainer import chart_data
from explainer.bridge import (
    AGREE,
    NARROW_WINDOW,
    NOISY,
    WIDE_WINDOW,
    BridgeCheck,
    LastStepEstimate,
    StepAim,
    bridge_view,
    check_estimate,
    last_step_aim,
    last_step_estimate,
    window_bias,
)
from explainer.fields import view_extent
from explainer.figures import random_walks as figures
from explainer.figures.primitives import class_colour_name
from explainer.metrics import spread
from explainer.schedules import Schedule, ddpm_betas, forward_paths, noise_reaches, noised_cloud
from explainer.trained import TrainedModel
from pages import animation_download, shared

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

def vec(v: np.ndarray, digits: int = 3) -> str:
    v = np.round(v, digits) + 0.0  # + 0.0: no "-0.00"
    return f"({v[0]:.{digits}f}, {v[1]:.{digits}f})"


def step_digits(step: np.ndarray) -> int:
    """Decimals that show a step's two leading digits (0.0001 needs 5), at least 3."""
    largest = float(np.abs(step).max())
    return 3 if largest == 0 else int(np.clip(1 - np.floor(np.log10(largest)), 3, 8))


def about(n: float) -> str:
    """A large count to two significant digits: 25,549,582 -> "26,000,000"."""
    return f"{float(f'{n:.2g}'):,.0f}"


def times(scale: float) -> str:
    return f"{scale:,.0f}" if float(scale).is_integer() else f"{scale:g}"


def next_seed() -> None:
    st.session_state["seed"] = (st.session_state.get("seed", 0) + 1) % 10_000


def use_random_walk() -> None:
    """Switch the sidebar's noise process to the plain random walk."""
    st.session_state["process"] = "random_walk"


def data_std(model: TrainedModel) -> float:
    """The data's std per axis (its spread is the RMS distance in 2D: sqrt(2) times it)."""
    return spread(model.data.points) / np.sqrt(2)


def is_walk(schedule: Schedule) -> bool:
    return schedule.name == "random_walk"


# ---------------------------------------------------------------- sections

def introduction(model: TrainedModel) -> None:
    data, schedule = model.data, model.schedule
    text, figure = st.columns([3, 2])
    with text:
        if is_walk(schedule):
            process = (
                "The **forward process** destroys the data on purpose: at every step each "
                "point takes a small random step in a random direction, a **random walk** "
                "(Brownian motion). After enough steps nothing of the shape is left.")
        else:
            process = (
                "The **forward process** destroys the data on purpose: at every step each "
                "point is pulled a little toward the origin and takes a small random step. "
                "After T steps nothing of the shape is left: whatever the data, the cloud "
                "ends as the same round Gaussian.")
        st.markdown(
            "Each dot on the right is one training example (an image would be a point with "
            "one axis per pixel; here there are two, so we can see everything). "
            f"{process}\n\n"
            "A diffusion model is trained to undo this. That sounds impossible, since "
            "each step is pure chance; the last section of this page shows why it is not.")
        with st.expander("The maths: one formula for every t"):
            st.markdown(
                "Noise is added step by step, but the walk after t steps has a closed "
                "form: $x_t = \\alpha_t x_0 + \\sigma_t \\epsilon$ with "
                "$\\epsilon \\sim \\mathcal N(0, I)$ (Gaussian noise: each coordinate "
                "independent, mean 0, std 1).\n\n"
                "- **Random walk** (variance exploding): $x_t = x_{t-1} + s z$, so "
                "$\\alpha_t = 1$ and $\\sigma_t = s\\sqrt t$: Brownian motion, no pull.\n"
                "- **DDPM** (variance preserving): $x_t = \\sqrt{1-\\beta_t}\\,x_{t-1} + "
                "\\sqrt{\\beta_t}\\, z$, so $\\alpha_t = \\sqrt{\\bar\\alpha_t}$ and "
                "$\\sigma_t = \\sqrt{1-\\bar\\alpha_t}$ with "
                "$\\bar\\alpha_t = \\prod_{s \\le t} (1-\\beta_s)$. The factor "
                "$\\sqrt{1-\\beta_t} < 1$ pulls every point toward 0 (a mean-reverting "
                "walk, not Brownian motion), so the cloud ends as $\\mathcal N(0, I)$.\n\n"
                "Training draws $x_t$ directly from this formula (no walking needed); the "
                "walks below are drawn step by step to show the picture behind it.")
    with figure:
        fig = figures.data_cloud_figure(data.points, data.labels, data.class_names,
                                        f"Training data: {data.name}", height=380)
        shared.chart(fig, key="chart_data_cloud", alt=f"Scatter plot of the {data.name} "
                     f"training set, {len(data.points)} points coloured by class.",
                     name=shared.model_name(model),
                     data=chart_data.points_data(data.points, data.labels, data.class_names))
        shared.what_you_see(data_bullets(model))


def data_bullets(model: TrainedModel) -> list[str]:
    data = model.data
    counts = np.bincount(data.labels, minlength=data.num_classes)
    sizes = [f"{len(data.points):,} training points in {data.num_classes} classes"
             + (" of about equal size." if counts.max() <= 1.1 * counts.min() else ".")]
    if counts.max() > 1.1 * counts.min():
        sizes.append(f"The smallest class has {counts.min()} points, the largest "
                     f"{counts.max()}.")
    return sizes + [f"Their spread is {spread(data.points):.2f}: the RMS (root mean "
                    "square) distance from their centre, a typical distance."]


def walk_controls() -> tuple[int, int]:
    if not shared.presenting():
        st.subheader("Follow a few points on their walk")
    count_col, seed_col, dice_col = shared.folded("walk_controls").columns(
        [3, 1, 1], vertical_alignment="bottom")
    with count_col:
        count = shared.url_slider("Walks to draw", "walks", 1, 8, 3,
                                  help="How many training points to follow.")
    with seed_col:
        seed = shared.url_seed_input("Which training points walk, and which noise they get.")
    with dice_col:
        st.button("🎲 Random points", on_click=next_seed, width="stretch")
    return count, seed


def time_caption(schedule: Schedule) -> str:
    """What t and T mean for this process, and how the slider moves."""
    if is_walk(schedule):
        return (f"t counts steps: T = {schedule.T:,} tiny steps, each of std "
                f"s = {schedule.sigma[1]:.3f} per axis. After t steps a walk has spread "
                "σ_t = s√t (random steps partly cancel: √t, not t). The slider moves in "
                "equal steps of σ_t, so t jumps unevenly: most of the story happens at "
                "small t.")
    betas = ddpm_betas(schedule.T)
    return (f"t counts steps: T = {schedule.T} steps. Step t shrinks every point by the "
            "factor $\\sqrt{1 - \\beta_t}$ and adds noise of variance $\\beta_t$, which "
            f"grows from {betas[0]:.4f} to {betas[-1]:.2f}. The slider moves in equal steps "
            "of t.")


def forward_process(active: shared.Active, count: int, seed: int) -> None:
    """The t slider and the walks, schedule and bridge it drives. Only what t changes is
    in the fragment (`forward_process_at_t`); the text around it that t does not change
    is written once, between slots the fragment fills (docs/ARCHITECTURE.md,
    "pages/")."""
    slider = st.container()
    if not shared.presenting():  # the figure and its slider alone
        st.caption(time_caption(active.model.schedule))
    charts = st.container()
    if not shared.presenting():
        end_question(active)
        st.divider()
        bridge_heading(active)
    bridge = st.container()
    with charts:
        forward_process_at_t(active, count, seed, slider, bridge)


@st.fragment
def forward_process_at_t(active: shared.Active, count: int, seed: int,
                         slider: DeltaGenerator, bridge: DeltaGenerator) -> None:
    """The t slider (in `slider`) and everything it drives; the bridge's numbers go in
    `bridge` (reruns alone when the slider moves)."""
    model = active.model
    paths = walk_paths(active.key, model, count, seed)
    schedule, data = model.schedule, model.data.points
    with slider:
        t = shared.url_t_slider("Step t: how many noise steps have been added", schedule.T,
                                allow_zero=True, default_fraction=0.1,
                                spacing=schedule.time_spacing, sigma=schedule.sigma)
    if shared.presenting() and shared.shows("bridge"):
        with bridge:
            bridge_section(active, paths, t)
        return
    cloud = cloud_at(active.key, model, t)
    walks_col, schedule_col = st.columns([3, 2])
    with walks_col:
        fig = shared.cached_figure(("walks", active.key, count, seed, t), lambda: (
            figures.walks_figure(paths, t, data,
                                 view_extent(cloud, paths[: t + 1].reshape(-1, 2), data),
                                 cloud)))
        shared.chart(fig, key="chart_walks", alt=f"{paths.shape[1]} random walks drawn up to "
                     f"step {t}, over the training data and the whole cloud noised to "
                     f"step {t}.", name=(*shared.model_name(model), f"t{t}"),
                     data=chart_data.walks_data(paths, t, data, cloud))
        moved = float(np.linalg.norm(paths[t] - paths[0], axis=1).mean())
        shared.what_you_see(walks_bullets(data, cloud, t, paths.shape[1], moved))
        animation_download.walks(active.key, model, paths, count, seed)
    with schedule_col:
        fig = shared.cached_figure(("schedule", active.key, t), lambda: (
            figures.schedule_figure(schedule.alpha, schedule.sigma, t,
                                    log_t=is_walk(schedule))))
        shared.chart(fig, key="chart_schedule", alt=f"Noise schedule: alpha_t and sigma_t for "
                     f"t = 0 to {schedule.T}, with a marker at t = {t}.",
                     name=(*shared.model_name(model), f"t{t}"),
                     data=chart_data.schedule_data(schedule.alpha, schedule.sigma))
        shared.what_you_see(schedule_bullets(model, t))
    if shared.presenting():
        return
    with bridge:
        bridge_section(active, paths, t)


def walks_bullets(data: np.ndarray, cloud: np.ndarray, t: int, count: int,
                  moved: float) -> list[str]:
    return [f"The whole cloud at t = {t:,}: spread {spread(cloud):.2f} (the data's: "
            f"{spread(data):.2f}).",
            f"The {count} walks (circle = start, cross = now) are on average {moved:.2f} "
            "from where they started."]


def schedule_bullets(model: TrainedModel, t: int) -> list[str]:
    schedule = model.schedule
    alpha_t, sigma_t = float(schedule.alpha[t]), float(schedule.sigma[t])
    std, T = data_std(model), schedule.T
    reached = noise_reaches(schedule, std)
    if is_walk(schedule):
        return [
            "α_t = 1 at every step: a walk never shrinks toward 0.",
            f"σ_t = {sigma_t:.2f} at t = {t:,}: the noise grows like √t (the x axis is "
            "logarithmic, so that small t gets room).",
            f"The noise is as wide as the data itself ({std:.2f}, its std per axis) from "
            f"t = {reached:,} on, {reached / T:.1%} of the way to T.",
            f"At T = {T:,}, σ_T = {schedule.sigma[-1]:.2f}: about "
            f"{schedule.sigma[-1] / std:.0f}x the data's std."]
    return [
        f"At t = {t}, each point keeps α_t = {alpha_t:.2f} of its position and has noise "
        f"of std σ_t = {sigma_t:.2f}.",
        "α_t² + σ_t² = 1 at every t (variance preserving).",
        f"The noise outweighs the data's shape (σ_t / α_t above the data's std per axis, "
        f"{std:.2f}) from t = {reached} on.",
        f"At T = {T}, α_T = {schedule.alpha[-1]:.3f}: nothing of the data is left, the "
        "cloud is the standard Gaussian N(0, I)."]


def end_question(active: shared.Active) -> None:
    """Predict, then look: the cloud at t = T (answered from the cloud the page draws)."""
    model = active.model
    schedule = model.schedule
    final = cloud_at(active.key, model, schedule.T)
    if is_walk(schedule):
        centre = model.data.points.mean(0)
        answer = (f"**Centred where the data is**, near {vec(centre, 2)}: a random walk "
                  "has no pull toward anything, so the cloud stays where it started.\n\n"
                  f"**Spread {spread(final):.1f}**, about "
                  f"{spread(final) / spread(model.data.points):.0f} times the data's: the "
                  "data's spread and the noise's add in squares, and the noise dominates.")
    else:
        answer = ("**Centred at the origin**, whatever the data: every step pulls toward "
                  "0.\n\n"
                  f"**Spread {spread(final):.2f}**, that of the standard Gaussian "
                  "N(0, I) (√2 in the plane): nothing of the data is left.")
    shared.predict_then_look(
        "Before you drag t to the end: at t = T, where will the cloud be centred, and "
        "how wide will it be?", answer, key="random_walks_end")


def bridge_heading(active: shared.Active) -> None:
    """The bridge's title and introduction (the same for every t)."""
    walk_rule = is_walk(active.model.schedule)
    st.subheader("Why the last step points back: the Brownian bridge" if walk_rule else
                 "Why the last step points back (on DDPM: toward γ_t x₀)")
    bridge_introduction(active, walk_rule)


def bridge_section(active: shared.Active, paths: np.ndarray, t: int) -> None:
    """The mean last step at t: controls, chart, numbers and bullets."""
    model = active.model
    walk_rule = is_walk(model.schedule)
    if t == 0:
        st.warning("Move t above 0: at t = 0 no step has been taken yet.")
        return
    with shared.folded("bridge_controls"):
        x0, x_t, walks = bridge_controls(paths, t)
    est = last_step(active.key, model, x0, x_t, t, walks)
    if est.kept == 0:
        st.warning(f"None of the {walks:,} walks from x_0 ended near this x_t: it is very "
                   "unlikely after t steps. Pick a point nearer x_0, or a larger t.")
        return
    aim = last_step_aim(model.schedule, t)
    x0_arr, xt_arr = np.array(x0), np.array(x_t)
    view = bridge_view(model.schedule, est, x0_arr, xt_arr, t)
    scale = view.scale
    fig_col, numbers_col = st.columns([3, 2])
    with fig_col:
        fig = figures.bridge_figure(x0_arr, xt_arr, est.mean_step, est.formula,
                                    model.data.points, scale, view.aim_point,
                                    "γ_t x0 (where the mean step aims) and 0")
        figures.focus(fig, view.centre, view.half_width)
        shared.chart(fig, key="chart_bridge", name=(*shared.model_name(model), f"t{t}"),
                     data={"data": model.data.points}, drawn=True, alt=(
            f"The start x0, the point x_t at t = {t}, and the mean last step drawn from x_t, "
            f"magnified {times(scale)} times: Monte Carlo and formula."))
    with numbers_col:
        bridge_numbers(est, walk_rule, walks, float(model.schedule.sigma[t]))
    shared.what_you_see(
        bridge_bullets(est, check_estimate(est), aim, scale, walk_rule, view.mc_off_view, walks,
                       float(model.schedule.sigma[t])),
        heading=f"at t = {t:,}:")


def bridge_introduction(active: shared.Active, walk_rule: bool) -> None:
    if walk_rule:
        st.markdown(
            "Each step of a walk is pure chance. But take all the walks that started at "
            "$x_0$ **and** are at $x_t$ now: on average, their last step "
            "$x_{t-1} - x_t$ points back toward $x_0$. This is what the network learns, "
            "at a noisy point: which way back to the data. Below, hundreds of thousands "
            "of simulated walks show it.")
    else:
        st.markdown(
            "Each step of a walk is pure chance. But take all the walks that started at "
            "$x_0$ **and** are at $x_t$ now: on average their last step "
            "$x_{t-1} - x_t$ points toward $\\gamma_t x_0$, between $x_0$ and the origin "
            "($\\gamma_t \\approx 1$ at small t; $\\approx 0$ at large t, where the cloud "
            "has forgotten $x_0$ and, run backward, is pulled to 0 as it was forward). "
            "Divide every point by $\\alpha_t$, and DDPM becomes a plain random walk whose "
            "mean last step points back to $x_0$ at every t: the random walk's story.")
        if active.source == "pretrained":
            st.button("Show this on the random walk", on_click=use_random_walk,
                      help="Switches the sidebar's noise process to the random walk.")
    with st.expander("The maths, and what a standard error is"):
        st.markdown(
            "For the random walk, $\\mathbb E[x_{t-1} - x_t \\mid x_t, x_0] = "
            "\\dfrac{x_0 - x_t}{t}$: the walk pinned at both ends is a **Brownian "
            "bridge**, and on average it covers the remaining distance in equal parts. "
            "For any Gaussian path the left side is the mean of the **posterior** "
            "$q(x_{t-1} \\mid x_t, x_0)$ (where the walk was one step earlier, given both "
            "its ends) minus $x_t$; the DDPM sampler uses the same posterior. Written out, "
            "it is $g_t (\\gamma_t x_0 - x_t)$: the step aims at $\\gamma_t x_0$ and "
            "covers the share $g_t$ of the way. The random walk has $\\gamma_t = 1$, "
            "$g_t = 1/t$. For DDPM, $y_t = x_t / \\alpha_t$ is a random walk from $x_0$ "
            "with noise $r_t = \\sigma_t / \\alpha_t$ (Karras et al. 2022), and "
            "$\\mathbb E[y_{t-1} - y_t \\mid y_t, x_0] = (1 - r_{t-1}^2 / r_t^2)"
            "(x_0 - y_t)$: the bridge again.\n\n"
            "**Monte Carlo** means estimating by simulation: here, averaging the last "
            "step of many simulated walks. Its **standard error** is how far that average "
            "would typically move if the simulation were run again with new walks: the "
            "scatter of one walk's step divided by $\\sqrt{\\text{walks kept}}$. Two "
            "estimates that differ by less than about three standard errors agree as well "
            "as chance allows.\n\n"
            f"Walks are kept if they end within a window of {NARROW_WINDOW:g} σ_t around "
            f"$x_t$, widened to {WIDE_WINDOW:g} σ_t where the narrow one leaves the mean step "
            f"under {NOISY:g} standard errors long.")
    st.info(
        "The seed article writes $\\mathbb E[x_{99} - x_{100} \\mid x_0] = "
        "\\mathbb E[x_0 - x_{100} \\mid x_0] / 100$, conditioning on $x_0$ alone. For the "
        "random walk both sides are then **zero**: each step is independent of where the "
        "walk began. The claim holds when we condition on **both** $x_0$ and $x_t$: "
        "$\\mathbb E[x_{t-1} - x_t \\mid x_t, x_0]$. That is what is simulated here.",
        icon="✏️")


def bridge_controls(paths: np.ndarray, t: int) -> tuple[tuple[float, float],
                                                         tuple[float, float], int]:
    count = paths.shape[1]
    walk_col, size_col = st.columns(2)
    with walk_col:
        i = st.selectbox("Walk", range(count), key="bridge_walk",
                         format_func=lambda k: f"walk {k + 1} ({class_colour_name(k)})",
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


def bridge_numbers(est: LastStepEstimate, walk_rule: bool, walks: int,
                   sigma_t: float) -> None:
    # \\mid, not "|": a bare "|" would split the markdown table's cell.
    formula_text = "(x_0 - x_t) / t" if walk_rule else "E[x_{t-1} \\mid x_t, x_0] - x_t"
    d = step_digits(est.formula) + 1
    st.markdown(
        "| | first | second |\n|---|---:|---:|\n"
        f"| Monte Carlo mean of $x_{{t-1}} - x_t$ | {est.mean_step[0]:+.{d}f} | "
        f"{est.mean_step[1]:+.{d}f} |\n"
        f"| its standard error | {est.std_error[0]:.{d}f} | {est.std_error[1]:.{d}f} |\n"
        f"| formula ${formula_text}$ | {est.formula[0]:+.{d}f} | {est.formula[1]:+.{d}f} |")
    st.caption(f"Walks kept: {est.kept:,} of {walks:,}, those that ended within "
               f"{est.radius / sigma_t:.1f} σ_t of x_t (see the maths above).")


def bridge_bullets(est: LastStepEstimate, check: BridgeCheck, aim: StepAim, scale: float,
                   walk_rule: bool, mc_off_view: bool, walks: int,
                   sigma_t: float) -> list[str]:
    digits = step_digits(est.formula)
    bullets = [f"Monte Carlo: the {est.kept:,} walks that ended at x_t took on average the "
               f"last step {vec(est.mean_step, digits)}.",
               f"Formula: {vec(est.formula, digits)}."]
    if walk_rule:
        bullets.append(f"Magnified {times(scale)} times (t times), the formula's arrow lands "
                       "exactly on x_0.")
    else:
        bullets.append(f"Magnified {times(scale)} times, the formula's arrow lands on γ_t x_0 "
                       f"with γ_t = {aim.gamma:.2f} (the pink diamond): "
                       + ("practically x_0 itself." if aim.gamma > 0.95 else
                          "between x_0 and the origin." if aim.gamma > 0.05 else
                          "practically the origin."))
    bullets.append(agreement_bullet(check, est.radius / sigma_t))
    if check.lost_in_noise:
        bullets += lost_in_noise_bullets(check, walks)
    elif mc_off_view:
        bullets.append("The Monte Carlo arrow, magnified as much, leaves the view: "
                       "magnification enlarges its error too.")
    return bullets


def agreement_bullet(check: BridgeCheck, window: float) -> str:
    """`window`: the kept walks' window, in units of sigma_t."""
    if check.signal == float("inf"):
        return ("They agree exactly: at t = 1 the step before is x_0 itself, the same for "
                "every walk.")
    if check.agrees and check.lost_in_noise:
        return (f"They agree within the Monte Carlo's error ({check.difference:.1f} "
                "standard errors apart), but here that error is larger than the step "
                "itself.")
    if check.agrees:
        return (f"They agree: {check.difference:.1f} standard errors apart, within what "
                f"chance alone gives (up to about {AGREE:g}).")
    return (f"They differ by {check.difference:.1f} standard errors, more than chance "
            f"usually gives (up to about {AGREE:g}). Part of it is the window the kept walks "
            f"end in, which shifts their mean by about {window_bias(window):.0%} of the step.")


def lost_in_noise_bullets(check: BridgeCheck, walks: int) -> list[str]:
    away = (" Here it even points away from where the formula's arrow does."
            if check.cosine < 0 else "")
    bullets = [f"The mean step is lost in the noise: the formula's step is only "
               f"{check.signal:.1f} standard errors long, so the Monte Carlo arrow's "
               f"direction is mostly chance.{away}"]
    if walks < check.walks_needed <= WALK_COUNTS[-1]:
        bullets.append(f"Simulating {WALK_COUNTS[-1]:,} walks would bring it out.")
    elif check.walks_needed > WALK_COUNTS[-1]:
        bullets.append(f"Bringing it out would take about {about(check.walks_needed)} walks, "
                       "far more than this page simulates: one walk's last step scatters "
                       "far more than the mean step, which shrinks as t grows. Trust the "
                       "formula here.")
    return bullets


# ---------------------------------------------------------------- the page

active = shared.active_model()
st.title("1. Random walks: how data becomes noise")
if not shared.presenting():
    introduction(active.model)
count, seed = walk_controls()
forward_process(active, count, seed)
