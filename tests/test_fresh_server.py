"""A class's first clicks on a fresh server: many deep links arriving together, before any
run has gone through app.py's navigation, all draw their page (none fails importing
pages/shared.py while another session is importing it)."""

from __future__ import annotations

import threading
import time

import pytest
from live_server import AppServer, StreamlitSession

pytestmark = pytest.mark.slow

PAGES = ("random_walks", "vector_field", "sampling", "guidance")
STUDENTS = 24


def test_simultaneous_first_visits_all_succeed() -> None:
    results: list[tuple[str, str, list[str]]] = []
    with AppServer() as server:
        sessions = [StreamlitSession(server.url) for _ in range(STUDENTS)]
        for session in sessions:
            session.connect()
        start = threading.Barrier(STUDENTS)

        def visit(i: int, session: StreamlitSession) -> None:
            start.wait()
            time.sleep(i * 0.08)  # arrivals spread over ~2 s, as a class clicking a link
            run = session.open_page(PAGES[i % len(PAGES)])
            results.append((PAGES[i % len(PAGES)], run.status, run.errors))

        threads = [threading.Thread(target=visit, args=(i, s)) for i, s in enumerate(sessions)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=240)
        log = server.log()
    failed = [r for r in results if r[2] or r[1] != "FINISHED_SUCCESSFULLY"]
    assert len(results) == STUDENTS and not failed, failed[:3]
    assert "Traceback" not in log, log[-2000:]
