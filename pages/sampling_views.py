"""What the sampling page (page 3) shows for its samplers, made through the shared caches,
and warming those caches ahead of the students. Apart from the page script so that app.py
can start the warming when the server's first visitor arrives, whatever page they open.
"""

from __future__ import annotations

import logging
import os
import threading

import plotly.graph_objects as go
import streamlit as st

from explainer import shutdown
from explainer.figures import sampling as figures
from explainer.guidance import Guidance
from explainer.samplers import SAMPLER_NAMES, SAMPLER_TITLES
from explainer.trained import TrainedModel
from pages import shared
from pages.plotly_frame import SentFigure

LOG = logging.getLogger(__name__)

TITLES = SAMPLER_TITLES
DEFAULT_N = 1000
WARM_DELAY_S = 3.0  # after the first visit's run, before warming starts
# The page's default steps (not schedules.DEFAULT_STEPS, the processes' T): all of DDPM's
# T = 200; for the random walk (T = 65,536) 200 Karras-spaced steps (samplers.timesteps),
# which keep the page quick where Schedule.default_sampling_steps would take 1,000.
DEFAULT_VIEW_STEPS = 200
POINT_COUNTS = (250, 500, 1000, 2000)
# Steps on a 1-2-5 scale: few steps vs many is the lesson, and a handful of values
# lets a class share the cached samples. See docs/ARCHITECTURE.md, "Caching and warming".
STEP_SCALE = (1, 2, 5, 10, 20, 50, 100, 200, 500, 1000)


def default_steps(model: TrainedModel) -> int:
    return min(model.schedule.T, DEFAULT_VIEW_STEPS)


def step_choices(T: int) -> tuple[int, ...]:
    """The steps the slider offers: the 1-2-5 scale below T, and T itself unless it is
    beyond the scale (the random walk's 65,536 steps would take ~60 s per sampler)."""
    return (*(k for k in STEP_SCALE if k < T), *((T,) if T <= STEP_SCALE[-1] else ()))


def sampling_view(active: shared.Active, samplers: tuple[str, ...], kind: str, steps: int,
                  n: int, seed: int, show_x0_hat: bool
                  ) -> tuple[SentFigure, dict[str, shared.SampleNumbers]]:
    """The samplers' animations (one chart, a panel each) and each one's numbers, from the
    shared caches (or made into them)."""
    model = active.model
    numbers = {s: shared.cached_sample_numbers(active.key, model, kind, s, steps, n,
                                               Guidance(), seed) for s in samplers}
    if "no_noise" in samplers:  # made here so that warming the view makes it too
        shared.cached_no_noise_run(active.key, model, kind, steps, n, seed)
    _, data_centre = shared.cached_data_numbers(active.key, model)

    def build() -> go.Figure:
        # The trajectories only here: a cache_data hit is a copy (~10 MB for three
        # samplers), which every session's run would otherwise make and throw away.
        trajectories = {s: shared.cached_trajectory(active.key, model, kind, s, steps, n,
                                                    Guidance(), seed) for s in samplers}
        panels = [figures.Panel(TITLES[s], trajectories[s].xs, trajectories[s].x0_hats)
                  for s in samplers]
        title = f"{steps} step{'s' if steps > 1 else ''} from t = {model.schedule.T} to 0"
        return figures.sampling_figure(panels, trajectories[samplers[0]].times, title,
                                       model.data.points, show_x0_hat, data_centre)

    fig = shared.cached_figure(
        ("sampling", active.key, kind, samplers, steps, n, seed, show_x0_hat), build)
    return fig, numbers


def warm_default_views(active: shared.Active, stop: threading.Event = shutdown.STOP) -> None:
    """Make every step count's default view (all three samplers, the trained network,
    DEFAULT_N points, seed 0, no x̂₀) into the shared caches, smallest first. With
    this, moving the steps slider from the defaults is a cache hit for everyone.
    Runs in a background thread; the pauses let students' runs take the GIL in between,
    and the first one lets the browser that started it draw its page first. Ends between
    two views once `stop` is set (the server is stopping: explainer/shutdown.py). See
    docs/ARCHITECTURE.md, "Caching and warming"."""
    try:
        if stop.wait(WARM_DELAY_S):
            return
        for steps in step_choices(active.model.schedule.T):
            sampling_view(active, SAMPLER_NAMES, "learned", steps, DEFAULT_N, 0, False)
            if stop.wait(0.05):
                return
    except Exception:  # a cache warmer must never take the server down
        LOG.exception("warming the sampling page's caches failed")


WARM_THREAD_PREFIX = "warm-sampling-"  # its threads' names (app.py's shutdown guard)


@st.cache_resource(max_entries=16, show_spinner=False)
def start_warming(model_key: str, _active: shared.Active) -> threading.Thread:
    """Once per pretrained model and server process (cached): start warm_default_views.
    A daemon thread, so that it never holds the server up; shutdown.guard_exit lets it
    end before the interpreter is finalised (app.py)."""
    thread = threading.Thread(target=warm_default_views, args=(_active,), daemon=True,
                              name=f"{WARM_THREAD_PREFIX}{model_key}")
    thread.start()
    return thread


def warm_in_background(active: shared.Active) -> None:
    """Start warming for a pretrained model (once per model and process). A student's own
    model is used by one student only: not worth it. The test suite turns warming off (it
    opens every model; tests/conftest.py), except where it tests it."""
    if active.source == "pretrained" and os.environ.get("EXPLAINER_WARM_CACHES", "1") != "0":
        start_warming(active.key, active)
