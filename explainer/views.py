"""A view of the app: one page and the URL parameters that set it up.

The one registry of which parameters each page owns in its link (`PAGE_PARAMS`), what
values each accepts, and the figures a page can show one at a time in the presentation
view (`FIGURES`). Pure link logic (no Streamlit): pages/shared.py scopes the address to
the page that opens, and a lesson step (explainer/lessons.py) is checked against it.

Parameter names stay as links in the wild spell them; several pages use the same name
(t, n, seed, w, ...) for their own control, so each page reads and writes only its own
parameters, and every other one is dropped when the page opens. The values here are the
static bounds: the pages check a link's value again against the active model (a t is
snapped to the times its slider offers, a class must be one of the model's).
"""

from __future__ import annotations

import math
from bisect import bisect_left
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from numbers import Integral, Real
from typing import Any
from urllib.parse import urlencode, urlsplit, urlunsplit

from explainer import limits
from explainer.captions import MAX_PROMPT_CHARS
from explainer.datasets import DATASET_NAMES, REGISTRY
from explainer.samplers import SAMPLER_NAMES, timesteps
from explainer.schedules import DEFAULT_STEPS, PROCESS_NAMES

Value = int | float | str

PRESENT_PARAM = "present"  # ?present=1: the presentation view
SHOW_PARAM = "show"  # ?show=<figure id>: the figure the presentation view shows
FRAME_PARAM = "frame"  # ?frame=<t>: the animation frame shown (pages with an animation)
LESSON_PARAM, STEP_PARAM = "lesson", "step"  # ?lesson=<id>&step=<k>, k from 1
# Kept on every page: the model the pages use (the sidebar's), the presentation switch
# and the lesson being followed.
GLOBAL_PARAMS = ("model", "source", "dataset", "process", PRESENT_PARAM, LESSON_PARAM,
                 STEP_PARAM)


@dataclass(frozen=True)
class Choice:
    """One of fixed options (strings or whole numbers)."""

    options: tuple[Value, ...]

    def check(self, value: Any) -> Value:
        for option in self.options:
            if type(option) is type(value) and option == value:
                return option
        raise ValueError(f"{shown(value)} is not one of {', '.join(map(shown, self.options))}")


@dataclass(frozen=True)
class Number:
    """A finite number in lo..hi; a whole one if `whole`."""

    lo: float
    hi: float
    whole: bool = True

    def check(self, value: Any) -> Value:
        if isinstance(value, bool) or not isinstance(value, Real):
            raise ValueError(f"{shown(value)} is not a number")
        # An int is compared as it is: float() of a 400-digit one would overflow.
        finite = isinstance(value, Integral) or math.isfinite(value)
        if not finite or not self.lo <= value <= self.hi:
            raise ValueError(f"{shown(value)} is not in {self.lo:g}..{self.hi:g}")
        if self.whole:
            if not float(value).is_integer():
                raise ValueError(f"{shown(value)} is not a whole number")
            return int(value)
        return float(value)


@dataclass(frozen=True)
class Text:
    """A string of at most `max_chars` printable characters."""

    max_chars: int

    def check(self, value: Any) -> Value:
        if not isinstance(value, str):
            raise ValueError(f"{shown(value)} is not a text in quotes")
        if len(value) > self.max_chars:
            raise ValueError(f"is {len(value):,} characters long, at most "
                             f"{self.max_chars} are allowed")
        if not value.isprintable():
            raise ValueError("has a line break or another unprintable character")
        return value


Spec = Choice | Number | Text


def shown(value: Any, width: int = 40) -> str:
    """A value for a one-line message, as TOML writes it (quoted if a string), shortened."""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, Integral):
        return limits.shown(value)  # str() of a 5,000-digit int raises
    text = repr(value) if isinstance(value, str) else str(value)
    return text if len(text) <= width else text[: width - 1] + "…"


def url_text(value: Value) -> str:
    """A checked value as the page's URL writes it (pages/shared.write_url: str(value))."""
    return str(value)


# The largest T of the shipped processes: a t beyond it fits no model's slider.
MAX_PROCESS_T = max(DEFAULT_STEPS.values())
CLASS_NAMES: tuple[str, ...] = tuple(dict.fromkeys(n for _, names in REGISTRY.values()
                                                   for n in names))
T_ANY = Number(0, MAX_PROCESS_T)
T_NOISY = Number(1, MAX_PROCESS_T)  # pages 2, 5, 6: their sliders start at the first t > 0
SEED = Number(0, 9999)
W = Number(0.0, 10.0, whole=False)
SAMPLING_STEPS = (1, 2, 5, 10, 20, 50, 100, 200, 500, 1000)  # pages/sampling_views.STEP_SCALE

# Read on every page but Home: the sidebar's pretrained model.
MODEL_PARAMS: dict[str, Spec] = {"dataset": Choice(DATASET_NAMES),
                                 "process": Choice(PROCESS_NAMES)}
# url_path of each page (app.py's st.navigation; "" is Home) -> its own parameters.
PAGE_PARAMS: dict[str, dict[str, Spec]] = {
    "": {},
    "random_walks": {"t": T_ANY, "walks": Number(1, 8), "seed": SEED},
    "vector_field": {"t": T_NOISY, "view": Choice(("side by side", "overlay")),
                     "grid": Choice((16, 24, 32))},
    "sampling": {"sampler": Choice(("all", *SAMPLER_NAMES)),
                 "denoiser": Choice(("learned", "ideal")),
                 "steps": Choice(SAMPLING_STEPS), "n": Choice((250, 500, 1000, 2000)),
                 "seed": SEED, FRAME_PARAM: T_ANY},
    "pictures": {"t": T_ANY, "seed": SEED},
    "guidance": {"label": Choice(CLASS_NAMES), "negative": Choice(("none", *CLASS_NAMES)),
                 "denoiser": Choice(("learned", "weak", "ideal")), "w": W,
                 "n": Choice((250, 500, 1000)), "t": T_NOISY, FRAME_PARAM: T_ANY},
    "prompts": {"prompt": Text(MAX_PROMPT_CHARS), "negative_prompt": Text(MAX_PROMPT_CHARS),
                "w": W, "t": T_NOISY},
    "train": {"train_dataset": Choice(DATASET_NAMES), "train_process": Choice(PROCESS_NAMES),
              "train_budget": Choice(("seconds", "steps")), "train_seconds": Number(5, 120),
              "train_steps": Number(100, 5000), "train_hidden": Choice((64, 128, 256)),
              "train_depth": Choice((2, 3, 4)), "train_seed": SEED},
}
PAGES: tuple[str, ...] = tuple(PAGE_PARAMS)
T_SLIDER_PAGES = ("random_walks", "vector_field", "guidance", "prompts")  # shared.url_t_slider
SLIDER_TIMES = 100  # a t slider offers about this many times


@lru_cache(maxsize=8)
def slider_times(T: int, spacing: str) -> tuple[int, ...]:
    """The times a t slider offers, t = 0 included, increasing: samplers.timesteps' ~100,
    evenly spaced in t (DDPM) or in sigma_t (the random walk, spacing "sigma")."""
    return tuple(sorted(timesteps(T, min(T, SLIDER_TIMES), spacing)))


@dataclass(frozen=True)
class Figure:
    """One figure a page can show alone in the presentation view (with its key control)."""

    id: str
    title: str


# url_path -> the figures the presentation view shows one at a time (the first: the main).
FIGURES: dict[str, tuple[Figure, ...]] = {
    "": (Figure("round_trip", "Data to noise, and back to new data"),),
    "random_walks": (Figure("walks", "Walks over t"),
                     Figure("bridge", "The last step points back")),
    "vector_field": (Figure("fields", "The field at t"),
                     Figure("error", "Network against the exact field")),
    "sampling": (Figure("samplers", "From noise to data"),),
    "pictures": (Figure("spectrum", "The spectrum over t"),),
    "guidance": (Figure("samples", "Guided samples over w"),
                 Figure("fields", "The four fields at t")),
    "prompts": (Figure("samples", "Samples of the prompt"),
                Figure("fields", "The prompt's field at t")),
    "train": (Figure("training", "Training live"),),
}


@dataclass(frozen=True)
class PageView:
    """What a page keeps in its URL, and its figures (the first is its main one)."""

    params: tuple[str, ...]
    figures: tuple[Figure, ...]

    @property
    def main_figure(self) -> str:
        return self.figures[0].id

    def figure_ids(self) -> tuple[str, ...]:
        return tuple(f.id for f in self.figures)


PAGE_VIEWS: dict[str, PageView] = {
    page: PageView(tuple(params), FIGURES.get(page, ())) for page, params in PAGE_PARAMS.items()}


def params_of(page: str) -> dict[str, Spec]:
    """Every parameter `page` reads from its link (its own and the model's)."""
    return {**(MODEL_PARAMS if page else {}), **PAGE_PARAMS[page]}


def check_view(page: str, settings: Mapping[str, Any]) -> dict[str, Value]:
    """`settings` checked for `page`: each value in its parameter's bounds, and the values
    that depend on each other consistent (t and steps within the process's T, a class
    of the dataset). ValueError naming the parameter otherwise."""
    if page not in PAGE_PARAMS:
        raise ValueError(f"page {shown(page)} is not one of {', '.join(map(repr, PAGES))}")
    known = params_of(page)
    checked: dict[str, Value] = {}
    for name, value in settings.items():
        if name not in known:
            names = ", ".join(known) or "none"
            raise ValueError(f"settings: {shown(name)} is not a setting of page "
                             f"{page or 'Home'!r} (it has: {names})")
        try:
            checked[name] = known[name].check(value)
        except ValueError as exc:
            raise ValueError(f"settings.{name}: {exc}") from None
    check_together(page, checked)
    return checked


def check_together(page: str, settings: Mapping[str, Value]) -> None:
    process = str(settings.get("process", "ddpm"))
    dataset = str(settings.get("dataset", "spiral"))
    T = DEFAULT_STEPS[process]
    for name in ("t", "steps"):
        value = settings.get(name)
        if isinstance(value, Integral) and value > T:
            raise ValueError(f"settings.{name}: {value:,} is more than T = {T:,} of the "
                             f"{process} process")
    t = settings.get("t")
    if isinstance(t, Integral) and page in T_SLIDER_PAGES:
        times = slider_times(T, "sigma" if process == "random_walk" else "linear")
        if t not in times:
            i = bisect_left(times, t)
            raise ValueError(f"settings.t: {t:,} is not a time the slider offers for the "
                             f"{process} process; the nearest are {times[i - 1]:,} and "
                             f"{times[i]:,}")
    classes = REGISTRY[dataset][1]
    for name in ("label", "negative"):
        value = settings.get(name)
        if value not in (None, "none") and value not in classes:
            raise ValueError(f"settings.{name}: {shown(value)} is not a class of {dataset} "
                             f"({', '.join(classes)})")
    if settings.get("negative") is not None and settings.get("negative") == settings.get("label"):
        raise ValueError("settings.negative: the negative class is the class itself")


def page_view(page: str) -> PageView:
    """The registry entry of `page` (a url_path); an unknown page owns no parameters."""
    return PAGE_VIEWS.get(page, PageView((), ()))


def owned_params(page: str) -> frozenset[str]:
    """The URL parameters `page` reads and writes: its own, `show`, and the global ones."""
    own = page_view(page).params + ((SHOW_PARAM,) if page_view(page).figures else ())
    return frozenset(GLOBAL_PARAMS + own)


def page_scoped_params() -> frozenset[str]:
    """Every parameter some page owns for itself (not the global ones)."""
    return frozenset(name for view in PAGE_VIEWS.values() for name in view.params) | {
        SHOW_PARAM}


def foreign_params(names: list[str] | tuple[str, ...], page: str) -> list[str]:
    """The names among `names` that `page` does not own (dropped when it opens)."""
    owned = owned_params(page)
    return [name for name in names if name not in owned]


def scoped(params: Mapping[str, str], page: str) -> dict[str, str]:
    """`params` without those `page` does not own, in their order."""
    owned = owned_params(page)
    return {name: value for name, value in params.items() if name in owned}


def parse_show(page: str) -> Callable[[str], str]:
    """A parser of ?show= for `page`: one of its figure ids."""
    ids = page_view(page).figure_ids()

    def parse(raw: str) -> str:
        if raw not in ids:
            raise ValueError(f"expected one of {', '.join(ids)}")
        return raw
    return parse


def parse_present(raw: str) -> bool:
    """?present=1 turns the presentation view on (0 or absent: off)."""
    if raw not in ("0", "1"):
        raise ValueError("expected 1 (on) or 0 (off)")
    return raw == "1"


def view_link(address: str, page: str, params: Mapping[str, str]) -> str:
    """The link to `page` with the parameters it owns among `params`, on the server of
    `address` (any URL of the app: its scheme, host and base path are kept)."""
    parts = urlsplit(address)
    base = parts.path
    known = [name for name in PAGE_VIEWS if name]
    last = base.rstrip("/").rsplit("/", 1)[-1]
    if last in known:
        base = base.rstrip("/")[: -len(last)]
    path = base.rstrip("/") + "/" + page
    query = urlencode(scoped(params, page))
    return urlunsplit((parts.scheme, parts.netloc, path, query, ""))
