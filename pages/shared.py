"""What every page shares: caching wrappers around the backend, the active model,
URL-bound controls. (The other Streamlit modules beside the page scripts:
plotly_frame.py, the chart component; sampling_views.py, page 3's cached views.)

Rules (docs/ARCHITECTURE.md, "Caching and warming"): models live in
st.cache_resource and are never mutated; arrays in st.cache_data with bounded
max_entries, keyed by small quantised values and a model key.
"""

from __future__ import annotations

import functools
import gc
import math
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import plotly.graph_objects as go
import streamlit as st

from explainer import chart_data, checkpoints, claims, metrics, under_conditioned, views
from explainer.claims import SampleNumbers
from explainer.datasets import DATASET_NAMES
from explainer.fields import Field, field_agreement, grid_field
from explainer.guidance import Guidance
from explainer.model_store import KeptModel, is_token, keep_time_text, server_store
from explainer.runtime import configure_process
from explainer.samplers import Trajectory, sample
from explainer.schedules import PROCESS_NAMES
from explainer.trained import TrainedModel
from explainer.training_job import TrainingJob
from pages import plotly_frame
from pages.plotly_frame import SentFigure

T = TypeVar("T")

# One torch thread, fixed malloc threshold: see explainer/runtime.py.
configure_process()
# Plotly imports pandas lazily, at its first figure; the cache warmer and a page building
# their first figures at once would see it half-imported (AttributeError). Import it now.
import pandas  # noqa: E402, F401

# Freeze what the imports made: torch's long-lived objects stay out of every full
# collection. See docs/ARCHITECTURE.md, "Runtime settings". Imported once per process.
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
    from streamlit.runtime.scriptrunner import RerunData, get_script_run_ctx

    was_directory_mode = PagesManager.uses_pages_directory
    PagesManager.uses_pages_directory = False
    ctx = get_script_run_ctx()
    if was_directory_mode and ctx is not None and ctx.script_requests is not None:
        # Queued, not raised (st.rerun would raise): an exception inside this import would
        # leave the module half-made for sessions importing it at the same moment. The
        # page's next Streamlit call yields to the queued rerun.
        ctx.script_requests.request_rerun(RerunData(
            query_string=ctx.query_string, page_script_hash=ctx.page_script_hash,
            context_info=ctx.context_info))


_leave_pages_directory_mode()

DEFAULT_DATASET, DEFAULT_PROCESS = "spiral", "ddpm"  # the model every page opens with
# The denoisers a page can sample with (the sampling page offers the first and last).
DENOISERS = {"learned": "the trained network",
             "weak": "a network that rarely saw the class",
             "ideal": "the perfect model (exact denoiser of the training set)"}
PROCESS_LABELS = {"ddpm": "DDPM (variance preserving)",
                  "random_walk": "Random walk (variance exploding)"}
USER_MODEL_KEY = "user_model"  # session_state: (token, TrainedModel) of this session's model
PENDING_SOURCE_KEY = "_pending_source"  # a "Using" switch requested after the radio was drawn
NOTE_VALUE_CHARS = 40  # a link's value is quoted in a note up to this many characters


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
        # ArithmeticError: e.g. OverflowError from int(float("inf")) in a parser of a page.
        except (ValueError, TypeError, ArithmeticError) as exc:
            st.session_state[_note_key(key)] = (
                f"The link's {literal(f'{key}={shortened(raw)}')} was not used ({exc}); "
                f"showing {key} = {default}.")
    st.session_state[key] = value


def shortened(text: str, width: int = NOTE_VALUE_CHARS) -> str:
    """`text` at most `width` characters long (a link can carry kilobytes)."""
    return text if len(text) <= width else text[: width - 1] + "…"


def literal(text: str) -> str:
    """`text` as a Markdown code span, for st.warning / st.error (which render Markdown):
    shown exactly as written, never as a link, an image, HTML, LaTeX or colour.

    The fence is one backtick longer than any run of backticks in `text`, so nothing
    inside can close it; CommonMark reads a code span's content literally, and one that
    opens first takes precedence over any construct starting inside it. Line breaks
    (which could end the paragraph, and the span) become spaces.
    """
    line = "".join(c if c.isprintable() else " " for c in text)
    fence = "`" * (1 + max((len(run) for run in re.findall("`+", line)), default=0))
    if not line or line[0] in ("`", " ") or line[-1] in ("`", " "):
        line = f" {line} "  # CommonMark drops one space each side of such content
    return f"{fence}{line}{fence}"


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
    """A parser of finite numbers in lo..hi (whole ones if kind is int). Its messages
    never repeat the link's value: the note quotes that, shortened."""
    def parse(raw: str) -> Any:
        try:
            number = float(raw)
        except ValueError:
            raise ValueError("expected a number") from None
        if not math.isfinite(number) or not lo <= number <= hi:
            raise ValueError(f"expected a number in {lo}..{hi}")
        if kind is int and not number.is_integer():
            raise ValueError("expected a whole number")
        return kind(number)
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


# ---------------------------------------------------------------- views: scope, present, link

OPEN_PAGE_KEY = "_open_page"  # session_state: the url_path of the page this session shows
PRESENT_KEY = views.PRESENT_PARAM  # session_state: the presentation switch (a toggle)
SHOW_KEY = views.SHOW_PARAM  # session_state: the figure the presentation view shows


def open_page(page: str) -> None:
    """Before `page` (its url_path) runs: scope the URL and the controls to it.

    Several pages give their own control the same key (n, t, seed, w...), and Streamlit
    makes a keyed widget's id from the key (not its label or options): after a page
    switch the browser sends the old page's value for that id, and the new page's
    control took it into its link (Sampling's Points = 250 became Guidance's ?n=250).
    So when the session moves to another page, every page-owned key is forgotten (the
    new page starts from its link, or its defaults), and the parameters the page does
    not own leave the URL.
    """
    previous = st.session_state.get(OPEN_PAGE_KEY)
    if previous is not None and previous != page:
        for name in views.page_scoped_params():
            # A value the address still holds from the previous page goes too (a
            # browser's page link starts afresh; st.switch_page may carry the query).
            if name in st.session_state and st.query_params.get(name) == str(
                    st.session_state[name]):
                del st.query_params[name]
        forget_controls(views.page_scoped_params())
    st.session_state[OPEN_PAGE_KEY] = page
    for name in views.foreign_params(tuple(st.query_params.keys()), page):
        del st.query_params[name]


def forget_controls(names: Iterable[str]) -> None:
    """Forget the values of the URL-bound controls keyed by `names` (with their link
    notes and t-slider positions): each reads its link, or its default, when drawn next."""
    for name in names:
        for key in (name, _note_key(name), f"_{name}_position"):
            st.session_state.pop(key, None)


def seed_presentation() -> None:
    """Before the navigation is drawn (on top of the page when presenting): the switch's
    first value, from the link's ?present=."""
    seed_from_url(PRESENT_KEY, False, views.parse_present)


def current_page() -> str:
    return st.session_state.get(OPEN_PAGE_KEY, "")


def link_to_view(page: str, params: Mapping[str, str]) -> str:
    """The link to `page` (a url_path, "" for Home) with those of `params` it owns, on
    the server this browser uses (a relative link if that is not known)."""
    return views.view_link(st.context.url or "/", page, params)


def presenting() -> bool:
    """Whether this session shows the presentation view (?present=1)."""
    return bool(st.session_state.get(PRESENT_KEY, False))


def shows(figure: str) -> bool:
    """Whether the page draws `figure` (an id of its views.PAGE_VIEWS entry): always,
    but in the presentation view only the one chosen."""
    return not presenting() or st.session_state.get(SHOW_KEY) == figure


FOLD_PREFIX = "folded_"  # container keys the presentation view hides (PRESENTATION_CSS)


def folded(name: str) -> Any:
    """A container the presentation view folds away (by CSS, through its key's class):
    the controls in it are still drawn, so they keep their values and their link."""
    return st.container(key=f"{FOLD_PREFIX}{name}")


def _presentation_switch() -> None:
    st.toggle("Presentation view", key=PRESENT_KEY,
              help="Large type, one figure at a time with its key control, the sidebar "
                   "and the explanations folded away: for a projector. The link keeps it.")
    show_url_note(PRESENT_KEY, presenting(), False)
    if presenting():
        st.query_params[views.PRESENT_PARAM] = "1"
    elif views.PRESENT_PARAM in st.query_params:
        del st.query_params[views.PRESENT_PARAM]


def view_bar(page: str) -> None:
    """Every page: the presentation switch and the copy-link button (in the sidebar; in
    the presentation view a bar above the page, with the figure selector)."""
    figures = views.page_view(page).figures
    if not presenting():
        with st.sidebar:
            _presentation_switch()
            copy_link_button()
        if SHOW_KEY in st.query_params:  # only the presentation view picks a figure
            del st.query_params[SHOW_KEY]
        st.session_state.pop(SHOW_KEY, None)
        return
    st.html(f"<style>{PRESENTATION_CSS}</style>")
    columns = st.columns([4, 3, 2], vertical_alignment="center")
    with columns[0]:
        if len(figures) > 1:
            titles = {f.id: f.title for f in figures}
            url_selectbox("Figure", SHOW_KEY, list(titles), figures[0].id,
                          widget=st.segmented_control, format_func=titles.get,
                          label_visibility="collapsed", required=True)
        elif figures:
            st.session_state[SHOW_KEY] = figures[0].id
            if SHOW_KEY in st.query_params:  # the page's only figure is its default
                del st.query_params[SHOW_KEY]
            st.markdown(f"**{figures[0].title}**")
    with columns[1]:
        copy_link_button(inline=True)
    with columns[2]:
        _presentation_switch()


# What the presentation view changes on the page (the chart component enlarges the
# charts' type and fits them to the screen itself: pages/plotly_frame.py).
PRESENTATION_CSS = """
html { font-size: 20px; }
[data-testid=stSidebar], [data-testid=stSidebarCollapsedControl],
[data-testid=stExpandSidebarButton], [data-testid=stExpander] { display: none; }
.stMainBlockContainer { padding-top: 4rem; padding-bottom: 1rem; max-width: none; }
.stMainBlockContainer h1 { display: none; }
[data-testid=stVerticalBlock] { gap: 0.6rem; }
[class*="st-key-folded_"], .stMainBlockContainer hr { display: none; }
"""

_COPY_LINK_HTML = """
<style>
  body { margin: 0; font-family: "Source Sans Pro", sans-serif; display: flex;
         flex-wrap: wrap; align-items: center; gap: 4px 6px; padding: 1px; }
  button { font: inherit; font-size: 15px; padding: 5px 10px; border-radius: 8px;
           border: 1px solid rgba(49, 51, 63, 0.25); background: white; cursor: pointer;
           white-space: nowrap; }
  #link { flex: 1 0 100%; order: 3; min-width: 0; font-size: 12px; }
  #link[hidden] { display: none; }
  #done { font-size: 13px; white-space: nowrap; }
</style>
<button id="copy" title="Copies the address of this page with all its settings">
  Copy link to this view</button>
<input id="link" readonly hidden aria-label="Link to this view">
<span id="done"></span>
<script>
// The address bar holds the page's settings (pages/shared.py keeps it scoped to the
// page); the animation frame lives in the chart, which reports it on the parent window
// (assets/plotly_frame/index.html).
const FRAME_CHART = __FRAME_CHART__, FRAME_PARAM = __FRAME_PARAM__;
function viewLink() {
  const url = new URL(window.parent.location.href);
  const frames = window.parent.explainerFrames || {};
  if (FRAME_CHART) {
    const frame = frames[FRAME_CHART];
    if (frame === undefined || frame === null) url.searchParams.delete(FRAME_PARAM);
    else url.searchParams.set(FRAME_PARAM, frame);
  }
  return url.href;
}
document.getElementById("copy").addEventListener("click", async () => {
  const link = viewLink(), box = document.getElementById("link"),
        done = document.getElementById("done");
  box.value = link;
  box.hidden = false;
  try {
    await navigator.clipboard.writeText(link);
    done.textContent = "copied";
  } catch (err) {  // no clipboard API (e.g. plain http to another machine): select it
    box.select();
    done.textContent = document.execCommand("copy") ? "copied" : "select and copy";
  }
});
</script>
"""


def copy_link_button(inline: bool = False) -> None:
    """A button that copies the link to this view: the address (the page's settings) and,
    on a page with an animation, the frame it shows (views.FRAME_PARAM). The link is then
    shown to copy by hand: under the button, or beside it when `inline` (one line)."""
    page = current_page()
    chart = FRAME_CHARTS.get(page, "") if views.FRAME_PARAM in views.owned_params(page) else ""
    html = (_COPY_LINK_HTML.replace("__FRAME_CHART__", repr(chart))
            .replace("__FRAME_PARAM__", repr(views.FRAME_PARAM)))
    if inline:
        html = html.replace("flex-wrap: wrap", "flex-wrap: nowrap").replace(
            "flex: 1 0 100%", "flex: 1 1 0")
    st.iframe(html, height=40 if inline else 68)


# The chart whose animation frame goes into a page's link (see plotly_frame.show's frame).
FRAME_CHARTS = {"sampling": "chart_sampling", "guidance": "chart_guided_samples"}


def url_frame(T: int) -> str | None:
    """The animation frame of the page's link (?frame=<t>, a whole number in 0..T), for
    the chart to show first; a bad value is dropped with a note."""
    raw = st.query_params.get(views.FRAME_PARAM)
    if raw is None:
        return None
    try:
        return str(parse_number(0, T, int)(raw))
    except ValueError as exc:
        st.warning(f"The link's {literal(f'frame={shortened(raw)}')} was not used ({exc}); "
                   "showing the animation's end.", icon="🔗")
        del st.query_params[views.FRAME_PARAM]
        return None


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


# This session's own model (trained or uploaded on the Train page), kept on the server
# behind a link (explainer/model_store.py) so that a reload of the page brings it back.
MODEL_PARAM = "model"  # URL: ?model=<token> of the session's own model
SOURCE_KEY = "source"  # the sidebar's "Using: pretrained / your model" (also in the URL)
TRAIN_PAGE = "train"  # the Train page's url_path: its own choices are the new model's
TRAIN_JOB_KEY = "train_job"  # session_state: the Train page's TrainingJob (pages/train.py)
KEPT_KEY = "_kept_model"  # session_state: the KeptModel of the USER_MODEL_KEY model
LINK_CHECKED_KEY = "_model_link_checked"  # session_state: the link's ?model= was looked up
LINK_NOTE_KEY = "_model_link_note"  # session_state: why the link's model is not used
LINK_NOTE_SHOWN_KEY = "_model_link_note_shown"


def set_user_model(model: TrainedModel, samples: np.ndarray,
                   losses: list[float] | None, how: str) -> str:
    """Make `model` this session's model, keep it on the server behind a new link
    (?model=<token>), switch the pages to it, and return its token. `samples` (its DDPM
    samples), `losses` and `how` are what the Train page shows of it, after a reload too.

    The switch goes through a pending value: by the time a page calls this, app.py may
    already have drawn the sidebar's "Using" radio in this run, and Streamlit refuses to
    set a drawn widget's key. model_sidebar applies it before drawing the radio.
    """
    kept = KeptModel.of(model, samples, losses, how)
    token = server_store().put(kept)
    st.session_state[USER_MODEL_KEY] = (token, model)
    st.session_state[KEPT_KEY] = kept
    st.session_state[PENDING_SOURCE_KEY] = "your model"
    st.session_state.pop(LINK_NOTE_KEY, None)
    # Last: writing the URL is an st.* call, where a click can interrupt the run.
    st.query_params[MODEL_PARAM] = token
    return token


def user_model() -> tuple[str, TrainedModel] | None:
    """(token, model) of this session's own model, if it has one."""
    return st.session_state.get(USER_MODEL_KEY)


def kept_user_model() -> KeptModel | None:
    """What the Train page shows of this session's model: samples, loss curve, how."""
    return st.session_state.get(KEPT_KEY)


def restore_user_model() -> None:
    """On a session's first run: the link's model (?model=<token>) if this server still
    keeps it. If not, a note says why, and the link's model and "Using: your model" are
    dropped from the URL (the pages then use the pretrained models)."""
    if USER_MODEL_KEY in st.session_state or LINK_CHECKED_KEY in st.session_state:
        return
    st.session_state[LINK_CHECKED_KEY] = True
    raw = st.query_params.get(MODEL_PARAM)
    if raw is None:
        return
    kept = server_store().get(raw)  # None for anything not shaped like a token
    try:
        model = None if kept is None else kept.model()
    except checkpoints.CheckpointError:
        model = None
    if model is None:
        st.session_state[LINK_NOTE_KEY] = link_gone_note(is_token(raw))
        del st.query_params[MODEL_PARAM]
        if st.query_params.get(SOURCE_KEY) == "your model":
            del st.query_params[SOURCE_KEY]
        return
    st.session_state[USER_MODEL_KEY] = (raw, model)
    st.session_state[KEPT_KEY] = kept


def link_gone_note(well_formed: bool) -> str:
    """Why a link's model is not used (the link's value itself is never repeated)."""
    if not well_formed:
        return ("This link's `model` value is not a model link made by this app, so it was "
                "not used: the pages show the pretrained models.")
    return (f"This link's model is no longer on this server: a model is kept for "
            f"{keep_time_text()} after its last use, and a restart of the server clears "
            "them. The pages show the pretrained models; train it again, or load its "
            "checkpoint on *Train your own* if you downloaded it.")


def keep_user_model() -> None:
    """Every run: this session's model counts as used (its link lives on, and is put back
    if newer models pushed it out of the store), and its link stays in the URL."""
    mine, kept = user_model(), kept_user_model()
    if mine is not None and kept is not None:
        server_store().keep(mine[0], kept)
        write_url(MODEL_PARAM, mine[0], None)


def stop_training_elsewhere() -> None:
    """Leaving the Train page stops its training; coming back finishes it with the model
    trained so far (pages/train.py)."""
    job: TrainingJob | None = st.session_state.get(TRAIN_JOB_KEY)
    if job is not None:
        job.request_stop()


def keep_picker_values() -> None:
    """Keep the sidebar picker's dataset and process while a page does not draw it (else
    Streamlit forgets the values of widgets a run did not draw)."""
    for key in ("dataset", "process"):
        if key in st.session_state:
            st.session_state[key] = st.session_state[key]


def model_sidebar(page: str = "") -> None:
    """The session's model on every page (`page`: its url_path, "" for Home): the link's
    model restored, kept, and a note if it is gone. In the sidebar, but on Home: the
    "Using: pretrained / your model" switch and the pretrained model's dataset and
    process; on the Train page, whose own boxes choose the new model, a note on what the
    other pages use instead of the dataset and process boxes."""
    restore_user_model()
    keep_user_model()
    if page != TRAIN_PAGE:
        stop_training_elsewhere()
    note = st.session_state.get(LINK_NOTE_KEY)
    if note and not st.session_state.get(LINK_NOTE_SHOWN_KEY):
        st.session_state[LINK_NOTE_SHOWN_KEY] = True  # loud once, then in the sidebar
        st.warning(note, icon=":material/link_off:")
    if not page:
        return
    with st.sidebar:
        st.subheader("Model")
        if note:
            st.caption("The link's model could not be used (see the note at the top when "
                       "the link was opened): using the pretrained models.")
        mine = user_model()
        if PENDING_SOURCE_KEY in st.session_state:
            st.session_state[SOURCE_KEY] = st.session_state.pop(PENDING_SOURCE_KEY)
        if mine is not None:
            url_selectbox("Using", SOURCE_KEY, ["pretrained", "your model"], "pretrained",
                          widget=st.radio, horizontal=True,
                          help="Your model is the one trained or uploaded on "
                               "'Train your own' in this browser session.")
        if page == TRAIN_PAGE:
            keep_picker_values()
            st.caption(f"The other pages use: {active_model_text()}. The model you train "
                       "here gets its data and noise process from the boxes on this page.")
            return
        if mine is not None and st.session_state.get(SOURCE_KEY) == "your model":
            st.caption(f"Your model: {mine[1].describe()}")
            return
        url_selectbox("Dataset", "dataset", list(DATASET_NAMES), DEFAULT_DATASET)
        url_selectbox("Noise process", "process", list(PROCESS_NAMES), DEFAULT_PROCESS,
                      format_func=PROCESS_LABELS.get)


def active_model_text() -> str:
    """The model the pages use, in words: "your model (...)" or "the pretrained ..."."""
    active = active_model()
    if active.source == "your model":
        return f"your model ({active.model.describe()})"
    return (f"the pretrained {active.model.data.name} model, "
            f"{PROCESS_LABELS[active.model.schedule.name]}")


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
    """The one sentence under a figure that says in numbers what it shows right now
    (folded away, like every explanation, in the presentation view)."""
    if presenting():
        return
    st.markdown(f"**What you see:** {text}")


def what_you_see(bullets: Sequence[str], heading: str = "") -> None:
    """What a figure shows right now, as short bullets of measured numbers (one block, so
    it reads as one "What you see" like `sentence`); `heading` follows the label."""
    if presenting():
        return
    st.markdown(f"**What you see:**{' ' + heading if heading else ''}\n"
                + "\n".join(f"- {b}" for b in bullets))


def predict_then_look(question: str, answer: str | Callable[[], str], key: str) -> None:
    """A question the student answers in their head before moving a control; the answer
    (computed for the current choice by the caller) shows only on request. A callable
    answer is computed only then (it may need numbers the page has not made yet)."""
    if presenting():
        return
    with st.container(border=True):
        st.markdown(f"**Predict, then look:** {question}")
        if st.toggle("Show the answer", key=f"_predict_{key}"):
            st.markdown(answer if isinstance(answer, str) else answer())


def t_options(T: int, allow_zero: bool, spacing: str = "linear") -> list[int]:
    """The times a t slider offers, in increasing order: the ~100 that samplers.timesteps
    picks (evenly spaced in t for DDPM, in sigma_t for the random walk, whose detail lives
    at small t: t = 7, 26, 59, ... rather than 655, 1,311, ...). Few fixed values also keep
    caches keyed by t shared between users."""
    options = list(views.slider_times(T, spacing))  # lesson files are checked against them
    return options if allow_zero else options[1:]


def url_t_slider(label: str, T: int, allow_zero: bool, default_fraction: float,
                 key: str = "t", spacing: str = "linear",
                 sigma: Sequence[float] | None = None, **kwargs: Any) -> int:
    """The time slider over t_options, bound to the URL as ?t=; it starts at
    `default_fraction` of its length (in sigma for the random walk: 0.1 is sigma_T / 10).
    Given the schedule's `sigma` (index t), every time it shows (the current one and both
    ends) reads "t = 655 (σ_t = 0.64)": the noise level beside the step count.

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
    if sigma is not None:
        kwargs.setdefault("format_func", lambda t: f"t = {t:,} (σ_t = {sigma[t]:.2f})")
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


@st.cache_data(max_entries=128, show_spinner=False)
def cached_sample_numbers(model_key: str, _model: TrainedModel, kind: str, sampler: str,
                          steps: int, n: int, guidance: Guidance, seed: int) -> SampleNumbers:
    """claims.sample_numbers of one cached trajectory's final samples."""
    final = cached_trajectory(model_key, _model, kind, sampler, steps, n, guidance, seed).final
    label = guidance.label
    radius = None if label is None else cached_on_data_radius(model_key, _model, label)
    return claims.sample_numbers(final, _model.data, label, radius)


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

    Building a figure validates every trace and frame in Python; sending a built one
    is cheap (docs/ARCHITECTURE.md, "Caching and warming"). Kept as what the chart is
    sent (plotly_frame.SentFigure). `key` must name everything `_build` uses (page, model
    key, and every control). 400 entries: a class spreads over every t of three pages.
    """
    return SentFigure.of(_build())


# ---------------------------------------------------------------- charts and their exports

def chart(fig: go.Figure | SentFigure, key: str, alt: str, name: Sequence[object] = (),
          data: Mapping[str, np.ndarray] | None = None, drawn: bool = False,
          frame: str | None = None, frame_in_link: bool = False) -> None:
    """Every chart of the pages: drawn by the chart component (plotly_frame.show), with a
    "PNG for slides" button (made in the browser) and under it a download of the data
    behind it, made only when clicked (explainer/chart_data.py): `data`, the named
    arrays the page drew from (CSV if one table of points, else NPZ), and the arrays the
    figure itself draws if there is no `data` or `drawn` (NPZ). Files are named
    page-chart-`name` (e.g. dataset, process, t). Design: docs/ARCHITECTURE.md, "Chart
    exports". `frame`, `frame_in_link`: the animation frame in the page's link
    (plotly_frame.show)."""
    sent = fig if isinstance(fig, SentFigure) else SentFigure.of(fig)
    stem = chart_data.file_stem([page_name(), key.removeprefix("chart_"), *name])
    with st.container(gap=None):  # the data button right under the chart's PNG button
        plotly_frame.show(sent, key=key, alt=alt, file_name=stem, frame=frame,
                          frame_in_link=frame_in_link)
        if not presenting():  # a projected figure fills the screen alone, without exports
            data_button(sent, key, stem, alt, data, drawn or data is None)


def model_name(model: TrainedModel) -> tuple[str, str]:
    """(dataset, process) of a model, for chart file names."""
    return model.data.name, model.schedule.name


def page_name() -> str:
    """The running page's script name (e.g. "random_walks"); "home" for app.py's Home."""
    from streamlit.runtime.scriptrunner import get_script_run_ctx

    ctx = get_script_run_ctx()
    if ctx is None:
        return "chart"
    info = ctx.pages_manager.get_pages().get(ctx.page_script_hash) or {}
    stem = Path(str(info.get("script_path") or ctx.main_script_path)).stem
    return "home" if stem == "app" else stem


FIGURE_README = (
    "Arrays as the chart draws them: <trace>_xy (n, 2) points (or _x and _y), _z, _text "
    "per trace (panel title first); <trace>_<attr>_frames one row per animation frame "
    "(named in frame_names), e.g. <panel>_samples_xy_frames (frames, n, 2) trajectories; "
    "<shape>_segments (n, 2, 2) arrow tails and tips. NaN: a gap in a line.")


def data_button(sent: SentFigure, key: str, stem: str, alt: str,
                data: Mapping[str, np.ndarray] | None, drawn: bool) -> None:
    """The chart's data download: a deferred callable (Streamlit runs it on the click, in
    its own thread), and on_click="ignore" so that a download does not rerun the page."""
    readme = f"Data of the chart '{stem}': {alt}"
    named = dict(data or {})
    if drawn:
        kind = "npz"
        make = functools.partial(figure_npz, sent, f"{readme}\n\n{FIGURE_README}", named)
    elif chart_data.is_table(named):
        kind, make = "csv", functools.partial(chart_data.csv_bytes, named)
    else:
        kind, make = "npz", functools.partial(chart_data.npz_bytes, named, readme)
    too_big = chart_data.data_bytes(named) > chart_data.MAX_CHART_DATA_BYTES
    st.download_button(
        f"Data (.{kind})", make, file_name=f"{stem}.{kind}",
        mime=chart_data.CSV_MIME if kind == "csv" else chart_data.NPZ_MIME,
        key=f"{key}_data", on_click="ignore", type="tertiary", icon=":material/download:",
        disabled=too_big,
        help=("Too large to download." if too_big else
              "The numbers behind this chart (.npz: numpy.load; .csv: a table)."))


@functools.lru_cache(maxsize=4)
def figure_arrays(sent: SentFigure) -> dict[str, np.ndarray]:
    """The arrays a sent figure draws (chart_data.figure_arrays); the last few are kept,
    for a class downloading the same chart at once. Read only."""
    return chart_data.figure_arrays(sent.figure())


def figure_npz(sent: SentFigure, readme: str, named: Mapping[str, np.ndarray]) -> bytes:
    """An .npz of the figure's own arrays and the page's `named` ones."""
    return chart_data.npz_bytes({**figure_arrays(sent), **named}, readme)
