"""What the browser tests and the latency benchmark ask of a live Streamlit page.

Plain functions over a playwright Page (no pytest), so tests/benchmarks/ can reuse them.
Selectors checked against streamlit 1.67's frontend: the slider is a react-aria
`input[type=range]` (no role attribute, no aria-valuenow; its value is an index from 0,
the value shown is in aria-valuetext).
"""

from __future__ import annotations

import re
import time
from typing import Any

from appserver import IDLE
from playwright.sync_api import Page
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

EXCEPTION = "[data-testid=stException]"
ERROR = "[data-testid=stAlertContentError]"

# Every chart on the page as {box, gd, state, name}: the element on the page, Plotly's
# graph div, the chart component's {received, drawn} render counts, and the accessible
# name (alt text). Most charts are pages/plotly_frame.py components: iframes of the same
# origin, so their documents are readable from here. The Train page's are st.plotly_chart
# (state null: Streamlit draws them). Charts not shown (in a closed expander: a <details>)
# are left out, and so are other components (the Train page's drawing plane).
_CHARTS_JS = """(() => Array.from(document.querySelectorAll(
    '[data-testid=stPlotlyChart], iframe[data-testid=stCustomComponentV1][title$=plotly_frame]'))
  .filter(el => el.getClientRects().length > 0 && !el.closest('details:not([open])'))
  .map(el => {
  if (el.tagName !== 'IFRAME')
    return {box: el, gd: el.querySelector('.js-plotly-plot'), state: null,
            name: el.getAttribute('aria-label') || ''};
  const gd = el.contentDocument && el.contentDocument.querySelector('.js-plotly-plot');
  return {box: el, gd: gd || null,
          state: (el.contentWindow && el.contentWindow.chartState) || {received: 0, drawn: -1},
          name: (gd && gd.getAttribute('aria-label')) || ''};
}))()"""

# A cheap fingerprint of every Plotly chart on the page: its traces, its frames and its
# title/meta. Plotly decodes arrays into typed arrays, which JSON.stringify would spell out
# index by index (~20 ms per chart, inside the measured time): each is folded to a number.
_FINGERPRINTS_JS = f"""() => {_CHARTS_JS}.map(({{gd}}) => {{
  if (!gd) return '';
  const fold = (key, value) => {{
    if (!ArrayBuffer.isView(value)) return value;
    let h = value.length;
    for (let i = 0; i < value.length; i++) h = (h * 31 + value[i] * 1000003) % 2147483647;
    return 'typed:' + value.length + ':' + h;
  }};
  const text = JSON.stringify([gd.data, gd.layout && gd.layout.title, gd.layout && gd.layout.meta,
                               (gd._transitionData && gd._transitionData._frames || []).length],
                              fold);
  let h = 0;
  for (let i = 0; i < text.length; i++) {{ h = (h * 31 + text.charCodeAt(i)) | 0; }}
  return text.length + ':' + h;
}})"""

# Size of each chart's drawn surface: the Plotly root svg and any WebGL canvas inside,
# cut to the graph div's own box (a div of no height clips a full-size svg to nothing).
_CHART_SIZES_JS = f"""() => {_CHARTS_JS}.map(({{gd}}) => {{
  const surfaces = gd ? gd.querySelectorAll('svg.main-svg, canvas') : [];
  let best = [0, 0];
  surfaces.forEach(s => {{ const r = s.getBoundingClientRect();
    if (r.width * r.height > best[0] * best[1]) best = [r.width, r.height]; }});
  const box = gd ? gd.getBoundingClientRect() : {{width: 0, height: 0}};
  best = [Math.min(best[0], box.width), Math.min(best[1], box.height)];
  return {{surfaces: surfaces.length, width: best[0], height: best[1],
          traces: gd ? gd.querySelectorAll('.trace, .scatterlayer path, .gl-canvas').length
                     : 0}};
}})"""

# Every chart drawn, and each chart component has drawn the last figure it was sent.
_CHARTS_DRAWN_JS = f"""() => {_CHARTS_JS}.every(({{gd, state}}) =>
  gd && gd.querySelector('svg.main-svg') && (!state || state.drawn === state.received))"""

# Nothing left to draw: no stale element, and no skeleton (Streamlit shows stSkeleton while
# a lazily loaded component such as the Plotly chart is still loading its code, after the
# script already reports notRunning).
_SETTLED_JS = ("() => !document.querySelector('[data-stale=true]')"
               " && !document.querySelector('[data-testid=stSkeleton]')"
               f" && ({_CHARTS_DRAWN_JS})()")


def wait_idle(page: Page, timeout: float = 60_000) -> None:
    """Wait until the script (or fragment) run is over and everything is drawn."""
    page.wait_for_selector(IDLE, timeout=timeout)
    page.wait_for_function(_SETTLED_JS, timeout=timeout)


def open_page(page: Page, url: str, timeout: float = 90_000) -> None:
    """Navigate and wait for the first full run, and for every chart to be drawn."""
    page.goto(url, wait_until="domcontentloaded", timeout=timeout)
    # The main block exists only once the first run has sent its elements.
    page.wait_for_selector("[data-testid=stMain] [data-testid=stElementContainer]",
                           timeout=timeout)
    wait_idle(page, timeout)
    wait_charts(page, timeout)


def wait_charts(page: Page, timeout: float = 30_000) -> None:
    """Every chart has its drawn svg (Plotly renders after React, and a chart component
    after its iframe has loaded plotly.js) and shows the last figure it was sent."""
    page.wait_for_function(_CHARTS_DRAWN_JS, timeout=timeout)


def chart_sizes(page: Page) -> list[dict[str, Any]]:
    return page.evaluate(_CHART_SIZES_JS)


def chart_names(page: Page) -> list[str]:
    """Each chart's accessible name: the alt text, on the chart with role="figure"."""
    return page.evaluate(f"() => {_CHARTS_JS}.map(c => c.name)")


def wait_chart_text_light(page: Page, timeout: float = 15_000) -> None:
    """Wait (no error on timeout: the caller asserts) until every chart's tick labels are
    light, as on a dark theme: a chart component gets the new theme in a render message
    of its own, after the page has turned dark."""
    try:
        page.wait_for_function(f"""() => {_CHARTS_JS}.every(({{gd}}) => {{
          const tick = gd && gd.querySelector('.main-svg .xtick text');
          if (!tick) return true;
          const [r, g, b] = getComputedStyle(tick).fill.match(/[\\d.]+/g).map(Number);
          return 0.2126 * r + 0.7152 * g + 0.0722 * b > 0.4 * 255; }})""", timeout=timeout)
    except PlaywrightTimeoutError:
        pass


def chart_tick_colours(page: Page) -> list[str]:
    """The fill colour of each chart's first x tick label (follows the app's theme)."""
    return page.evaluate(f"""() => {_CHARTS_JS}.map(({{gd}}) => {{
      const tick = gd && gd.querySelector('.main-svg .xtick text');
      return tick ? getComputedStyle(tick).fill : ''; }})""")


# For each chart, the top-left corner (px) of each panel's plot area, in axis order (x/y,
# x2/y2, ...): side by side, the lefts differ; stacked, the tops do.
_PANEL_CORNERS_JS = f"""() => {_CHARTS_JS}.map(({{gd}}) => {{
  const layout = gd && gd._fullLayout;
  if (!layout) return [];
  return Object.keys(layout).filter(k => /^xaxis\\d*$/.test(k)).sort().map(k => {{
    const x = layout[k], y = layout['y' + k.slice(1)];
    return [Math.round(x._offset), Math.round(y._offset)]; }}); }})"""


def panel_corners(page: Page) -> list[list[list[float]]]:
    return page.evaluate(_PANEL_CORNERS_JS)


def wait_panels_stacked(page: Page, timeout: float = 15_000) -> None:
    """Until the first chart's panels sit one under the other (one left edge)."""
    page.wait_for_function(f"""() => {{ const c = ({_PANEL_CORNERS_JS})()[0] || [];
      return c.length > 1 && c.every(([left, top], i) => left === c[0][0]
                                     && (i === 0 || top > c[i - 1][1])); }}""",
                           timeout=timeout)


def fingerprints(page: Page) -> list[str]:
    return page.evaluate(_FINGERPRINTS_JS)


def problems(page: Page) -> list[str]:
    """Texts of exception and error elements on the page (should be empty)."""
    return [el.inner_text()[:500] for el in page.query_selector_all(f"{EXCEPTION}, {ERROR}")]


def slider(page: Page, key: str) -> Any:
    """The slider of the widget with this key (Streamlit tags its container st-key-<key>)."""
    return page.locator(f"[data-testid=stMain] .st-key-{key} input[type=range]")


def slider_value(page: Page, key: str) -> float:
    """The value the slider shows. Its input's own value is an index from 0 (a 1..100
    slider has input min 0, max 99), so read the accessible value text instead."""
    # The t sliders show the noise level beside t ("t = 655 (σ_t = 0.64)"): the first number.
    text = slider(page, key).get_attribute("aria-valuetext") or ""
    return float(re.search(r"-?\d[\d,]*(?:\.\d+)?", text).group().replace(",", ""))


def press_slider(page: Page, key: str, press: str | None = None, times: int = 1) -> None:
    """Focus a slider and press a key, as a keyboard user would. By default ArrowRight,
    or ArrowLeft when the slider sits at its maximum (e.g. sampling steps = T)."""
    thumb = slider(page, key)
    if press is None:
        at_max = float(thumb.input_value()) >= float(thumb.get_attribute("max"))
        press = "ArrowLeft" if at_max else "ArrowRight"
    thumb.focus()
    for _ in range(times):
        page.keyboard.press(press)


def wait_changed(page: Page, before: list[str], timeout: float = 30_000) -> float:
    """Wait until some chart's fingerprint differs from `before` and the app is idle;
    returns the seconds it took."""
    start = time.perf_counter()
    page.wait_for_function(
        f"""(before) => {{
          const state = document.querySelector('[data-testid=stApp]')
            .getAttribute('data-test-script-state');
          if (state !== 'notRunning' || !({_SETTLED_JS})()) return false;
          const now = ({_FINGERPRINTS_JS})();
          return now.length && JSON.stringify(now) !== JSON.stringify(before);
        }}""", arg=before, timeout=timeout)
    return time.perf_counter() - start


def has_horizontal_scroll(page: Page) -> bool:
    """The page scrolls sideways: the document, or Streamlit's main scroll container
    (stMain scrolls, not the document). Local scrollers (a wide formula) are fine."""
    return page.evaluate(
        """() => [document.documentElement, document.querySelector('[data-testid=stMain]')]
                 .some(el => el && el.scrollWidth > el.clientWidth + 1)""")


def screenshot_full(page: Page, path: object, max_height: int = 8000) -> None:
    """A screenshot of the whole page. Streamlit scrolls inside stMain, so Playwright's
    full_page sees one viewport: grow the viewport to the content instead, then restore."""
    size = page.viewport_size or {"width": 1280, "height": 900}
    height = page.evaluate(
        "() => (document.querySelector('[data-testid=stMain]') || document.body).scrollHeight")
    page.set_viewport_size({"width": size["width"], "height": min(max_height, max(
        size["height"], height))})
    page.wait_for_timeout(600)  # Plotly redraws responsive charts after a resize
    wait_charts(page)
    page.screenshot(path=path)
    page.set_viewport_size(size)


def widest_elements(page: Page, limit: int = 5) -> list[str]:
    """For a failure message: the elements that stick out of the viewport on the right."""
    return page.evaluate(
        """(limit) => { const w = document.documentElement.clientWidth; const out = [];
          for (const el of document.querySelectorAll('body *')) {
            const r = el.getBoundingClientRect();
            if (r.right > w + 1 && r.width > 0) out.push(
              `${el.tagName.toLowerCase()}[data-testid=${el.dataset.testid || ''}]`
              + `.${(el.className.baseVal ?? el.className).toString().slice(0, 40)}`
              + ` right=${Math.round(r.right)}`);
          }
          return out.slice(-limit); }""", limit)


def background_luminance(page: Page) -> float:
    """Relative luminance (0 black .. 1 white) of the app's background colour."""
    rgb = page.evaluate(
        """() => getComputedStyle(document.querySelector('[data-testid=stApp]'))
                 .backgroundColor.match(/[\\d.]+/g).slice(0, 3).map(Number)""")
    r, g, b = (c / 255 for c in rgb)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


class ProtocolLog:
    """Decodes the page's websocket traffic: which reruns the browser asked for (full or
    fragment) and how each run finished. The frontend sends one BackMsg per frame and the
    server one ForwardMsg per frame (streamlit 1.67)."""

    def __init__(self, page: Page) -> None:
        self.reruns: list[str] = []  # fragment_id of each rerun request ("" = full run)
        self.finished: list[str] = []  # ScriptFinishedStatus names, in order
        page.on("websocket", self._attach)

    def _attach(self, ws: Any) -> None:
        if "/_stcore/stream" in ws.url:
            ws.on("framesent", self._sent)
            ws.on("framereceived", self._received)

    def _sent(self, payload: bytes | str) -> None:
        from streamlit.proto.BackMsg_pb2 import BackMsg

        if isinstance(payload, str):
            return
        msg = BackMsg()
        msg.ParseFromString(payload)
        if msg.WhichOneof("type") == "rerun_script":
            self.reruns.append(msg.rerun_script.fragment_id)

    def _received(self, payload: bytes | str) -> None:
        from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

        if isinstance(payload, str):
            return
        msg = ForwardMsg()
        msg.ParseFromString(payload)
        if msg.WhichOneof("type") == "script_finished":
            self.finished.append(ForwardMsg.ScriptFinishedStatus.Name(msg.script_finished))

    def mark(self) -> tuple[int, int]:
        return len(self.reruns), len(self.finished)

    def since(self, mark: tuple[int, int]) -> tuple[list[str], list[str]]:
        return self.reruns[mark[0]:], self.finished[mark[1]:]


APP_PAGES = ["", "random_walks", "vector_field", "sampling", "pictures", "guidance", "prompts",
             "train"]


def nav_paths(page: Page) -> list[str]:
    """URL paths of the sidebar's page links ("" = Home)."""
    return page.evaluate(
        """() => Array.from(document.querySelectorAll('[data-testid=stSidebarNav] a'))
                 .map(a => new URL(a.href).pathname.replace(/^\\//, ''))""")


def app_navigation_problem(page: Page) -> str | None:
    """None if app.py's st.navigation drew the menu; else what is wrong. (Streamlit's
    legacy pages/ mode runs a page file without app.py: no page config, no model
    sidebar, and every file in pages/ listed, shared.py included.)"""
    paths = nav_paths(page)
    if paths != APP_PAGES:
        return (f"the sidebar lists {paths}, not app.py's pages {APP_PAGES}: the page ran "
                "in Streamlit's legacy pages/ directory mode, without app.py")
    return None
