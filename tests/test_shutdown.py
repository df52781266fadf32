"""Stopping the server (Ctrl-C's SIGINT, a service manager's SIGTERM) ends it with status
0 within 5 s at any moment, printing nothing that looks like a crash: also while the
sampling page's caches are being warmed in the background, a student trains, or a page
computes (before explainer/shutdown.py, these aborted with "terminate called without an
active exception", status -6).

Each case starts its own `streamlit run app.py` with the warming on (the rest of the
suite turns it off, tests/conftest.py), brings it to the moment, checks the server is
busy computing then (its CPU time grows), and sends the signal.
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Callable

import psutil
import pytest
from live_server import AppServer, StreamlitSession, send_click, send_open

from pages.sampling_views import WARM_DELAY_S

STOP_WITHIN = 5.0  # seconds from the signal to the process's end
CRASH_SIGNS = ("terminate called", "Traceback", "Aborted", "core dumped",
               "Segmentation fault", "Exception")


def no_visitor(server: AppServer) -> StreamlitSession | None:
    return None  # healthy, nobody has opened a page: nothing computes


def warming(after: float) -> Callable[[AppServer], StreamlitSession]:
    """The first visitor's run is over and the warmer thread has been at it `after` s."""
    def moment(server: AppServer) -> StreamlitSession:
        session = StreamlitSession(server.url)
        session.open_page("")  # Home: app.py starts the warming after the page
        time.sleep(WARM_DELAY_S + after)
        return session
    return moment


def training(server: AppServer) -> StreamlitSession:
    session = StreamlitSession(server.url)
    session.open_page("train", "train_seconds=60&train_hidden=64&train_depth=2")
    send_click(session, "train_go")
    time.sleep(1.5)
    return session


def page_computing(server: AppServer) -> StreamlitSession:
    """A page whose views nobody has made yet, still in its first run."""
    session = StreamlitSession(server.url)
    send_open(session, "sampling", "dataset=moons&process=random_walk")
    time.sleep(1.0)
    return session


CASES = {
    "SIGTERM, no visitor yet": (signal.SIGTERM, no_visitor, False),
    # The abort needed the warmer inside a torch call at that instant: several moments.
    **{f"{sig.name}, warming +{after} s": (sig, warming(after), True)
       for sig, after in ((signal.SIGINT, 0.3), (signal.SIGINT, 1.0), (signal.SIGINT, 1.7),
                          (signal.SIGINT, 2.4), (signal.SIGTERM, 0.6), (signal.SIGTERM, 2.0))},
    "SIGINT, training": (signal.SIGINT, training, True),
    "SIGTERM, a page computing": (signal.SIGTERM, page_computing, True),
}


def cpu_seconds(process: psutil.Process) -> float:
    times = process.cpu_times()
    return times.user + times.system


@pytest.mark.slow
@pytest.mark.parametrize("case", list(CASES))
def test_signal_stops_the_server_cleanly(case: str, monkeypatch: pytest.MonkeyPatch) -> None:
    sig, reach, busy = CASES[case]
    monkeypatch.setenv("EXPLAINER_WARM_CACHES", "1")  # the server inherits it
    server = AppServer()
    session = None
    try:
        server.start()
        server.wait_healthy()
        session = reach(server)
        process = psutil.Process(server.process.pid)
        before = cpu_seconds(process)
        time.sleep(0.5)
        used = cpu_seconds(process) - before
        if busy:  # the moment under test: the server is computing
            assert used > 0.05, f"{case}: the server was idle ({used:.2f} s CPU in 0.5 s)"
        os.kill(server.process.pid, sig)
        sent = time.monotonic()
        status = server.process.wait(timeout=30)
        took = time.monotonic() - sent
    finally:
        if session is not None:
            session.close()
        server.stop()
    log = server.log()
    assert status == 0, f"{case}: exit status {status}\n{log}"
    assert took < STOP_WITHIN, f"{case}: took {took:.1f} s to stop\n{log}"
    crash = [sign for sign in CRASH_SIGNS if sign in log]
    assert not crash, f"{case}: {crash} in the output\n{log}"
    assert "Stopping..." in log  # Streamlit's own words: it did stop, not die
