"""Links to a view: each page reads and writes only its own URL parameters (the n=250 leak
from Sampling into Guidance), the presentation view, and the links built from them."""

from __future__ import annotations

import re
from pathlib import Path

import apptest_helpers as ui
import pytest
from streamlit.testing.v1 import AppTest

from explainer import views

PAGES_DIR = Path(__file__).resolve().parent.parent / "pages"
SAMPLING, GUIDANCE = "pages/sampling.py", "pages/guidance.py"


# ---------------------------------------------------------------- pure link logic

def test_a_page_keeps_its_own_and_the_global_parameters_only() -> None:
    params = {"n": "250", "steps": "20", "dataset": "moons", "present": "1", "w": "5",
              "show": "fields", "frame": "40"}
    assert views.scoped(params, "guidance") == {
        "n": "250", "dataset": "moons", "present": "1", "w": "5", "show": "fields",
        "frame": "40"}
    assert views.scoped(params, "sampling") == {
        "n": "250", "steps": "20", "dataset": "moons", "present": "1", "show": "fields",
        "frame": "40"}  # show: every page has figures; its value is checked there
    assert views.foreign_params(list(params), "random_walks") == ["n", "steps", "w",
                                                                  "frame"]


def test_the_view_link_keeps_the_server_and_swaps_the_page() -> None:
    link = views.view_link("http://10.0.0.5:8501/app/sampling?steps=20", "guidance",
                           {"w": "5", "steps": "20", "present": "1"})
    assert link == "http://10.0.0.5:8501/app/guidance?w=5&present=1"
    assert views.view_link("https://x.org/", "", {"w": "5"}) == "https://x.org/"
    assert views.view_link("/", "guidance", {"w": "5", "n": "250"}) == "/guidance?w=5&n=250"


def test_every_url_bound_control_of_a_page_is_registered_for_it() -> None:
    """A control a page binds to the URL that its registry entry lacks would be dropped
    from its link when the page opens."""
    pattern = re.compile(r'(?:url_selectbox|url_slider|text_box)\(\s*(?:f?"[^"]*"\s*)+,\s*'
                         r'"(\w+)"|seed_from_url\("(\w+)"')
    for page, view in views.PAGE_VIEWS.items():
        if not page:
            continue
        source = (PAGES_DIR / f"{page}.py").read_text()
        keys = {a or b for a, b in pattern.findall(source)}
        if "url_t_slider(" in source:
            keys.add("t")
        if "url_seed_input(" in source:
            keys.add("seed")
        assert keys and keys <= set(view.params), (page, keys - set(view.params))


def test_show_and_present_accept_only_their_values() -> None:
    assert views.parse_show("guidance")("fields") == "fields"
    with pytest.raises(ValueError, match="samples, fields"):
        views.parse_show("guidance")("walks")
    assert views.parse_present("1") and not views.parse_present("0")
    with pytest.raises(ValueError):
        views.parse_present("yes")


# ---------------------------------------------------------------- pages (AppTest)

def run(at: AppTest) -> AppTest:
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


@pytest.mark.usefixtures("app_py_around_pages")
def test_sampling_points_do_not_leak_into_guidance_samples() -> None:
    at = ui.open_page(SAMPLING)
    at.selectbox(key="n").set_value(250)
    run(at)
    at.select_slider(key="steps").set_value(20)
    run(at)
    assert at.query_params["n"] == ["250"] or at.query_params["n"] == "250"
    at.switch_page(GUIDANCE)
    run(at)
    assert at.selectbox(key="n").value == 500
    assert "n" not in at.query_params and "steps" not in at.query_params
    at.switch_page(SAMPLING)
    run(at)
    assert at.selectbox(key="n").value == 1000  # the page opens on its defaults again


@pytest.mark.usefixtures("app_py_around_pages")
def test_a_link_with_another_pages_parameters_keeps_only_this_pages() -> None:
    at = ui.open_page(GUIDANCE, n="250", steps="20", walks="5", w="5")
    assert at.selectbox(key="n").value == 250 and at.slider(key="w").value == 5.0
    assert set(at.query_params) == {"n", "w"}


@pytest.mark.usefixtures("app_py_around_pages")
def test_presentation_folds_the_explanations_away_and_shows_one_figure() -> None:
    normal = ui.open_page(GUIDANCE)
    assert ui.sentences(normal) and normal.expander
    at = ui.open_page(GUIDANCE, present="1")
    assert at.toggle(key="present").value is True
    assert not ui.sentences(at) and not at.expander
    assert not any(m.value.startswith("**Predict, then look:**") for m in at.markdown)
    assert set(ui.charts(at)) == {"chart_guided_samples"}
    at.segmented_control(key="show").set_value("fields")
    run(at)
    assert set(ui.charts(at)) == {"chart_fields"} and at.query_params["show"] in (
        "fields", ["fields"])
    at.toggle(key="present").set_value(False)
    run(at)
    assert "present" not in at.query_params and "show" not in at.query_params
    assert ui.sentences(at)


@pytest.mark.usefixtures("app_py_around_pages")
def test_a_bad_presentation_value_gets_a_note_and_the_normal_view() -> None:
    at = ui.open_page(SAMPLING, present="yes", show="nothing")
    assert at.toggle(key="present").value is False
    assert "present=yes" in ui.warnings(at)
    assert "show" not in at.query_params


@pytest.mark.usefixtures("app_py_around_pages")
def test_a_bad_frame_gets_a_note_and_is_dropped() -> None:
    at = ui.open_page(SAMPLING, frame="10000000")
    assert "frame=10000000" in ui.warnings(at) and "frame" not in at.query_params


def test_link_to_view_builds_a_pages_link_where_the_page_runs() -> None:
    def script() -> None:
        import streamlit as st

        from pages import shared
        st.markdown(shared.link_to_view("guidance", {"w": "5", "steps": "20"}))

    at = run(AppTest.from_function(script, default_timeout=60))
    assert at.markdown[0].value.endswith("/guidance?w=5")
