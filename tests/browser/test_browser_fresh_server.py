"""A teacher restarts the server and sends a deep link: the first visitor opens
/vector_field?t=50 before anyone has opened "/". The page must still run through app.py
(page config, model sidebar, the app's own menu), for that visitor and the next ones."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from appserver import AppServer
from browser_helpers import app_navigation_problem, open_page, problems, slider_value

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def fresh_server(chromium_path: str) -> Iterator[AppServer]:
    """A server of its own that no test has opened yet (not warmed up at "/")."""
    with AppServer() as server:
        yield server


def test_deep_link_first_on_a_fresh_server_runs_through_app_py(
        fresh_server: AppServer, new_context: Any) -> None:
    for visitor in ("first", "second"):
        page = new_context().new_page()
        page.set_default_timeout(60_000)
        open_page(page, f"{fresh_server.url}/vector_field?t=50")
        assert not problems(page), problems(page)
        wrong = app_navigation_problem(page)
        assert wrong is None, f"{visitor} visitor: {wrong}"
        sidebar = page.locator("[data-testid=stSidebar]").inner_text()
        assert "Dataset" in sidebar, f"{visitor} visitor: no model sidebar (app.py not run)"
        assert slider_value(page, "t") == 50
