"""A view is a page and its settings, held in the page's URL parameters: which parameters
each page owns, the figures it can show one at a time in the presentation view, and the
link to a view. Pure link logic (no Streamlit); pages/shared.py applies it.

Parameter names stay as links in the wild spell them; several pages use the same name
(t, n, seed, w, ...) for their own control, so each page reads and writes only the
parameters registered here for it, and every other one is dropped when the page opens.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from urllib.parse import urlencode, urlsplit, urlunsplit

PRESENT_PARAM = "present"  # ?present=1: the presentation view
SHOW_PARAM = "show"  # ?show=<figure id>: the figure the presentation view shows
FRAME_PARAM = "frame"  # ?frame=<t>: the animation frame shown (pages with an animation)
# Kept on every page: the model the pages use (the sidebar's) and the presentation switch.
GLOBAL_PARAMS = ("model", "source", "dataset", "process", PRESENT_PARAM)


@dataclass(frozen=True)
class Figure:
    """One figure a page can show alone in the presentation view (with its key control)."""

    id: str
    title: str


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


# By the page's url_path ("" is Home). A page's params: every URL-bound control it draws.
PAGE_VIEWS: dict[str, PageView] = {
    "": PageView((), (Figure("round_trip", "Data to noise, and back to new data"),)),
    "random_walks": PageView(("walks", "seed", "t"), (
        Figure("walks", "Walks over t"),
        Figure("bridge", "The last step points back"))),
    "vector_field": PageView(("t", "view", "grid"), (
        Figure("fields", "The field at t"),
        Figure("error", "Network against the exact field"))),
    "sampling": PageView(("sampler", "denoiser", "steps", "n", "seed", FRAME_PARAM), (
        Figure("samplers", "From noise to data"),)),
    "pictures": PageView(("seed", "t"), (
        Figure("spectrum", "The spectrum over t"),)),
    "guidance": PageView(("label", "negative", "denoiser", "w", "n", "t", FRAME_PARAM), (
        Figure("samples", "Guided samples over w"),
        Figure("fields", "The four fields at t"))),
    "prompts": PageView(("prompt", "negative_prompt", "w", "t"), (
        Figure("samples", "Samples of the prompt"),
        Figure("fields", "The prompt's field at t"))),
    "train": PageView(("train_dataset", "train_process", "train_budget", "train_seconds",
                       "train_steps", "train_hidden", "train_depth", "train_seed"), (
        Figure("training", "Training live"),)),
}


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
