"""Animation downloads in a real browser: on each page with an animation, choose the
format, click Make, watch the progress bar, and a file of that format arrives with the
expected number of frames."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from browser_helpers import open_page, problems, wait_idle
from PIL import Image
from playwright.sync_api import Page, expect

pytestmark = pytest.mark.browser


def frames_in(data: bytes, suffix: str) -> int:
    if suffix == "gif":
        return Image.open(io.BytesIO(data)).n_frames
    import av

    with av.open(io.BytesIO(data)) as container:
        return sum(1 for _ in container.decode(video=0))


@pytest.mark.parametrize("url, key, fmt, frames", [
    ("/guidance?n=250", "guidance_animation", "mp4", 41),
    ("/random_walks?walks=2", "walks_animation", "gif", 201),
    ("/sampling?steps=20&n=250", "sampling_gif", "mp4", 21),
])
def test_an_animation_downloads(page: Page, url: str, key: str, fmt: str, frames: int,
                                screenshot_dir: Path, tmp_path: Path) -> None:
    open_page(page, url)
    page.locator(f".st-key-{key}_format").get_by_text(fmt.upper()).click()
    wait_idle(page)
    page.locator(f".st-key-{key}_make button").click()
    if frames > 100:  # long enough (seconds) to see the progress bar on the way
        bar = page.locator("[data-testid=stProgress]")
        expect(bar).to_be_visible(timeout=30_000)
        page.screenshot(path=screenshot_dir / f"export-{key}-progress.png",
                        clip=_around(page, bar.bounding_box()))
    download_button = page.locator(f".st-key-{key}_download button")
    expect(download_button).to_be_visible(timeout=120_000)
    expect(download_button).to_contain_text(f"Download the {fmt.upper()}")
    assert not problems(page), problems(page)
    download_button.scroll_into_view_if_needed()
    page.screenshot(path=screenshot_dir / f"export-{key}-{fmt}.png",
                    clip=_around(page, page.locator(f".st-key-{key}_download").bounding_box()))
    with page.expect_download() as arrived:
        download_button.click()
    path = tmp_path / arrived.value.suggested_filename
    arrived.value.save_as(path)
    assert path.suffix == f".{fmt}"
    assert frames_in(path.read_bytes(), fmt) == frames


def _around(page: Page, box: dict | None) -> dict:
    """The page's width, from 250 px above `box` to 20 px below it."""
    assert box is not None
    top = max(0.0, box["y"] - 250)
    return {"x": 0, "y": top, "width": page.viewport_size["width"],
            "height": box["y"] + box["height"] + 20 - top}
