"""Real-browser fixtures: one live `streamlit run app.py` per session, Debian's chromium.

pytest-playwright 0.10 provides browser/context/page; we override its
browser_type_launch_args (chromium path and flags) and base_url (our live server), so
`page.goto("/vector_field?t=50")` works. Without /usr/bin/chromium the tests skip, unless
REQUIRE_BROWSER=1 (set by .ci/run), in which case they fail.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from appserver import CHROMIUM, CHROMIUM_ARGS, REPO, AppServer
from browser_helpers import open_page


@pytest.fixture(scope="session")
def chromium_path() -> str:
    if CHROMIUM.exists():
        return str(CHROMIUM)
    reason = (f"{CHROMIUM} not found: install Debian's chromium (apt-get install chromium) "
              "to run the browser tests")
    if os.environ.get("REQUIRE_BROWSER") == "1":
        pytest.fail(f"REQUIRE_BROWSER=1 but {reason}", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict[str, Any],
                             chromium_path: str) -> dict[str, Any]:
    return {**browser_type_launch_args, "executable_path": chromium_path,
            "args": CHROMIUM_ARGS}


@pytest.fixture(scope="session")
def app_server(browser: Any) -> Iterator[AppServer]:
    """The app on a free loopback port for the whole session; always stopped after.

    Opened once at "/" before any test: until app.py has run once, Streamlit serves a
    deep link in its legacy pages/ mode (test_browser_fresh_server.py checks that case on a
    server of its own), and these tests must not depend on which one runs first.
    """
    server = AppServer()
    try:
        server.start()
        server.wait_healthy()
        warm_up(browser, server.url)
        yield server
    finally:
        server.stop()


def warm_up(browser: Any, url: str) -> None:
    context = browser.new_context()
    try:
        open_page(context.new_page(), url + "/")
    finally:
        context.close()


@pytest.fixture(scope="session")
def base_url(app_server: AppServer) -> str:
    return app_server.url


@pytest.fixture(scope="session")
def screenshot_dir() -> Path:
    folder = Path(os.environ.get("SCREENSHOT_DIR", REPO / "artifacts" / "screenshots"))
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture
def page(page: Any) -> Any:
    """pytest-playwright's page, with generous timeouts: the first visit of a page loads
    its model and fills the caches on a shared 2-core machine."""
    page.set_default_timeout(60_000)
    return page
