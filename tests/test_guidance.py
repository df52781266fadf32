"""Classifier-free guidance: the formula (diffusers convention), the skipped pass at w = 1,
and that guidance raises the share of samples in the asked class."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from explainer.datasets import make_dataset
from explainer.guidance import Guidance, guided_eps
from explainer.ideal import IdealDenoiser
from explainer.metrics import class_share
from explainer.samplers import sample
from explainer.schedules import make_schedule


class CountingModel:
    """An EpsModel whose eps is a different known function per label; counts calls."""

    num_classes = 3
    prior = None

    def __init__(self) -> None:
        self.calls: list[int] = []

    def __call__(self, x_t: torch.Tensor, t: int, label: int) -> torch.Tensor:
        self.calls.append(label)
        return eps_of(x_t, t, label)


def eps_of(x_t: torch.Tensor, t: int, label: int) -> torch.Tensor:
    return torch.sin(x_t * (label + 1)) + 0.01 * t + label


X = torch.randn(50, 2, generator=torch.Generator().manual_seed(0))
NULL = 3


def test_unconditional_is_one_pass_with_the_null_label() -> None:
    m = CountingModel()
    out = guided_eps(m, X, 7, Guidance())
    assert m.calls == [NULL]
    torch.testing.assert_close(out, eps_of(X, 7, NULL))


@pytest.mark.parametrize("negative", [None, 0])
def test_w_1_is_the_conditional_model_in_one_pass(negative: int | None) -> None:
    m = CountingModel()
    out = guided_eps(m, X, 7, Guidance(label=2, w=1.0, negative=negative))
    assert m.calls == [2]
    torch.testing.assert_close(out, eps_of(X, 7, 2))


def test_w_0_is_the_unconditional_model() -> None:
    m = CountingModel()
    out = guided_eps(m, X, 7, Guidance(label=1, w=0.0))
    torch.testing.assert_close(out, eps_of(X, 7, NULL))


@pytest.mark.parametrize("w", [3.0, 0.5, -0.5, 7.5])
def test_guided_formula(w: float) -> None:
    # eps_u + w (eps_c - eps_u), the diffusers / Imagen convention.
    m = CountingModel()
    out = guided_eps(m, X, 9, Guidance(label=0, w=w))
    assert sorted(m.calls) == [0, NULL]
    e_c, e_u = eps_of(X, 9, 0), eps_of(X, 9, NULL)
    torch.testing.assert_close(out, e_u + w * (e_c - e_u))
    # The smalldiffusion / Welch form eps_c + w' (eps_c - eps_u) is the same with w' = w - 1.
    torch.testing.assert_close(out, e_c + (w - 1) * (e_c - e_u))


def test_negative_class_replaces_the_unconditional_eps() -> None:
    m = CountingModel()
    out = guided_eps(m, X, 4, Guidance(label=2, w=3.0, negative=1))
    assert sorted(m.calls) == [1, 2] and NULL not in m.calls
    e_c, e_n = eps_of(X, 4, 2), eps_of(X, 4, 1)
    torch.testing.assert_close(out, e_n + 3.0 * (e_c - e_n))


@pytest.mark.parametrize(("guidance", "message"), [
    (Guidance(label=3), "class 3 is out of range 0..2"),
    (Guidance(label=-1), "out of range"),
    (Guidance(label=0, negative=5), "negative class 5"),
    (Guidance(negative=1), "needs a class"),
    (Guidance(label=0, w=100.0), "guidance scale"),
])
def test_bad_guidance_is_a_clear_error(guidance: Guidance, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        guidance.check(3)


# --- Guidance raises class accuracy ------------------------------------------------------
@pytest.fixture(scope="module")
def spiral():
    return make_dataset("spiral", 1000, seed=0)


def shares(model, schedule, data, label: int, ws: list[float], sampler: str, steps: int | None,
           n: int = 600, negative: int | None = None) -> list[float]:
    return [class_share(sample(model, schedule, sampler, n=n, steps=steps, seed=5,
                               guidance=Guidance(label, w, negative)).final,
                        data.points, data.labels, label) for w in ws]


@pytest.mark.parametrize("label", [0, 2])
def test_guidance_raises_class_share_ideal(spiral, label: int) -> None:
    sch = make_schedule("ddpm")
    model = IdealDenoiser(sch, spiral.points, spiral.labels, 3)
    s0, s3 = shares(model, sch, spiral, label, [0.0, 3.0], "ddpm", None)
    # w = 0 ignores the label: about the class's share of the data (a third).
    assert abs(s0 - np.mean(spiral.labels == label)) < 0.1
    assert s3 >= 0.9 and s3 > s0 + 0.4


def test_negative_class_pushes_away_from_it(spiral) -> None:
    sch = make_schedule("ddpm")
    model = IdealDenoiser(sch, spiral.points, spiral.labels, 3)
    guided = sample(model, sch, "ddim", n=600, steps=50, seed=5,
                    guidance=Guidance(1, 3.0, negative=2)).final
    uncond = sample(model, sch, "ddim", n=600, steps=50, seed=5).final
    assert class_share(guided, spiral.points, spiral.labels, 2) < 0.5 * class_share(
        uncond, spiral.points, spiral.labels, 2)


def test_guidance_raises_class_share_trained(tiny_model) -> None:
    model, sch, data = tiny_model.denoiser(), tiny_model.schedule, tiny_model.data
    s0, s1, s3 = shares(model, sch, data, 2, [0.0, 1.0, 3.0], "ddim", 50)
    assert s0 < s1 <= s3
    assert s0 < 0.6 and s3 >= 0.9


# --- The cost of guidance: network passes ------------------------------------------------
@pytest.mark.parametrize(("guidance", "per_step"), [
    (Guidance(), 1), (Guidance(label=1, w=0.0), 1), (Guidance(label=1, w=1.0), 1),
    (Guidance(label=1, w=3.0), 2), (Guidance(label=1, w=10.0, negative=0), 2),
    (Guidance(label=1, w=0.0, negative=2), 1)])
def test_network_passes_count_the_models_calls(guidance: Guidance, per_step: int) -> None:
    """What the pages print as the cost is what sampling does: one call per step, two when
    guided, one at w = 0 (the other answer alone) and at w = 1 (the conditional alone)."""
    from explainer.guidance import passes_per_step
    from explainer.samplers import network_passes

    sch = make_schedule("ddpm")
    m = CountingModel()
    sample(m, sch, "ddim", n=10, steps=7, guidance=guidance, seed=0)
    assert passes_per_step(guidance) == per_step
    assert len(m.calls) == network_passes(7, guidance) == 7 * per_step


def test_w_0_with_a_negative_class_is_that_class_alone() -> None:
    m = CountingModel()
    out = guided_eps(m, X, 7, Guidance(label=2, w=0.0, negative=1))
    assert m.calls == [1]
    torch.testing.assert_close(out, eps_of(X, 7, 1))


def test_a_negative_class_weighs_the_class_w_and_the_negative_w_minus_1() -> None:
    """What the guidance page says: toward the class with weight w, away from B with w - 1."""
    m = CountingModel()
    w = 4.0
    out = guided_eps(m, X, 4, Guidance(label=2, w=w, negative=1))
    torch.testing.assert_close(out, w * eps_of(X, 4, 2) - (w - 1) * eps_of(X, 4, 1))


def test_every_pretrained_model_has_its_under_conditioned_twin_made_by_the_recipe() -> None:
    """The guidance page's 'network that rarely saw the class' ships for every pretrained
    model, trained as explainer/under_conditioned.py says (seeded, step-counted)."""
    from dataclasses import replace

    from explainer import checkpoints, under_conditioned
    from explainer.datasets import DATASET_NAMES
    from explainer.schedules import PROCESS_NAMES

    for dataset in DATASET_NAMES:
        for process in PROCESS_NAMES:
            weak = checkpoints.load(under_conditioned.path(dataset, process))
            shipped = checkpoints.load(checkpoints.pretrained_path(dataset, process))
            assert weak.train_config == under_conditioned.config(dataset, process).check()
            assert weak.steps_trained == under_conditioned.RECIPE["steps"]
            np.testing.assert_array_equal(weak.data.points, shipped.data.points)
            assert replace(weak.train_config.process) == shipped.train_config.process
