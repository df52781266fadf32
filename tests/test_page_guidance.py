"""AppTest of page 4 (guidance): it renders for every model, the guidance scale moves
samples into the class, the two fields agree at large t and differ at small t, and links
open the view they name."""

from __future__ import annotations

import apptest_helpers as ui
import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from explainer import checkpoints
from explainer.metrics import class_share
from explainer.trained import TrainedModel

PAGE = "pages/guidance.py"


def open_page(dataset: str = "spiral", process: str = "ddpm", **params: str) -> AppTest:
    """The guidance page opened from a link with these query parameters, with the given
    pretrained model active."""
    return ui.open_page(PAGE, {"dataset": dataset, "process": process}, **params)


def arrow_directions(figure: dict, panel: str) -> np.ndarray:
    """Unit directions of the arrows of one panel of the fields chart, read back from the
    shape drawing their shafts."""
    return ui.arrows(figure, panel)[1]


@pytest.fixture(scope="module")
def spiral() -> TrainedModel:
    return checkpoints.load(checkpoints.pretrained_path("spiral", "ddpm"))


@ui.every_pretrained_model
def test_renders_for_every_model(dataset: str, process: str) -> None:
    at = open_page(dataset=dataset, process=process, n="250")
    model = checkpoints.load(checkpoints.pretrained_path(dataset, process))
    assert at.selectbox(key="label").options == list(model.class_names)
    assert ui.t_range(at)[1] == model.schedule.T
    figures = ui.charts(at)
    assert {"chart_fields", "chart_guided_samples", "chart_share_vs_w"} <= set(figures)
    fields = figures["chart_fields"]  # one chart, a panel per field, each on its own axes
    shafts = {s["name"]: (s["xref"], s["yref"]) for s in fields["layout"]["shapes"]
              if "heads" not in s["name"]}
    assert shafts == {"unconditional": ("x", "y"), "conditional": ("x2", "y2"),
                      "difference": ("x3", "y3"), "guided": ("x4", "y4")}
    assert ui.final_samples(figures["chart_guided_samples"]).shape == (250, 2)
    assert len(at.metric) == 2
    assert not ui.warnings(at)


def test_share_in_class_rises_with_w(spiral: TrainedModel) -> None:
    at = open_page(n="250", label="outer")
    outer = spiral.class_names.index("outer")
    shares = {}
    for w in (0.0, 5.0):
        at.slider(key="w").set_value(w).run()
        samples = ui.final_samples(ui.charts(at)["chart_guided_samples"])
        shares[w] = class_share(samples, spiral.data.points, spiral.data.labels, outer)
    assert shares[0.0] < 0.6  # unconditional: about a third of the spiral is 'outer'
    assert shares[5.0] > 0.95
    assert at.metric[0].value == f"{shares[5.0]:.0%}"


def test_the_two_fields_agree_at_large_t_and_differ_at_small_t() -> None:
    at = open_page(n="250")
    agreement = {}
    for t in (10, 200):  # of T = 200 (spiral / ddpm)
        ui.t_slider(at).set_value(t).run()
        figures = ui.charts(at)
        cos = (arrow_directions(figures["chart_fields"], "conditional")
               * arrow_directions(figures["chart_fields"], "unconditional")).sum(1)
        agreement[t] = float(cos.mean())
    assert agreement[200] > 0.95
    assert agreement[10] < agreement[200] - 0.15


def test_a_link_opens_its_view() -> None:
    at = open_page(label="outer", w="5", n="250")
    assert at.selectbox(key="label").value == "outer"
    assert at.slider(key="w").value == 5.0
    title = ui.charts(at)["chart_guided_samples"]["layout"]["title"]["text"]
    assert "'outer'" in title and "w = 5" in title
    assert not ui.warnings(at)


def test_a_negative_class_from_a_link(spiral: TrainedModel) -> None:
    at = open_page(label="outer", negative="inner", w="2", n="250")
    figures = ui.charts(at)
    names = [d.get("name") for d in figures["chart_guided_samples"]["data"]]
    assert "negative class" in names
    titles = [a["text"] for a in figures["chart_fields"]["layout"]["annotations"]]
    assert any("'outer' minus class 'inner'" in title for title in titles)
    inner = spiral.class_names.index("inner")
    samples = ui.final_samples(figures["chart_guided_samples"])
    assert class_share(samples, spiral.data.points, spiral.data.labels, inner) < 0.05


@pytest.mark.parametrize(("params", "key", "default"), [
    ({"w": "99"}, "w", 3.0),
    ({"label": "nonsense"}, "label", "outer"),
    ({"label": "inner", "negative": "inner"}, "negative", "none"),
])
def test_a_bad_link_falls_back_with_a_note(params: dict[str, str], key: str,
                                           default: object) -> None:
    at = open_page(n="250", **params)
    assert f"{key}={params[key]}" in ui.warnings(at)
    widget = at.slider(key=key) if key == "w" else at.selectbox(key=key)
    assert widget.value == default


def test_switching_dataset_resets_a_class_it_does_not_have() -> None:
    at = open_page(label="inner", n="250")
    at.session_state["dataset"] = "moons"  # what the sidebar's dataset box does
    at.run()
    assert not at.exception
    assert at.selectbox(key="label").value == "lower"  # moons' default class
    assert "class 'lower'" in ui.charts(at)["chart_guided_samples"]["layout"]["title"]["text"]
    assert not ui.warnings(at)


def test_a_sample_size_left_by_the_sampling_page_is_not_offered_here() -> None:
    at = AppTest.from_file(ui.APP, default_timeout=120)
    at.run()
    at.session_state["n"] = 2000  # chosen on page 3, which offers 2000; page 4 does not
    at.switch_page(PAGE).run()
    assert not at.exception
    assert at.selectbox(key="n").value == 500
