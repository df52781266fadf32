"""CLIP in miniature: the loss is CLIP's symmetric InfoNCE, the encoders give unit vectors,
and after a short training the text model retrieves the points of captions it never saw
whole (held out) far better than chance."""

from __future__ import annotations

from dataclasses import replace

import pytest
import torch
from torch.nn import functional as F

from explainer.clip import Clip, ClipConfig, symmetric_info_nce
from explainer.datasets import make_dataset
from explainer.prompts import PromptModel, PromptTrainConfig, PromptTraining, retrieval_precision

# Text-to-point retrieval on a fresh draw of the data (R-precision: of the R points most
# similar to a caption, R being how many lie in its region, the share that do). Chance is
# the region's share of the data (5-30% for the held-out captions).
HELD_OUT_RETRIEVAL = 0.8


def test_with_one_positive_per_row_the_loss_is_clips() -> None:
    gen = torch.Generator().manual_seed(0)
    logits = torch.randn(6, 6, generator=gen) * 3
    labels = torch.arange(6)
    clip_loss = (F.cross_entropy(logits, labels) + F.cross_entropy(logits.T, labels)) / 2
    torch.testing.assert_close(symmetric_info_nce(logits, torch.eye(6, dtype=torch.bool)),
                               clip_loss)


def test_shared_positives_split_the_target_evenly() -> None:
    logits = torch.tensor([[2.0, 2.0], [0.0, 3.0]])
    positives = torch.tensor([[True, True], [False, True]])
    # Row 0: half on each column; row 1: column 1. Column 0: row 0; column 1: half each.
    rows = -(0.5 * logits[0].log_softmax(0).sum() + logits[1].log_softmax(0)[1]) / 2
    cols = -(logits[:, 0].log_softmax(0)[0] + 0.5 * logits[:, 1].log_softmax(0).sum()) / 2
    torch.testing.assert_close(symmetric_info_nce(logits, positives), (rows + cols) / 2)


def test_encoders_give_unit_vectors_and_similarity_is_a_cosine() -> None:
    clip = Clip(ClipConfig(vocab_size=7, dim=16))
    bags = torch.tensor([[1.0, 0, 0, 1, 0, 0, 1], [0, 1, 0, 0, 0, 1, 0]])
    xy = torch.randn(50, 2, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        torch.testing.assert_close(clip.text(bags).norm(dim=1), torch.ones(2))
        torch.testing.assert_close(clip.point(xy).norm(dim=1), torch.ones(50))
        similarity = clip.similarity(bags[0], xy)
        expected = clip.point(xy) @ clip.text(bags[:1]).squeeze(0)
    torch.testing.assert_close(similarity, expected)
    assert similarity.abs().max() <= 1.0 + 1e-6


@pytest.mark.parametrize("change", [{"vocab_size": 10_000}, {"dim": 1 << 20},
                                    {"hidden": 0}, {"fourier_features": 1 << 30},
                                    {"fourier_scale": -1.0}])
def test_sizes_out_of_range_are_refused_before_allocation(change: dict) -> None:
    with pytest.raises(ValueError, match="CLIP"):
        Clip(replace(ClipConfig(vocab_size=7), **change))


@pytest.fixture(scope="module")
def short_run() -> PromptModel:
    """The text model trained jointly with a small denoiser for a few seconds."""
    config = PromptTrainConfig(dataset="spiral", steps=700, hidden=32, batch=256, warmup=20,
                               seed=0)
    run = PromptTraining(config)
    for _ in run.run():
        pass
    return run.model()


def test_retrieval_of_held_out_captions_after_a_short_training(short_run: PromptModel) -> None:
    fresh = make_dataset("spiral", 2000, seed=5).points
    world = short_run.world
    for held in world.held_out:
        precision = retrieval_precision(short_run, held, fresh)
        chance = float(world.in_region(fresh, held).mean())
        assert precision >= HELD_OUT_RETRIEVAL, (held.text, precision)
        assert precision > chance + 0.5


def test_the_learned_temperature_moved(short_run: PromptModel) -> None:
    start = Clip(ClipConfig(vocab_size=7)).logit_scale.item()
    assert abs(short_run.network.clip.logit_scale.item() - start) > 1.0
