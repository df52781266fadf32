"""One session's training, from the Train click to the finished model, safe against the
UI running its code in several threads at once.

A web UI may run a new copy of its page code for every click while the previous copy is
still busy: Streamlit (runner.fastReruns) starts a new script thread at once and stops
the old one only at its next UI call. Two threads stepping the same training would fail
("generator already executing") or finish the same model twice. So a thread must hold
the job (`claim` / `release`, or `held`) to step it or take its model; the others wait
for it, and find out from `phase` what is left to do when their turn comes.

    running --request_stop--> stopping --close--> done
    running --(budget used up)--close--> done
    running --cancel, or request_stop before the first step--> cancelled --close--> done
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Literal

from explainer.datasets import Dataset
from explainer.train_config import TrainConfig
from explainer.trained import TrainedModel
from explainer.training import Training, TrainStats

Phase = Literal["running", "stopping", "cancelled", "done"]


class NotHeldError(RuntimeError):
    """A thread touched the training without holding the job."""


@dataclass(eq=False)
class TrainingJob:
    """One training in progress: it outlives the page run that started it."""

    training: Training
    budget: str  # "20 s" or "1,000 steps", for the progress text
    source: str | None = None  # what the session used before Train, restored on cancel
    last: TrainStats | None = None  # the latest step's numbers
    stop_requested: bool = False
    cancelled: bool = False
    done: bool = False  # its model was delivered (or there was none): nothing left to do
    draws: int = 0  # live chart updates so far (a UI counter: each needs its own key)
    _steps: Iterator[TrainStats] = field(init=False, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _holder: int | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        self._steps = self.training.run()

    @classmethod
    def start(cls, config: TrainConfig, budget: str, source: str | None = None,
              data: Dataset | None = None) -> TrainingJob:
        """`data`: a user's own points (explainer/user_data.py) instead of config.dataset's."""
        return cls(Training(config, data), budget, source)

    @property
    def phase(self) -> Phase:
        if self.done:
            return "done"
        if self.cancelled:
            return "cancelled"
        return "stopping" if self.stop_requested else "running"

    @property
    def steps_done(self) -> int:
        return self.training.steps_done

    # ------------------------------------------------------------ requests (any thread)

    def request_stop(self) -> Phase:
        """Stop: keep the model trained so far, or cancel if nothing was trained yet."""
        if self.done:
            return "done"
        if self.steps_done == 0:
            self.cancelled = True
        else:
            self.stop_requested = True
        return self.phase

    def cancel(self) -> None:
        if not self.done:
            self.cancelled = True

    # ------------------------------------------------------------ holding the job

    def claim(self, timeout: float) -> bool:
        """Become the one thread that drives this job; False if another still holds it
        after `timeout` seconds (call again: the holder lets go at its next UI call)."""
        if self._holder == threading.get_ident():
            raise RuntimeError("this thread already holds the job")
        if not self._lock.acquire(timeout=timeout):
            return False
        self._holder = threading.get_ident()
        return True

    def release(self) -> None:
        self._check_held()
        self._holder = None
        self._lock.release()

    @contextmanager
    def held(self, timeout: float) -> Iterator[bool]:
        """`with job.held(t) as mine:` mine is True if this thread now holds the job;
        it is released on leaving the block, however the block is left."""
        mine = self.claim(timeout)
        try:
            yield mine
        finally:
            if mine:
                self.release()

    @property
    def is_held(self) -> bool:
        return self._lock.locked()

    # ------------------------------------------------------------ for the holder only

    def advance(self) -> TrainStats | None:
        """One training step; None once the budget is used up."""
        self._check_held()
        stats = next(self._steps, None)
        if stats is not None:
            self.last = stats
        return stats

    def model(self) -> TrainedModel:
        """The EMA model as it is now (after any number of steps)."""
        self._check_held()
        return self.training.model()

    def close(self) -> None:
        """The job is over: its model was delivered, or nothing was trained."""
        self._check_held()
        self.done = True
        self._steps.close()

    def _check_held(self) -> None:
        if self._holder != threading.get_ident():
            raise NotHeldError("claim the job before touching its training")

    # ------------------------------------------------------------ words

    def progress_text(self) -> str:
        s = self.last
        if s is None:
            return f"Starting: budget {self.budget}..."
        return (f"Step {s.step:,} · loss {s.loss:.3f} · {s.elapsed:.1f} s "
                f"(budget {self.budget})")
