"""AppTest of page 3 (sampling): it renders for every model, its controls move the figure
data the way the seed article says, and links open the view they name."""

from __future__ import annotations

import apptest_helpers as ui
import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from explainer import checkpoints
from explainer.figures import data_image
from explainer.metrics import spread

PAGE = "pages/sampling.py"


def open_page(dataset: str = "spiral", process: str = "ddpm", **params: str) -> AppTest:
    """The sampling page opened from a link with these query parameters, with the given
    pretrained model active."""
    return ui.open_page(PAGE, {"dataset": dataset, "process": process}, **params)


@ui.every_pretrained_model
def test_renders_for_every_model(dataset: str, process: str) -> None:
    at = open_page(dataset=dataset, process=process, n="250", steps="5")
    model = checkpoints.load(checkpoints.pretrained_path(dataset, process))
    # All of T, or 1,000 for the random walk's 65,536 (sampled in 1,000 Karras steps).
    assert at.select_slider(key="steps").options[-1] == str(min(model.schedule.T, 1000))
    figures = ui.charts(at)
    assert list(figures) == ["chart_sampling"]  # one chart, a panel per sampler
    figure = figures["chart_sampling"]
    images = figure["layout"]["images"]
    assert {image["source"] for image in images} == {data_image(model.data.points)["source"]}
    assert [(image["xref"], image["yref"]) for image in images] == [
        ("x", "y"), ("x2", "y2"), ("x3", "y3")]  # this model's data under every panel
    assert len(figure["frames"]) == 6  # steps + 1 frames: t = T, ..., 0
    assert list(ui.panel_traces(figure)) == ["DDPM", "DDPM, no noise", "DDIM"]
    for panel in ui.panel_traces(figure):
        assert ui.final_samples(figure, panel).shape == (250, 2)
    assert "What you see" in " ".join(m.value for m in at.markdown)
    assert not ui.warnings(at)


def test_without_noise_the_cloud_collapses_and_ddim_does_not() -> None:
    at = open_page(n="500")  # the default view: all three, T = 200 steps, spiral / ddpm
    figure = ui.charts(at)["chart_sampling"]
    ddpm, no_noise, ddim = (spread(ui.final_samples(figure, panel))
                            for panel in ("DDPM", "DDPM, no noise", "DDIM"))
    assert no_noise < 0.1 * ddpm  # the seed's claim: collapse toward the average
    assert ddim > 0.8 * ddpm  # deterministic, but keeps the spread
    assert "collapsed into one spot" in " ".join(m.value for m in at.markdown)


def test_without_noise_on_the_gaussians_the_points_pile_up_on_the_blobs() -> None:
    """The random walk's no-noise run on the 8 gaussians keeps the data's spread (the
    average, off the data, is an unstable point): the page must not call that a collapse
    to the average, nor a good sample, but say that the samples pile up; so too where
    they also shrink."""
    ui.need_checkpoint("gaussians", "random_walk")
    at = open_page(dataset="gaussians", process="random_walk", n="1000")
    figure = ui.charts(at)["chart_sampling"]
    data_spread = spread(checkpoints.load(
        checkpoints.pretrained_path("gaussians", "random_walk")).data.points)
    assert spread(ui.final_samples(figure, "DDPM, no noise")) > 0.8 * data_spread
    sentence = next(m.value for m in at.markdown if "without noise:" in m.value)
    no_noise = sentence.split("without noise:")[1].split(";")[0]
    assert "pile up on parts of the data" in no_noise
    assert "pile up" not in sentence.replace(no_noise, "")  # DDPM and DDIM cover it
    assert "collapsed" not in sentence
    # The perfect model on DDPM's gaussians: 73% of the spread, piled up on the blobs.
    at = open_page(dataset="gaussians", denoiser="ideal", n="1000")
    sentence = next(m.value for m in at.markdown if "without noise:" in m.value)
    no_noise = sentence.split("without noise:")[1].split(";")[0]
    assert "shrunk to" in no_noise and "pile up on parts of the data" in no_noise


def test_moving_the_controls_changes_the_figure() -> None:
    at = open_page(n="250", sampler="ddpm")
    figure = ui.charts(at)["chart_sampling"]
    assert list(ui.panel_traces(figure)) == ["DDPM"]
    with_noise = spread(ui.final_samples(figure, "DDPM"))

    at.radio(key="sampler").set_value("no_noise").run()
    figure = ui.charts(at)["chart_sampling"]
    assert spread(ui.final_samples(figure, "DDPM, no noise")) < 0.1 * with_noise

    at.select_slider(key="steps").set_value(10).run()
    figure = ui.charts(at)["chart_sampling"]
    assert len(figure["frames"]) == 11
    assert figure["layout"]["title"]["text"].startswith("10 steps")

    before = ui.final_samples(figure, "DDPM, no noise")
    at.radio(key="sampler").set_value("ddim").run()
    at.number_input(key="seed").set_value(7).run()
    after = ui.final_samples(ui.charts(at)["chart_sampling"], "DDIM")
    assert not np.allclose(before, after)  # other noise, other samples

    at.checkbox(key="show_x0_hat").check().run()
    assert "x0_hat (prediction)" in ui.panel_traces(ui.charts(at)["chart_sampling"])["DDIM"]


def test_a_link_opens_its_view() -> None:
    at = open_page(sampler="ddim", steps="20", seed="3", n="250")
    assert at.radio(key="sampler").value == "ddim"
    assert at.select_slider(key="steps").value == 20
    assert at.number_input(key="seed").value == 3
    figure = ui.charts(at)["chart_sampling"]
    assert list(ui.panel_traces(figure)) == ["DDIM"]
    assert len(figure["frames"]) == 21
    assert not ui.warnings(at)


@pytest.mark.parametrize(("key", "value", "default"), [
    ("sampler", "foo", "all"), ("steps", "5000", 200), ("steps", "2.5", 200),
    ("steps", "4", 200)])  # 4 is in 1..T but not on the slider's 1-2-5 scale
def test_a_bad_link_falls_back_with_a_note(key: str, value: str, default: object) -> None:
    at = open_page(**{"n": "250", "steps": "5", key: value})
    assert f"{key}={value}" in ui.warnings(at)
    widget = at.radio(key=key) if key == "sampler" else at.select_slider(key=key)
    assert widget.value == default


def test_switching_to_a_process_with_fewer_steps_resets_steps() -> None:
    at = open_page(process="random_walk", steps="500", sampler="ddim", n="250")
    assert at.select_slider(key="steps").value == 500
    assert at.select_slider(key="steps").options == [
        "1", "2", "5", "10", "20", "50", "100", "200", "500", "1000"]
    at.session_state["process"] = "ddpm"  # as the sidebar's box does; T = 200 < 500
    at.run()
    assert not at.exception
    assert at.select_slider(key="steps").value == 200
    assert at.select_slider(key="steps").options[-1] == "200"
    assert len(ui.charts(at)["chart_sampling"]["frames"]) == 34  # 201 times, subsampled
    assert not ui.warnings(at)


def test_every_step_count_of_the_default_view_is_made_ahead(monkeypatch) -> None:
    """Opening the page with a pretrained model warms the caches in the background: then
    moving the steps slider from the defaults never samples (a cache hit for everyone)."""
    import threading

    import pages.shared

    monkeypatch.setenv("EXPLAINER_WARM_CACHES", "1")
    at = open_page(dataset="moons", process="ddpm")
    warmers = [t for t in threading.enumerate() if t.name == "warm-sampling-pretrained:moons:ddpm"]
    assert warmers, [t.name for t in threading.enumerate()]
    warmers[0].join(timeout=300)
    sampled = []
    real_sample = pages.shared.sample
    monkeypatch.setattr(pages.shared, "sample",
                        lambda *args: sampled.append(args[2:5]) or real_sample(*args))
    options = at.select_slider(key="steps").options
    assert options == ["1", "2", "5", "10", "20", "50", "100", "200"]  # 1-2-5 up to T
    for steps in options:
        at.select_slider(key="steps").set_value(int(steps)).run()
        assert not at.exception
    assert sampled == []  # (sampler, n, steps) of every trajectory the page had to make
