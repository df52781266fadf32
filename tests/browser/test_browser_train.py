"""The Train page in a real browser: a short training (the smallest budget) finishes and
its model then drives another page of the same session; a bad upload shows an error."""

from __future__ import annotations

import os

import pytest
from browser_helpers import ERROR, chart_names, open_page, problems, wait_charts, wait_idle
from playwright.sync_api import Page, expect

pytestmark = pytest.mark.browser

# The smallest budget the page offers: 100 optimiser steps (about a second of CPU).
SMALLEST = "/train?train_budget=steps&train_steps=100&train_hidden=64&train_depth=2"


def test_short_training_finishes_and_drives_other_pages(page: Page) -> None:
    open_page(page, SMALLEST)
    assert not problems(page)
    page.locator(".st-key-train_go button").click()
    # Done: the result section with the finished model's samples and a download button.
    expect(page.locator(".st-key-train_download")).to_be_visible(timeout=120_000)
    wait_idle(page)
    wait_charts(page)
    assert not problems(page), problems(page)
    assert page.locator(".st-key-train_samples iframe").count() == 1  # the chart component
    names = chart_names(page)
    assert len(names) >= 2 and all(len(name) >= 20 for name in names), (
        f"the loss curve and the samples need alt text (accessible names): {names}")
    metric = page.locator("[data-testid=stMetricValue]").first.inner_text()
    assert metric.endswith("x the floor"), metric

    # Navigate inside the app (a new page load would start a new session without the model).
    page.locator("[data-testid=stSidebarNav] a[href$='/vector_field']").click()
    page.wait_for_url("**/vector_field**")
    wait_idle(page)
    wait_charts(page)
    sidebar = page.locator("[data-testid=stSidebar]")
    expect(sidebar).to_contain_text("Your model")
    assert not problems(page), problems(page)


def test_bad_upload_shows_an_error_and_changes_nothing(page: Page) -> None:
    open_page(page, "/train")
    page.get_by_text("Load a checkpoint").click()
    page.locator("[data-testid=stFileUploaderDropzoneInput]").set_input_files(
        files=[{"name": "broken.pt", "mimeType": "application/octet-stream",
                "buffer": os.urandom(4096)}])
    error = page.locator(ERROR)
    expect(error).to_be_visible(timeout=60_000)
    expect(error).to_contain_text("Nothing was changed")
    wait_idle(page)
    assert page.locator("[data-testid=stException]").count() == 0
    # No model was made from it: the result section and the "Using" switch stay absent.
    assert page.locator(".st-key-train_download").count() == 0
    expect(page.locator("[data-testid=stSidebar]")).not_to_contain_text("Your model")


def test_a_reload_keeps_the_trained_model_and_a_gone_link_says_so(page: Page) -> None:
    """AppTest does not sync the URL: only a browser shows that the address after a
    training is a link back to the model, on a reload and on another page."""
    open_page(page, SMALLEST)
    page.locator(".st-key-train_go button").click()
    expect(page.locator(".st-key-train_download")).to_be_visible(timeout=120_000)
    wait_idle(page)
    assert "model=" in page.url, page.url
    described = page.locator("[data-testid=stSidebar]").inner_text()

    page.reload()
    expect(page.locator(".st-key-train_download")).to_be_visible(timeout=60_000)
    wait_idle(page)
    wait_charts(page)
    assert not problems(page), problems(page)
    sidebar = page.locator("[data-testid=stSidebar]")
    assert sidebar.inner_text() == described  # the same model, "Using: your model"
    expect(page.locator("[data-testid=stMain]")).to_contain_text("keeps your model for")
    with page.expect_download() as download:
        page.locator(".st-key-train_download button").click()
    assert download.value.suggested_filename.endswith("100steps.pt")

    # The same link on a server that does not have the model (here: a token never made).
    gone = page.url.split("model=")[0] + "model=" + "A" * 22
    open_page(page, gone)
    expect(page.locator("[data-testid=stMain]")).to_contain_text(
        "This link's model is no longer on this server")
    assert page.locator(".st-key-train_download").count() == 0
    assert "model=" not in page.url
