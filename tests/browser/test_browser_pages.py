"""Every page in a real browser: loads clean, charts drawn, the main slider updates its
chart inside a fragment, links open the view, phone width, dark theme. Screenshots of
each page (light, dark, 390 px) go to $SCREENSHOT_DIR for a human to look at."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from browser_helpers import (
    ProtocolLog,
    app_navigation_problem,
    background_luminance,
    chart_names,
    chart_sizes,
    chart_tick_colours,
    fingerprints,
    has_horizontal_scroll,
    open_page,
    panel_corners,
    press_slider,
    problems,
    screenshot_full,
    slider_value,
    wait_changed,
    wait_chart_text_light,
    wait_charts,
    wait_idle,
    wait_panels_stacked,
    widest_elements,
)
from playwright.sync_api import Page

pytestmark = pytest.mark.browser

DARK_BACKGROUND_JS = """() => {
  const [r, g, b] = getComputedStyle(document.querySelector('[data-testid=stApp]'))
    .backgroundColor.match(/[\\d.]+/g).map(Number);
  return 0.2126 * r + 0.7152 * g + 0.0722 * b < 0.2 * 255;
}"""


@dataclass(frozen=True)
class PageSpec:
    name: str
    path: str  # URL path of the page ("" = Home)
    charts: int  # at least this many Plotly charts on first load
    slider_key: str | None = None  # URL key of the main slider (None: no main slider)
    link_value: float | None = None  # a valid, non-default value to open by link


PAGES = [
    PageSpec("home", "", charts=0),
    PageSpec("random_walks", "random_walks", charts=3, slider_key="t", link_value=40),
    PageSpec("vector_field", "vector_field", charts=2, slider_key="t", link_value=50),
    PageSpec("sampling", "sampling", charts=1, slider_key="steps", link_value=20),
    PageSpec("guidance", "guidance", charts=3, slider_key="t", link_value=50),
    PageSpec("prompts", "prompts", charts=3, slider_key="t", link_value=50),
    PageSpec("train", "train", charts=0),
]
WITH_SLIDER = [spec for spec in PAGES if spec.slider_key]


def _ids(specs: list[PageSpec]) -> list[str]:
    return [spec.name for spec in specs]


def assert_clean(page: Page) -> None:
    found = problems(page)
    assert not found, f"exception/error on the page: {found}"
    wrong_navigation = app_navigation_problem(page)
    assert wrong_navigation is None, wrong_navigation


def assert_charts_drawn(page: Page, at_least: int) -> None:
    """Every chart has a drawn surface and an accessible name that says what it shows."""
    sizes = chart_sizes(page)
    assert len(sizes) >= at_least, f"expected >= {at_least} charts, found {len(sizes)}"
    for i, size in enumerate(sizes):
        assert size["surfaces"] > 0 and size["width"] > 50 and size["height"] > 50, (
            f"chart {i} not drawn: {size}")
    for i, name in enumerate(chart_names(page)):
        assert len(name) >= 20, f"chart {i} has no real accessible name (alt text): {name!r}"


@pytest.mark.parametrize("spec", PAGES, ids=_ids(PAGES))
def test_page_loads_draws_themes_and_slider_reruns_only_its_fragment(
        page: Page, spec: PageSpec, screenshot_dir: Path) -> None:
    log = ProtocolLog(page)
    page.set_viewport_size({"width": 1280, "height": 900})
    open_page(page, f"/{spec.path}")
    assert_clean(page)
    assert_charts_drawn(page, spec.charts)
    assert page.locator("[data-testid=stMain] h1").count() == 1, "page has no title"
    assert background_luminance(page) > 0.8, "the light theme is not light"
    screenshot_full(page, screenshot_dir / f"{spec.name}-light.png")

    # The OS switches to dark: Streamlit's default "system" theme follows it live
    # (test_dark_theme_on_first_load covers a page opened in dark mode).
    page.emulate_media(color_scheme="dark")
    page.wait_for_function(DARK_BACKGROUND_JS)
    wait_charts(page)
    assert_charts_drawn(page, spec.charts)
    if spec.charts:
        assert_chart_text_readable_on_dark(page)
    screenshot_full(page, screenshot_dir / f"{spec.name}-dark.png")
    if spec.slider_key is None:
        return

    key = spec.slider_key
    before_value, before = slider_value(page, key), fingerprints(page)
    names_before = chart_names(page)
    mark = log.mark()
    press_slider(page, key, times=3)
    wait_changed(page, before)

    assert slider_value(page, key) != before_value
    assert_clean(page)
    assert chart_names(page) != names_before, "no chart's alt text follows the slider"
    reruns, finished = log.since(mark)
    assert reruns and all(reruns), (
        f"the slider asked for a full rerun, not a fragment rerun: fragment ids {reruns}")
    assert "FINISHED_SUCCESSFULLY" not in finished, f"a full script run happened: {finished}"
    # The address bar is now a link to the new view.
    page.wait_for_function(
        "([key, value]) => new URL(location.href).searchParams.get(key) === value",
        arg=[key, _url_text(slider_value(page, key))], timeout=5_000)


@pytest.mark.parametrize("spec", WITH_SLIDER, ids=_ids(WITH_SLIDER))
def test_link_with_parameters_opens_that_view(page: Page, spec: PageSpec) -> None:
    open_page(page, f"/{spec.path}?{spec.slider_key}={_url_text(spec.link_value)}")
    assert slider_value(page, spec.slider_key) == spec.link_value
    assert_clean(page)
    assert page.locator("[data-testid=stAlertContentWarning]").count() == 0, (
        "a valid link value showed a fallback note")


@pytest.mark.parametrize("spec", WITH_SLIDER[:1], ids=_ids(WITH_SLIDER[:1]))
def test_bad_link_value_falls_back_with_note(page: Page, spec: PageSpec) -> None:
    open_page(page, f"/{spec.path}?{spec.slider_key}=banana")
    assert_clean(page)
    note = page.locator("[data-testid=stAlertContentWarning]")
    assert note.count() > 0 and spec.slider_key in note.first.inner_text()


@pytest.mark.parametrize("spec", PAGES, ids=_ids(PAGES))
def test_phone_width_has_no_horizontal_scroll(page: Page, spec: PageSpec,
                                              screenshot_dir: Path) -> None:
    page.set_viewport_size({"width": 390, "height": 844})
    open_page(page, f"/{spec.path}")
    assert_clean(page)
    assert_charts_drawn(page, spec.charts)
    screenshot_full(page, screenshot_dir / f"{spec.name}-390.png")
    assert not has_horizontal_scroll(page), f"sticks out: {widest_elements(page)}"


def test_dark_theme_on_first_load(new_context: Any) -> None:
    """A student whose system is in dark mode opens a page with charts."""
    context = new_context(color_scheme="dark", viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(60_000)
    open_page(page, "/vector_field")
    assert_clean(page)
    assert_charts_drawn(page, 2)
    assert background_luminance(page) < 0.2, "the app background is not dark"
    assert_chart_text_readable_on_dark(page)


def assert_chart_text_readable_on_dark(page: Page) -> None:
    """The charts follow the theme: their axis text is light on the dark background."""
    wait_chart_text_light(page)
    colours = [c for c in chart_tick_colours(page) if c]
    assert colours, "no chart has axis tick labels"
    for colour in colours:
        assert _luminance(colour) > 0.4, f"chart text {colour} is not readable on dark"


def _luminance(css_colour: str) -> float:
    r, g, b = (float(c) / 255 for c in re.findall(r"[\d.]+", css_colour)[:3])
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def _url_text(value: float | None) -> str:
    """How a value appears in the URL: 3 for whole numbers, 0.5 otherwise."""
    assert value is not None
    return str(int(value)) if float(value).is_integer() else str(value)


def test_a_chart_in_a_closed_expander_is_drawn_when_opened(page: Page) -> None:
    """Charts in a closed expander skip the slider's redraws (nobody sees them) and draw
    the last figure they got when the expander opens."""
    open_page(page, "/guidance")
    drawn_before = len(chart_sizes(page))
    press_slider(page, "t")
    wait_idle(page)
    page.get_by_text("Agreement of the two fields over t").click()
    page.wait_for_function("() => document.querySelector('details[open] iframe')")
    wait_charts(page)
    sizes = chart_sizes(page)
    assert len(sizes) == drawn_before + 1, sizes
    assert all(s["surfaces"] > 0 and s["width"] > 50 and s["height"] > 50 for s in sizes), sizes
    assert "mean cosine" in " ".join(chart_names(page))


def test_sampling_panels_sit_side_by_side_and_stack_on_a_phone(page: Page) -> None:
    """The three samplers are one chart with a panel each; on a narrow screen the chart
    page stacks them (explainer/figures/layout.py, layout.meta.stack), also when a wide
    window is made narrow."""
    open_page(page, "/sampling")
    (corners,) = panel_corners(page)
    assert len(corners) == 3
    assert len({top for _, top in corners}) == 1  # one row
    assert corners[0][0] < corners[1][0] < corners[2][0]
    page.set_viewport_size({"width": 390, "height": 844})
    wait_panels_stacked(page)
    assert_charts_drawn(page, 1)
    assert not has_horizontal_scroll(page), f"sticks out: {widest_elements(page)}"
