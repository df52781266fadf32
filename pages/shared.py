"""What every page shares: caching wrappers around the backend, the active model,
URL-bound controls. (The other Streamlit modules beside the page scripts:
plotly_frame.py, the chart component; sampling_views.py, page 3's cached views.)

Rules (DESIGN.md): models live in st.cache_resource and are never mutated; arrays in
st.cache_data with bounded max_entries, keyed by small quantised values and a model key.
"""

from __future__ import annotations

import gc
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import plotly.graph_objects as go
import streamlit as st

from explainer import checkpoints, claims, metrics, under_conditioned
from explainer.datasets import DATASET_NAMES
from explainer.fields import Field, field_agreement, grid_field
from explainer.guidance import Guidance
from explainer.runtime import configure_process
from explainer.samplers import Trajectory, sample, timesteps
from explainer.schedules import PROCESS_NAMES
from explainer.trained import TrainedModel
from pages.plotly_frame import SentFigure

T = TypeVar("T")

# One torch thread, fixed malloc threshold: see explainer/runtime.py.
configure_process()
# Freezing the objects that exist after the imports keeps torch's many long-lived objects
# out of every full collection: Python's own, and Streamlit's post-run gc.collect() if it
# is turned on again (150 ms -> ~1 ms per rerun when it was; .streamlit/config.toml turns
# it off, as it still cost 65-85 ms once the caches had filled). Imported once per process.
gc.collect()
gc.freeze()


def _leave_pages_directory_mode() -> None:
    """Make a deep link on a fresh server run through app.py.

    Until st.navigation has run once in the process, Streamlit treats a folder named
    pages/ as an old-style multipage app: the very first visit to e.g. /sampling on a
    fresh server would run pages/sampling.py alone (no page config, no model sidebar,
    shared.py listed as a page). Turning that mode off and rerunning sends the same
    page (same URL path, same page hash) through app.py's navigation instead.
    """
    from streamlit.runtime.pages_manager import PagesManager
    from streamlit.runtime.scriptrunner import get_script_run_ctx

    was_directory_mode = PagesManager.uses_pages_directory
    PagesManager.uses_pages_directory = False
    ctx = get_script_run_ctx()
    if was_directory_mode and ctx is not None:
        st.rerun()  # raised during this module's first import; the rerun imports it again


_leave_pages_directory_mode()

DEFAULT_DATASET, DEFAULT_PROCESS = "spiral", "ddpm"  # the model every page opens with
PROCESS_LABELS = {"ddpm": "DDPM (variance preserving)",
                  "random_walk": "Random walk (variance exploding)"}
USER_MODEL_KEY = "user_model"  # session_state: (uuid, TrainedModel) of this session's model
PENDING_SOURCE_KEY = "_pending_source"  # a "Using" switch requested after the radio was drawn


# ---------------------------------------------------------------- URL-bound controls

def _note_key(key: str) -> str:
    return f"_url_note_{key}"


def seed_from_url(key: str, default: T, parse: Callable[[str], T]) -> None:
    """Give the widget `key` its first value: from the URL if valid, else the default
    (and remember a note saying so). Later runs keep the user's value."""
    if key in st.session_state:
        return
    raw = st.query_params.get(key)
    value = default
    if raw is not None:
        try:
            value = parse(raw)
        except (ValueError, TypeError) as exc:
            st.session_state[_note_key(key)] = (
                f"The link's `{key}={raw}` was not used ({exc}); showing {key} = {default}.")
    st.session_state[key] = value


def write_url(key: str, value: Any, default: Any) -> None:
    """Mirror a control in the URL so the address bar is always a link to this view."""
    if value == default:
        if key in st.query_params:
            del st.query_params[key]
    elif st.query_params.get(key) != str(value):
        st.query_params[key] = str(value)


def show_url_note(key: str, value: Any, default: Any) -> None:
    note = st.session_state.get(_note_key(key))
    if note and value == default:
        st.warning(note, icon="🔗")
    elif note:
        del st.session_state[_note_key(key)]  # the user has moved on from the fallback


def parse_choice(options: Sequence[T]) -> Callable[[str], T]:
    def parse(raw: str) -> T:
        for option in options:
            if str(option) == raw:
                return option
        raise ValueError(f"expected one of {', '.join(map(str, options))}")
    return parse


def parse_number(lo: float, hi: float, kind: type = int) -> Callable[[str], Any]:
    def parse(raw: str) -> Any:
        value = kind(float(raw)) if kind is int else kind(raw)
        if kind is int and float(raw) != value:
            raise ValueError("expected a whole number")
        if not lo <= value <= hi:
            raise ValueError(f"expected a number in {lo}..{hi}")
        return value
    return parse


def url_selectbox(label: str, key: str, options: Sequence[T], default: T,
                  widget: Callable[..., Any] | None = None, **kwargs: Any) -> T:
    """A select widget (selectbox by default; or st.radio, st.segmented_control...) whose
    value lives in the URL as ?key=value."""
    seed_from_url(key, default, parse_choice(options))
    value = (widget or st.selectbox)(label, options, key=key, **kwargs)
    show_url_note(key, value, default)
    write_url(key, value, default)
    return value


def url_slider(label: str, key: str, lo: float, hi: float, default: float,
               step: float = 1, **kwargs: Any) -> Any:
    """A slider whose value lives in the URL; an out-of-range link falls back with a note."""
    kind = int if all(float(v).is_integer() for v in (lo, hi, default, step)) else float
    seed_from_url(key, kind(default), parse_number(lo, hi, kind))
    value = st.slider(label, kind(lo), kind(hi), step=kind(step), key=key, **kwargs)
    show_url_note(key, value, kind(default))
    write_url(key, value, kind(default))
    return value


# ---------------------------------------------------------------- the active model

@st.cache_resource(max_entries=16, show_spinner="Loading the pretrained model...")
def pretrained(dataset: str, process: str) -> TrainedModel:
    return checkpoints.load(checkpoints.pretrained_path(dataset, process))


@dataclass(frozen=True, eq=False)
class Active:
    """The model the pages use now: `key` identifies it in cache keys."""

    key: str
    model: TrainedModel
    source: str  # "pretrained" or "your model"


def set_user_model(model: TrainedModel) -> None:
    """Make `model` this session's model and switch the pages to it.

    The switch goes through a pending value: by the time a page calls this, app.py may
    already have drawn the sidebar's "Using" radio in this run, and Streamlit refuses to
    set a drawn widget's key. model_sidebar applies it before drawing the radio.
    """
    st.session_state[USER_MODEL_KEY] = (uuid.uuid4().hex, model)
    st.session_state[PENDING_SOURCE_KEY] = "your model"


def user_model() -> tuple[str, TrainedModel] | None:
    return st.session_state.get(USER_MODEL_KEY)


def model_sidebar() -> None:
    """Dataset, process and "pretrained / your model", in the sidebar of every page."""
    with st.sidebar:
        st.subheader("Model")
        mine = user_model()
        if PENDING_SOURCE_KEY in st.session_state:
            st.session_state["source"] = st.session_state.pop(PENDING_SOURCE_KEY)
        if mine is not None:
            url_selectbox("Using", "source", ["pretrained", "your model"], "pretrained",
                          widget=st.radio, horizontal=True,
                          help="Your model is the one trained or uploaded on "
                               "'Train your own' in this browser session.")
        if mine is not None and st.session_state.get("source") == "your model":
            st.caption(f"Your model: {mine[1].describe()}")
            return
        url_selectbox("Dataset", "dataset", list(DATASET_NAMES), DEFAULT_DATASET)
        url_selectbox("Noise process", "process", list(PROCESS_NAMES), DEFAULT_PROCESS,
                      format_func=PROCESS_LABELS.get)


def active_model() -> Active:
    mine = user_model()
    source = st.session_state.get(PENDING_SOURCE_KEY) or st.session_state.get("source")
    if mine is not None and source == "your model":
        return Active(f"user:{mine[0]}", mine[1], "your model")
    return pretrained_active(st.session_state.get("dataset", DEFAULT_DATASET),
                             st.session_state.get("process", DEFAULT_PROCESS))


def pretrained_active(dataset: str, process: str) -> Active:
    return Active(f"pretrained:{dataset}:{process}", pretrained(dataset, process),
                  "pretrained")


# ---------------------------------------------------------------- cached backend calls

def _eps_model(model: TrainedModel, kind: str) -> Any:
    return model.ideal() if kind == "ideal" else model.denoiser()


@st.cache_data(max_entries=256, show_spinner=False)
def cached_field(model_key: str, _model: TrainedModel, kind: str, t: int, size: int,
                 guidance: Guidance) -> Field:
    """The denoising direction on the view grid; kind is "learned" or "ideal"."""
    return grid_field(_eps_model(_model, kind), _model.schedule, t, size, guidance)


@st.cache_data(max_entries=64, show_spinner=False)
def cached_trajectory(model_key: str, _model: TrainedModel, kind: str, sampler: str,
                      steps: int, n: int, guidance: Guidance, seed: int) -> Trajectory:
    return sample(_eps_model(_model, kind), _model.schedule, sampler, n, steps, guidance, seed)


def sentence(text: str) -> None:
    """The one sentence under a figure that says in numbers what it shows right now."""
    st.markdown(f"**What you see:** {text}")


def what_you_see(bullets: Sequence[str]) -> None:
    """What a figure shows right now, as short bullets of measured numbers (the same
    "What you see" block as sentence, for more than one claim)."""
    st.markdown("**What you see:**\n\n" + "\n".join(f"- {b}" for b in bullets))


def predict_then_look(question: str, answer: str | Callable[[], str], key: str) -> None:
    """A question the student answers in their head before moving a control; the answer
    (computed for the current choice by the caller) shows only on request. A callable
    answer is computed only then (it may need numbers the page has not made yet)."""
    with st.container(border=True):
        st.markdown(f"**Predict, then look:** {question}")
        if st.toggle("Show the answer", key=f"_predict_{key}"):
            st.markdown(answer if isinstance(answer, str) else answer())


def t_options(T: int, allow_zero: bool, spacing: str = "linear") -> list[int]:
    """The times a t slider offers, in increasing order: the ~100 that samplers.timesteps
    picks (evenly spaced in t for DDPM, in sigma_t for the random walk, whose detail lives
    at small t: t = 1, 2, 4, ... rather than 160, 320, ...). Few fixed values also keep
    caches keyed by t shared between users."""
    options = sorted(timesteps(T, min(T, 100), spacing))
    return options if allow_zero else options[1:]


def url_t_slider(label: str, T: int, allow_zero: bool, default_fraction: float,
                 key: str = "t", spacing: str = "linear", **kwargs: Any) -> int:
    """The time slider over t_options, bound to the URL as ?t=; it starts at
    `default_fraction` of its length (in sigma for the random walk: 0.1 is sigma_T / 10).

    T depends on the active process (ddpm 200, random walk 65,536, or a user's model), so
    when T changes (another process) the slider keeps its position (a fraction of its
    length, as the default is); a link's t is snapped to the nearest offered time, and one
    outside the range falls back with a note.
    """
    whole = t_options(T, allow_zero=True, spacing=spacing)  # positions count from t = 0
    options = whole if allow_zero else whole[1:]

    def snap(value: float) -> int:
        return min(options, key=lambda o: abs(o - value))

    def at_position(fraction: float) -> int:
        return snap(whole[round(fraction * (len(whole) - 1))])

    default = at_position(default_fraction)
    existed = key in st.session_state
    seed_from_url(key, default, lambda raw: snap(parse_number(options[0], T, int)(raw)))
    value, position = st.session_state[key], st.session_state.get(f"_{key}_position")
    if existed and position and position[0] != T:
        value = at_position(position[1])
    if snap(value) != st.session_state[key]:
        st.session_state[key] = snap(value)
    value = st.select_slider(label, options, key=key, **kwargs)
    st.session_state[f"_{key}_position"] = (T, whole.index(value) / (len(whole) - 1))
    show_url_note(key, value, default)
    write_url(key, value, default)
    return value


# ---------------------------------------------------------------- sampling / guidance numbers

def forget_if_invalid(key: str, valid: Callable[[Any], bool]) -> None:
    """Drop a control's remembered value (and its URL entry) once it no longer fits, e.g.
    steps > T after switching to a process with fewer steps, or a class name of the
    previous dataset; the control then starts again from its default, with no note."""
    if key in st.session_state and not valid(st.session_state[key]):
        del st.session_state[key]
        if key in st.query_params:
            del st.query_params[key]


@dataclass(frozen=True)
class SampleNumbers:
    """What a page says under a figure of samples (measured on the final samples)."""

    quality: float  # MMD^2 / data-vs-data floor vs the whole dataset (nan when guided)
    spread: float  # RMS distance from the samples' own centre
    distance: float  # mean distance to the nearest training point (of the class if guided)
    share: float | None  # share whose nearest training point is in the guided class
    centre: tuple[float, float]  # where the samples' average is
    on_class: float | None = None  # share in the guided class and on its data

    def guided(self) -> claims.GuidedNumbers:
        assert self.share is not None and self.on_class is not None, "not guided numbers"
        return claims.GuidedNumbers(self.share, self.on_class, self.spread)


@st.cache_data(max_entries=128, show_spinner=False)
def cached_sample_numbers(model_key: str, _model: TrainedModel, kind: str, sampler: str,
                          steps: int, n: int, guidance: Guidance, seed: int) -> SampleNumbers:
    final = cached_trajectory(model_key, _model, kind, sampler, steps, n, guidance, seed).final
    data, label = _model.data, guidance.label
    if label is None:
        return SampleNumbers(metrics.sample_quality(final, data.name).ratio,
                             metrics.spread(final), metrics.distance_to_data(final, data.points),
                             None, tuple(map(float, final.mean(0))))
    # Guided samples cover one class, so MMD against the whole dataset means little.
    return SampleNumbers(float("nan"), metrics.spread(final),
                         metrics.distance_to_data(final, data.points[data.labels == label]),
                         metrics.class_share(final, data.points, data.labels, label),
                         tuple(map(float, final.mean(0))),
                         metrics.on_class_share(final, data.points, data.labels, label,
                                                cached_on_data_radius(model_key, _model, label)))


@st.cache_data(max_entries=64, show_spinner=False)
def cached_on_data_radius(model_key: str, _model: TrainedModel, label: int) -> float:
    """metrics.on_data_radius of one class of the training set (~10 ms: made once)."""
    return metrics.on_data_radius(_model.data.points[_model.data.labels == label])


@st.cache_data(max_entries=64, show_spinner=False)
def cached_no_noise_run(model_key: str, _model: TrainedModel, kind: str, steps: int, n: int,
                        seed: int) -> claims.NoNoiseRun:
    """The no-noise sampler's run in two phases (shrink, then land): claims.no_noise_run."""
    run = cached_trajectory(model_key, _model, kind, "no_noise", steps, n, Guidance(), seed)
    return claims.no_noise_run(run.xs, run.times, _model.schedule, _model.data)


@st.cache_resource(max_entries=16, show_spinner="Loading the network that rarely saw the "
                                                 "class...")
def _under_conditioned(dataset: str, process: str) -> TrainedModel:
    return checkpoints.load(under_conditioned.path(dataset, process))


def under_conditioned_active(active: Active) -> Active | None:
    """The network for the same data and process that under-uses the class (page 4;
    shipped for the pretrained models only), or None."""
    dataset, process = active.model.data.name, active.model.schedule.name
    if active.source != "pretrained" or not under_conditioned.path(dataset, process).is_file():
        return None
    return Active(f"under-conditioned:{dataset}:{process}",
                  _under_conditioned(dataset, process), "under-conditioned")


@st.cache_data(max_entries=64, show_spinner=False)
def cached_data_numbers(model_key: str, _model: TrainedModel,
                        label: int | None = None) -> tuple[float, tuple[float, float]]:
    """(spread, centre) of the training set, or of one class of it."""
    points = _model.data.points
    if label is not None:
        points = points[_model.data.labels == label]
    return metrics.spread(points), tuple(map(float, points.mean(0)))


@st.cache_data(max_entries=64, show_spinner=False)
def cached_agreement_curve(model_key: str, _model: TrainedModel, kind: str, label: int,
                           ts: tuple[int, ...], size: int) -> tuple[float, ...]:
    """Mean cosine between the conditional and the unconditional field at each t."""
    eps_model, schedule = _eps_model(_model, kind), _model.schedule
    return tuple(field_agreement(grid_field(eps_model, schedule, t, size, Guidance(label)).v,
                                 grid_field(eps_model, schedule, t, size, Guidance()).v
                                 ).mean_cosine for t in ts)


def url_seed_input(help_text: str) -> int:
    """A seed (0..9999) number input bound to the URL as ?seed= (pages 1 and 3): an invalid
    link value falls back to 0 with a note. `help_text` says what the seed draws there."""
    seed_from_url("seed", 0, parse_number(0, 9999, int))
    value = st.number_input("Seed", 0, 9999, step=1, key="seed", help=help_text)
    show_url_note("seed", value, 0)
    write_url("seed", value, 0)
    return int(value)


@st.cache_resource(max_entries=400, show_spinner=False)
def cached_figure(key: tuple, _build: Callable[[], go.Figure]) -> SentFigure:
    """A built Plotly figure, shared by every session that asks for the same `key`.

    Building a figure validates every trace and frame in Python: 230 ms for one 50-frame
    animation, against ~1 ms to send a built one. Kept as the JSON text the chart is sent
    (plotly_frame.SentFigure). `key` must name everything `_build` uses (page, model key,
    and every control). 400 entries: a class spreads over every t of three pages (a field
    figure ~0.1 MB, an animation ~1-3 MB).
    """
    return SentFigure.of(_build())
