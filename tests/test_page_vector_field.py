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
from explainer.commitment import commitment
from explainer.fields import grid_field
from explainer.samplers import sample
from explainer.schedules import DEFAULT_STEPS, PROCESS_NAMES
from explainer.trained import TrainedModel

PAGE = "pages/vector_field.py"
COS_30 = np.cos(np.radians(30))
RINGED = "ringed: nearest data and middle > 90° apart"  # the rings' legend entry

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
def test_every_model_s_field_has_a_grid_of_arrows_and_three_sentences(
        pages: dict[str, AppTest], dataset: str, process: str) -> None:
    """(That every page opens with every model: tests/test_pages_smoke.py.)"""
    at = ui.shared_session(pages, dataset, process)
    figs = ui.charts(at)
    assert ui.t_range(at)[1] == DEFAULT_STEPS[process]
    tails, _ = ui.arrows(figs["chart_learned"], "learned")
    assert len(tails) == 16 * 16
    assert len(ui.sentences(at)) == 3


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
    # (test_the_ringed_arrows_are_marked_and_counted checks the sentence's numbers.)
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


# ---------------------------------------------------------------- the words, per choice

def model_of(dataset: str, process: str) -> TrainedModel:
    return checkpoints.load(checkpoints.pretrained_path(dataset, process))


def ringed(data: np.ndarray, xy: np.ndarray) -> np.ndarray:
    """Grid points where the nearest training point and the data's centre lie more than
    90 degrees apart."""
    nearest = data[((xy[:, None] - data[None]) ** 2).sum(-1).argmin(1)]
    return cosine(nearest - xy, data.mean(0) - xy) < 0


def shares(unit: np.ndarray, tails: np.ndarray, data: np.ndarray,
           middle: np.ndarray) -> tuple[float, float]:
    """(share at the nearest training point, share at `middle`) within 30 degrees."""
    nearest = data[((tails[:, None] - data[None]) ** 2).sum(-1).argmin(1)]
    return (float(np.mean(cosine(unit, nearest - tails) >= COS_30)),
            float(np.mean(cosine(unit, middle - tails) >= COS_30)))


@pytest.mark.parametrize("process", PROCESS_NAMES)
@pytest.mark.parametrize("dataset", ["spiral", "gaussians", "moons"])
def test_the_ringed_arrows_are_marked_and_counted(pages: dict[str, AppTest], dataset: str,
                                                  process: str) -> None:
    """The arrows the bullets talk about are ringed on both figures; the bullets count
    them, and their shares at the nearest point and at the middle (alpha_t times the
    data's centre: DDPM's arrows aim at alpha_t x0_hat) are the drawn arrows' own, at
    small, middle and large t."""
    at = ui.shared_session(pages, dataset, process)
    model = model_of(dataset, process)
    data, alpha = model.data.points, model.schedule.alpha
    options = ui.t_options(at)
    for t in (options[0], options[len(options) // 2], options[-1]):
        figs = ui.charts(ui.move(at, "t", t))
        bullets = ui.bullets(ui.sentences(at)[0])
        for kind, label in (("learned", "Learned field"), ("ideal", "Ideal field")):
            tails, unit = ui.arrows(figs[f"chart_{kind}"], kind)
            split = ringed(data, tails)
            assert np.allclose(ui.points(figs[f"chart_{kind}"], RINGED), tails[split], atol=1e-4)
            nearest, middle = shares(unit[split], tails[split], data,
                                     alpha[t] * data.mean(0))
            line = next(b for b in bullets if b.startswith(label))
            assert f": {nearest:.0%} " in line and f", {middle:.0%} at " in line
        assert bullets[0].startswith(f"The {int(split.sum())} ringed arrows")
        middle_words = ("the data's middle" if process == "random_walk"
                        else "the middle (α_t × the data's centre)")
        assert middle_words in bullets[1]
        assert ui.crowded_paragraphs(at) == []


@pytest.mark.parametrize("process", PROCESS_NAMES)
def test_where_the_ringed_arrows_end_up_is_predicted_right(pages: dict[str, AppTest],
                                                           process: str) -> None:
    """The answer to 'at t = T, nearest point or middle?' is the exact field's, measured at
    both ends of the slider; for DDPM it names the origin."""
    at = ui.shared_session(pages, "spiral", process)
    model = model_of("spiral", process)
    data, schedule = model.data.points, model.schedule
    lo, T = ui.t_range(at)
    measured = {}
    for t in (lo, T):
        field = grid_field(model.ideal(), schedule, t, 16)
        split = ringed(data, field.xy)
        unit = field.v / np.linalg.norm(field.v, axis=1, keepdims=True)
        measured[t] = shares(unit[split], field.xy[split], data,
                             schedule.alpha[t] * data.mean(0))
    answer = ui.answer(at, "vector_field_ends")
    assert f"At t = T, {measured[T][1]:.0%} of the exact ringed arrows point at" in answer
    assert ("the origin" in answer) == (process == "ddpm")
    assert (f"At the smallest t ({lo}): {measured[lo][0]:.0%} at the nearest point, "
            f"{measured[lo][1]:.0%} at the middle, the other way round.") in answer
    at.toggle(key="_predict_vector_field_ends").set_value(False).run()


@pytest.mark.parametrize("process", PROCESS_NAMES)
def test_directions_agree_while_lengths_do_not_is_said_when_true(pages: dict[str, AppTest],
                                                                 process: str) -> None:
    """At the smallest t the learned arrows point the exact way but are far shorter (the
    network saw few noisy points far from the data); the page says so there, in the
    measured numbers, and not at t = T where the lengths agree too."""
    at = ui.shared_session(pages, "spiral", process)
    model = model_of("spiral", process)
    said = {}
    for t in ui.t_range(at):
        ui.move(at, "t", t)
        learned = grid_field(model.denoiser(), model.schedule, t, 16).v
        ideal = grid_field(model.ideal(), model.schedule, t, 16).v
        cos = cosine(learned, ideal)
        rel = np.linalg.norm(learned - ideal) / np.linalg.norm(ideal)
        ratio = np.linalg.norm(learned) / np.linalg.norm(ideal)
        text = " ".join(ui.bullets(ui.sentences(at)[1]))
        assert f"mean cosine similarity {cos.mean():.2f}" in text
        angle = np.degrees(np.arccos(np.clip(cos, -1, 1)))
        assert (f"median {np.median(angle):.0f}°, and {np.mean(angle <= 30):.0%} of the "
                "arrows within 30°") in text
        assert f"relative error {rel:.0%}" in text
        assert f"learned arrows are {ratio:.2f} times as long" in text
        said[t] = "directions agree while the lengths do not" in text
        assert said[t] == (cos.mean() >= 0.9 and rel >= 0.3)
    assert list(said.values()) == [True, False]


@pytest.mark.parametrize("process", PROCESS_NAMES)
@pytest.mark.parametrize("dataset", ["spiral", "gaussians", "moons"])
def test_the_role_of_t_which_class_first_details_last(pages: dict[str, AppTest],
                                                      dataset: str, process: str) -> None:
    """Samples run from noise (page 3's default DDPM run): the share whose x0_hat is on
    the final class reaches 90% at a larger t than the share within 0.1 of the final
    place, and the bullets print those times and shares."""
    from pages.sampling_views import DEFAULT_N  # the page's run: page 3's default samples

    at = ui.shared_session(pages, dataset, process)
    model = model_of(dataset, process)
    run = sample(model.denoiser(), model.schedule, "ddpm", DEFAULT_N,
                 min(model.schedule.T, 200), seed=0)
    c = commitment(run, model.data)
    on_class, settled = c.decided_from(c.on_final_class), c.decided_from(c.near_final)
    assert on_class > settled  # the claim itself, measured here
    sigma = model.schedule.sigma
    figure = ui.charts(at)["chart_settling"]
    drawn = {d["name"]: ui.array(d["y"]) for d in figure["data"]}
    assert np.allclose(drawn["x̂₀ on the class the sample ends in"], c.on_final_class)
    assert np.allclose(drawn["x̂₀ within 0.1 of where it ends"], c.near_final)
    bullets = ui.bullets(ui.sentences(at)[2])
    assert bullets[0].startswith(f"At t = T, {c.on_final_class[0]:.0%} of the guesses")
    assert bullets[0].endswith(f"(1 in {model.data.num_classes}).")
    assert bullets[1] == (f"90% are on their final class from t = {on_class:,} on "
                          f"(σ_t = {sigma[on_class]:.2f}).")
    assert bullets[2] == f"90% are settled from t = {settled:,} on (σ_t = {sigma[settled]:.2f})."
    assert bullets[4].startswith("So which class a sample goes to is decided first")
    t = int(ui.t_slider(at).value)
    share, near = c.at(t)
    assert bullets[3] == (f"At t = {c.nearest_time(t):,} (nearest the slider): {share:.0%} on "
                          f"their final class, {near:.0%} settled.")
