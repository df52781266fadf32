"""explainer/model_store.py: students' models kept behind unguessable tokens, bounded in
count and bytes (least recently used out), expiring a stated time after the last use
(a fake clock stands in for the hours)."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from explainer import model_store
from explainer.model_store import KeptModel, ModelStore, is_token, keep_time_text
from explainer.trained import TrainedModel


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def kept(n_samples: int = 10, payload: int = 100, how: str = "test") -> KeptModel:
    """A KeptModel of a known size without a real checkpoint (the store never opens it)."""
    return KeptModel(b"x" * payload, np.zeros((n_samples, 2), np.float32), None, how)


def test_tokens_are_random_and_url_safe_and_the_format_is_checked() -> None:
    tokens = {model_store.new_token() for _ in range(1000)}
    assert len(tokens) == 1000
    assert all(is_token(t) for t in tokens)
    for bad in ["", "short", "x" * 21, "x" * 23, "a" * 21 + "!", "[link](https://e.x)",
                "a" * 21 + "\n", None, 12345, "../../etc/passwd"]:
        assert not is_token(bad), bad


def test_put_then_get_returns_the_same_model_and_unknown_tokens_get_none() -> None:
    store = ModelStore(clock=Clock())
    first, second = kept(how="first"), kept(how="second")
    a, b = store.put(first), store.put(second)
    assert a != b and is_token(a)
    assert store.get(a) is first and store.get(b) is second
    assert store.get(model_store.new_token()) is None
    assert store.get("not a token") is None and store.get(None) is None
    assert len(store) == 2 and store.nbytes == first.nbytes + second.nbytes


def test_a_model_expires_the_stated_time_after_its_last_use() -> None:
    clock = Clock()
    store = ModelStore(keep_seconds=3600, clock=clock)
    token, idle = store.put(kept()), store.put(kept())
    clock.now += 3000
    assert store.get(token) is not None  # used at 3,000 s: its hour starts again
    clock.now += 3000  # 6,000 s: `idle` was last used 6,000 s ago, `token` 3,000 s ago
    assert store.get(idle) is None
    assert store.get(token) is not None
    clock.now += 3601
    assert store.get(token) is None
    assert len(store) == 0 and store.nbytes == 0


def test_the_count_bound_drops_the_least_recently_used() -> None:
    store = ModelStore(max_entries=3, clock=Clock())
    tokens = [store.put(kept(how=str(i))) for i in range(3)]
    store.get(tokens[0])  # 0 is now the most recently used; 1 the least
    newest = store.put(kept(how="3"))
    assert store.get(tokens[1]) is None
    assert all(store.get(t) is not None for t in (tokens[0], tokens[2], newest))
    assert len(store) == 3


def test_the_byte_bound_holds_and_an_oversized_model_is_refused() -> None:
    one = kept(payload=1000)
    store = ModelStore(max_bytes=3 * one.nbytes, clock=Clock())
    tokens = [store.put(kept(payload=1000)) for _ in range(5)]
    assert store.nbytes <= 3 * one.nbytes and len(store) == 3
    assert [store.get(t) is not None for t in tokens] == [False, False, True, True, True]
    with pytest.raises(ValueError, match="exceeds"):
        store.put(kept(payload=4 * one.nbytes))
    assert len(store) == 3  # nothing was pushed out for it


def test_keep_puts_a_model_back_under_its_token_and_refuses_a_malformed_token() -> None:
    clock = Clock()
    store = ModelStore(keep_seconds=60, clock=clock)
    model = kept()
    token = store.put(model)
    clock.now += 61
    assert store.get(token) is None
    store.keep(token, model)  # the session that holds it keeps it alive
    assert store.get(token) is model
    store.keep(token, model)  # again: no double count
    assert store.nbytes == model.nbytes
    with pytest.raises(ValueError, match="token"):
        store.keep("bad token", model)


def test_many_threads_keep_the_bounds() -> None:
    store = ModelStore(max_entries=20, clock=Clock())

    def writer() -> None:
        for _ in range(200):
            store.get(store.put(kept()))

    threads = [threading.Thread(target=writer) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert len(store) == 20 and store.nbytes == 20 * kept().nbytes


def test_a_kept_model_round_trips_through_its_checkpoint(tiny_model: TrainedModel) -> None:
    samples = np.random.default_rng(0).normal(size=(50, 2))
    record = KeptModel.of(tiny_model, samples, [1.0, 0.5, 0.25], "trained here")
    back = record.model()
    assert back is not tiny_model and back.steps_trained == tiny_model.steps_trained
    assert back.data.name == tiny_model.data.name
    for name, value in tiny_model.network.state_dict().items():
        assert np.array_equal(back.network.state_dict()[name].numpy(), value.numpy()), name
    assert record.samples.dtype == np.float32 and not record.samples.flags.writeable
    assert record.losses.tolist() == [1.0, 0.5, 0.25]
    assert record.nbytes > len(record.checkpoint) + record.samples.nbytes


def test_the_promised_time_is_at_least_an_hour_and_said_in_words() -> None:
    assert model_store.KEEP_SECONDS >= 3600
    assert keep_time_text(7200) == "2 hours" and keep_time_text(3600) == "1 hour"
    assert keep_time_text(5400) == "90 minutes"
