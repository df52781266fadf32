"""Text prompts: a denoiser conditioned on the miniature CLIP's text embedding.

The denoiser is the class model's EpsNetwork with the label embedding replaced by a
condition vector: the text embedding of a caption, or a learned null embedding for "no
prompt" (shown instead of the caption for a share `label_dropout` of the training
examples: prompt dropout). One network is then the unconditional, the prompted and the
guided model. Classifier-free guidance runs unchanged (explainer/guidance.py):

    eps_guided = eps_base + w (eps_prompt - eps_base),

eps_base being the null embedding's prediction, or a negative prompt's (it replaces the
null one, as image models do). The text model and the denoiser train together: each step
draws a batch of training points with one random caption each, and adds CLIP's
contrastive loss to the denoising loss. The denoiser reads the text embedding as it is
(no gradient flows back into the text encoder): what a caption means is CLIP's to learn.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
import torch
from torch import nn

from explainer.captions import CaptionWorld, Prompt, Vocabulary, satisfies
from explainer.clip import Clip, ClipConfig
from explainer.datasets import Dataset
from explainer.fields import Field, grid_field
from explainer.guidance import Guidance
from explainer.model import EpsNetwork, ModelConfig
from explainer.samplers import Trajectory, sample
from explainer.schedules import Prior, Schedule
from explainer.training import TrainConfig, Training

# How prompts are sampled and judged (page, bench, tests): DDPM in 200 steps (all of
# DDPM's T; Karras-spaced for the random walk). Its injected noise corrects the network's
# errors, which guidance multiplies by w; deterministic DDIM let some prompts' samples
# overshoot off the data at w = 3 (the bench shows both).
SAMPLER, SAMPLER_STEPS = "ddpm", 200
# The shipped models' budget: a step count (the same files on any machine) that trains in
# well under a minute on one core of a quiet 2-core machine (bench measures it).
PROMPT_STEPS = 6000


@dataclass(frozen=True)
class PromptTrainConfig(TrainConfig):
    """TrainConfig (label_dropout is the prompt dropout) plus the text model's sizes."""

    steps: int = PROMPT_STEPS
    # Half TrainConfig's peak rate: the higher one left some DDPM runs (rings, checkerboard)
    # with many samples off the data, whatever the conditioning.
    lr: float = 1e-2
    clip_dim: int = 32
    clip_hidden: int = 64
    clip_weight: float = 1.0  # weight of the contrastive loss beside the denoising loss

    def vocabulary(self) -> Vocabulary:
        return Vocabulary.of(self.dataset)

    def clip_config(self) -> ClipConfig:
        return ClipConfig(vocab_size=len(self.vocabulary()), dim=self.clip_dim,
                          hidden=self.clip_hidden, seed=self.seed)

    def model_config(self) -> ModelConfig:
        return ModelConfig(num_classes=0, hidden=self.hidden, depth=self.depth,
                           label_dim=self.clip_dim, seed=self.seed)


class PromptNetwork(nn.Module):
    """The text model and the denoiser it conditions, trained (and averaged) together."""

    def __init__(self, clip: Clip, denoiser: EpsNetwork):
        super().__init__()
        self.clip = clip
        self.denoiser = denoiser

    @property
    def null_embedding(self) -> torch.Tensor:
        """The learned condition vector for "no prompt"."""
        return self.denoiser.label_embedding.weight[self.denoiser.null_label]


class PromptDenoiser:
    """The EpsModel (explainer/model.py) of one request: "label" k < K is the k-th row of
    `conditions` (the prompt, then the negative prompt), label K the null embedding, so
    the samplers and fields run on it with a Guidance of labels 0 and 1."""

    def __init__(self, network: EpsNetwork, conditions: torch.Tensor, prior: Prior | None):
        self.network = network.eval()
        self.conditions = conditions
        self.num_classes = len(conditions)
        self.prior = prior

    @torch.no_grad()
    def __call__(self, x_t: torch.Tensor, t: int, label: int) -> torch.Tensor:
        y = int(label)
        condition = self.network.null_label if y == self.num_classes else self.conditions[y]
        return self.network.eps_at(x_t.float(), int(t), condition)


@dataclass(frozen=True)
class PromptRequest:
    """What to sample: a prompt, a negative prompt (either may be empty) and w."""

    prompt: Prompt
    negative: Prompt = field(default_factory=lambda: Prompt(()))
    w: float = 3.0

    @property
    def unconditional(self) -> bool:
        return self.prompt.empty and self.negative.empty


@dataclass(frozen=True, eq=False)
class PromptModel:
    """A trained text model + text-conditioned denoiser, with its training set."""

    network: PromptNetwork
    schedule: Schedule
    data: Dataset
    train_config: PromptTrainConfig
    steps_trained: int

    @cached_property
    def world(self) -> CaptionWorld:
        return CaptionWorld.of(self.data)

    @property
    def vocabulary(self) -> Vocabulary:
        return self.world.vocabulary

    def request(self, prompt: str, negative: str = "", w: float = 3.0) -> PromptRequest:
        """Parse both prompts (ValueError naming the vocabulary for an unknown word)."""
        return PromptRequest(self.vocabulary.parse(prompt), self.vocabulary.parse(negative),
                             float(w))

    @torch.no_grad()
    def embed(self, prompt: Prompt) -> torch.Tensor:
        """The text embedding (d,) of a prompt; the null embedding if it is empty."""
        if prompt.empty:
            return self.network.null_embedding.detach().clone()
        return self.network.clip.text(self.vocabulary.multi_hot([prompt])).squeeze(0)

    def denoiser(self, request: PromptRequest) -> tuple[PromptDenoiser, Guidance]:
        """The EpsModel and the Guidance that sample `request` with the samplers."""
        conditions = []
        if not request.unconditional:
            conditions.append(self.embed(request.prompt))
        if not request.negative.empty:
            conditions.append(self.embed(request.negative))
        prior = self.schedule.prior(self.data.points)
        model = PromptDenoiser(self.network.denoiser, torch.stack(conditions) if conditions
                               else torch.zeros(0, self.train_config.clip_dim), prior)
        if request.unconditional:
            return model, Guidance()
        return model, Guidance(0, request.w, 1 if len(conditions) == 2 else None)

    def sample(self, request: PromptRequest, n: int, seed: int = 0,
               sampler: str = SAMPLER, steps: int | None = SAMPLER_STEPS) -> Trajectory:
        model, guidance = self.denoiser(request)
        steps = None if steps is None else min(steps, self.schedule.T)
        return sample(model, self.schedule, sampler, n, steps, guidance, seed)

    @torch.no_grad()
    def similarity(self, prompt: Prompt, xy: np.ndarray) -> np.ndarray:
        """cos(text embedding of the prompt, point embedding) at each location (m,)."""
        bag = self.vocabulary.multi_hot([prompt]).squeeze(0)
        return self.network.clip.similarity(bag, torch.as_tensor(xy, dtype=torch.float32)).numpy()


def retrieval_precision(model: PromptModel, prompt: Prompt, xy: np.ndarray) -> float:
    """Text-to-point retrieval: of the R locations most similar to the prompt (R = how many
    of them lie in its region), the share that lie in its region (1 = a perfect ranking)."""
    inside = model.world.in_region(xy, prompt)
    r = int(inside.sum())
    if r == 0:
        return float("nan")
    top = np.argsort(-model.similarity(prompt, xy), kind="stable")[:r]
    return float(inside[top].mean())


@dataclass(frozen=True, eq=False)
class PromptFields:
    """The denoising direction on a grid at one t, for a request: without a prompt, with
    the prompt alone (w = 1), with the negative prompt alone (if any), and guided."""

    unconditional: Field
    conditional: Field
    negative: Field | None
    guided: Field


def prompt_fields(model: PromptModel, request: PromptRequest, t: int,
                  size: int) -> PromptFields:
    eps_model, guidance = model.denoiser(request)
    schedule = model.schedule

    def field_of(g: Guidance) -> Field:
        return grid_field(eps_model, schedule, t, size, g)

    unconditional = field_of(Guidance())
    # With an empty prompt, condition 0 is the null embedding: the same as unconditional.
    conditional = unconditional if request.prompt.empty else field_of(Guidance(0))
    negative = None if request.negative.empty else field_of(Guidance(1))
    return PromptFields(unconditional, conditional, negative, field_of(guidance))


@dataclass(frozen=True)
class PromptShares:
    """Where samples landed, for a request."""

    in_region_on_data: float  # in the prompt's region and on the data (the target)
    in_region: float
    on_data: float
    out_of_negative: float | None  # out of the negative prompt's region (None: none given)


def prompt_shares(world: CaptionWorld, samples: np.ndarray,
                  request: PromptRequest) -> PromptShares:
    finite = np.isfinite(samples).all(1)
    xy = np.where(finite[:, None], samples, 1e6)  # a NaN sample is in no region, off the data
    region = world.in_region(xy, request.prompt) & finite
    on_data = world.on_data(xy) & finite
    out = None
    if not request.negative.empty:
        out = float((~world.in_region(xy, request.negative) | ~finite).mean())
    return PromptShares(float((region & on_data).mean()), float(region.mean()),
                        float(on_data.mean()), out)


class PromptTraining(Training):
    """Training (explainer/training.py) of the text model and the text-conditioned
    denoiser together; ``model()`` gives a PromptModel."""

    config: PromptTrainConfig
    network: PromptNetwork

    def __init__(self, config: PromptTrainConfig, data: Dataset | None = None):
        super().__init__(config, data)
        self.world = CaptionWorld.of(self.data)

    def _make_network(self) -> PromptNetwork:
        return PromptNetwork(Clip(self.config.clip_config()),
                             EpsNetwork(self.config.model_config(), self.schedule))

    def _batch_loss(self, gen: torch.Generator) -> Callable[[], torch.Tensor]:
        """Each point of the batch gets one of its training captions at random (held-out
        captions never); its text embedding is the denoiser's condition, or the null
        embedding with probability label_dropout."""
        cfg, world, clip = self.config, self.world, self.network.clip
        x0_all = torch.as_tensor(self.data.points)
        point_terms = torch.as_tensor(world.term_matrix(self.data.points, self.data.labels))
        captions_of_point, counts = caption_choices(world.point_caption_table())
        caption_bags = world.caption_matrix(world.training_captions)  # (C, V)
        denoising_loss = self.denoising_loss(self.network.denoiser, gen)

        def loss() -> torch.Tensor:
            idx = torch.randint(0, len(x0_all), (cfg.batch,), generator=gen)
            x0 = x0_all[idx]
            pick = (torch.rand(cfg.batch, generator=gen) * counts[idx]).long()
            choice = captions_of_point[idx, pick]
            # The batch's distinct captions are the contrastive loss's columns: a caption
            # made by code repeats many times in a batch, and batch x distinct logits are
            # far cheaper than batch x batch.
            distinct, which = torch.unique(choice, return_inverse=True)
            text = clip.text(caption_bags[distinct])
            positives = satisfies(point_terms[idx], caption_bags[distinct])
            contrastive = clip.loss(clip.point(x0), text, positives)
            drop = (torch.rand(cfg.batch, generator=gen) < cfg.label_dropout).unsqueeze(1)
            condition = torch.where(drop, self.network.null_embedding, text.detach()[which])
            return denoising_loss(x0, None, condition) + cfg.clip_weight * contrastive

        return loss

    def model(self) -> PromptModel:  # type: ignore[override]
        return PromptModel(copy.deepcopy(self.ema).eval(), self.schedule, self.data,
                           self.config, self.steps_done)


def caption_choices(table: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(n, C) bool "caption j describes point i" -> (n, max count) caption indices of each
    point (padded) and (n,) their counts, to draw one per point by a uniform index."""
    counts = table.sum(1)
    order = torch.argsort(table.int(), dim=1, descending=True, stable=True)
    return order[:, :int(counts.max())], counts


def train_prompts(config: PromptTrainConfig) -> PromptModel:
    run = PromptTraining(config)
    for _ in run.run():
        pass
    return run.model()
