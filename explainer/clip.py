"""CLIP in miniature: a text encoder and a point encoder trained so a caption and its point
land close together in one d-dimensional space (Radford et al. 2021, with 2D points in
place of images).

- Text: a bag of words (the sum of one learned vector per vocabulary term, so order and
  repetition do not matter) -> MLP -> d, normalised to length 1.
- Points: x and random Fourier features of x -> MLP -> d, normalised.
- Loss: the symmetric contrastive (InfoNCE) loss over a batch of (point, caption) pairs,
  logits = exp(log_scale) * cos(point_i, caption_j) with a learned temperature. Captions
  made by code repeat across a batch ("left" describes half the data), so every pair whose
  point satisfies the caption counts as a positive, shared equally; with one positive per
  row this is CLIP's loss exactly.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn
from torch.nn import functional as F

from explainer.model import init_weights

MAX_LOGIT_SCALE = 100.0  # CLIP's clamp on exp(log_scale)


@dataclass(frozen=True)
class ClipConfig:
    vocab_size: int
    dim: int = 32  # d: the shared embedding space (also the denoiser's condition size)
    word_dim: int = 32
    hidden: int = 64
    fourier_features: int = 32
    fourier_scale: float = 1.0  # std of the random frequencies, in cycles per unit
    seed: int = 0

    def check(self) -> ClipConfig:
        """Bounds on every size, checked before anything is allocated (a checkpoint file
        states them)."""
        bounds = {"vocab_size": (1, 64), "dim": (2, 256), "word_dim": (2, 256),
                  "hidden": (8, 512), "fourier_features": (1, 256)}
        for name, (lo, hi) in bounds.items():
            value = getattr(self, name)
            if not isinstance(value, int) or not lo <= value <= hi:
                raise ValueError(f"CLIP {name} must be an integer in {lo}..{hi}, got {value!r}")
        if not 0 < self.fourier_scale <= 100:
            raise ValueError(f"CLIP fourier_scale must be in (0, 100], got {self.fourier_scale}")
        return self


class TextEncoder(nn.Module):
    """(batch, V) bags of words (multi-hot) -> (batch, d) unit vectors."""

    def __init__(self, config: ClipConfig):
        super().__init__()
        self.words = nn.Linear(config.vocab_size, config.word_dim, bias=False)
        self.mlp = nn.Sequential(nn.Linear(config.word_dim, config.hidden), nn.SiLU(),
                                 nn.Linear(config.hidden, config.dim))

    def forward(self, bags: torch.Tensor) -> torch.Tensor:
        return F.normalize(self.mlp(self.words(bags)), dim=-1)


class PointEncoder(nn.Module):
    """(batch, 2) points -> (batch, d) unit vectors."""

    def __init__(self, config: ClipConfig, gen: torch.Generator):
        super().__init__()
        self.register_buffer(
            "freqs", torch.randn(2, config.fourier_features, generator=gen) * config.fourier_scale)
        width = 2 + 2 * config.fourier_features
        self.mlp = nn.Sequential(nn.Linear(width, config.hidden), nn.SiLU(),
                                 nn.Linear(config.hidden, config.hidden), nn.SiLU(),
                                 nn.Linear(config.hidden, config.dim))

    def forward(self, xy: torch.Tensor) -> torch.Tensor:
        angles = 2 * math.pi * xy @ self.freqs
        return F.normalize(self.mlp(torch.cat([xy, angles.sin(), angles.cos()], dim=-1)), dim=-1)


class Clip(nn.Module):
    def __init__(self, config: ClipConfig):
        super().__init__()
        self.config = config.check()
        gen = torch.Generator().manual_seed(config.seed)
        self.text = TextEncoder(config)
        self.point = PointEncoder(config, gen)
        self.log_scale = nn.Parameter(torch.tensor(math.log(1 / 0.07)))  # CLIP's start
        init_weights(self, gen)

    @property
    def logit_scale(self) -> torch.Tensor:
        return self.log_scale.exp().clamp(max=MAX_LOGIT_SCALE)

    def loss(self, point_embeddings: torch.Tensor, text_embeddings: torch.Tensor,
             positives: torch.Tensor) -> torch.Tensor:
        """Symmetric InfoNCE over a batch: row i is point i, column j caption j;
        positives[i, j] says point i satisfies caption j (each row and each column has
        at least one)."""
        return symmetric_info_nce(self.logit_scale * point_embeddings @ text_embeddings.T,
                                  positives)

    @torch.no_grad()
    def similarity(self, bag: torch.Tensor, xy: torch.Tensor) -> torch.Tensor:
        """cos(text(bag), point(xy)) for each point: (m,), in [-1, 1]."""
        return self.point(xy) @ self.text(bag.reshape(1, -1)).squeeze(0)


def symmetric_info_nce(logits: torch.Tensor, positives: torch.Tensor) -> torch.Tensor:
    """(cross-entropy of each row + of each column) / 2, the target of a row (a column)
    spread evenly over its positives."""
    positives = positives.float()
    rows = -(positives / positives.sum(1, keepdim=True) * logits.log_softmax(1)).sum(1).mean()
    cols = -(positives / positives.sum(0, keepdim=True) * logits.log_softmax(0)).sum(0).mean()
    return (rows + cols) / 2
