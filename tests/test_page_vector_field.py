"""AppTest of page 2 (the vector field): it renders for every pretrained model, the field
drawn changes with t the way the seed article says (small t: toward the nearest data;
large t: toward the middle), the error numbers match the figures, and links open the
view they name (a bad one falls back with a note)."""

from __future__ import annotations

import base64
import json
import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from explainer import checkpoints
from explainer.datasets import DATASET_NAMES
from explainer.schedules import DEFAULT_STEPS, PROCESS_NAMES

APP = str(Path(__file__).resolve().parent.parent / "app.py")
PAGE = "pages/vector_field.py"
COS_30 = np.cos(np.radians(30))

pytestmark = pytest.mark.usefixtures("app_py_around_pages")


def t_slider(at: AppTest) -> Any:
    """The time slider: a select_slider over the times samplers.timesteps offers."""
    return at.select_slider(key="t")


def t_range(at: AppTest) -> tuple[int, int]:
    options = t_slider(at).options
    return int(options[0]), int(options[-1])


def open_page(**params: str) -> AppTest:
    """The page opened from a link with these query parameters (through app.py)."""
    at = AppTest.from_file(APP, default_timeout=120)
    for key, value in params.items():
        at.query_params[key] = value
    at.run()
    at.switch_page(PAGE).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def need_checkpoint(dataset: str, process: str) -> None:
    if not checkpoints.pretrained_path(dataset, process).is_file():
        pytest.skip(f"no pretrained checkpoint for {dataset}/{process} yet")


def charts(at: AppTest) -> dict[str, dict]:
    return {e.proto.id.rsplit("-", 1)[-1]: json.loads(e.proto.spec)
            for e in at.get("plotly_chart")}


def array(value: object) -> np.ndarray:
    """A Plotly JSON array: a plain list or a base64 typed array {dtype, bdata}."""
    if isinstance(value, dict):
        return np.frombuffer(base64.b64decode(value["bdata"]), dtype=value["dtype"])
    return np.asarray(value, dtype=float)


def xy(trace: dict) -> np.ndarray:
    return np.stack([array(trace["x"]), array(trace["y"])], axis=1)


def arrows(figure: dict, name: str) -> tuple[np.ndarray, np.ndarray]:
    """(tails, unit directions) of a field drawn as one NaN-separated line trace."""
    line = xy(next(d for d in figure["data"] if d.get("name") == name and d["mode"] == "lines"))
    tails, tips = line[0::3], line[1::3]
    d = tips - tails
    return tails, d / np.linalg.norm(d, axis=1, keepdims=True)


def data_points(figure: dict) -> np.ndarray:
    return xy(next(d for d in figure["data"] if d.get("name") == "training data"))


def cosine(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return (a * b).sum(1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))


def sentences(at: AppTest) -> list[str]:
    return [m.value for m in at.markdown if m.value.startswith("**What you see:**")]


def move(at: AppTest, key: str, value: object) -> AppTest:
    (at.select_slider if key == "t" else at.slider)(key=key).set_value(value).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


@pytest.fixture(scope="module")
def pages(app_py_around_pages: None) -> dict[str, AppTest]:
    """One app session per process, shared by the tests of this module."""
    return {process: open_page(process=process, grid="16") for process in PROCESS_NAMES}


@pytest.mark.parametrize("process", PROCESS_NAMES)
@pytest.mark.parametrize("dataset", DATASET_NAMES)
def test_renders_for_every_model(pages: dict[str, AppTest], dataset: str,
                                 process: str) -> None:
    need_checkpoint(dataset, process)
    at = pages[process]
    at.sidebar.selectbox(key="dataset").set_value(dataset).run()
    assert not at.exception, [e.value for e in at.exception]
    figs = charts(at)
    assert {"chart_learned", "chart_ideal", "chart_angle_error"} <= set(figs)
    assert t_range(at)[1] == DEFAULT_STEPS[process]
    tails, _ = arrows(figs["chart_learned"], "learned")
    assert len(tails) == 16 * 16
    assert len(sentences(at)) == 2


@pytest.mark.parametrize("process", PROCESS_NAMES)
def test_large_t_points_to_the_middle_small_t_to_the_data(pages: dict[str, AppTest],
                                                          process: str) -> None:
    """The seed's claim, measured on the drawn arrows: where the nearest spiral point and
    the middle of the data are in opposite directions, small-t arrows go to the nearest
    point and large-t arrows to the middle."""
    need_checkpoint("spiral", process)
    at = pages[process]
    at.sidebar.selectbox(key="dataset").set_value("spiral").run()
    shares, texts = {}, {}
    for t in (int(t_range(at)[0]), int(t_range(at)[1])):
        figs = charts(move(at, "t", t))
        data = data_points(figs["chart_learned"])
        centre = data.mean(0)
        for kind in ("learned", "ideal"):
            tails, unit = arrows(figs[f"chart_{kind}"], kind)
            nearest = data[((tails[:, None] - data[None]) ** 2).sum(-1).argmin(1)]
            split = cosine(nearest - tails, centre - tails) < 0
            assert split.sum() > 10
            shares[kind, t, "nearest"] = np.mean(cosine(unit, nearest - tails)[split] > COS_30)
            shares[kind, t, "middle"] = np.mean(cosine(unit, centre - tails)[split] > COS_30)
        texts[t] = sentences(at)[0]
    small, large = int(t_range(at)[0]), int(t_range(at)[1])
    for kind in ("learned", "ideal"):
        assert shares[kind, large, "middle"] > 0.8 > shares[kind, small, "middle"] + 0.3
        assert shares[kind, small, "nearest"] > shares[kind, large, "nearest"] + 0.2
    # The sentence says the same, in the same numbers.
    assert f"{shares['learned', large, 'middle']:.0%} within 30° of the middle" in texts[large]
    assert texts[small] != texts[large]


def test_error_numbers_match_the_arrows(pages: dict[str, AppTest]) -> None:
    need_checkpoint("spiral", "ddpm")
    at = move(pages["ddpm"], "t", 5)
    figs = charts(at)
    _, learned = arrows(figs["chart_learned"], "learned")
    _, ideal = arrows(figs["chart_ideal"], "ideal")
    cos = (learned * ideal).sum(1)
    text = sentences(at)[1]
    shown = float(re.search(r"mean cosine similarity ([-\d.]+)", text).group(1))
    assert shown == pytest.approx(cos.mean(), abs=0.011)
    heat = next(d for d in figs["chart_angle_error"]["data"] if d["type"] == "heatmap")
    angles = array(heat["z"]) if isinstance(heat["z"], dict) else np.asarray(heat["z"]).ravel()
    assert np.allclose(angles, np.degrees(np.arccos(np.clip(cos, -1, 1))), atol=0.5)


def test_link_opens_the_view() -> None:
    need_checkpoint("rings", "ddpm")
    at = open_page(dataset="rings", t="50", view="overlay", grid="32")
    assert t_slider(at).value == 50
    assert at.radio(key="view").value == "overlay"
    figs = charts(at)
    assert "chart_learned" not in figs
    overlay = figs["chart_overlay"]
    assert overlay["layout"]["title"]["text"].endswith("at t = 50")
    assert len(arrows(overlay, "learned")[0]) == len(arrows(overlay, "ideal (exact)")[0]) == 1024
    assert not at.warning


@pytest.mark.parametrize("bad", ["t=99999", "t=abc", "view=sideways"])
def test_bad_link_falls_back_with_a_note(bad: str) -> None:
    key, value = bad.split("=")
    at = open_page(**{key: value}, grid="16")
    assert t_slider(at).value == DEFAULT_STEPS["ddpm"] // 10
    assert at.radio(key="view").value == "side by side"
    assert f"{key}={value}" in " ".join(w.value for w in at.warning)
