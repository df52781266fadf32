"""AppTest of page 1 (random walks): it renders for every pretrained model, the t slider
moves the figure data the way the forward process says, and links open the view they
name (a bad one falls back with a note)."""

from __future__ import annotations

import re

import apptest_helpers as ui
import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from explainer import checkpoints
from explainer.figures import CLOUD_ALPHA, CLOUD_RGB, DATA_ALPHA, DATA_RGB, points_image
from explainer.schedules import DEFAULT_STEPS, PROCESS_NAMES, noised_cloud

PAGE = "pages/random_walks.py"
DEFAULT_T = {process: T // 10 for process, T in DEFAULT_STEPS.items()}

pytestmark = pytest.mark.usefixtures("app_py_around_pages")


def open_page(**params: str) -> AppTest:
    """The page opened from a link with these query parameters (through app.py)."""
    return ui.open_page(PAGE, **params)


def rms_spread(p: np.ndarray) -> float:
    return float(np.sqrt(((p - p.mean(0)) ** 2).sum(1).mean()))


def drawn_cloud(fig: dict, dataset: str, process: str, t: int) -> np.ndarray:
    """The noised cloud the walks chart shows at t: the forward process's cloud (seed 0,
    as the page draws it), checked to be exactly the picture in the chart (an image over
    the view, see figures.walks_figure)."""
    model = checkpoints.load(checkpoints.pretrained_path(dataset, process))
    cloud = noised_cloud(model.schedule, model.data.points, t, seed=0)
    (image,) = fig["layout"]["images"]  # the data over the cloud, one picture
    extent = -image["x"]
    assert image["source"] == points_image([(cloud, CLOUD_RGB, CLOUD_ALPHA),
                                            (model.data.points, DATA_RGB, DATA_ALPHA)],
                                           extent)["source"]
    return cloud


@pytest.fixture(scope="module")
def pages(app_py_around_pages: None) -> dict[str, AppTest]:
    """One app session per process, shared by the tests of this module (saves start-up
    time); each test sets the controls it relies on."""
    return {process: open_page(process=process) for process in PROCESS_NAMES}


@ui.every_pretrained_model
def test_renders_for_every_model(pages: dict[str, AppTest], dataset: str,
                                 process: str) -> None:
    at = ui.shared_session(pages, dataset, process)
    figs = ui.charts(at)
    assert {"chart_data_cloud", "chart_walks", "chart_schedule", "chart_bridge"} <= set(figs)
    assert dataset in figs["chart_data_cloud"]["layout"]["title"]["text"]
    slider = ui.t_slider(at)
    assert ui.t_range(at)[1] == DEFAULT_STEPS[process]
    # The sentence under the walks states the spread of the noised cloud it shows.
    cloud = drawn_cloud(figs["chart_walks"], dataset, process, int(slider.value))
    assert f"spread is {rms_spread(cloud):.2f}" in ui.sentences(at)[1]


@pytest.mark.parametrize("process", PROCESS_NAMES)
def test_noised_cloud_spreads_as_t_grows(pages: dict[str, AppTest], process: str) -> None:
    ui.need_checkpoint("spiral", process)
    at = pages[process]
    at.sidebar.selectbox(key="dataset").set_value("spiral").run()
    T = int(ui.t_range(at)[1])
    spreads = []
    for t in (0, T // 4, T):
        fig = ui.charts(ui.move(at, "t", t))["chart_walks"]
        spreads.append(rms_spread(drawn_cloud(fig, "spiral", process, t)))
        assert fig["layout"]["title"]["text"] == f"Random walks up to t = {t}"
    assert spreads[0] < spreads[1] < spreads[2]
    # At t = T the cloud is the prior: N(0, I) for DDPM (RMS spread sqrt(2)); for the
    # random walk the data plus noise of std sigma_T = 6.4 per axis.
    expected = np.sqrt(2.0) if process == "ddpm" else np.hypot(spreads[0], 6.4 * np.sqrt(2))
    assert spreads[2] == pytest.approx(expected, rel=0.1)


def test_walks_are_drawn_up_to_t(pages: dict[str, AppTest]) -> None:
    ui.need_checkpoint("spiral", "ddpm")
    at = pages["ddpm"]
    ui.move(at, "t", 30)
    ui.move(at, "walks", 5)
    fig = ui.charts(at)["chart_walks"]
    paths = [d for d in fig["data"] if d.get("mode") == "lines"]
    assert len(paths) == 5
    assert all(len(ui.array(d["x"])) == 31 for d in paths)  # steps 0..t
    assert "The 5 walks" in ui.sentences(at)[1]


def test_bridge_formula_lands_on_x0_for_the_random_walk(pages: dict[str, AppTest]) -> None:
    """For the random walk the mean last step is (x0 - x_t)/t: drawn magnified t times
    from x_t, the formula's arrow ends exactly at x0."""
    ui.need_checkpoint("spiral", "random_walk")
    at = ui.move(pages["random_walk"], "t", 236)  # a time the slider offers
    fig = ui.charts(at)["chart_bridge"]
    x0 = ui.points(fig, "x0 (start)")[0]
    arrow = ui.points(fig, "formula (x236)")
    assert np.allclose(arrow[1], x0, atol=2e-3)
    text = " ".join(ui.sentences(at))
    assert "Magnified 236 times, the formula's arrow lands on x_0" in text
    # The correction to the seed article is on screen.
    assert any("both" in i.value and "zero" in i.value for i in at.info)


def test_bridge_needs_a_step(pages: dict[str, AppTest]) -> None:
    ui.need_checkpoint("spiral", "ddpm")
    at = ui.move(pages["ddpm"], "t", 0)
    assert "chart_bridge" not in ui.charts(at)
    assert any("Move t above 0" in w.value for w in at.warning)


def test_changing_process_keeps_the_t_sliders_position(pages: dict[str, AppTest]) -> None:
    """Both sliders have 101 times; DDPM's t = 128 of 200 is 64% along, and so is
    t = 65,536 * 0.64^2 on the random walk's, whose times are evenly spaced in
    sigma ~ sqrt(t)."""
    ui.need_checkpoint("spiral", "random_walk")
    at = pages["ddpm"]
    at.sidebar.selectbox(key="dataset").set_value("spiral").run()
    ui.move(at, "t", 128)
    at.sidebar.selectbox(key="process").set_value("random_walk").run()
    assert not at.exception, [e.value for e in at.exception]
    assert (ui.t_slider(at).value, ui.t_range(at)[1]) == (round(65536 * 0.64**2), 65536)
    at.sidebar.selectbox(key="process").set_value("ddpm").run()
    assert ui.t_slider(at).value == 128


def test_link_opens_the_view() -> None:
    ui.need_checkpoint("moons", "random_walk")
    at = open_page(dataset="moons", process="random_walk", t="1475", walks="2", seed="7")
    assert (ui.t_slider(at).value, at.slider(key="walks").value) == (1475, 2)
    assert at.number_input(key="seed").value == 7
    figs = ui.charts(at)
    assert "moons" in figs["chart_data_cloud"]["layout"]["title"]["text"]
    assert figs["chart_walks"]["layout"]["title"]["text"] == "Random walks up to t = 1475"
    assert not at.warning


@pytest.mark.parametrize("bad", ["99999", "abc"])
def test_bad_link_falls_back_with_a_note(bad: str) -> None:
    at = open_page(t=bad)
    assert ui.t_slider(at).value == DEFAULT_T["ddpm"]
    notes = " ".join(w.value for w in at.warning)
    assert f"t={bad}" in notes and re.search(rf"showing t = {DEFAULT_T['ddpm']}\b", notes)
