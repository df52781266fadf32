"""Chart exports in a real browser: the chart's "PNG for slides" button saves a PNG 1920 px
wide of the frame on screen, named after the page, model and t; the data button beside it
saves a file numpy opens, without rerunning the page. Screenshots of pages with the
buttons go to $SCREENSHOT_DIR for a human to look at."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from browser_helpers import (
    ProtocolLog,
    open_page,
    problems,
    screenshot_full,
    wait_panels_stacked,
)
from PIL import Image
from playwright.sync_api import Page

pytestmark = pytest.mark.browser

SLIDE_WIDTH = 1920


def chart_frame(page: Page, key: str):  # noqa: ANN201 (playwright FrameLocator)
    return page.frame_locator(f".st-key-{key} iframe")


def png_of(page: Page, key: str) -> tuple[str, Image.Image]:
    """Click the chart's PNG button; the download's name and the picture."""
    with page.expect_download(timeout=60_000) as info:
        chart_frame(page, key).locator("#slide-png").click()
    download = info.value
    return download.suggested_filename, Image.open(download.path())


def data_of(page: Page, key: str) -> tuple[str, bytes]:
    with page.expect_download(timeout=60_000) as info:
        # .first: Streamlit 1.67 draws the button twice in its element (one is hidden).
        page.locator(f".st-key-{key}_data button").first.click()
    download = info.value
    return download.suggested_filename, Path(download.path()).read_bytes()


def test_random_walks_chart_png_is_slide_sized_and_data_opens(page: Page,
                                                               screenshot_dir: Path) -> None:
    log = ProtocolLog(page)
    open_page(page, "/random_walks?t=40")
    assert not problems(page)
    mark = log.mark()
    name, picture = png_of(page, "chart_walks")
    assert name == "random_walks-walks-spiral-ddpm-t40.png"
    assert picture.format == "PNG" and picture.width == SLIDE_WIDTH, picture.size
    # Opaque (a slide's background), and more than a blank: the walks and axes are drawn.
    pixels = np.asarray(picture.convert("RGB"))
    assert len(np.unique(pixels.reshape(-1, 3), axis=0)) > 20

    name, raw = data_of(page, "chart_walks")
    assert name == "random_walks-walks-spiral-ddpm-t40.npz"
    with np.load(io.BytesIO(raw)) as npz:  # allow_pickle=False: plain arrays only
        assert npz["trajectories"].shape[0] == 41 and npz["trajectories"].shape[2] == 2
        assert "trajectories" in str(npz["README"])
    name, raw = data_of(page, "chart_data_cloud")
    assert name.endswith(".csv") and raw.decode().startswith("points_x,points_y,label")
    # Neither export reruns the page: the browser asked the server for no run.
    page.wait_for_timeout(500)
    assert log.since(mark)[0] == [] and not problems(page)
    picture.save(screenshot_dir / "exports-slide-random_walks.png")
    screenshot_full(page, screenshot_dir / "exports-random_walks.png")


def test_sampling_animation_png_is_the_frame_on_screen(page: Page,
                                                       screenshot_dir: Path) -> None:
    open_page(page, "/sampling")
    name, picture = png_of(page, "chart_sampling")
    assert picture.width == SLIDE_WIDTH
    # The animation opens on its last frame, t = 0: the file says which frame it is.
    assert name.startswith("sampling-sampling-spiral-ddpm-") and name.endswith("-t0.png"), name
    name, raw = data_of(page, "chart_sampling")
    with np.load(io.BytesIO(raw)) as npz:
        frames = npz["ddpm_samples_xy_frames"]
        assert frames.ndim == 3 and frames.shape[0] == len(npz["frame_names"])
    screenshot_full(page, screenshot_dir / "exports-sampling.png")


def test_a_phone_s_stacked_panels_export_side_by_side(page: Page) -> None:
    """On a phone the sampling chart stacks its panels; the slide is still 1920 px wide
    with the panels side by side (the figure's own height, not the stacked one)."""
    open_page(page, "/sampling")
    _, wide = png_of(page, "chart_sampling")
    page.set_viewport_size({"width": 390, "height": 844})
    wait_panels_stacked(page)
    _, phone = png_of(page, "chart_sampling")
    assert phone.size == wide.size and phone.width == SLIDE_WIDTH


def test_dark_theme_exports_on_the_dark_background(new_context: Any,
                                                   screenshot_dir: Path) -> None:
    context = new_context(color_scheme="dark", viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(60_000)
    open_page(page, "/vector_field")
    _, picture = png_of(page, "chart_learned")
    grey = np.asarray(picture.convert("L"), dtype=float) / 255
    assert picture.width == SLIDE_WIDTH and np.median(grey) < 0.2  # opaque and dark
    assert (grey > 0.6).mean() > 0.001  # light text and arrows on it
    picture.save(screenshot_dir / "exports-slide-vector_field-dark.png")
    screenshot_full(page, screenshot_dir / "exports-vector_field-dark.png")
