"""Page 4 (pictures) in a real browser: it loads clean with every chart drawn, in light and
dark themes and at phone width; its t slider reruns only its fragment and redraws the
spectrum; a link opens the random walk's view. Screenshots go to $SCREENSHOT_DIR for a
human to look at."""

from __future__ import annotations

import re
from pathlib import Path

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
    press_slider,
    problems,
    screenshot_full,
    slider_value,
    wait_changed,
    wait_chart_text_light,
    wait_charts,
    widest_elements,
)
from playwright.sync_api import Page

pytestmark = pytest.mark.browser

CHARTS = 8  # two pixels, 8 x 8 numbers, data, data spectrum, forward, samplers, finals, spectrum


def assert_clean_with_charts(page: Page) -> None:
    found = problems(page)
    assert not found, f"exception/error on the page: {found}"
    assert app_navigation_problem(page) is None, app_navigation_problem(page)
    sizes = chart_sizes(page)
    assert len(sizes) == CHARTS, f"expected {CHARTS} charts, found {len(sizes)}"
    for i, size in enumerate(sizes):
        assert size["surfaces"] > 0 and size["width"] > 50 and size["height"] > 50, (i, size)
    assert all(len(name) >= 20 for name in chart_names(page)), chart_names(page)


def luminance(css_colour: str) -> float:
    r, g, b = (float(c) / 255 for c in re.findall(r"[\d.]+", css_colour)[:3])
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def test_pictures_page_in_light_and_dark(page: Page, screenshot_dir: Path) -> None:
    page.set_viewport_size({"width": 1280, "height": 900})
    open_page(page, "/pictures")
    assert_clean_with_charts(page)
    assert background_luminance(page) > 0.8, "the light theme is not light"
    assert page.locator("[data-testid=stMain] h1").first.inner_text().startswith("4. Pictures")
    screenshot_full(page, screenshot_dir / "pictures-light.png")
    page.emulate_media(color_scheme="dark")
    for _ in range(100):  # the app follows the system theme live
        if background_luminance(page) < 0.2:
            break
        page.wait_for_timeout(100)
    assert background_luminance(page) < 0.2, "the app did not turn dark"
    wait_charts(page)
    wait_chart_text_light(page)
    colours = [c for c in chart_tick_colours(page) if c]
    assert colours and all(luminance(c) > 0.4 for c in colours), colours
    screenshot_full(page, screenshot_dir / "pictures-dark.png")


def test_t_slider_redraws_the_spectrum_in_its_fragment(page: Page) -> None:
    log = ProtocolLog(page)
    page.set_viewport_size({"width": 1280, "height": 900})
    open_page(page, "/pictures")
    t_before, before, names = slider_value(page, "t"), fingerprints(page), chart_names(page)
    mark = log.mark()
    press_slider(page, "t", "ArrowLeft", times=3)
    wait_changed(page, before)
    t_after = slider_value(page, "t")
    assert t_after < t_before
    changed = [i for i, (a, b) in enumerate(zip(before, fingerprints(page), strict=True))
               if a != b]
    assert changed == [CHARTS - 1], f"charts other than the spectrum changed: {changed}"
    assert f"t = {int(t_after)}" in chart_names(page)[-1] and chart_names(page) != names
    reruns, finished = log.since(mark)
    assert reruns and all(reruns), f"a full rerun, not the fragment: {reruns}"
    assert "FINISHED_SUCCESSFULLY" not in finished, finished
    page.wait_for_function("(t) => new URL(location.href).searchParams.get('t') === t",
                           arg=str(int(t_after)), timeout=5_000)


def test_random_walk_link_at_phone_width(page: Page, screenshot_dir: Path) -> None:
    page.set_viewport_size({"width": 390, "height": 844})
    open_page(page, "/pictures?process=random_walk&t=1356")
    assert_clean_with_charts(page)
    assert slider_value(page, "t") == 1356
    assert "Random walk" in page.locator("[data-testid=stMain]").inner_text()
    screenshot_full(page, screenshot_dir / "pictures-random_walk-390.png")
    assert not has_horizontal_scroll(page), f"sticks out: {widest_elements(page)}"
