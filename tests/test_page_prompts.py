"""AppTest of the text-prompt page: it renders for every shipped model, its numbers are the
backend's, bad prompts get a clear message (the user's text only as plain text), and links
open the view they name."""

from __future__ import annotations

import apptest_helpers as ui
import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from explainer import prompt_checkpoints
from explainer.prompts import PromptModel, PromptRequest, prompt_shares, retrieval_precision

PAGE = "pages/prompts.py"
N, SEED = 500, 0  # the page's sample count and seed


def open_page(dataset: str = "spiral", process: str = "ddpm", **params: str) -> AppTest:
    return ui.open_page(PAGE, {"dataset": dataset, "process": process}, **params)


def text_model(dataset: str, process: str) -> PromptModel:
    return prompt_checkpoints.load(prompt_checkpoints.pretrained_prompt_path(dataset, process))


def shown_text(at: AppTest) -> str:
    """Everything the page shows as markdown (errors, warnings, captions included)."""
    parts = [e.value for kind in ("markdown", "error", "warning", "caption", "info")
             for e in getattr(at, kind)]
    return "\n".join(parts)


@ui.every_pretrained_model
def test_renders_for_every_model(dataset: str, process: str) -> None:
    at = open_page(dataset, process)
    model = text_model(dataset, process)
    assert at.text_input(key="prompt").value == model.world.held_out[0].text
    charts = ui.charts(at)
    assert {"chart_similarity", "chart_prompt_fields", "chart_prompt_samples"} <= set(charts)
    assert samples_on_chart(charts["chart_prompt_samples"]).shape == (N, 2)
    assert not at.error and not ui.warnings(at)
    assert len(ui.sentences(at)) == 3


def samples_on_chart(figure: dict) -> np.ndarray:
    return np.concatenate([ui.points(figure, "samples in the region, on the data"),
                           ui.points(figure, "other samples")])


def test_the_numbers_are_the_backends() -> None:
    at = open_page("spiral", "ddpm", prompt="inner left", negative_prompt="top", w="4")
    model = text_model("spiral", "ddpm")
    request = model.request("inner left", "top", 4.0)
    samples = model.sample(request, N, SEED).final
    shares = prompt_shares(model.world, samples, request)
    w0 = prompt_shares(model.world, model.sample(PromptRequest(request.prompt, w=0.0), N,
                                                 SEED).final, request)
    sentence = ui.sentences(at)[2]
    assert (f"at w = 4, {shares.in_region_on_data:.0%} of {N} samples landed in the region "
            f"of 'inner left' and on the data") in sentence
    assert f"in the region: {shares.in_region:.0%}, on the data: {shares.on_data:.0%}" in sentence
    assert f"unconditional: {w0.in_region_on_data:.0%}; the prompt alone at w = 1" in sentence
    assert f"{shares.out_of_negative:.0%} are out of the region of the negative prompt 'top'" \
        in sentence
    on_chart = samples_on_chart(ui.charts(at)["chart_prompt_samples"])
    np.testing.assert_allclose(np.sort(on_chart, axis=0), np.sort(samples, axis=0), atol=1e-6)
    precision = retrieval_precision(model, request.prompt, model.data.points)
    assert f"{precision:.0%} lie in it" in ui.sentences(at)[0]


def test_an_unknown_word_gets_a_message_listing_the_vocabulary() -> None:
    at = open_page()
    at.text_input(key="prompt").set_value("outer **tpo** [x](javascript:alert(1))").run()
    assert not at.exception
    assert len(at.error) == 1
    assert "inner, middle, outer, top, bottom, left, right" in at.error[0].value
    # The user's words appear as plain text only, never in markdown.
    assert [t.value for t in at.text] == ["Unknown: **tpo**, [x](javascript:alert(1))"]
    assert "tpo" not in shown_text(at) and "javascript" not in shown_text(at)
    assert not ui.charts(at)  # nothing drawn for a prompt that cannot be used


def test_a_10000_character_prompt_gets_a_one_line_message() -> None:
    at = open_page()
    at.text_input(key="negative_prompt").set_value("x" * 10_000).run()
    assert not at.exception
    assert [e.value for e in at.error] == [
        "The negative prompt is 10,000 characters long; at most 200 are allowed."]
    assert "xxxx" not in shown_text(at)


def test_the_default_prompt_is_held_out_and_says_so() -> None:
    at = open_page()
    assert "'outer top right' was never a whole caption in training" in ui.sentences(at)[-1]


def test_an_empty_prompt_means_unconditional() -> None:
    at = open_page()
    at.text_input(key="prompt").set_value("").run()
    assert not at.error
    assert "chart_similarity" not in ui.charts(at)
    assert "no prompt: the unconditional model" in ui.sentences(at)[-1]


def test_a_negative_prompt_alone_says_where_samples_went() -> None:
    at = open_page("rings", "ddpm", prompt="", negative_prompt="outer", w="3")
    model = text_model("rings", "ddpm")
    request = model.request("", "outer", 3.0)
    shares = prompt_shares(model.world, model.sample(request, N, SEED).final, request)
    sentence = ui.sentences(at)[-1]
    assert (f"with no prompt and the negative prompt 'outer' at w = 3, "
            f"{shares.out_of_negative:.0%} of {N} samples are out of its region") in sentence
    assert f"{shares.on_data:.0%} are on the data" in sentence


def test_a_link_opens_its_view() -> None:
    at = open_page("moons", "random_walk", prompt="bowl right", negative_prompt="top", w="5")
    assert at.text_input(key="prompt").value == "bowl right"
    assert at.text_input(key="negative_prompt").value == "top"
    assert at.slider(key="w").value == 5.0
    title = ui.charts(at)["chart_prompt_samples"]["layout"]["title"]["text"]
    assert title == "Samples: 'bowl right', not 'top', w = 5"


def test_an_empty_region_is_said() -> None:
    at = open_page("checkerboard", "ddpm", prompt="west right")
    assert "its region is empty" in ui.warnings(at)


def test_switching_dataset_resets_a_prompt_it_cannot_read() -> None:
    at = open_page(prompt="outer left")
    at.session_state["dataset"] = "moons"  # what the sidebar's dataset box does
    at.run()
    assert not at.exception and not at.error
    assert at.text_input(key="prompt").value == text_model("moons", "ddpm").world.held_out[0].text


@pytest.mark.parametrize(("shown", "asked"), [("outer top right", "inner bottom"),
                                             ("inner left", "outer top right")])
def test_predict_then_look_answers_with_the_measured_share(shown: str, asked: str) -> None:
    at = open_page(prompt=shown)
    question = next(m.value for m in at.markdown if m.value.startswith("**Predict"))
    assert f"'{asked}' was never a whole caption" in question
    at.toggle(key="_predict_prompts_held_out").set_value(True).run()
    model = text_model("spiral", "ddpm")
    request = model.request(asked, "", 3.0)
    shares = prompt_shares(model.world, model.sample(request, N, SEED).final, request)
    assert any(m.value.startswith(f"{shares.in_region_on_data:.0%} of {N} samples")
               for m in at.markdown)
