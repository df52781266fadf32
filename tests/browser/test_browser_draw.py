"""Drawing your own data on the Train page, in a real browser: mouse drags draw an L on the
drawing plane without rerunning the script, "Use these points" makes it "your data", a
short training learns it, and the Sampling page's samples follow the L. Too few points
get the CSV's one-line message; the drawing is still there after a visit to another page."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
from browser_helpers import open_page, problems, screenshot_full, wait_charts, wait_idle
from playwright.sync_api import ElementHandle, Page, WebSocket, expect

pytestmark = pytest.mark.browser

# The smallest network, and 300 steps: 100 (the page's least) leave about half the
# samples off a thin drawn line, 300 put nearly all of them on it.
DRAW = ("/train?train_dataset=your+data&train_budget=steps&train_steps=300"
        "&train_hidden=64&train_depth=2")
# The L: down the left side of the plane, then along the bottom (data coordinates).
L_PATH = [(-1.0, 1.0), (-1.0, -1.0), (1.0, -1.0)]

# x, y of a Plotly chart's traces called `name` as plain lists (_fullData: the arrays as
# Plotly decoded them; gd.data may still hold the base64 typed-array specs).
TRACE_XY_JS = """([gd, name]) => gd._fullData.filter(t => t.name === name)
  .map(t => [Array.from(t.x), Array.from(t.y)])"""


def count_messages_to_server(page: Page) -> list[int]:
    """[messages the page has sent to the server over its websocket]: each rerun of the
    script (a click, a widget's new value) is one. Call before the page is opened."""
    sent = [0]

    def watch(ws: WebSocket) -> None:
        ws.on("framesent", lambda _: sent.__setitem__(0, sent[0] + 1))

    page.on("websocket", watch)
    return sent


def plane_frame(page: Page) -> ElementHandle:
    frame = page.wait_for_selector("iframe[title$=draw_points]")
    frame.scroll_into_view_if_needed()
    page.wait_for_function("f => f.contentWindow.drawState && f.contentWindow.drawState.plane",
                           arg=frame)
    return frame


def drag(page: Page, frame: ElementHandle, path: list[tuple[float, float]],
         moves: int = 15) -> None:
    """Press the mouse at the path's first point and move it along the path, in data
    coordinates of the drawing plane."""
    inner = frame.content_frame()
    plane = inner.evaluate("() => window.drawState.plane")
    canvas = inner.locator("#plane").bounding_box()
    e = plane["extent"]

    def px(x: float, y: float) -> tuple[float, float]:
        return (canvas["x"] + plane["left"] + (x + e) / (2 * e) * plane["side"],
                canvas["y"] + plane["top"] + (e - y) / (2 * e) * plane["side"])

    page.mouse.move(*px(*path[0]))
    page.mouse.down()
    for (x0, y0), (x1, y1) in zip(path[:-1], path[1:], strict=True):
        for i in range(1, moves + 1):
            page.mouse.move(*px(x0 + (x1 - x0) * i / moves, y0 + (y1 - y0) * i / moves))
    page.mouse.up()


def chart_traces(page: Page, key: str, name: str) -> list[np.ndarray]:
    """x, y of the traces named `name` in the chart component keyed `key`."""
    frame = page.wait_for_selector(f".st-key-{key} iframe").content_frame()
    gd = frame.wait_for_selector(".js-plotly-plot")
    return [np.stack([np.array(x), np.array(y)], 1)
            for x, y in frame.evaluate(TRACE_XY_JS, [gd, name])]


def test_drawn_l_is_learned_and_sampled(page: Page, screenshot_dir: Path) -> None:
    page.set_viewport_size({"width": 1280, "height": 900})
    sent = count_messages_to_server(page)
    open_page(page, DRAW)
    frame = plane_frame(page)
    inner = frame.content_frame()
    assert page.locator(".st-key-train_go button").is_disabled()  # nothing to train on yet

    # Too few points: the same one line as a CSV file of too few, and nothing changes.
    for x in (0.2, 0.4, 0.6):
        drag(page, frame, [(x, 0.5)])  # clicks
    inner.locator("button#use").click()
    error = page.locator("[data-testid=stAlertContentError]")
    expect(error).to_contain_text("has 3 points; at least 20 are needed", timeout=60_000)
    expect(error).to_contain_text("Nothing was changed")
    wait_idle(page)
    assert page.locator(".st-key-train_go button").is_disabled()
    screenshot_full(page, screenshot_dir / "draw-0-too-few.png")
    inner.locator("button#clear").click()

    before = sent[0]
    drag(page, frame, L_PATH)
    drag(page, frame, [(0.9, 0.3), (0.9, 0.3)])  # a click: one point, the same class
    drawn = inner.evaluate("() => window.drawState.points")
    # A point every 1% of the plane's width (4 units) along the L's 4 units, and the click.
    assert 80 <= drawn <= 130, drawn
    expect(inner.locator("#count")).to_have_text(f"{drawn} points")
    inner.locator("button#undo").click()  # the click's point goes again
    assert inner.evaluate("() => window.drawState.points") == drawn - 1
    drawn -= 1
    assert sent[0] == before, "drawing sent messages to the server"
    screenshot_full(page, screenshot_dir / "draw-1-drawn.png")

    inner.locator("button#use").click()
    main = page.locator("[data-testid=stMain]")
    expect(main).to_contain_text(f"Your drawing: {drawn} points, one class", timeout=60_000)
    wait_idle(page)
    assert sent[0] > before  # "Use these points" did
    assert not problems(page), problems(page)
    data = chart_traces(page, "train_own_preview", "points")[0]
    assert len(data) == drawn
    # Scaled into the view like the built-in sets: centred, the longer side -1.4..1.4.
    assert np.allclose(data.min(0), [-1.4, -1.4], atol=0.05)
    assert np.allclose(data.max(0), [1.4, 1.4], atol=0.05)

    page.locator(".st-key-train_go button").click()
    expect(page.locator(".st-key-train_download")).to_be_visible(timeout=300_000)
    wait_idle(page)
    wait_charts(page)
    assert not problems(page), problems(page)
    screenshot_full(page, screenshot_dir / "draw-2-trained.png")

    # Inside the app (a new page load would start a session without the model).
    page.locator("[data-testid=stSidebarNav] a[href$='/sampling']").click()
    page.wait_for_url("**/sampling**")
    wait_idle(page, 120_000)
    wait_charts(page, 120_000)
    assert not problems(page), problems(page)
    expect(page.locator("[data-testid=stSidebar]")).to_contain_text("Your model")
    # DDPM alone: its panel's view fits its own samples (side by side, one far-flung DDIM
    # sample of a briefly trained model can widen every panel's view).
    page.locator("[data-testid=stMain] label").filter(has_text="DDPM (noise injected)").click()
    wait_idle(page, 120_000)
    wait_charts(page, 120_000)
    assert not problems(page), problems(page)
    screenshot_full(page, screenshot_dir / "draw-3-sampling.png")

    ddpm = chart_traces(page, "chart_sampling", "samples")[0]
    assert len(ddpm) >= 500
    nearest = np.sqrt(((ddpm[:, None, :] - data[None, :, :]) ** 2).sum(-1)).min(1)
    # On the L: most samples lie by a drawn point; the L's empty corner (top right) stays
    # empty, where a blob of the same size would put about a quarter of them.
    assert np.mean(nearest < 0.2) > 0.7, np.mean(nearest < 0.2)
    assert np.mean((ddpm[:, 0] > 0) & (ddpm[:, 1] > 0)) < 0.05
    # Both arms: samples reach the far end of each.
    assert np.mean((ddpm[:, 1] > 0.9) & (ddpm[:, 0] < -0.9)) > 0.02
    assert np.mean((ddpm[:, 0] > 0.9) & (ddpm[:, 1] < -0.9)) > 0.02
    # The number the page prints for the DDPM samples says the same.
    text = page.locator("[data-testid=stMain]").inner_text()
    distance = float(re.search(r"Distance to data\s+([0-9.]+)", text).group(1))
    assert distance < 0.1, distance

    # Back on the Train page, the plane still holds the drawing (kept in the tab),
    # and the preview the drawing that was used.
    page.locator("[data-testid=stSidebarNav] a[href*='/train']").click()
    page.wait_for_url("**/train**")
    wait_idle(page, 120_000)
    # (The page's dataset starts from the sidebar's again, as for a CSV file.)
    page.locator(".st-key-train_dataset [role=combobox]").click()
    page.get_by_role("option", name="your data").click()
    wait_idle(page, 120_000)
    inner = plane_frame(page).content_frame()
    page.wait_for_function("n => document.querySelector('iframe[title$=draw_points]')"
                           ".contentWindow.drawState.points === n", arg=drawn)
    expect(inner.locator("#count")).to_have_text(f"{drawn} points")
    expect(main).to_contain_text(f"Your drawing: {drawn} points, one class")
