"""Helpers shared by the AppTest page tests (tests/test_page_*.py): opening a page the way a
link does, reading the Plotly figures and the "What you see" sentences back, moving a
slider. Plain functions. tests/ has no __init__.py, so pytest's default "prepend" import
mode puts it on sys.path and the test files `import apptest_helpers as ui`.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from explainer import checkpoints
from explainer.datasets import DATASET_NAMES
from explainer.schedules import PROCESS_NAMES

F = TypeVar("F", bound=Callable[..., Any])

ROOT = Path(__file__).resolve().parent.parent
APP = str(ROOT / "app.py")


def open_page(page: str, state: Mapping[str, object] | None = None, /,
              **params: str) -> AppTest:
    """`page` (e.g. "pages/sampling.py") opened through app.py from a link with these query
    parameters; fails the test if the page raised.

    `state` is written to session state before the switch. AppTest's switch_page runs the
    page script alone, not app.py around it (unless the app_py_around_pages fixture is
    active), so the sidebar, whose widgets hold the model choice, is not drawn: tests choose
    the model the way those widgets would, through their keys ({"dataset", "process"}).
    """
    at = AppTest.from_file(APP, default_timeout=120)
    for key, value in params.items():
        at.query_params[key] = value
    at.run()
    for key, value in (state or {}).items():
        at.session_state[key] = value
    for key, value in params.items():  # Home drops the page's own (shared.open_page)
        at.query_params[key] = value
    at.switch_page(page).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def need_checkpoint(dataset: str, process: str) -> None:
    """Skip the test while the pretrained checkpoint for dataset/process is not made yet."""
    if not checkpoints.pretrained_path(dataset, process).is_file():
        pytest.skip(f"no pretrained checkpoint for {dataset}/{process} yet")


def every_pretrained_model(test: F) -> F:
    """Parametrize `test(dataset, process, ...)` over every pretrained model."""
    by_dataset = pytest.mark.parametrize("dataset", DATASET_NAMES)(test)
    return pytest.mark.parametrize("process", PROCESS_NAMES)(by_dataset)


def shared_session(pages: Mapping[str, AppTest], dataset: str, process: str) -> AppTest:
    """A module's shared page session for `process` (see the `pages` fixtures) switched to
    the pretrained `dataset` model through the sidebar; skips while that checkpoint is not
    made yet, fails the test if the page raised."""
    need_checkpoint(dataset, process)
    at = pages[process]
    at.sidebar.selectbox(key="dataset").set_value(dataset).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def t_slider(at: AppTest) -> Any:
    """The time slider: a select_slider over the times samplers.timesteps offers."""
    return at.select_slider(key="t")


def t_options(at: AppTest) -> list[int]:
    """The times the t slider offers. AppTest lists them as shown: "655", or with the
    noise level beside them (shared.url_t_slider's `sigma`), "t = 655 (σ_t = 0.64)"."""
    return [int(re.search(r"\d[\d,]*", option).group().replace(",", ""))
            for option in t_slider(at).options]


def t_range(at: AppTest) -> tuple[int, int]:
    """The first and last time the t slider offers."""
    options = t_options(at)
    return options[0], options[-1]


def move(at: AppTest, key: str, value: object) -> AppTest:
    """Set the slider `key` (the t select_slider or a plain slider) and rerun; fails the
    test if the page raised."""
    (at.select_slider if key == "t" else at.slider)(key=key).set_value(value).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def charts(at: AppTest) -> dict[str, dict]:
    """Plotly figures on the page by their key (the element id ends with it), as the
    browser gets them. Most are pages.plotly_frame charts: AppTest shows those as
    UnknownElement "component_instance" with the figure packed in the bytes argument
    "figure" (plotly_frame.pack); the Train page's are st.plotly_chart, with the JSON in
    proto.spec."""
    from pages.plotly_frame import unpack

    found = {e.proto.id.rsplit("-", 1)[-1]: unpack(next(
                 a.bytes for a in e.proto.special_args if a.key == "figure"))
             for e in at.get("component_instance")
             if e.proto.component_name.endswith("plotly_frame")}
    found.update({e.proto.id.rsplit("-", 1)[-1]: json.loads(e.proto.spec)
                  for e in at.get("plotly_chart")})
    return found


def download_buttons(at: AppTest) -> dict[str, Any]:
    """The page's download buttons by their key (the element id ends with it), as protos:
    label, deferred_file_id, ignore_rerun, disabled."""
    return {e.proto.id.rsplit("-", 1)[-1]: e.proto for e in at.get("download_button")}


def array(value: object) -> np.ndarray:
    """A Plotly JSON array: a plain list or a base64 typed array {dtype, bdata}."""
    if isinstance(value, dict):
        return np.frombuffer(base64.b64decode(value["bdata"]), dtype=value["dtype"])
    return np.asarray(value, dtype=float)


def xy(trace: dict) -> np.ndarray:
    """(n, 2) x/y of one Plotly trace."""
    return np.stack([array(trace["x"]), array(trace["y"])], axis=1)


def points(figure: dict, name: str) -> np.ndarray:
    """(n, 2) x/y of the figure's first trace called `name`."""
    return xy(next(d for d in figure["data"] if d.get("name") == name))


def final_samples(figure: dict, panel: str | None = None) -> np.ndarray:
    """The samples a sampling figure (pages 3 and 4) shows when it opens (its last frame,
    t = 0); in a figure of several panels (page 3), those of the panel titled `panel`."""
    if panel is None:
        return points(figure, "samples")
    return xy(figure["data"][panel_traces(figure)[panel]["samples"]])


def panel_traces(figure: dict) -> dict[str, dict[str, int]]:
    """{panel title: {trace name: index in figure["data"]}} of a figure with panels
    (figures/sampling.py): the titles are annotations on each panel's axes."""
    titles = {a["xref"].removesuffix(" domain"): a["text"].removeprefix("<b>").removesuffix("</b>")
              for a in figure["layout"]["annotations"]}
    panels: dict[str, dict[str, int]] = {title: {} for title in titles.values()}
    for i, trace in enumerate(figure["data"]):
        panels[titles[trace.get("xaxis", "x")]].setdefault(trace["name"], i)
    return panels


def arrows(figure: dict, name: str | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(tails, unit directions) of a field's arrows, read from the shape drawing their
    shafts (figures/primitives.py arrow_layer): a path of (tail, tip) segments in grid order, named
    `name` (or the figure's first named shape)."""
    shaft = next(shape for shape in figure["layout"]["shapes"]
                 if shape.get("name") == name or (name is None and shape.get("name")))
    return arrow_segments(shaft["path"])


def arrow_segments(path: str) -> tuple[np.ndarray, np.ndarray]:
    """(tails, unit directions) of an SVG path of "M tail L tip" segments."""
    points = np.array(re.findall(r"-?[\d.]+(?:e-?\d+)?", path), dtype=float).reshape(-1, 2)
    assert path.count("M") == len(points) // 2, "not a path of (tail, tip) segments"
    tails, tips = points[0::2], points[1::2]
    d = tips - tails
    return tails, d / np.linalg.norm(d, axis=1, keepdims=True)


def sentences(at: AppTest) -> list[str]:
    """The "What you see" sentences under the figures (their alt text), in page order."""
    return [m.value for m in at.markdown if m.value.startswith("**What you see:**")]


def warnings(at: AppTest) -> str:
    """All warnings on the page as one string (where invalid links are reported)."""
    return " ".join(w.value for w in at.warning)


def answer(at: AppTest, key: str) -> str:
    """The answer of the page's "Predict, then look" prompt `key` (shared.predict_then_look),
    revealed by its toggle; fails the test if the page raised."""
    at.toggle(key=f"_predict_{key}").set_value(True).run()
    assert not at.exception, [e.value for e in at.exception]
    question = next(i for i, m in enumerate(at.markdown)
                    if m.value.startswith("**Predict, then look:**"))
    return at.markdown[question + 1].value


def bullets(text: str) -> list[str]:
    """The bullets of a "What you see" block (shared.what_you_see), without the "- "."""
    return [line[2:] for line in text.splitlines() if line.startswith("- ")]


# A number as a reader sees one: 3, 0.25, 65,536, -0.01 (not the 0 of x_0 or t-1).
NUMBER = re.compile(r"(?<![\w.^\-])[-+−]?\d+(?:,\d{3})*(?:\.\d+)?")


def numbers_in(text: str) -> list[str]:
    """The numbers in a paragraph of text, LaTeX ($...$) left out."""
    return NUMBER.findall(re.sub(r"\$\$.*?\$\$|\$.*?\$", " ", text, flags=re.S))


def crowded_paragraphs(at: AppTest, limit: int = 3) -> list[str]:
    """Paragraphs and bullets shown outside the expanders (markdown, captions, info boxes;
    tables aside) with more than `limit` numbers in them."""
    in_expanders = {m.value for e in at.expander for m in e.markdown}
    texts = [e.value for kind in ("markdown", "caption", "info", "warning")
             for e in at.get(kind) if e.value not in in_expanders]
    units = [unit for text in texts for part in re.split(r"\n\s*\n", text)
             for unit in part.splitlines() if not unit.lstrip().startswith("|")]
    return [unit for unit in units if len(numbers_in(unit)) > limit]
