"""The download of a page's animation as GIF or MP4 (explainer/animations.py): a format
choice and a button; the file is made on click, with a progress bar, one export at a time
per server (export.bounded) in a low-priority worker process (export.in_worker, so that
other visitors' sliders keep their speed), and kept per settings: the next click is
instant."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable

import numpy as np
import streamlit as st

from explainer import animations, export
from explainer.export import Progress
from explainer.trained import TrainedModel

KEPT_FILES = 16
KEPT_BYTES = 64 * 10**6  # the largest file is bounded by limits.MAX_GIF_PIXELS anyway
_kept: OrderedDict[Hashable, bytes] = OrderedDict()
_kept_lock = threading.Lock()
LABELS = {"gif": "GIF", "mp4": "MP4"}
FORMAT_HELP = ("GIF: loops, plays anywhere (slides, web pages, handouts). MP4: a video "
               "(H.264) that plays once; slide programs and video players take it.")


def kept(key: Hashable) -> bytes | None:
    with _kept_lock:
        if key in _kept:
            _kept.move_to_end(key)
            return _kept[key]
    return None


def keep(key: Hashable, data: bytes) -> None:
    """Least recently used first out, within KEPT_FILES files and KEPT_BYTES bytes."""
    with _kept_lock:
        _kept[key] = data
        _kept.move_to_end(key)
        while len(_kept) > KEPT_FILES or sum(map(len, _kept.values())) > KEPT_BYTES:
            _kept.popitem(last=False)


def size_text(n_bytes: int) -> str:
    """1.96 MB, or 85 kB below 1 MB (0.0 MB would say nothing)."""
    return f"{n_bytes / 1e6:.1f} MB" if n_bytes >= 10**6 else f"{max(1, n_bytes // 1000)} kB"


def progress_bar(text: str) -> tuple[Progress, Callable[[], None]]:
    """An st.progress bar and its update function (every 2 %: fewer messages), and a
    function that removes it."""
    bar = st.progress(0.0, text=text)
    shown = [0.0]

    def update(fraction: float) -> None:
        if fraction >= 1.0 or fraction - shown[0] >= 0.02:
            shown[0] = fraction
            bar.progress(min(1.0, fraction), text=text)

    return update, bar.empty


def download(key: str, what: str, settings: Hashable, file_stem: str,
             make: Callable[[str, Progress], bytes]) -> None:
    """A format choice and a "Make" button; on click, make(fmt, progress) (or the kept
    file of these settings), then a download button. `what` names the animation."""
    fmt_col, make_col = st.columns([1, 2], vertical_alignment="bottom")
    with fmt_col:
        fmt = st.radio("Animation file", tuple(LABELS), format_func=LABELS.get,
                       horizontal=True, key=f"{key}_format", help=FORMAT_HELP)
    with make_col:
        clicked = st.button(f"Make {what} ({fmt.upper()})", icon=":material/movie:",
                            key=f"{key}_make")
    if not clicked:
        return
    data = kept((key, settings, fmt))
    if data is None:
        update, remove = progress_bar(f"Making {what} (one at a time on this server)...")
        try:
            data = export.bounded(lambda: make(fmt, update))
        except ValueError as exc:  # busy, a bound, no MP4 encoder: one line, no file
            st.warning(f"{str(exc)[:1].upper()}{str(exc)[1:]}.")
            return
        finally:
            remove()
        keep((key, settings, fmt), data)
    st.download_button(f"Download the {fmt.upper()} ({size_text(len(data))})", data,
                       file_name=f"{file_stem}.{fmt}", mime=export.FORMATS[fmt],
                       on_click="ignore", icon=":material/download:", key=f"{key}_download")


# ---------------------------------------------------------------- the pages' animations
# Here rather than in the pages, so that each page adds only one call.

def walks(model_key: str, model: TrainedModel, paths: np.ndarray, count: int,
          seed: int) -> None:
    """Page 1: the walks `paths` (count, seed) and the noised cloud over every t."""
    def make(fmt: str, progress: Progress) -> bytes:
        title = animations.walks_title(model.data.name, model.schedule, count)
        return export.in_worker(animations.walks, model.schedule, model.data.points, paths,
                                title, fmt, progress=progress)

    download("walks_animation", "an animation over t", (model_key, count, seed),
             f"random-walks-{model.data.name}-{model.schedule.name}", make)


def guided(model_key: str, model: TrainedModel, kind: str, label: int,
           negative: int | None, n: int, steps: int, w_max: float) -> None:
    """Page 5: the samples of class `label` at each w from 0 to w_max."""
    names = model.class_names

    def make(fmt: str, progress: Progress) -> bytes:
        eps_model = model.ideal() if kind == "ideal" else model.denoiser()
        away = "" if negative is None else f", away from '{names[negative]}'"
        title = f"Class '{names[label]}'{away}: DDIM, {steps} steps"
        points = model.data.points[model.data.labels == label]
        return export.in_worker(animations.guided, eps_model, model.schedule, label,
                                negative, animations.guidance_ws(w_max), n, steps, points,
                                title, fmt, progress=progress)

    download("guidance_animation", "an animation over w",
             (model_key, kind, label, negative, n, steps, w_max),
             f"guidance-{model.data.name}-{names[label]}-w0-{w_max:g}", make)
