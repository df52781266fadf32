"""Page 4: from points to pictures. A pixel is an axis: the points of pages 1-3 are
two-pixel pictures. Then S x S pictures whose exact denoiser is known (a Wiener filter)
show on images what the samplers do: fine detail drowns first, coarse structure is
decided first, and without the injected noise the result is the blurry average."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from explainer import image_figures as figs
from explainer.images import (
    EXPONENT,
    F0,
    PAGE_IMAGES,
    TEXTURE_STD,
    PictureConfig,
    PictureStory,
    band_label,
    data_images,
    make_pictures,
    octave_bands,
    picture_story,
)
from explainer.samplers import SAMPLER_NAMES, SAMPLER_TITLES
from explainer.schedules import ProcessConfig, make_schedule
from pages import shared

NUMBERED_SIZE = 8  # the small picture whose 64 values are written on it
# A sampler that keeps this share of the data's power in every band "ends with the data's
# texture" (DDPM at T = 200 keeps ~90% of the finest band; sampling error is ~+-6%).
TEXTURE_KEPT = 0.8


@st.cache_data(max_entries=16, show_spinner="Sampling the pictures...")
def cached_story(process: str, T: int, seed: int) -> PictureStory:
    return picture_story(make_schedule(ProcessConfig(process, T)), seed)  # type: ignore[arg-type]


@st.cache_data(max_entries=4, show_spinner=False)
def cached_small_picture(seed: int) -> np.ndarray:
    return data_images(make_pictures(PictureConfig(size=NUMBERED_SIZE)), 1, seed)[0]


# ---------------------------------------------------------------- words from numbers

def percent(x: float) -> str:
    if x < 0.001:
        return "<0.1%"
    return f"{100 * x:.1f}%" if x < 0.1 else f"{100 * x:.0f}%"


def percent_span(values: np.ndarray) -> str:
    low, high = percent(float(values.min())), percent(float(values.max()))
    return low if low == high else f"{low} to {high}"


def band_names(size: int) -> list[str]:
    return [band_label(band) for band in octave_bands(size)]


def share_table(rows: dict[str, Sequence[float]], size: int, first: str,
                extra: dict[str, Sequence[str]] | None = None) -> None:
    """A table of shares: one row per entry, one column per octave band of f (st.table
    scrolls sideways inside itself on a phone, a markdown table widens the page)."""
    columns = {first: list(rows)}
    for k, name in enumerate(band_names(size)):
        columns[f"f = {name}"] = [percent(float(values[k])) for values in rows.values()]
    st.table(pd.DataFrame({**columns, **(extra or {})}), hide_index=True)


NOISE_WINS = "noise wins"  # the column title where the noise beats every frequency


def column_title(story: PictureStory, t: int) -> str:
    """t, and up to which frequency the picture's power still beats the noise's."""
    decided = story.decided_frequency(t)
    if t == 0:
        return "t = 0<br>picture"
    if decided < 0.5:
        return f"t = {t}<br>{NOISE_WINS}"
    return f"t = {t}<br>kept to f ≈ {decided:.0f}"


def show(view: tuple, chart: str, build: Callable[[], go.Figure], alt: str) -> None:
    """A chart built once per `view` (everything `build` depends on) and shared by every
    session (shared.cached_figure); reruns (a toggle, the seed) then cost no rebuild."""
    shared.chart(shared.cached_figure(("pictures", chart, *view), build),
                 key=f"chart_{chart}", alt=alt, name=view)


# ---------------------------------------------------------------- sections

def pixel_is_an_axis(active: shared.Active, seed: int, size: int) -> None:
    st.header("A pixel is an axis")
    data = active.model.data
    points = data.points
    picked = points[[0, len(points) // 3, 2 * len(points) // 3]]
    names = ["A", "B", "C"]
    st.markdown(
        "A grey-scale picture is a list of numbers, one per pixel: how bright it is. A "
        "picture of **two pixels** is two numbers, so it is a **point in the plane**: the "
        "first pixel's value is x, the second's is y. Every point of the "
        f"**{data.name}** on pages 1-3 is such a two-pixel picture, and the cloud is a "
        "whole data set of them. Noising a picture moves its point; denoising moves it "
        "back.")
    show((active.key,), "two_pixels", lambda: figs.two_pixel_figure(points, picked, names),
         alt="Three points of the 2D data drawn as pictures of two grey pixels, and where "
             "they lie in the cloud.")
    shared.sentence("; ".join(
        f"{name} = ({x:.2f}, {y:.2f}) is the picture with pixel 1 at {x:.2f} and pixel 2 "
        f"at {y:.2f}" for name, (x, y) in zip(names, picked, strict=True))
        + f" (black is -{figs.GREY_RANGE}, white +{figs.GREY_RANGE}).")
    st.page_link("pages/random_walks.py", label="See this cloud noised, point by point, on "
                                                 "page 1", icon=":material/directions_walk:")
    small = cached_small_picture(seed)
    left, right = st.columns(2)
    with left:
        show((seed,), "numbered",
             lambda: figs.numbered_picture(small, f"{NUMBERED_SIZE} x {NUMBERED_SIZE} pixels: "
                                                  f"{NUMBERED_SIZE**2} numbers"),
             alt=f"An {NUMBERED_SIZE} by {NUMBERED_SIZE} picture with each pixel's value "
                 "written on it.")
    with right:
        st.markdown(
            f"An {NUMBERED_SIZE} x {NUMBERED_SIZE} picture is {NUMBERED_SIZE**2} numbers: "
            f"a point in {NUMBERED_SIZE**2} dimensions, one axis per pixel. Its brightest "
            f"pixel is {small.max():.2f} and its darkest {small.min():.2f}. A {size} x {size} "
            f"picture is a point in {size**2:,} dimensions; a photo, in millions.\n\n"
            "Nothing about diffusion changes: noise is added to every coordinate, and a "
            "denoiser points back toward where the data is. We just cannot draw the "
            "space any more, so below we draw the pictures instead of the points.")


def the_data(story: PictureStory, view: tuple) -> None:
    st.header("Pictures whose perfect denoiser is known")
    size = story.pictures.size
    st.markdown(
        f"Our data: {size} x {size} pictures made of an **average picture** (a soft dark "
        "tree standing on the horizon, bright sky above, darker ground below: the seed's "
        "'tree in a desert') plus a random **texture**. The texture is like that of "
        "natural images: it has structure at every scale, coarse blotches and fine grain "
        "alike.\n\n"
        "For this data the ideal denoiser $E[x_0 \\mid x_t]$ is known exactly and costs "
        "two Fourier transforms, so every sampler below runs on *the perfect model*, with "
        "no training: what a network would do if it were trained perfectly.")
    grid = np.concatenate([story.pictures.mean[None], story.data]).astype(np.float32)
    titles = ["the average picture", *(f"data {k + 1}" for k in range(len(story.data)))]
    show(view, "data", lambda: figs.picture_grid(
        grid[None], [""], titles, "The average picture, and pictures from the data",
        cell_px=170), alt="The average picture and pictures from the data.")
    p = story.data_power
    left, right = st.columns([3, 2])
    with left:
        curves = [figs.Curve("power law P(f)", story.data_power, figs.PALETTE[7], "dash"),
                  figs.Curve(f"{PAGE_IMAGES} data pictures", story.data_measured,
                             figs.PALETTE[0], marker="circle")]
        show(view, "data_spectrum",
             lambda: figs.spectrum_figure(curves, "The texture's power spectrum"),
             alt="The data's power spectrum on log-log axes: a straight falling line, the "
                 "power law, and the measured one on it.")
    with right:
        st.markdown(
            "**The power spectrum** says how strong each scale is: the power at frequency "
            "f (f cycles across the picture) is the mean squared size of the picture's "
            "Fourier coefficients there, averaged over the ring of frequencies |f| "
            "(radially averaged). Coarse scales (small f) carry most of the power; fine "
            "grain (large f) little, but not nothing.")
    shared.sentence(
        f"the texture's power falls from {p[0]:.2f} at f = 1 cycle per picture to "
        f"{p[-1]:.3f} at f = {len(p)} ({p[0] / p[-1]:.0f}x less): a straight line on "
        f"log-log axes. The pixels vary by {TEXTURE_STD} (std) around the average picture.")
    with st.expander("The maths: a Gaussian texture and its Wiener filter"):
        st.markdown(
            "A picture is $x_0 = m + z$: the average picture $m$ plus a stationary Gaussian "
            "field $z$ on the torus (the picture wraps around at its edges). Write $Z(f)$ "
            "for its 2D Fourier coefficients (orthonormal FFT). They are independent, with "
            "variance")
        st.latex(rf"P(f) = \frac{{c}}{{(f^2 + f_0^2)^{{a/2}}}},\qquad a = {EXPONENT:g},\;"
                 rf"f_0 = {F0:g}\text{{ cycle per picture}}")
        st.markdown(
            f"with $c$ set so the pixels' standard deviation is {TEXTURE_STD}. The exponent "
            "$a = 2$ is that of natural images: the power in every octave of $f$ is the "
            "same, so there is as much structure at each scale. "
            "For $x_t = \\alpha_t x_0 + \\sigma_t \\epsilon$ each coefficient of "
            "$x_t - \\alpha_t m$ is the picture's $\\alpha_t Z(f)$ plus noise of variance "
            "$\\sigma_t^2$, independently of all others. So the best guess of $x_0$ is a "
            "per-frequency Wiener filter:")
        st.latex(r"E[x_0 \mid x_t] = m + \mathcal F^{-1}\!\left[\frac{\alpha_t P(f)}"
                 r"{\alpha_t^2 P(f) + \sigma_t^2}\;\mathcal F(x_t - \alpha_t m)\right]")
        st.markdown(
            "Where the picture's power $\\alpha_t^2 P(f)$ is much larger than the noise's "
            "$\\sigma_t^2$, the filter keeps the coefficient: that scale is **decided**. "
            "Where it is much smaller, it guesses 0, i.e. the average picture's value. "
            "The tests check this filter against the posterior mean computed by brute "
            "force: the full 64 x 64 covariance of 8 x 8 pictures, solved by linear "
            "algebra.")


def forward_process(story: PictureStory, process: str, view: tuple) -> None:
    st.header("Noise drowns the fine detail first")
    st.markdown(
        "Now add noise, as on page 1, to every pixel at once. White noise has the same "
        "power at every frequency, but the pictures have little power at fine scales. "
        "So the noise buries the **fine grain first**, then ever coarser structure; the "
        "tree and the horizon are the last to go.")
    run = story.forward
    titles = [column_title(story, int(t)) for t in run.shown_times]
    rows = [f"picture {k + 1}" for k in range(run.images.shape[1])]
    show(view, "forward", lambda: figs.picture_grid(
        story.grid(run), rows, titles, "The same pictures, noised", colorbar=False),
        alt=f"{len(rows)} pictures noised along one path each, at t = "
            + ", ".join(str(int(t)) for t in run.shown_times) + ".")
    shares = {f"t = {int(t)}": story.signal_share(int(t)) for t in run.shown_times}
    st.markdown("**Share of $x_t$'s power that is still picture** (not noise), per band of "
                "frequency f in cycles per picture:")
    share_table(shares, story.pictures.size, "time")
    middle = int(run.shown_times[len(run.shown_times) // 2])
    share = story.signal_share(middle)
    shared.sentence(
        f"at t = {middle}, {percent(share[0])} of the coarsest band's power "
        f"(f = {band_names(story.pictures.size)[0]}) is still picture but only "
        f"{percent(share[-1])} of the finest (f = {band_names(story.pictures.size)[-1]}); "
        "the column titles say below which frequency the picture's power still beats the "
        "noise's.")
    if process == "random_walk":
        st.caption("The random walk's noise grows without bound (its std reaches "
                   f"{story.sigma[-1]:.1f}), so each noisy picture is shown divided by "
                   "sqrt(1 + sigma_t^2) to fit the same grey scale; for DDPM nothing needs "
                   "scaling.")


def samplers_section(story: PictureStory, view: tuple) -> None:
    st.header("Three samplers, the same starting noise")
    st.markdown(
        "Run page 3's three samplers on the pictures with the perfect denoiser, all three "
        "from the **same noise picture** at t = T. DDPM adds fresh noise at each step; "
        "'no noise' makes the same step without it; DDIM uses its own deterministic "
        "update.")
    no_noise, ddpm = story.samplers["no_noise"], story.samplers["ddpm"]
    # Measured, not assumed per process: DDPM's x_T has forgotten the data, so the no-noise
    # run lands on the average picture; the walk's remembers its coarsest scales a little.
    lands = no_noise.distance_to_mean < 0.1 * TEXTURE_STD
    shared.predict_then_look(
        "without the injected noise, what does the last picture look like: a picture like "
        "the data, or something else?",
        ("Something else: **the average picture** itself" if lands else
         "Something else: **nearly the average picture**, with a faint blurred texture")
        + f", smooth and low in contrast. Its texture "
        f"keeps {percent(no_noise.kept[0])} of the data's power at the coarsest scale and "
        f"{percent(no_noise.kept[-1])} at the finest; its pixels are on average "
        f"{no_noise.distance_to_mean:.2f} from the average picture's, against "
        f"{ddpm.distance_to_mean:.2f} for DDPM's pictures (data: {TEXTURE_STD}). This is "
        "the seed's 'blurry tree in a desert'.", key="pictures_no_noise")
    rows = [SAMPLER_TITLES[name] for name in SAMPLER_NAMES]
    first = next(iter(story.samplers.values())).run
    titles = [column_title(story, int(t)) for t in first.shown_times]
    grid = np.concatenate([story.grid(story.samplers[name].run, picture=0)
                           for name in SAMPLER_NAMES])
    show(view, "samplers", lambda: figs.picture_grid(
        grid, rows, titles, "One start, three rules", colorbar=False),
        alt="Rows DDPM, no noise, DDIM; columns t from T down to 0, all three from the same "
            "noise picture.")
    finals = np.stack([story.data, *(story.samplers[name].run.final
                                     for name in SAMPLER_NAMES)])
    kept = {SAMPLER_TITLES[name]: story.samplers[name].kept for name in SAMPLER_NAMES}
    distances = [f"{story.samplers[name].distance_to_mean:.2f}" for name in SAMPLER_NAMES]
    show(view, "finals", lambda: figs.picture_grid(
        finals, ["data", *rows], [f"{k + 1}" for k in range(finals.shape[1])],
        f"{finals.shape[1]} of the {PAGE_IMAGES} final pictures of each", cell_px=110,
        colorbar=False), alt="Data pictures and final pictures of each sampler.")
    st.markdown(f"**Share of the data's power kept** at t = 0 (over {PAGE_IMAGES} pictures), "
                "per band of f, and how far the pictures are from the average picture "
                f"(RMS per pixel; data {TEXTURE_STD}):")
    share_table(kept, story.pictures.size, "sampler", {"from the average": distances})
    ddim = story.samplers["ddim"]
    shared.sentence(
        f"DDPM keeps {percent_span(ddpm.kept)} and DDIM {percent_span(ddim.kept)} of the "
        f"data's power per band: "
        + ("they end with the data's texture. "
           if min(ddpm.kept.min(), ddim.kept.min()) >= TEXTURE_KEPT else
           f"with only {len(first.times) - 1} steps they fall short of the data's texture. ")
        + "Without the noise at "
        f"most {percent(float(no_noise.kept.max()))} is left in any band: "
        + ("every picture lands on the average picture." if lands else
           "a faint, blurred texture over the average picture, finest scales gone."))
    with st.expander("Why the noise-free step ends at (or near) the average picture"):
        st.markdown(
            "Each Fourier coefficient of $x_t - \\alpha_t m$ is handled on its own. At "
            "large t the Wiener filter guesses $\\hat x_0 \\approx m$ for nearly every "
            "coefficient (nothing is decided yet), so every step of the no-noise rule pulls "
            "the picture toward the average. The rule keeps only a factor "
            "$a\\sigma_s/\\sigma_t < 1$ of what the path needs of each coefficient's own "
            "noise, at every step (page 3's maths); by the time a fine scale is decided, "
            "its coefficient has shrunk to almost nothing, and nothing puts it back. DDPM "
            "puts the missing variance back as fresh noise; DDIM keeps exactly "
            "$\\sigma_s \\hat\\epsilon$. "
            + ("Here $x_T$ has forgotten the data ($\\alpha_T = "
               f"{story.alpha[-1]:.4f}$), so the result is the average picture itself."
               if lands else
               f"Here $x_T$ still remembers a little of the coarsest scales ($\\alpha_T = "
               f"{story.alpha[-1]:.2g}$), which the no-noise run keeps: a faint blurred "
               "texture over the average picture.")
            + "\n\nDDPM's own step also loses a little: it draws from "
            "$q(x_s \\mid x_t, x_0 = \\hat x_0)$, which leaves out the uncertainty about "
            "$x_0$, so its finer bands come out somewhat short of the data's (the "
            "table above measures it).")


def spectrum_introduction() -> None:
    st.header("Coarse first, then fine: the spectrum over t")
    st.markdown(
        "The same story as a plot. At time t the picture's power is $\\alpha_t^2 P(f)$ (a "
        "falling line) and the noise's is $\\sigma_t^2$ (flat). Where the line is above "
        "the flat noise, that scale of the picture is decided; the dotted line marks where "
        "they cross. Move t from T down to 0 and watch the crossing move from coarse "
        "(left) to fine (right). The markers are the power of each sampler's $x_t$, "
        "measured on its pictures.")


@st.fragment
def spectrum_over_t(story: PictureStory) -> None:
    if not shared.presenting():
        spectrum_introduction()
    times = sorted(int(t) for t in next(iter(story.samplers.values())).run.times)
    # A t from another process (or another page's t slider) that is not a time of these
    # runs starts again from the default.
    shared.forget_if_invalid("t", lambda v: v in times)
    t = shared.url_selectbox("t", "t", times, story.columns[len(story.columns) // 2],
                             widget=st.select_slider)
    curves = [figs.Curve("picture α²P(f)", story.signal_power(t), figs.PALETTE[7], "dash"),
              figs.Curve("noise σ²", np.full(len(story.data_power), story.sigma[t] ** 2),
                         figs.PALETTE[7], "dot"),
              *(figs.Curve(f"{SAMPLER_TITLES[name]} x_t", story.samplers[name].run.power_at(t),
                           figs.SAMPLER_COLOURS[name], *figs.SAMPLER_STYLES[name])
                for name in SAMPLER_NAMES)]
    decided = story.decided_frequency(t)
    shared.chart(figs.spectrum_figure(curves, f"Power spectra at t = {t}", decided,
                                      story.power_range(), height=420),
                 key="chart_spectrum", name=(f"t{t}",),
                 alt=f"Power spectra at t = {t}: the picture's power, the noise's, and "
                     "each sampler's x_t.")
    expected = story.expected_power(t)
    ratios = {name: story.samplers[name].run.power_at(t) / expected for name in SAMPLER_NAMES}
    spans = "; ".join(f"{SAMPLER_TITLES[name]} {percent_span(r)}" for name, r in ratios.items())
    if t == 0:
        head = "at t = 0 there is no noise left: the markers are the final pictures' spectra."
    elif decided < 1:
        head = (f"at t = {t} the noise's power ({story.sigma[t] ** 2:.3g}) is above the "
                "picture's at every frequency: nothing is decided yet.")
    else:
        head = (f"at t = {t} the picture's power beats the noise's ({story.sigma[t] ** 2:.3g}) "
                f"below f = {decided:.1f} cycles per picture: those scales are decided, "
                "finer ones are still mostly noise.")
    shared.sentence(f"{head} Each sampler's x_t has, per frequency, this share of the power "
                    f"the forward process has at t: {spans}.")


# ---------------------------------------------------------------- the page

active = shared.active_model()
process_config = active.model.schedule.config
st.title("4. Pictures: a pixel is an axis")
if not shared.presenting():
    st.caption(f"Noise process: {shared.PROCESS_LABELS.get(process_config.name)} "
               f"(T = {process_config.T}), as chosen in the sidebar.")
with st.columns([1, 3])[0], shared.folded("pictures_seed"):
    seed = shared.url_seed_input("Which pictures and which noise are drawn.")
story = cached_story(process_config.name, process_config.T, seed)
view = (process_config.name, process_config.T, seed)
if not shared.presenting():
    pixel_is_an_axis(active, seed, story.pictures.size)
    the_data(story, view)
    forward_process(story, process_config.name, view)
    samplers_section(story, view)
spectrum_over_t(story)
