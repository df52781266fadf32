"""The text-prompt page in a real browser: it opens clean with its charts drawn, a typed
prompt redraws them, an unknown word gets the vocabulary message with the user's text as
plain text (no markup rendered), and the t slider redraws the fields. Screenshots go to
$SCREENSHOT_DIR for a human to look at."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from browser_helpers import (
    chart_names,
    fingerprints,
    open_page,
    press_slider,
    problems,
    screenshot_full,
    wait_changed,
    wait_idle,
)

pytestmark = pytest.mark.browser


def type_into(page: Any, key: str, text: str) -> None:
    box = page.locator(f"[data-testid=stMain] .st-key-{key} input")
    box.fill(text)
    box.press("Enter")


def test_prompt_page(page: Any, base_url: str, screenshot_dir: Path) -> None:
    open_page(page, f"{base_url}/prompts?prompt=inner+left&negative_prompt=top&w=3")
    assert not problems(page), problems(page)
    names = chart_names(page)
    assert len(names) >= 3
    assert any("'inner left'" in name for name in names)
    screenshot_full(page, screenshot_dir / "prompts.png")

    before = fingerprints(page)
    type_into(page, "prompt", "outer bottom right")
    wait_changed(page, before)
    assert any("'outer bottom right'" in name for name in chart_names(page))
    assert "prompt=outer+bottom+right" in page.url or "outer%20bottom%20right" in page.url

    before = fingerprints(page)
    press_slider(page, "t")
    wait_changed(page, before)
    assert not problems(page)

    type_into(page, "prompt", "outer <b>bold</b> **tpo**")
    wait_idle(page)
    error = page.locator("[data-testid=stAlertContentError]").inner_text()
    assert "vocabulary is: inner, middle, outer, top, bottom, left, right" in error
    plain = page.locator("[data-testid=stText]").inner_text()
    assert plain == "Unknown: <b>bold</b>, **tpo**"
    assert page.locator("[data-testid=stMain] b, [data-testid=stMain] strong").filter(
        has_text="bold").count() == 0
    screenshot_full(page, screenshot_dir / "prompts-unknown-word.png")
