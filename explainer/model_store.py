"""Students' models kept on the server for a while, behind links nobody can guess.

A student's model lives in their browser session, which a reload ends. So each model is
also kept here under a random token that goes into the page's URL (?model=<token>): a
reload of that link, on the same server, brings it back. Memory is bounded: at most
`max_entries` models and `max_bytes` bytes (the least recently used go first), and a
model not used for `keep_seconds` is dropped. Plain threading, no streamlit: one store
serves every session of the server process.
"""

from __future__ import annotations

import re
import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from explainer import checkpoints
from explainer.trained import TrainedModel

KEEP_SECONDS = 2 * 3600  # after the last use; what the page promises
MAX_ENTRIES = 500  # a school's worth of trainings (~0.2 MB each)
MAX_BYTES = 128 * 2**20  # 500 models of ~0.2 MB fit; a crafted one cannot fill memory
TOKEN_BYTES = 16  # 128 random bits: not guessable, 22 URL-safe characters
TOKEN_PATTERN = re.compile(r"[A-Za-z0-9_-]{22}")


def new_token() -> str:
    return secrets.token_urlsafe(TOKEN_BYTES)


def is_token(text: object) -> bool:
    """True for a string shaped like a token this module makes (URL input is untrusted)."""
    return isinstance(text, str) and TOKEN_PATTERN.fullmatch(text) is not None


def keep_time_text(seconds: float = KEEP_SECONDS) -> str:
    """"2 hours", "90 minutes": how long a model is kept, for the page's sentences."""
    hours = seconds / 3600
    if hours >= 1 and hours.is_integer():
        return "1 hour" if hours == 1 else f"{hours:.0f} hours"
    return f"{seconds / 60:.0f} minutes"


@dataclass(frozen=True, eq=False)
class KeptModel:
    """What the Train page shows of a model, in a form that cannot be mutated and whose
    size is known: the checkpoint file, its DDPM samples, the training loss curve (None
    for an uploaded model) and one line on how it came to be."""

    checkpoint: bytes
    samples: np.ndarray  # float32 (n, 2)
    losses: np.ndarray | None  # float32, one per step
    how: str

    @classmethod
    def of(cls, model: TrainedModel, samples: np.ndarray,
           losses: list[float] | np.ndarray | None, how: str) -> KeptModel:
        def frozen(values: list[float] | np.ndarray) -> np.ndarray:
            array = np.array(values, dtype=np.float32)
            array.flags.writeable = False
            return array

        return cls(checkpoints.to_bytes(model), frozen(samples),
                   None if losses is None else frozen(losses), how)

    @property
    def nbytes(self) -> int:
        losses = 0 if self.losses is None else self.losses.nbytes
        return len(self.checkpoint) + self.samples.nbytes + losses + len(self.how)

    def model(self) -> TrainedModel:
        """A fresh TrainedModel from the checkpoint (checkpoints.CheckpointError if bad)."""
        return checkpoints.load(self.checkpoint, name="the kept model")


@dataclass
class _Entry:
    kept: KeptModel
    last_used: float


class ModelStore:
    """Tokens -> KeptModel, least recently used out, expiring `keep_seconds` after the
    last `get` or `keep`. Safe to use from many threads."""

    def __init__(self, keep_seconds: float = KEEP_SECONDS, max_entries: int = MAX_ENTRIES,
                 max_bytes: int = MAX_BYTES, clock: Callable[[], float] = time.monotonic):
        if keep_seconds <= 0 or max_entries < 1 or max_bytes < 1:
            raise ValueError("a model store needs a positive time, count and size")
        self.keep_seconds, self.max_entries, self.max_bytes = keep_seconds, max_entries, max_bytes
        self.clock = clock
        self._entries: OrderedDict[str, _Entry] = OrderedDict()  # oldest use first
        self._bytes = 0
        self._lock = threading.Lock()

    def put(self, kept: KeptModel) -> str:
        """Keep `kept` under a new token, and return the token."""
        token = new_token()
        self.keep(token, kept)
        return token

    def keep(self, token: str, kept: KeptModel) -> None:
        """Keep `kept` under `token` (again), as just used. ValueError if the token is
        malformed or the model alone exceeds the store's size."""
        if not is_token(token):
            raise ValueError("not a model token")
        if kept.nbytes > self.max_bytes:
            raise ValueError(f"a model of {kept.nbytes:,} bytes exceeds the store's "
                             f"{self.max_bytes:,}")
        with self._lock:
            self._drop(token)
            self._entries[token] = _Entry(kept, self.clock())
            self._bytes += kept.nbytes
            self._shrink()

    def get(self, token: object) -> KeptModel | None:
        """The model kept under `token` (now counted as used), or None: unknown token,
        malformed, expired or pushed out by newer models."""
        if not is_token(token):
            return None
        with self._lock:
            self._expire()
            entry = self._entries.get(token)  # type: ignore[arg-type]
            if entry is None:
                return None
            entry.last_used = self.clock()
            self._entries.move_to_end(token)  # type: ignore[arg-type]
            return entry.kept

    def __len__(self) -> int:
        with self._lock:
            self._expire()
            return len(self._entries)

    @property
    def nbytes(self) -> int:
        with self._lock:
            self._expire()
            return self._bytes

    def _drop(self, token: str) -> None:
        entry = self._entries.pop(token, None)
        if entry is not None:
            self._bytes -= entry.kept.nbytes

    def _expire(self) -> None:
        limit = self.clock() - self.keep_seconds
        while self._entries:
            token, entry = next(iter(self._entries.items()))
            if entry.last_used > limit:
                break  # in order of use: the rest are younger
            self._drop(token)

    def _shrink(self) -> None:
        self._expire()
        while len(self._entries) > self.max_entries or self._bytes > self.max_bytes:
            self._drop(next(iter(self._entries)))


_server_store: ModelStore | None = None
_server_lock = threading.Lock()


def server_store() -> ModelStore:
    """The one ModelStore of this process (made on first use)."""
    global _server_store
    with _server_lock:
        if _server_store is None:
            _server_store = ModelStore()
        return _server_store
