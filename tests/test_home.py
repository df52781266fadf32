"""AppTest of the Home page: it opens with the idea and an animation (data -> noise ->
new data) whose numbers are the ones it states, then the way through, then the two
algorithms with every symbol defined (for both noise processes)."""

from __future__ import annotations

import apptest_helpers as ui
import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from explainer import checkpoints
from explainer.datasets import make_dataset
from explainer.metrics import distance_to_data, spread
from explainer.samplers import sample
from explainer.schedules import forward_paths, make_schedule

POINTS, STEPS = 500, 50  # pages/home.py's animation


@pytest.fixture(scope="module")
def home(app_py_around_pages: None) -> AppTest:
    """Home, opened as a visitor does; later runs (a toggle) go through app.py too."""
    ui.need_checkpoint("spiral", "ddpm")
    at = AppTest.from_file(ui.APP, default_timeout=120)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


@pytest.fixture(scope="module")
def round_trip() -> dict[str, np.ndarray]:
    """What the animation should show: the default model's first 500 training points
    walked forward (seed 0), and 500 DDPM samples in 50 steps (seed 0)."""
    model = checkpoints.load(checkpoints.pretrained_path("spiral", "ddpm"))
    paths = forward_paths(model.schedule, model.data.points[:POINTS], seed=0)
    back = sample(model.denoiser(), model.schedule, "ddpm", POINTS, STEPS, seed=0)
    return {"start": paths[0], "noise": paths[-1], "samples": back.final,
            "data": model.data.points}


def test_the_animation_goes_from_data_to_noise_to_new_data(
        home: AppTest, round_trip: dict[str, np.ndarray]) -> None:
    figure = ui.charts(home)["chart_round_trip"]
    frames = figure["frames"]
    labels = [step["label"] for step in figure["layout"]["sliders"][0]["steps"]]
    assert labels[0] == "adding noise: t = 0" and labels[-1] == "removing noise: t = 0"
    assert "adding noise: t = 200" in labels and "removing noise: t = 200" in labels
    assert np.allclose(ui.xy(frames[0]["data"][0]), round_trip["start"], atol=1e-5)
    assert np.allclose(ui.xy(frames[labels.index("adding noise: t = 200")]["data"][0]),
                       round_trip["noise"], atol=1e-5)
    assert np.allclose(ui.xy(frames[-1]["data"][0]), round_trip["samples"], atol=1e-4)


def test_the_numbers_under_the_animation_are_its_own(
        home: AppTest, round_trip: dict[str, np.ndarray]) -> None:
    bullets = ui.bullets(ui.sentences(home)[0])
    fresh = make_dataset("spiral", POINTS, seed=1).points
    assert bullets[0] == (f"**Adding noise:** {POINTS} training points of the spiral, noised "
                          f"for T = 200 steps, end as a round cloud of pure noise (spread "
                          f"{spread(round_trip['noise']):.2f}).")
    assert f"back in {STEPS} steps" in bullets[1]
    assert bullets[2] == (
        f"They land on average {distance_to_data(round_trip['samples'], round_trip['data']):.3f}"
        f" from the nearest training point; fresh points of the spiral itself lie "
        f"{distance_to_data(fresh, round_trip['data']):.3f} from it.")


def test_intuition_first_then_the_way_through_then_the_algorithms(home: AppTest) -> None:
    texts = [m.value for m in home.markdown]
    first = texts[0]
    assert first.startswith("A diffusion model makes new data by **undoing noise**")
    algorithms = next(i for i, text in enumerate(texts) if "Algorithm 1" in text)
    assert algorithms > 1 and [p.label for p in home.get("page_link")]  # pages linked
    assert home.subheader[0].value == "The way through"
    assert home.subheader[1].value.startswith("How it works")
    assert ui.crowded_paragraphs(home) == []


def test_every_symbol_of_the_algorithms_is_defined(home: AppTest) -> None:
    """mu_t, sigma~_t, alpha_t (Ho's sqrt(alpha-bar_t)) and the prior, per process, with
    the processes' own numbers."""
    ddpm, walk = make_schedule("ddpm"), make_schedule("random_walk")
    symbols = next(m.value for m in home.markdown if m.value.startswith("**Every symbol:**"))
    for symbol in ("q(x_0)", "$t$", "\\epsilon, z", "\\alpha_t", "\\sigma_t",
                   "\\hat\\epsilon_\\theta", "\\hat x_0", "\\mu_t", "\\tilde\\sigma_t", "p_T"):
        assert symbol in symbols, symbol
    assert f"$T = {ddpm.T}$" in symbols and "$T = 65{,}536$" in symbols
    (box,) = home.expander
    maths = " ".join(m.value for m in box.markdown)
    assert "Ho et al.'s $\\sqrt{\\bar\\alpha_t}$" in maths
    assert f"$\\alpha_T = {ddpm.alpha[-1]:.3f}$" in maths and "p_T = \\mathcal N(0, I)" in maths
    assert "The prior is not $\\mathcal N(0, I)$" in maths
    assert f"\\sigma_T^2 I)$ with $\\sigma_T = {walk.sigma[-1]:.1f}$" in maths
    assert f"$s = {walk.sigma[1]:.3f}$" in maths


def test_the_question_about_the_noise_has_the_right_answer(home: AppTest) -> None:
    """The network's eps points away from the data; the field is -sigma_t eps_hat, aimed
    at the average start. Checked on the exact denoiser: eps_hat points from
    alpha_t x0_hat out to x_t."""
    answer = ui.answer(home, "home")
    assert answer.startswith("**Away.**") and "**average**" in answer
    model = checkpoints.load(checkpoints.pretrained_path("spiral", "ddpm"))
    import torch

    t = 50
    x_t = torch.randn(200, 2, generator=torch.Generator().manual_seed(0))
    eps_hat = model.ideal()(x_t, t, model.num_classes).numpy()
    x0_hat = model.ideal().x0_hat(x_t, t, model.num_classes).numpy()
    outward = x_t.numpy() - model.schedule.alpha[t] * x0_hat
    assert np.all((eps_hat * outward).sum(1) > 0)
