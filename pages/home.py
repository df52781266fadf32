"""The Home page (app.py's default page): the idea in three sentences and one animation,
the way through the pages, then the two algorithms with every symbol defined."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import streamlit as st
from streamlit.navigation.page import StreamlitPage

from explainer.datasets import fresh_points
from explainer.fields import VIEW_EXTENT
from explainer.figures.animation import frame_indices
from explainer.figures.home import round_trip_figure
from explainer.guidance import Guidance
from explainer.metrics import distance_to_data, spread
from explainer.schedules import forward_paths, make_schedule
from pages import lesson_bar, shared
from pages.plotly_frame import SentFigure

POINTS = 500  # points in the animation, each way
STEPS = 50  # sampling steps back (DDPM's T = 200 walked in steps of 4)
FORWARD_FRAMES = 21


@dataclass(frozen=True)
class RoundTrip:
    """The animation and the numbers said under it."""

    figure: SentFigure
    dataset: str
    T: int
    noise_spread: float  # spread of the noised points at t = T
    sample_distance: float  # new points: mean distance to the nearest training point
    data_distance: float  # the same for a fresh draw of the dataset (what "on the data" is)


@st.cache_resource(max_entries=4, show_spinner="Making the animation...")
def round_trip(model_key: str, _active: shared.Active) -> RoundTrip:
    """Training points walked forward to t = T, and new points sampled back (the trained
    network, DDPM's rule; the same run as page 3's at these settings)."""
    model = _active.model
    schedule, data = model.schedule, model.data
    paths = forward_paths(schedule, data.points[:POINTS], seed=0)
    forward_times = np.unique(np.linspace(0, schedule.T, FORWARD_FRAMES).round().astype(int))
    steps = min(STEPS, schedule.T)
    back = shared.cached_trajectory(model_key, model, "learned", "ddpm", steps, POINTS,
                                    Guidance(), 0)
    keep = frame_indices(len(back.times), 26)
    forward = paths[forward_times]
    extent = max(VIEW_EXTENT,
                 round(1.05 * float(np.quantile(np.abs(forward[-1]), 0.995)), 1))
    figure = SentFigure.of(round_trip_figure(forward, forward_times, back.xs[keep],
                                             back.times[keep], data.points, extent))
    fresh = fresh_points(data, POINTS, seed=1)
    return RoundTrip(figure, data.name, schedule.T, spread(forward[-1]),
                     distance_to_data(back.final, data.points),
                     distance_to_data(fresh, data.points))


def round_trip_bullets(trip: RoundTrip) -> list[str]:
    return [f"**Adding noise:** {POINTS} training points of the {trip.dataset}, noised "
            f"for T = {trip.T} steps, end as a round cloud of pure noise (spread "
            f"{trip.noise_spread:.2f}).",
            f"**Removing noise:** {POINTS} new points start as fresh noise and follow the "
            f"trained network back in {min(STEPS, trip.T)} steps.",
            f"They land on average {trip.sample_distance:.3f} from the nearest training "
            f"point; fresh points of the {trip.dataset} itself lie {trip.data_distance:.3f} "
            "from it."]


def alt_text(trip: RoundTrip) -> str:
    return (f"Animation: {POINTS} points of the {trip.dataset} noised step by step until "
            f"t = {trip.T}, then new points made from noise back to t = 0.")


def draw_round_trip(trip: RoundTrip, active: shared.Active) -> None:
    shared.chart(trip.figure, key="chart_round_trip", name=(trip.dataset,), drawn=True,
                 data={"data": active.model.data.points}, alt=alt_text(trip))


def introduction(active: shared.Active) -> None:
    trip = round_trip(active.key, active)
    if shared.presenting():  # the animation alone
        draw_round_trip(trip, active)
        return
    text, figure = st.columns([2, 3])
    with text:
        st.markdown(
            "A diffusion model makes new data by **undoing noise**. Take data (here: "
            "points in the plane) and add a little random noise, step after step, until "
            "nothing of its shape is left. A small network learns, at every step, which "
            "way leads back to the data; to make new data, start from fresh noise and "
            "follow that way back.\n\n"
            "Images work the same way; they only live in a space with one axis per pixel "
            "instead of two. Press **▶ Play** under the figure.")
    with figure:
        draw_round_trip(trip, active)
        shared.what_you_see(round_trip_bullets(trip))
    shared.predict_then_look(
        "The network is trained to guess the noise ε that was added to a point. At a "
        "noisy point, does ε point toward the data or away from it?",
        "**Away.** A noisy point is $x_t = \\alpha_t x_0 + \\sigma_t \\epsilon$, so "
        "$\\epsilon$ is the direction from the (shrunk) clean point $\\alpha_t x_0$ out to "
        "$x_t$. The way back is the opposite, $-\\sigma_t \\hat\\epsilon$: the arrows of "
        "page 2. They point at $\\alpha_t \\hat x_0$, where $\\hat x_0$ is the **average** "
        "of every clean point that could have led to $x_t$, not the single most probable "
        "one: at large t that average lies in the middle of the data, off it.",
        key="home")


def way_through(pages: Sequence[tuple[str, str, str, str]]) -> None:
    st.subheader("The way through")
    for path, title, icon, blurb in pages:
        # The description as its own line: a page link's label is cut off on a phone.
        st.page_link(path, label=f"**{title}**", icon=icon)
        st.caption(blurb)


def algorithms() -> None:
    ddpm, walk = make_schedule("ddpm"), make_schedule("random_walk")
    walk_T = f"{walk.T:,}".replace(",", "{,}")  # LaTeX spaces a bare comma
    st.subheader("How it works: the two algorithms (Ho et al., 2020)")
    st.markdown(
        "The network $\\hat\\epsilon_\\theta$ guesses the noise; the sampler turns that "
        "guess into a guess of the clean point, $\\hat x_0$, and takes one step back "
        "toward it. Both noise processes of this app fit the same two algorithms.")
    left, right = st.columns(2)
    with left:
        st.markdown("**Algorithm 1: training**")
        st.latex(r"""\begin{array}{l}
\textbf{repeat} \\
\quad x_0 \sim q(x_0),\quad t \sim \mathrm{Uniform}\{1,\dots,T\} \\
\quad \epsilon \sim \mathcal N(0, I) \\
\quad x_t = \alpha_t x_0 + \sigma_t \epsilon \\
\quad \text{gradient step on } \lVert \epsilon - \hat\epsilon_\theta(x_t, t)\rVert^2 \\
\textbf{until converged}
\end{array}""")
    with right:
        st.markdown("**Algorithm 2: sampling**")
        st.latex(r"""\begin{array}{l}
x_T \sim p_T \quad \text{(the prior, below)} \\
\textbf{for } t = T, \dots, 1: \\
\quad \hat x_0 = (x_t - \sigma_t \hat\epsilon_\theta(x_t, t)) / \alpha_t \\
\quad z \sim \mathcal N(0, I) \text{ if } t > 1 \text{ else } z = 0 \\
\quad x_{t-1} = \mu_t(x_t, \hat x_0) + \tilde\sigma_t z \\
\textbf{return } x_0
\end{array}""")
    st.markdown(
        "**Every symbol:**\n"
        "- $q(x_0)$: the data; here, the training points.\n"
        f"- $t$: the number of noise steps taken, up to $T$: DDPM takes $T = {ddpm.T}$ "
        f"steps, the random walk $T = {walk_T}$ tiny ones.\n"
        "- $\\epsilon, z \\sim \\mathcal N(0, I)$: Gaussian noise, each coordinate "
        "independent with mean 0 and standard deviation (std) 1.\n"
        "- $\\alpha_t$, $\\sigma_t$: how much of $x_0$ is left after t steps, and the std "
        "of the noise added by then.\n"
        "- $\\hat\\epsilon_\\theta(x_t, t)$: the network, with weights $\\theta$: its guess "
        "of $\\epsilon$.\n"
        "- $\\hat x_0$: the resulting guess of the clean point, the **average** of the "
        "clean points that could have led to $x_t$.\n"
        "- $\\mu_t$, $\\tilde\\sigma_t$: the mean and std of "
        "$q(x_{t-1} \\mid x_t, x_0)$, where the walk was one step earlier given both its "
        "ends, with $\\hat x_0$ in place of $x_0$ (formulas in the box below).\n"
        "- $p_T$: where sampling starts, the noise every walk ends in (in the box below).")
    with st.expander("The two noise processes, and the formulas for μ_t, σ̃_t and p_T"):
        st.markdown(
            "Both are $x_t = \\alpha_t x_0 + \\sigma_t \\epsilon$ with $\\alpha_0 = 1$, "
            "$\\sigma_0 = 0$.\n\n"
            "- **DDPM** (variance preserving): each step shrinks the point by "
            "$\\sqrt{1 - \\beta_t}$ and adds noise of variance $\\beta_t$ (linear in t), "
            "so $\\alpha_t = \\sqrt{\\bar\\alpha_t}$ and $\\sigma_t = "
            "\\sqrt{1 - \\bar\\alpha_t}$ with $\\bar\\alpha_t = \\prod_{s \\le t}"
            "(1 - \\beta_s)$. Careful: this $\\alpha_t$ is Ho et al.'s "
            "$\\sqrt{\\bar\\alpha_t}$; their $\\alpha_t = 1 - \\beta_t$ is one step's "
            "factor.\n"
            "- **Random walk** (variance exploding): $x_t = x_{t-1} + s z$, so "
            "$\\alpha_t = 1$ and $\\sigma_t = s \\sqrt t$, "
            f"with $s = {walk.sigma[1]:.3f}$.\n\n"
            "With $a = \\alpha_t / \\alpha_{t-1}$ and $v = \\sigma_t^2 - a^2 "
            "\\sigma_{t-1}^2$ (the variance one step adds):")
        st.latex(r"\mu_t = \frac{a\,\sigma_{t-1}^2}{\sigma_t^2}\, x_t + "
                 r"\frac{\alpha_{t-1} v}{\sigma_t^2}\, \hat x_0, \qquad "
                 r"\tilde\sigma_t^2 = \frac{v\, \sigma_{t-1}^2}{\sigma_t^2}")
        st.markdown(
            "- **DDPM**: $v = \\beta_t$, and these are Ho et al.'s $\\tilde\\mu_t$ and "
            "$\\tilde\\beta_t$ (their eq. 7). The prior is $p_T = \\mathcal N(0, I)$: "
            f"$\\alpha_T = {ddpm.alpha[-1]:.3f}$, nothing of the data is left.\n"
            "- **Random walk**: $\\mu_t = \\frac{t-1}{t} x_t + \\frac1t \\hat x_0$ and "
            "$\\tilde\\sigma_t^2 = s^2 \\frac{t-1}{t}$ (the Brownian bridge of page 1). "
            "The prior is not $\\mathcal N(0, I)$: a walk never forgets where the data "
            "was, so $p_T = \\mathcal N(\\bar x, (\\sigma_T^2 + \\bar v) I)$, with "
            "$\\bar x$, $\\bar v$ the data's mean and variance per axis: about "
            f"$\\mathcal N(0, \\sigma_T^2 I)$ with $\\sigma_T = {walk.sigma[-1]:.1f}$.\n\n"
            "The samplers of page 3 may take fewer steps than T: then $t - 1$ is the next "
            "time $s < t$ in the same formulas.")


def render(pages: Sequence[tuple[str, str, str, str]],
           by_url_path: Mapping[str, StreamlitPage]) -> None:
    st.title("Diffusion models, explained in 2D")
    introduction(shared.pretrained_active(shared.DEFAULT_DATASET, shared.DEFAULT_PROCESS))
    if shared.presenting():
        return
    way_through(pages)
    st.caption("Or follow the pages as one story, a line of narration per step: "
               "**Lessons**, at the end of this page.")
    algorithms()
    lesson_bar.lessons_section(by_url_path)
    st.caption("Based on the seed article 'Diffusion Models: An Intuitive Understanding' "
               "and the Welch Labs video on the 3Blue1Brown channel. Pretrained models ship "
               "with the app, so every page works at once.")
