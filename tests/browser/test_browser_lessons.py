"""The shipped lesson in a real browser: started from Home, stepped through with the
Next / Previous buttons and the PageDown / PageUp keys, each step on its page with its
settings; a teacher's file uploaded on Home, and one given to the server at start.
Screenshots of three steps go to $SCREENSHOT_DIR."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from appserver import AppServer
from browser_helpers import open_page, problems, slider_value, wait_idle
from playwright.sync_api import Page

from explainer import lessons

pytestmark = pytest.mark.browser
SEED = lessons.shipped()["seed"]
BAR = "[data-testid=stMain] .st-key-lesson_bar"
SCREENSHOTS = {1, 4, 11}


def wait_step(page: Page, k: int) -> None:
    """Wait until the bar shows step k and the page has finished its run."""
    page.wait_for_function(
        "k => { const bar = document.querySelector('.st-key-lesson_bar');"
        " return bar && bar.innerText.includes('Step ' + k + ' of '); }", arg=k,
        timeout=90_000)
    wait_idle(page, 90_000)


def assert_on_step(page: Page, k: int) -> None:
    """The bar says step k with its narration, the address is step k's page and link,
    and one of its settings shows in the page's own control."""
    step = SEED.steps[k - 1]
    assert step.narration in page.locator(BAR).inner_text()
    url = urlsplit(page.url)
    query = {key: values[-1] for key, values in parse_qs(url.query).items()}
    assert url.path.rstrip("/").rsplit("/", 1)[-1] == step.page
    assert query["lesson"] == "seed" and query["step"] == str(k)
    setting = next(name for name in ("t", "w", "sampler") if name in step.settings)
    if setting == "sampler":  # a radio: the checked option's label
        checked = page.locator("[data-testid=stMain] .st-key-sampler input:checked")
        assert checked.count() == 1 and query["sampler"] == step.settings["sampler"]
    else:
        assert slider_value(page, setting) == step.settings[setting]
    assert not problems(page), problems(page)


def test_step_through_the_shipped_lesson_with_buttons_and_keys(
        page: Page, base_url: str, screenshot_dir: Path) -> None:
    page.set_viewport_size({"width": 1280, "height": 900})
    open_page(page, base_url + "/")
    page.get_by_text(f"{SEED.title} ({len(SEED.steps)} steps)").scroll_into_view_if_needed()
    page.locator(".st-key-lesson_start_seed button").click()
    for k in range(1, len(SEED.steps) + 1):
        wait_step(page, k)
        assert_on_step(page, k)
        if k in SCREENSHOTS:
            page.screenshot(path=str(screenshot_dir / f"lesson_step_{k}.png"))
        if k == len(SEED.steps):
            break
        if k % 2:  # odd steps: the button; even steps: the clicker's key
            page.locator(".st-key-lesson_next button").click()
        else:
            page.locator("[data-testid=stMain] h1").first.click()  # focus on the page
            page.keyboard.press("PageDown")
    page.keyboard.press("PageUp")
    wait_step(page, len(SEED.steps) - 1)
    assert_on_step(page, len(SEED.steps) - 1)
    page.locator(".st-key-lesson_previous button").click()
    wait_step(page, len(SEED.steps) - 2)
    assert_on_step(page, len(SEED.steps) - 2)
    page.locator(".st-key-lesson_exit button").click()
    page.wait_for_function("() => !document.querySelector('.st-key-lesson_bar')")
    assert "lesson=" not in page.url


def test_a_step_link_opens_the_step_in_a_new_browser(page: Page, base_url: str) -> None:
    open_page(page, f"{base_url}/{SEED.url(5)}")
    wait_step(page, 5)
    assert_on_step(page, 5)
    page.locator(BAR).get_by_text("Link to this step").click()
    shown_link = page.locator("[data-testid=stPopoverBody] [data-testid=stCode]").inner_text()
    shown_link = shown_link.strip()
    assert shown_link == f"{base_url}/{SEED.url(5)}"


def test_a_teachers_upload_on_home(page: Page, base_url: str, tmp_path: Path,
                                   screenshot_dir: Path) -> None:
    open_page(page, base_url + "/")
    page.get_by_text("Your own lesson", exact=True).scroll_into_view_if_needed()
    bad = tmp_path / "bad.toml"
    bad.write_text('title = "Bad"\n[[steps]]\npage = "sampling"\nnarration = "n"\n'
                   '[steps.settings]\nw = "<b>3</b>"\n')
    page.locator("[data-testid=stFileUploaderDropzoneInput]").set_input_files(str(bad))
    page.wait_for_selector("text=This lesson file cannot be used:")
    wait_idle(page)
    assert page.get_by_text("step 1: settings: 'w' is not a setting of page 'sampling'",
                            exact=False).count() == 1
    page.screenshot(path=str(screenshot_dir / "lesson_upload_error.png"), full_page=False)
    good = tmp_path / "good.toml"
    good.write_text('title = "Two fields"\n[[steps]]\npage = "vector_field"\n'
                    'narration = "Large t."\n[steps.settings]\nt = 200\n'
                    '[[steps]]\npage = "vector_field"\nnarration = "Small t."\n'
                    '[steps.settings]\nt = 2\n')
    page.locator("[data-testid=stFileUploaderDropzoneInput]").set_input_files(str(good))
    page.wait_for_selector("text=Two fields (2 steps)")
    wait_idle(page)
    lesson_id = lessons.upload_id(good.read_bytes())
    page.locator(f".st-key-lesson_start_{lesson_id} button").click()
    page.wait_for_function("() => { const bar = document.querySelector('.st-key-lesson_bar');"
                           " return bar && bar.innerText.includes('Large t.'); }")
    wait_idle(page)
    assert slider_value(page, "t") == 200


def test_a_lesson_file_given_to_the_server(browser: object, tmp_path: Path) -> None:
    good, broken = tmp_path / "class-one.toml", tmp_path / "broken.toml"
    good.write_text('title = "Class one"\n[[steps]]\npage = "guidance"\n'
                    'narration = "Guidance at w = 2."\n[steps.settings]\nw = 2.0\n')
    broken.write_text('title = "Broken"\n[[steps]]\npage = "foo"\nnarration = "n"\n')
    server = AppServer(extra_args=["--", "--lesson", str(good), "--lesson", str(broken)])
    context = browser.new_context()
    try:
        server.start()
        server.wait_healthy()
        page = context.new_page()
        page.set_default_timeout(90_000)
        open_page(page, server.url + "/")
        page.get_by_text("Class one (1 steps)").wait_for()
        assert page.get_by_text("A lesson file given to the server could not be used:").count()
        assert page.get_by_text("broken.toml: step 1: page 'foo' is not one of",
                                exact=False).count() == 1
        assert str(tmp_path) not in page.locator("[data-testid=stMain]").inner_text()
        page.locator(".st-key-lesson_start_class-one button").click()
        page.wait_for_function("() => { const b = document.querySelector('.st-key-lesson_bar');"
                               " return b && b.innerText.includes('Guidance at w = 2.'); }")
        wait_idle(page)
        assert slider_value(page, "w") == 2.0
    finally:
        context.close()
        server.stop()
