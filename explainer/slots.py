"""At most N trainings at once in one server process, first come first served.

Training is the one CPU-heavy thing a visitor can start. On a small classroom server
(2 cores, 30-60 students) every training beyond one per core slows everyone's sliders, so
the pages take a *slot* before training and give it back after; whoever arrives when all
slots are taken waits in a queue and can see how many trainings are running and how many
people are ahead. Plain threading, no streamlit: Streamlit runs each browser session's
script in its own thread of one process, so one process-wide TrainingSlots is enough.

Holders are expected to give slots back in a ``finally``. As a safety net against a
holder that vanished without doing so (a bug, a killed thread), a ticket that has not
shown a sign of life (``wait`` or ``beat``) for ``stale_after`` seconds is dropped, so a
lost ticket can never block the queue for good.
"""

from __future__ import annotations

import itertools
import os
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

ENV_CAPACITY = "EXPLAINER_TRAINING_SLOTS"


@dataclass(eq=False)
class Ticket:
    """One visitor's place: in the queue, then holding a slot, then done."""

    number: int
    last_seen: float
    holding: bool = False
    done: bool = False


@dataclass(frozen=True)
class SlotStatus:
    capacity: int
    running: int  # slots taken now
    waiting: int  # tickets in the queue
    ahead: int  # queued tickets before the asking one (0 if it holds a slot)


@dataclass(eq=False)
class TrainingSlots:
    capacity: int
    stale_after: float = 30.0
    patience: float = 600.0  # how long a caller should wait in the queue before giving up
    clock: Callable[[], float] = time.monotonic
    _cond: threading.Condition = field(default_factory=threading.Condition, repr=False)
    _queue: deque[Ticket] = field(default_factory=deque, repr=False)
    _holders: list[Ticket] = field(default_factory=list, repr=False)
    _numbers: itertools.count = field(default_factory=itertools.count, repr=False)

    def __post_init__(self) -> None:
        if self.capacity < 1:
            raise ValueError(f"need at least one training slot, got {self.capacity}")

    def join(self) -> Ticket:
        """Take a place at the back of the queue (call ``wait`` to get a slot)."""
        with self._cond:
            ticket = Ticket(next(self._numbers), self.clock())
            self._queue.append(ticket)
            return ticket

    def wait(self, ticket: Ticket, timeout: float) -> bool:
        """Wait up to `timeout` seconds for a slot; True once `ticket` holds one.

        Slots go to the front of the queue first, so nobody waits forever behind
        later arrivals. Short timeouts let the caller update its "waiting" display and
        notice a cancel between calls.
        """
        deadline = self.clock() + timeout
        with self._cond:
            while True:
                ticket.last_seen = self.clock()
                self._drop_stale()
                if ticket.done:
                    raise ValueError("this ticket has left the queue; join again")
                if ticket.holding:
                    return True
                if self._queue[0] is ticket and len(self._holders) < self.capacity:
                    self._queue.popleft()
                    self._holders.append(ticket)
                    ticket.holding = True
                    self._cond.notify_all()  # the next in line may fit too
                    return True
                left = deadline - self.clock()
                if left <= 0:
                    return False
                # Wake at least every second, to drop stale tickets ahead of us.
                self._cond.wait(min(left, 1.0))

    def beat(self, ticket: Ticket) -> None:
        """A sign of life from a slot holder (call it every second or so)."""
        with self._cond:
            ticket.last_seen = self.clock()

    def leave(self, ticket: Ticket) -> None:
        """Give back the slot or leave the queue. Safe to call more than once."""
        with self._cond:
            self._remove(ticket)
            self._cond.notify_all()

    def status(self, ticket: Ticket | None = None) -> SlotStatus:
        with self._cond:
            self._drop_stale()
            ahead = 0
            if ticket is not None and not ticket.holding and ticket in self._queue:
                ahead = self._queue.index(ticket)
            return SlotStatus(self.capacity, len(self._holders), len(self._queue), ahead)

    def _remove(self, ticket: Ticket) -> None:
        if ticket in self._holders:
            self._holders.remove(ticket)
        if ticket in self._queue:
            self._queue.remove(ticket)
        ticket.holding = False
        ticket.done = True

    def _drop_stale(self) -> None:
        limit = self.clock() - self.stale_after
        stale = [t for t in (*self._holders, *self._queue) if t.last_seen < limit]
        for ticket in stale:
            self._remove(ticket)
        if stale:
            self._cond.notify_all()


def default_capacity() -> int:
    """One training per core (at least 1), or what EXPLAINER_TRAINING_SLOTS says."""
    raw = os.environ.get(ENV_CAPACITY)
    if raw:
        try:
            value = int(raw)
        except ValueError:
            raise ValueError(f"{ENV_CAPACITY} must be a whole number, got {raw!r}") from None
        if value < 1:
            raise ValueError(f"{ENV_CAPACITY} must be at least 1, got {value}")
        return value
    return os.cpu_count() or 2


_server_slots: TrainingSlots | None = None
_server_lock = threading.Lock()


def server_slots() -> TrainingSlots:
    """The one TrainingSlots of this process (made on first use)."""
    global _server_slots
    with _server_lock:
        if _server_slots is None:
            _server_slots = TrainingSlots(default_capacity())
        return _server_slots
