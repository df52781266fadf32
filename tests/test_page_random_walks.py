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
from explainer.bridge import check_estimate, last_step_aim, last_step_estimate
from explainer.figures.primitives import (
    CLOUD_ALPHA,
    CLOUD_RGB,
    DATA_ALPHA,
    DATA_RGB,
    points_image,
)
from explainer.schedules import DEFAULT_STEPS, PROCESS_NAMES, noised_cloud
from explainer.trained import TrainedModel

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
    the view, see figures/random_walks.py)."""
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
def test_the_walks_sentence_states_the_drawn_cloud_for_every_model(
        pages: dict[str, AppTest], dataset: str, process: str) -> None:
    """(That every page opens with every model: tests/test_pages_smoke.py.)"""
    at = ui.shared_session(pages, dataset, process)
    figs = ui.charts(at)
    assert dataset in figs["chart_data_cloud"]["layout"]["title"]["text"]
    slider = ui.t_slider(at)
    assert ui.t_range(at)[1] == DEFAULT_STEPS[process]
    # The sentence under the walks states the spread of the noised cloud it shows.
    cloud = drawn_cloud(figs["chart_walks"], dataset, process, int(slider.value))
    assert f"spread {rms_spread(cloud):.2f}" in ui.sentences(at)[1]


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
        assert fig["layout"]["title"]["text"] == f"Random walks up to t = {t:,}"
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
    ends = [ui.xy(d) for d in fig["data"]  # (start, now) of each walk
            if d.get("mode") == "markers" and d.get("showlegend") is False]
    moved = np.mean([np.linalg.norm(end[1] - end[0]) for end in ends])
    assert (f"The 5 walks (circle = start, cross = now) are on average {moved:.2f} from where "
            "they started.") in ui.sentences(at)[1]


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
    assert "Magnified 236 times (t times), the formula's arrow lands exactly on x_0" in text
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
    assert figs["chart_walks"]["layout"]["title"]["text"] == "Random walks up to t = 1,475"
    assert not at.warning


@pytest.mark.parametrize("bad", ["99999", "abc"])
def test_bad_link_falls_back_with_a_note(bad: str) -> None:
    at = open_page(t=bad)
    assert ui.t_slider(at).value == DEFAULT_T["ddpm"]
    notes = " ".join(w.value for w in at.warning)
    assert f"t={bad}" in notes and re.search(rf"showing t = {DEFAULT_T['ddpm']}\b", notes)


# ---------------------------------------------------------------- the words, per choice

SMALL_MIDDLE_LARGE = {"ddpm": (2, 100, 200), "random_walk": (7, 1475, 65536)}


def model_of(dataset: str, process: str) -> TrainedModel:
    return checkpoints.load(checkpoints.pretrained_path(dataset, process))


def what_you_see(at: AppTest, index: int) -> list[str]:
    return ui.bullets(ui.sentences(at)[index])


@pytest.mark.parametrize("process", PROCESS_NAMES)
@pytest.mark.parametrize("dataset", ["spiral", "gaussians", "moons"])
def test_the_schedule_bullets_state_this_process_s_numbers(pages: dict[str, AppTest],
                                                            dataset: str, process: str) -> None:
    """Every number the schedule's bullets print is the schedule's (and the data's, for
    where the noise reaches the data's width), at small, middle and large t; the words
    are the process's (a walk never shrinks; DDPM ends as N(0, I))."""
    at = ui.shared_session(pages, dataset, process)
    model = model_of(dataset, process)
    schedule = model.schedule
    std = rms_spread(model.data.points) / np.sqrt(2)
    reached = int(np.argmax(schedule.sigma / schedule.alpha >= std))
    assert reached > 0
    data_bullets = what_you_see(at, 0)
    assert f"Their spread is {rms_spread(model.data.points):.2f}" in data_bullets[-1]
    counts = np.bincount(model.data.labels)
    assert data_bullets[0].startswith(f"{len(model.data.points):,} training "
                                      f"points in {len(counts)} classes")
    for t in SMALL_MIDDLE_LARGE[process]:
        bullets = what_you_see(ui.move(at, "t", t), 2)
        text = " ".join(bullets)
        assert f"{std:.2f}" in text and f"from t = {reached:,} on" in text
        if process == "random_walk":
            assert bullets[0] == "α_t = 1 at every step: a walk never shrinks toward 0."
            assert f"σ_t = {schedule.sigma[t]:.2f} at t = {t:,}" in bullets[1]
            assert f"{reached / schedule.T:.1%} of the way to T" in text
            assert f"σ_T = 6.40: about {6.4 / std:.0f}x the data's std" in bullets[3]
        else:
            assert (f"At t = {t}, each point keeps α_t = {schedule.alpha[t]:.2f} of its "
                    f"position and has noise of std σ_t = {schedule.sigma[t]:.2f}."
                    == bullets[0])
            assert f"α_T = {schedule.alpha[-1]:.3f}" in bullets[3] and "N(0, I)" in bullets[3]
        assert ui.crowded_paragraphs(at) == []


@pytest.mark.parametrize("process", PROCESS_NAMES)
def test_the_intro_tells_this_process_s_story(pages: dict[str, AppTest], process: str) -> None:
    """Brownian motion is said of the random walk only; DDPM's walk is pulled toward 0.
    What t and T mean is said beside the slider, which shows sigma_t beside t."""
    at = ui.shared_session(pages, "spiral", process)
    schedule = model_of("spiral", process).schedule
    intro = at.markdown[0].value if "forward process" in at.markdown[0].value else next(
        m.value for m in at.markdown if "forward process" in m.value)
    captions = " ".join(c.value for c in at.caption)
    if process == "random_walk":
        assert "(Brownian motion)" in intro
        assert f"T = {schedule.T:,} tiny steps, each of std s = 0.025" in captions
        assert "equal steps of σ_t, so t jumps unevenly" in captions
    else:
        assert "Brownian" not in intro and "pulled a little toward the origin" in intro
        assert f"T = {schedule.T} steps" in captions and "equal steps of t" in captions
    for t, shown in zip(ui.t_options(at), ui.t_slider(at).options, strict=True):
        assert shown == f"t = {t:,} (σ_t = {schedule.sigma[t]:.2f})"
    # The random walk's schedule: a log t axis, or its first 1% would hold the whole story.
    layout = ui.charts(at)["chart_schedule"]["layout"]
    assert (layout["xaxis"].get("type") == "log") == (process == "random_walk")


@pytest.mark.parametrize("process", PROCESS_NAMES)
@pytest.mark.parametrize("dataset", ["spiral", "moons"])
def test_the_end_of_the_walk_is_predicted_right(pages: dict[str, AppTest], dataset: str,
                                                process: str) -> None:
    """The answer to 'where is the cloud at t = T, how wide?' is the drawn cloud's."""
    at = ui.shared_session(pages, dataset, process)
    model = model_of(dataset, process)
    final = noised_cloud(model.schedule, model.data.points, model.schedule.T, seed=0)
    answer = ui.answer(at, "random_walks_end")
    if process == "random_walk":
        centre = model.data.points.mean(0)
        shown = np.round(centre, 2) + 0.0  # as printed: no "-0.00"
        assert f"near ({shown[0]:.2f}, {shown[1]:.2f})" in answer
        assert f"**Spread {rms_spread(final):.1f}**" in answer
        assert np.allclose(final.mean(0), centre, atol=0.5)  # where the answer says
    else:
        assert "**Centred at the origin**" in answer and np.abs(final.mean(0)).max() < 0.1
        assert f"**Spread {rms_spread(final):.2f}**" in answer
        assert rms_spread(final) == pytest.approx(np.sqrt(2), abs=0.05)
    at.toggle(key="_predict_random_walks_end").set_value(False).run()


def bridge_state(at: AppTest) -> tuple[np.ndarray, np.ndarray, dict]:
    fig = ui.charts(at)["chart_bridge"]
    return ui.points(fig, "x0 (start)")[0], ui.points(fig, "x_t (now)")[0], fig


@pytest.mark.parametrize("t", [2, 100, 200])
def test_ddpm_s_mean_step_aims_at_gamma_x0(pages: dict[str, AppTest], t: int) -> None:
    """Under DDPM the formula's arrow, magnified 1 / gain, ends at gamma_t x0 (drawn), and
    the bullet says where that is: x0 itself at small t, the origin at large t."""
    at = ui.move(ui.shared_session(pages, "spiral", "ddpm"), "t", t)
    schedule = model_of("spiral", "ddpm").schedule
    aim = last_step_aim(schedule, t)
    x0, x_t, fig = bridge_state(at)
    scale = float(f"{1 / aim.gain:.3g}")
    formula = next(d for d in fig["data"] if d["name"] == f"formula (x{scale:,.6g})")
    end = ui.xy(formula)[1]
    assert np.allclose(end, aim.gamma * x0, atol=0.01 * max(1.0, np.abs(x_t).max()))
    assert np.allclose(ui.points(fig, "γ_t x0 (where the mean step aims) and 0")[0],
                       aim.gamma * x0, atol=1e-3)
    text = " ".join(what_you_see(at, 3))
    assert f"Magnified {scale:g} times, the formula's arrow lands on γ_t x_0 with γ_t = " \
           f"{aim.gamma:.2f}" in text
    where = {2: "practically x_0 itself", 100: "between x_0 and the origin",
             200: "practically the origin"}[t]
    assert where in text
    assert ("Show this on the random walk" in [b.label for b in at.button])


def test_the_button_tells_the_story_on_the_random_walk(pages: dict[str, AppTest]) -> None:
    at = ui.shared_session(pages, "spiral", "ddpm")
    next(b for b in at.button if b.label == "Show this on the random walk").click().run()
    assert not at.exception
    assert at.sidebar.selectbox(key="process").value == "random_walk"
    assert ui.t_range(at)[1] == DEFAULT_STEPS["random_walk"]
    at.sidebar.selectbox(key="process").set_value("ddpm").run()


@pytest.mark.parametrize(("t", "lost"), [(7, False), (1475, None), (65536, True)])
def test_the_bridge_says_when_the_mean_step_is_lost_in_the_noise(
        pages: dict[str, AppTest], t: int, lost: bool | None) -> None:
    """At t = T one walk's last step scatters ~200x more than the mean step: the page
    says the step is lost in the noise, and does not advise more walks when the page's
    largest Monte Carlo could not bring it out. Agreement is phrased as agreement. (In
    between it depends on the walk: at t = 1,475 walk 1's step is lost, its Monte Carlo
    arrow pointing the other way.)"""
    at = ui.move(ui.shared_session(pages, "spiral", "random_walk"), "t", t)
    schedule = model_of("spiral", "random_walk").schedule
    x0, x_t, _ = bridge_state(at)
    walks = at.selectbox(key="bridge_walks").value
    est = last_step_estimate(schedule, np.round(x0, 3), np.round(x_t, 3), t, walks=walks)
    check = check_estimate(est)
    bullets = what_you_see(at, 3)
    text = " ".join(bullets)
    assert lost is None or check.lost_in_noise == lost
    lost = check.lost_in_noise
    assert ("lost in the noise" in text) == lost
    assert "simulate more walks" not in text
    assert f"{check.difference:.1f} standard errors apart" in text
    if lost:
        assert f"only {check.signal:.1f} standard errors long" in text
        more = f"Simulating {1_600_000:,} walks would bring it out."
        assert (more in text) == (walks < check.walks_needed <= 1_600_000)
        assert ("far more than this page simulates" in text) == (check.walks_needed > 1_600_000)
        assert ("points away" in text) == (check.cosine < 0)
    else:
        assert check.agrees and "They agree:" in text
    assert ui.crowded_paragraphs(at) == []
