"""AppTest of page 3 (sampling): it renders for every model, its controls move the figure
data the way the seed article says, and links open the view they name."""

from __future__ import annotations

import apptest_helpers as ui
import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from explainer import checkpoints
from explainer.figures.primitives import data_image
from explainer.metrics import spread

PAGE = "pages/sampling.py"


def open_page(dataset: str = "spiral", process: str = "ddpm", **params: str) -> AppTest:
    """The sampling page opened from a link with these query parameters, with the given
    pretrained model active."""
    return ui.open_page(PAGE, {"dataset": dataset, "process": process}, **params)


@ui.every_pretrained_model
def test_every_model_s_panels_show_its_own_data_and_samples(dataset: str,
                                                            process: str) -> None:
    """(That every page opens with every model: tests/test_pages_smoke.py.)"""
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
    assert "lands as one bunch on the data" in " ".join(m.value for m in at.markdown)


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
    said = what_you_see(at)
    no_noise = " ".join(b for b in said if b.startswith(("**Without noise", "**then**")))
    assert "pile up on parts of" in no_noise or "piles up on parts of" in no_noise
    others = " ".join(b for b in said if b.startswith(("**DDPM**", "**DDIM**")))
    assert "pile up" not in others  # DDPM and DDIM cover it
    assert "collapsed" not in " ".join(said) and "one bunch" not in " ".join(said)
    # The perfect model on DDPM's gaussians: 73% of the spread, piled up on the blobs.
    at = open_page(dataset="gaussians", denoiser="ideal", n="1000")
    then = next(b for b in what_you_see(at) if b.startswith("**then**"))
    assert "piles up on parts of it" in then


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


# --- Every sentence true for the choice on screen ---------------------------------------------
def what_you_see(at: AppTest) -> list[str]:
    """The page's 'What you see' bullets."""
    (block,) = ui.sentences(at)
    return [line[2:] for line in block.splitlines() if line.startswith("- ")]


def bullet(at: AppTest, start: str) -> str:
    return next(b for b in what_you_see(at) if b.startswith(start))


def pretrained(dataset: str, process: str):
    ui.need_checkpoint(dataset, process)
    return checkpoints.load(checkpoints.pretrained_path(dataset, process))


@pytest.mark.parametrize(("dataset", "process"), [
    ("spiral", "ddpm"), ("gaussians", "random_walk"), ("moons", "random_walk"),
    ("rings", "ddpm")])
def test_the_no_noise_run_is_told_in_order_with_the_numbers_of_its_run(
        dataset: str, process: str) -> None:
    """First the cloud shrinks (toward alpha_t times the data's average), then it lands:
    as one bunch, piled up on parts of the data, or spread over it. Each phase's numbers
    are measured on the same run the page draws (seeded: the same trajectory)."""
    from explainer import claims
    from explainer.guidance import Guidance
    from explainer.metrics import distance_to_data, nearest_labels, sample_quality
    from explainer.samplers import sample

    model = pretrained(dataset, process)
    run = sample(model.denoiser(), model.schedule, "no_noise", 1000, 200, Guidance(), 0)
    spreads = np.array([spread(x) for x in run.xs])
    k = int(spreads.argmin())
    t, alpha = int(run.times[k]), float(model.schedule.alpha[run.times[k]])
    data = model.data
    data_spread = spread(data.points)
    final = run.final
    at = open_page(dataset=dataset, process=process, n="1000")
    np.testing.assert_allclose(ui.final_samples(ui.charts(at)["chart_sampling"],
                                                "DDPM, no noise"), final, atol=1e-6)

    first = bullet(at, "**Without noise")
    assert f"spread {spreads[k]:.2f} at t = {t}" in first
    centre_off = np.linalg.norm(run.xs[k].mean(0) - alpha * data.points.mean(0))
    assert ("toward" in first) == (centre_off <= claims.NEAR_AVERAGE * data_spread)
    if process == "ddpm":  # the average is scaled by alpha_t there
        assert f"alpha_t = {alpha:.2f} times the average" in first
    else:
        assert "alpha_t" not in first
    then = bullet(at, "**then**")
    distance, quality = distance_to_data(final, data.points), sample_quality(
        final, dataset).ratio
    if spread(final) < claims.COLLAPSED * data_spread and distance < claims.NEAR_DATA:
        labels = nearest_labels(final, data.points, data.labels)
        top = np.bincount(labels, minlength=data.num_classes)
        name = data.class_names[int(top.argmax())]
        assert "lands as one bunch on the data" in then
        assert f"{top.max() / len(final):.0%} of it on class '{name}'" in then
    elif distance < claims.NEAR_DATA and quality >= claims.PILED_UP:
        assert "piles up on parts of it" in then and f"spread {spread(final):.2f}" in then
    else:
        assert "one bunch" not in then and "piles up" not in then
    if (dataset, process) == ("spiral", "ddpm"):  # the case: shrink, then one arm
        assert "lands as one bunch" in then
    if (dataset, process) == ("gaussians", "random_walk"):  # the average is unstable
        assert "piles up" in then


@pytest.mark.parametrize(("process", "steps"), [("ddpm", "200"), ("ddpm", "10"),
                                                ("random_walk", "50")])
def test_why_the_noise_helps_in_the_numbers_of_the_steps_on_screen(process: str,
                                                                   steps: str) -> None:
    """The factor (sigma_t + a sigma_s) / sigma_t by which the no-noise step outruns
    DDIM's, for the steps on screen, and what is left of the points' own noise by the
    time the cloud is smallest: alpha_T sigma_t / (alpha_t sigma_T)."""
    from explainer.samplers import timesteps

    model = pretrained("spiral", process)
    sch = model.schedule
    times = np.array(timesteps(sch.T, int(steps), sch.sampling_spacing))
    t, s = times[:-1], times[1:]
    a = sch.alpha[t] / sch.alpha[s]
    ratio = float(np.median((sch.sigma[t] + a * sch.sigma[s]) / sch.sigma[t]))
    at = open_page(process=process, steps=steps, n="250")
    why = bullet(at, "**Why:**")
    assert f"moves the points {ratio:.2f}x as far" in why
    when = int(why.split("by t = ")[1].split(" ")[0])
    kept = sch.alpha[-1] / sch.alpha[when] * sch.sigma[when] / sch.sigma[-1]
    assert (f"only {kept:.1%} of the spread" in why if kept >= 0.001
            else "less than 0.1%" in why)
    if int(steps) >= 50:
        assert ratio > 1.9  # nearly twice as far, whenever the steps are small
    expander_text = " ".join(m.value for m in at.markdown)
    assert "reverse SDE" in expander_text and "probability-flow ODE" in expander_text


@pytest.mark.parametrize(("process", "denoiser"), [("ddpm", "learned"),
                                                   ("random_walk", "learned"),
                                                   ("ddpm", "ideal")])
def test_one_step_says_why_the_cloud_lands_where_it_does(process: str, denoiser: str) -> None:
    """With one step the three samplers are the same jump to x0_hat(x_T). The trained
    network on DDPM throws the cloud out (its eps error times sigma_T / alpha_T = 182);
    on the random walk (x 6.4), and with the perfect model, it lands near the average."""
    model = pretrained("spiral", process)
    at = open_page(process=process, steps="1", n="250", denoiser=denoiser)
    figure = ui.charts(at)["chart_sampling"]
    finals = [ui.final_samples(figure, p) for p in ("DDPM", "DDPM, no noise", "DDIM")]
    assert all(np.array_equal(finals[0], f) for f in finals[1:])
    text = bullet(at, "**One step**")
    cloud, data_spread = spread(finals[0]), spread(model.data.points)
    T = model.schedule.T
    if cloud > data_spread:
        amplification = model.schedule.sigma[T] / model.schedule.alpha[T]
        assert f"= {amplification:.0f}, which throws the cloud out to spread {cloud:.2f}" in text
        assert (process, denoiser) == ("ddpm", "learned")
    else:
        assert (process, denoiser) != ("ddpm", "learned")
        centre_off = np.linalg.norm(finals[0].mean(0) - model.data.points.mean(0))
        assert ("near the star" in text) == (centre_off <= 0.3 * data_spread)
        assert f"spread {cloud:.2f}" in text
    assert len([b for b in what_you_see(at) if "the floor" in b]) == 1  # one, for all three
    assert figure["layout"]["title"]["text"].startswith("1 step from")
    at.toggle(key="_predict_sampling").set_value(True).run()  # the answer: the same jump
    assert any(m.value == text for m in at.markdown)


def test_quality_says_lower_is_better_and_what_it_means() -> None:
    from explainer.metrics import QUALITY_BANDS, sample_quality

    at = open_page(n="500")
    figure = ui.charts(at)["chart_sampling"]
    blocks = [m.value for m in at.markdown if "Quality **" in m.value]
    assert len(blocks) == 3
    for panel, block in zip(("DDPM", "DDPM, no noise", "DDIM"), blocks, strict=True):
        ratio = sample_quality(ui.final_samples(figure, panel), "spiral").ratio
        words = next(w for bound, w in QUALITY_BANDS if ratio <= bound)
        assert "(lower is better)" in block and words in block
    assert "bad" in blocks[1] and "bad" not in blocks[0] + blocks[2]  # 625x is bad


@pytest.mark.parametrize(("steps", "n", "denoiser"), [("200", "500", "learned"),
                                                      ("5", "250", "ideal")])
def test_the_cost_of_sampling_is_one_pass_per_step_per_point(steps: str, n: str,
                                                             denoiser: str) -> None:
    at = open_page(steps=steps, n=n, denoiser=denoiser)
    cost = bullet(at, "**Cost**")
    assert f"{int(steps):,} passes per sample, {int(steps) * int(n):,} for these {n} points" in cost
    assert ("network" in cost) == (denoiser == "learned")


def test_play_takes_seconds_also_for_few_steps() -> None:
    at = open_page(steps="10", n="250", sampler="ddim")
    figure = ui.charts(at)["chart_sampling"]
    play = figure["layout"]["updatemenus"][0]["buttons"][0]["args"][1]["frame"]["duration"]
    assert play * (len(figure["frames"]) - 1) >= 2000  # ms; was 60 ms x 10 = 0.6 s


def test_the_answer_to_predict_then_look_is_the_run_on_screen() -> None:
    at = open_page(process="random_walk", n="250", sampler="ddpm")  # no-noise not drawn
    assert "**Without noise" not in " ".join(what_you_see(at))
    at.toggle(key="_predict_sampling").set_value(True).run()
    answer = next(m.value for m in at.markdown if m.value.startswith("- **Without noise"))
    at.radio(key="sampler").set_value("no_noise").run()
    for line in answer.splitlines():
        assert line[2:] in what_you_see(at)  # the same claims, the same numbers


def test_no_bullet_has_more_than_three_numbers() -> None:
    """Short bullets of measured numbers: no more than three numbers each (class names,
    t = and w = labels aside)."""
    import re

    for params in ({"n": "500"}, {"steps": "1", "n": "250"},
                   {"process": "random_walk", "n": "250"}):
        at = open_page(**params)
        for text in what_you_see(at):
            plain = re.sub(r"'[^']*'|\$[^$]*\$|t = \d+", "", text)
            assert len(re.findall(r"\d[\d,.]*", plain)) <= 3, text


@pytest.mark.parametrize("dataset", ["spiral", "gaussians", "checkerboard"])
def test_on_ddpm_the_perfect_model_shrinks_the_cloud_too(dataset: str) -> None:
    """The page says the collapse is the rule's, not the network's: on DDPM the perfect
    model's no-noise cloud also shrinks to a point (under 5% of the data's spread)."""
    from explainer.guidance import Guidance
    from explainer.samplers import sample

    model = pretrained(dataset, "ddpm")
    at = open_page(dataset=dataset, n="250")
    text = " ".join(m.value for m in at.markdown)
    assert "the perfect model's cloud does the same" in text
    run = sample(model.ideal(), model.schedule, "no_noise", 300, 200, Guidance(), 0)
    smallest = min(spread(x) for x in run.xs)
    assert smallest < 0.05 * spread(model.data.points)
