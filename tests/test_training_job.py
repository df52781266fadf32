"""explainer/training_job.py: one session's training, stepped by one thread at a time.

The UI runs a new copy of the page for every click while the previous one is still
stepping (Streamlit's fastReruns); these tests play both copies with real threads.
"""

from __future__ import annotations

import threading
import time

import pytest

from explainer.train_config import TrainConfig
from explainer.training_job import NotHeldError, TrainingJob


def job(steps: int = 40) -> TrainingJob:
    return TrainingJob.start(TrainConfig(steps=steps, hidden=16, depth=1, batch=64),
                             f"{steps} steps", source="pretrained")


def test_only_the_holder_steps_and_the_steps_run_to_the_budget() -> None:
    j = job(40)
    with pytest.raises(NotHeldError):
        j.advance()
    with pytest.raises(NotHeldError):
        j.model()
    with j.held(0) as mine:
        assert mine
        seen = []
        while (stats := j.advance()) is not None:
            seen.append(stats.step)
        model = j.model()
    assert seen == list(range(1, 41)) and j.last.step == 40
    assert model.steps_trained == 40
    assert not j.is_held


def test_a_second_thread_waits_for_the_holder_then_resumes_the_same_training() -> None:
    """Two copies of the page, as two clicks within a second make: the second one cannot
    step while the first is mid-step ("generator already executing" before), and takes
    over where the first let go."""
    j = job(60)
    first_stepping, let_go = threading.Event(), threading.Event()
    errors: list[BaseException] = []

    def first_copy() -> None:
        try:
            with j.held(1) as mine:
                assert mine
                for _ in range(20):
                    j.advance()
                first_stepping.set()
                let_go.wait(5)  # still "inside" its run, as until its next UI call
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    thread = threading.Thread(target=first_copy)
    thread.start()
    assert first_stepping.wait(10)
    assert not j.claim(timeout=0.1)  # the first copy still holds it
    with pytest.raises(NotHeldError):
        j.advance()
    threading.Timer(0.2, let_go.set).start()
    started = time.monotonic()
    with j.held(5) as mine:
        assert mine and time.monotonic() - started >= 0.1
        steps = [s.step for s in iter(j.advance, None)]
    thread.join(5)
    assert not errors, errors
    assert steps == list(range(21, 61))  # resumed, not restarted
    assert j.steps_done == 60


def test_many_threads_claiming_at_once_step_one_at_a_time() -> None:
    j = job(200)
    inside, peak, lock = [0], [0], threading.Lock()
    errors: list[BaseException] = []

    def copy() -> None:
        try:
            for _ in range(10):
                with j.held(10) as mine:
                    assert mine
                    with lock:
                        inside[0] += 1
                        peak[0] = max(peak[0], inside[0])
                    for _ in range(5):
                        j.advance()
                    with lock:
                        inside[0] -= 1
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=copy) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors, errors
    assert peak[0] == 1 and j.steps_done == 200


def test_phases_stop_cancel_and_done() -> None:
    fresh = job()
    assert fresh.phase == "running"
    assert fresh.request_stop() == "cancelled"  # nothing trained yet: Stop cancels
    assert fresh.cancelled and not fresh.stop_requested

    trained = job()
    with trained.held(0):
        trained.advance()
    assert trained.request_stop() == "stopping"
    with trained.held(0):
        trained.close()
    assert trained.phase == "done"
    assert trained.request_stop() == "done"  # a late Stop click changes nothing
    trained.cancel()
    assert trained.phase == "done" and not trained.cancelled
    with pytest.raises(NotHeldError):
        trained.close()  # only the holder ends a job


def test_a_job_held_by_one_thread_cannot_be_stepped_or_closed_by_another() -> None:
    j = job()
    raised: list[type] = []

    def other() -> None:
        for action in (j.advance, j.model, j.close, j.release):
            try:
                action()
            except NotHeldError:
                raised.append(NotHeldError)

    with j.held(0):
        thread = threading.Thread(target=other)
        thread.start()
        thread.join(10)
        assert j.advance() is not None  # the holder still can
    assert raised == [NotHeldError] * 4 and j.phase == "running"


def test_a_thread_cannot_claim_twice_and_progress_text() -> None:
    j = job(40)
    assert j.progress_text() == "Starting: budget 40 steps..."
    with j.held(0):
        with pytest.raises(RuntimeError, match="already holds"):
            j.claim(0)
        j.advance()
    text = j.progress_text()
    assert text.startswith("Step 1 · loss ") and text.endswith("(budget 40 steps)")
