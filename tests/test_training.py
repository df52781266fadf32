"""Training as an iterator: steps, budgets, a falling loss, mid-run models, seeding."""

from __future__ import annotations

import time
from dataclasses import replace

import numpy as np
import pytest
import torch

from explainer.schedules import ProcessConfig
from explainer.train_config import TrainConfig
from explainer.training import Training, smoothed, train

SMALL = TrainConfig(dataset="moons", steps=40, hidden=32, depth=2, batch=256, warmup=5)


def weights(model) -> dict[str, torch.Tensor]:
    return {k: v.clone() for k, v in model.network.state_dict().items()}


def test_iterator_counts_steps_and_stops_at_the_step_budget() -> None:
    run = Training(SMALL)
    stats = list(run.run())
    assert [s.step for s in stats] == list(range(1, 41))
    assert stats[-1].progress == 1.0 and stats[0].progress == pytest.approx(1 / 40)
    assert all(a.elapsed <= b.elapsed for a, b in zip(stats, stats[1:], strict=False))
    assert all(np.isfinite(s.loss) and s.loss > 0 for s in stats)
    assert run.steps_done == 40 and len(run.losses) == 40
    assert run.model().steps_trained == 40


def test_time_budget_stops_training() -> None:
    config = replace(SMALL, seconds=1.0, steps=1_000_000)
    start = time.perf_counter()
    stats = list(Training(config).run())
    took = time.perf_counter() - start
    # It stops at the first step that ends past the budget (whatever the machine's load).
    assert stats[-2].elapsed < 1.0 <= stats[-1].elapsed <= took
    assert stats[-1].progress == 1.0 and len(stats) > 5
    assert all(s.progress < 1.0 for s in stats[:-1])


def test_the_consumer_can_stop_and_take_the_model_mid_run() -> None:
    run = Training(replace(SMALL, steps=1000))
    for s in run.run():
        if s.step == 10:
            break
    mid = run.model()
    assert mid.steps_trained == 10 and run.steps_done == 10
    x = torch.randn(7, 2)
    out = mid.denoiser()(x, 5, 0)
    assert out.shape == (7, 2) and torch.isfinite(out).all()
    # The model is a copy: training on does not change it.
    before = weights(mid)
    for s in run.run():
        if s.step == 5:
            break
    for k, v in weights(mid).items():
        torch.testing.assert_close(v, before[k])


@pytest.mark.parametrize("process", ["ddpm", "random_walk"])
def test_loss_decreases(process: str) -> None:
    config = replace(SMALL, dataset="spiral", steps=250, process=ProcessConfig(process),
                     hidden=64, depth=3)
    losses = smoothed([s.loss for s in Training(config).run()], window=50)
    assert losses[-1] < 0.8 * losses[49], (losses[49], losses[-1])


def test_seeded_runs_are_reproducible() -> None:
    a = train(SMALL)
    torch.manual_seed(1234)  # the global RNG must play no part
    torch.rand(17)
    b = train(SMALL)
    c = train(replace(SMALL, seed=1))
    wa, wb, wc = weights(a), weights(b), weights(c)
    for k in wa:
        torch.testing.assert_close(wa[k], wb[k], rtol=0, atol=0)
    assert any(not torch.equal(wa[k], wc[k]) for k in wa)
    np.testing.assert_array_equal(a.data.points, b.data.points)


def test_interleaved_runs_match_solo_runs() -> None:
    # Two sessions training at once in one server must each get their seed's weights.
    solo = weights(train(SMALL))
    first, second = Training(SMALL), Training(replace(SMALL, seed=1))
    for _ in zip(first.run(), second.run(), strict=True):
        pass
    for k, v in weights(first.model()).items():
        torch.testing.assert_close(v, solo[k], rtol=0, atol=0)


def test_label_dropout_teaches_the_null_label() -> None:
    # The null label's embedding is trained (it gets ~25% of the batch), so it moves
    # away from its initial value like the class labels do.
    config = replace(SMALL, steps=30)
    run = Training(config)
    init = run.network.label_embedding.weight.detach().clone()
    list(run.run())
    moved = (run.network.label_embedding.weight.detach() - init).norm(dim=1)
    assert (moved > 0).all() and len(moved) == 3  # 2 classes + null


@pytest.mark.parametrize(("change", "message"), [
    ({"dataset": "nope"}, "unknown dataset"),
    ({"steps": 0}, "steps must be"),
    ({"seconds": -1.0}, "seconds must be"),
    ({"label_dropout": 1.0}, "label_dropout"),
    ({"n_data": 3}, "at least 10"),
    ({"process": ProcessConfig("nope")}, "unknown process"),  # type: ignore[arg-type]
])
def test_bad_configs(change: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Training(replace(SMALL, **change))


def test_smoothed_is_a_running_mean() -> None:
    values = [4.0, 2.0, 0.0, 6.0]
    np.testing.assert_allclose(smoothed(values, window=2), [4.0, 3.0, 1.0, 3.0])
    assert len(smoothed([])) == 0
