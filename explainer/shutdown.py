"""A clean exit while threads compute, instead of "terminate called without an active
exception" and an abort (status -6).

When a server stops (Ctrl-C, SIGTERM), Python finalises the interpreter with its daemon
threads still running. A daemon thread that then takes the GIL back (torch gives it up
inside its operations) is ended with pthread_exit, which inside torch's C++ code calls
std::terminate. So, at exit and before finalising: `STOP` tells our own workers to end
(they check it between steps), and the threads that compute are given up to `grace`
seconds to end. In a server process (`hard_exit`), a thread still computing after that
is cut off by leaving with os._exit(0), without finalising: the web server has already
stopped, and atexit handlers registered before ours are skipped. Elsewhere (a test run,
whose exit status must stand) finalising goes ahead after the grace.
"""

from __future__ import annotations

import atexit
import logging
import os
import sys
import threading
import time

LOG = logging.getLogger(__name__)

STOP = threading.Event()  # set at exit: background workers end between steps
GRACE_SECONDS = 2.0  # the whole stop must fit in the 5 s a service manager is promised


class _Guard:
    """What the exit hook waits for (one per process)."""

    def __init__(self) -> None:
        self.prefixes: set[str] = set()
        self.grace = GRACE_SECONDS
        self.hard_exit = False
        self.installed = False
        self.lock = threading.Lock()


_GUARD = _Guard()


def stopping() -> bool:
    return STOP.is_set()


def guard_exit(thread_prefixes: tuple[str, ...], hard_exit: bool,
               grace: float = GRACE_SECONDS) -> None:
    """At exit, wait up to `grace` seconds for the threads whose names start with one of
    `thread_prefixes` (they compute); then, if `hard_exit`, leave at once with status 0.
    Safe to call many times: the hook is installed once per process (the first call's
    `hard_exit` and `grace` hold) and the prefixes add up."""
    with _GUARD.lock:
        _GUARD.prefixes.update(thread_prefixes)
        if not _GUARD.installed:
            _GUARD.grace, _GUARD.hard_exit = grace, hard_exit
            atexit.register(_at_exit)
            _GUARD.installed = True


def computing_threads() -> list[threading.Thread]:
    """The live threads (other than this one) named with a guarded prefix."""
    with _GUARD.lock:
        prefixes = tuple(_GUARD.prefixes)
    return [t for t in threading.enumerate()
            if t is not threading.current_thread() and t.is_alive()
            and t.name.startswith(prefixes)]


def wait_for_threads(grace: float) -> list[threading.Thread]:
    """Set STOP and join the computing threads until `grace` seconds have passed; the
    threads still alive then."""
    STOP.set()
    deadline = time.monotonic() + grace
    for thread in computing_threads():
        thread.join(max(0.0, deadline - time.monotonic()))
    return computing_threads()


def _at_exit() -> None:
    left = wait_for_threads(_GUARD.grace)
    if not left:
        return  # finalising is safe now
    if not _GUARD.hard_exit:
        return  # (a test run: its exit status matters more than a rare abort)
    LOG.info("Stopping: %d computation(s) still running after %.0f s were cut short.",
             len(left), _GUARD.grace)
    logging.shutdown()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # closed or broken: nothing more to say
            pass
    os._exit(0)
