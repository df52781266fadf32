"""AppTest of page 2 (the vector field): it renders for every pretrained model, the field
drawn changes with t the way the seed article says (small t: toward the nearest data;
large t: toward the middle), the error numbers match the figures, and links open the
view they name (a bad one falls back with a note)."""

from __future__ import annotations

import re

import apptest_helpers as ui
import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from explainer import checkpoints
from explainer.schedules import DEFAULT_STEPS, PROCESS_NAMES

PAGE = "pages/vector_field.py"
COS_30 = np.cos(np.radians(30))

pytestmark = pytest.mark.usefixtures("app_py_around_pages")


def open_page(**params: str) -> AppTest:
    """The page opened from a link with these query parameters (through app.py)."""
    return ui.open_page(PAGE, **params)


def cosine(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return (a * b).sum(1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))


@pytest.fixture(scope="module")
def pages(app_py_around_pages: None) -> dict[str, AppTest]:
    """One app session per process, shared by the tests of this module."""
    return {process: open_page(process=process, grid="16") for process in PROCESS_NAMES}


@ui.every_pretrained_model
def test_renders_for_every_model(pages: dict[str, AppTest], dataset: str,
                                 process: str) -> None:
    at = ui.shared_session(pages, dataset, process)
    figs = ui.charts(at)
    assert {"chart_learned", "chart_ideal", "chart_angle_error"} <= set(figs)
    assert ui.t_range(at)[1] == DEFAULT_STEPS[process]
    tails, _ = ui.arrows(figs["chart_learned"], "learned")
    assert len(tails) == 16 * 16
    assert len(ui.sentences(at)) == 2


@pytest.mark.parametrize("process", PROCESS_NAMES)
def test_large_t_points_to_the_middle_small_t_to_the_data(pages: dict[str, AppTest],
                                                          process: str) -> None:
    """The seed's claim, measured on the drawn arrows: where the nearest spiral point and
    the middle of the data are in opposite directions, small-t arrows go to the nearest
    point and large-t arrows to the middle."""
    ui.need_checkpoint("spiral", process)
    at = pages[process]
    at.sidebar.selectbox(key="dataset").set_value("spiral").run()
    shares, texts = {}, {}
    for t in (int(ui.t_range(at)[0]), int(ui.t_range(at)[1])):
        figs = ui.charts(ui.move(at, "t", t))
        data = checkpoints.load(checkpoints.pretrained_path("spiral", process)).data.points
        centre = data.mean(0)
        for kind in ("learned", "ideal"):
            tails, unit = ui.arrows(figs[f"chart_{kind}"], kind)
            nearest = data[((tails[:, None] - data[None]) ** 2).sum(-1).argmin(1)]
            split = cosine(nearest - tails, centre - tails) < 0
            assert split.sum() > 10
            shares[kind, t, "nearest"] = np.mean(cosine(unit, nearest - tails)[split] > COS_30)
            shares[kind, t, "middle"] = np.mean(cosine(unit, centre - tails)[split] > COS_30)
        texts[t] = ui.sentences(at)[0]
    small, large = int(ui.t_range(at)[0]), int(ui.t_range(at)[1])
    for kind in ("learned", "ideal"):
        assert shares[kind, large, "middle"] > 0.8 > shares[kind, small, "middle"] + 0.3
        assert shares[kind, small, "nearest"] > shares[kind, large, "nearest"] + 0.2
    # The sentence says the same, in the same numbers.
    assert f"{shares['learned', large, 'middle']:.0%} within 30° of the middle" in texts[large]
    assert texts[small] != texts[large]


def test_error_numbers_match_the_arrows(pages: dict[str, AppTest]) -> None:
    ui.need_checkpoint("spiral", "ddpm")
    at = ui.move(pages["ddpm"], "t", 5)
    figs = ui.charts(at)
    _, learned = ui.arrows(figs["chart_learned"], "learned")
    _, ideal = ui.arrows(figs["chart_ideal"], "ideal")
    cos = (learned * ideal).sum(1)
    text = ui.sentences(at)[1]
    shown = float(re.search(r"mean cosine similarity ([-\d.]+)", text).group(1))
    assert shown == pytest.approx(cos.mean(), abs=0.011)
    heat = next(d for d in figs["chart_angle_error"]["data"] if d["type"] == "heatmap")
    angles = ui.array(heat["z"]) if isinstance(heat["z"], dict) else np.asarray(heat["z"]).ravel()
    assert np.allclose(angles, np.degrees(np.arccos(np.clip(cos, -1, 1))), atol=0.5)


def test_link_opens_the_view() -> None:
    ui.need_checkpoint("rings", "ddpm")
    at = open_page(dataset="rings", t="50", view="overlay", grid="32")
    assert ui.t_slider(at).value == 50
    assert at.radio(key="view").value == "overlay"
    figs = ui.charts(at)
    assert "chart_learned" not in figs
    overlay = figs["chart_overlay"]
    assert overlay["layout"]["title"]["text"].endswith("at t = 50")
    assert (len(ui.arrows(overlay, "learned")[0]) == len(ui.arrows(overlay, "ideal (exact)")[0])
            == 1024)
    assert not at.warning


@pytest.mark.parametrize("bad", ["t=99999", "t=abc", "view=sideways"])
def test_bad_link_falls_back_with_a_note(bad: str) -> None:
    key, value = bad.split("=")
    at = open_page(**{key: value}, grid="16")
    assert ui.t_slider(at).value == DEFAULT_STEPS["ddpm"] // 10
    assert at.radio(key="view").value == "side by side"
    assert f"{key}={value}" in " ".join(w.value for w in at.warning)
