"""The presentation view on a projector's 1280 x 720, the copy-link button, and page
links that start afresh (no parameter of another page), in a real browser."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from browser_helpers import open_page, slider_value, wait_charts, wait_idle

WIDTH, HEIGHT = 1280, 720
# (url, what to look at: the page's figure and its key control). The key control is
# the first slider on the page; Home's figure has its own Play and slider, and the Train
# page's figure appears only after training, so its key control is the Train button.
STEPS = [
    ("/?present=1", "home"),
    ("/random_walks?present=1", "random_walks"),
    ("/random_walks?present=1&show=bridge&t=26", "random_walks-bridge"),
    ("/vector_field?present=1", "vector_field"),
    ("/vector_field?present=1&show=error", "vector_field-error"),
    ("/sampling?present=1", "sampling"),
    ("/pictures?present=1", "pictures"),
    ("/guidance?present=1", "guidance"),
    ("/guidance?present=1&show=fields", "guidance-fields"),
    ("/prompts?present=1", "prompts"),
    ("/prompts?present=1&show=fields", "prompts-fields"),
    ("/train?present=1", "train"),
]

_BOXES_JS = """() => {
  const shown = el => el.getClientRects().length > 0 && getComputedStyle(el).display !== 'none'
                      && !el.closest('[class*="st-key-folded_"]');
  const box = el => {
    const r = el.getBoundingClientRect();
    return [r.top, r.bottom, r.left, r.right];
  };
  const charts = [...document.querySelectorAll('iframe[data-testid=stCustomComponentV1]')]
      .filter(shown);
  const control = [...document.querySelectorAll(
      '[data-testid=stMain] [data-testid=stSlider], [data-testid=stMain] [data-testid=stButton]')]
      .filter(shown)[0];
  const sidebar = document.querySelector('[data-testid=stSidebar]');
  return {charts: charts.map(box), control: control ? box(control) : null,
          sidebar: sidebar ? shown(sidebar) : false,
          text: document.querySelector('[data-testid=stMain]').innerText};
}"""


def inside(box: list[float]) -> bool:
    top, bottom, left, right = box
    return top >= 0 and bottom <= HEIGHT + 0.5 and left >= 0 and right <= WIDTH + 0.5


@pytest.mark.parametrize(("url", "name"), STEPS, ids=[name for _, name in STEPS])
def test_a_presentation_step_fits_the_screen(page: Any, url: str, name: str,
                                             screenshot_dir: Path) -> None:
    page.set_viewport_size({"width": WIDTH, "height": HEIGHT})
    open_page(page, url)
    page.wait_for_timeout(500)  # the charts fit themselves to the screen once drawn
    wait_charts(page)
    found = page.evaluate(_BOXES_JS)
    page.screenshot(path=str(screenshot_dir / f"present-{name}.png"))
    assert not found["sidebar"]
    assert "What you see" not in found["text"] and "Predict, then look" not in found["text"]
    assert found["charts"] or name == "train", "no figure shown"
    assert all(inside(box) for box in found["charts"]), found["charts"]
    if name != "home":  # Home's key control, Play and its t slider, is inside its chart
        assert found["control"] is not None and inside(found["control"]), found["control"]


def copied_link(page: Any) -> str:
    """Click "Copy link to this view" and read the link it shows (and copies)."""
    frame = page.frame_locator("iframe[title='st.iframe'], [data-testid=stIFrame]").first
    frame.locator("#copy").click()
    link = frame.locator("#link")
    link.wait_for(state="visible")
    return link.input_value()


def chart_frame(page: Any, key: str = "chart_sampling") -> str | None:
    return page.evaluate(f"() => (window.explainerFrames || {{}})[{key!r}]")


def test_the_copied_link_restores_the_view_and_its_frame(page: Any, context: Any,
                                                        base_url: str) -> None:
    open_page(page, f"{base_url}/sampling?steps=20&seed=3")
    # The student scrubs the animation to another frame, as the Plotly slider does.
    page.evaluate("""() => {
      const f = document.querySelector('iframe[data-testid=stCustomComponentV1]');
      const gd = f.contentDocument.querySelector('.js-plotly-plot');
      const name = gd._transitionData._frames[5].name;
      return f.contentWindow.Plotly.animate(gd, [name], {mode: 'immediate',
          frame: {duration: 0, redraw: true}, transition: {duration: 0}});
    }""")
    frame = chart_frame(page)
    assert frame is not None and frame != "0"
    link = copied_link(page)
    assert link.startswith(base_url + "/sampling?")
    assert "steps=20" in link and "seed=3" in link and f"frame={frame}" in link
    fresh = context.browser.new_context()
    try:
        again = fresh.new_page()
        open_page(again, link)
        wait_idle(again)
        again.wait_for_function(
            "() => (window.explainerFrames || {}).chart_sampling !== undefined")
        assert chart_frame(again) == frame
        assert slider_value(again, "steps") == 20
    finally:
        fresh.close()


def test_a_page_link_opens_the_page_without_the_last_pages_settings(page: Any,
                                                                   base_url: str) -> None:
    """Sampling's Points = 250 used to become Guidance's Samples and its link's n=250."""
    open_page(page, f"{base_url}/sampling?n=250&steps=20")
    page.get_by_role("link", name="5. Guidance").click()
    page.wait_for_url("**/guidance**")
    wait_idle(page)
    wait_charts(page)
    assert "n=" not in page.url and "steps=" not in page.url
    shown = page.evaluate("""() => {
      const box = document.querySelector('[data-testid=stMain] .st-key-n');
      return box.innerText + ' ' + [...box.querySelectorAll('input')].map(i => i.value).join(' ');
    }""")
    assert "500" in shown and "250" not in shown, shown
