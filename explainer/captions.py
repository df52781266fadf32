"""Captions made by code: what a 2D point is (its class) and where it is (its half-planes).

Every training point satisfies exactly one class term and one of each pair of position
terms: "left" / "right" and "top" / "bottom" of the vertical and horizontal lines through
the data's centre (the mean of the training points). A caption is a set of terms; a point
matches it if it satisfies every term (words combine as an intersection), so the captions
of a point are the non-empty subsets of its three terms ("outer", "top left",
"outer top left", ...). A prompt is parsed into the same kind of set, and its region (the
part of the plane satisfying all its words) is computable, which is what the prompts are
judged by.

Class names that are also position words get other names in the caption vocabulary: the
moons' "upper" / "lower" become "arch" / "bowl" (their shapes), the checkerboard's "left" /
"right" halves become "west" / "east".
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from functools import cached_property

import numpy as np
import torch

from explainer.datasets import Dataset, class_names, make_dataset
from explainer.metrics import nearest_distances

POSITION_TERMS = ("top", "bottom", "left", "right")
# Caption names of the classes whose registry names are position words (or say "upper" /
# "lower", which a reader takes for "top" / "bottom").
RENAMED = {"moons": ("arch", "bowl"), "checkerboard": ("west", "east")}
MAX_PROMPT_CHARS = 200
# Whole captions never shown in training: the prompts that test whether the text model and
# the denoiser combine words they have only seen in other combinations. Each holds at
# least 5% of its training data (tests/test_captions.py).
HELD_OUT: dict[str, tuple[str, ...]] = {
    "spiral": ("outer top right", "inner bottom", "middle right"),
    "moons": ("arch top left", "bowl bottom right", "arch right"),
    "rings": ("outer top left", "inner bottom right", "outer bottom"),
    "gaussians": ("blob 2 top left", "blob 5 left", "blob 4 bottom"),
    "checkerboard": ("west top", "east bottom", "top right"),
}
ON_DATA_QUANTILE = 0.99  # "on the data": as close to a training point as 99% of fresh data


def caption_class_terms(dataset: str) -> tuple[str, ...]:
    """The vocabulary's name of each class of `dataset`, by class index."""
    return RENAMED.get(dataset, class_names(dataset))


class PromptError(ValueError):
    """A prompt that cannot be used; the message is one line. `unknown` holds the words
    outside the vocabulary, `length` the length of a prompt that is too long (so a page
    can say what is wrong without showing the user's text as markup)."""

    def __init__(self, message: str, unknown: tuple[str, ...] = (), length: int | None = None):
        super().__init__(message)
        self.unknown = unknown
        self.length = length


@dataclass(frozen=True)
class Prompt:
    """A parsed prompt: the set of vocabulary terms it contains (in vocabulary order)."""

    terms: tuple[str, ...]

    @property
    def text(self) -> str:
        return " ".join(self.terms)

    @property
    def empty(self) -> bool:
        return not self.terms


@dataclass(frozen=True)
class Vocabulary:
    """The terms a dataset's captions are made of: its class terms, then the positions."""

    dataset: str
    class_terms: tuple[str, ...]

    @classmethod
    def of(cls, dataset: str) -> Vocabulary:
        return cls(dataset, caption_class_terms(dataset))

    @property
    def terms(self) -> tuple[str, ...]:
        return (*self.class_terms, *POSITION_TERMS)

    def __len__(self) -> int:
        return len(self.terms)

    def listing(self) -> str:
        return ", ".join(self.terms)

    def parse(self, text: str) -> Prompt:
        """The prompt's terms; PromptError (one line, naming the vocabulary) for a prompt
        longer than MAX_PROMPT_CHARS or with words outside the vocabulary. Case, commas,
        repetition and order do not matter; an empty prompt has no terms (unconditional)."""
        if len(text) > MAX_PROMPT_CHARS:
            raise PromptError(f"the prompt is {len(text):,} characters long; at most "
                              f"{MAX_PROMPT_CHARS} are allowed (the vocabulary: "
                              f"{self.listing()})", length=len(text))
        words = text.lower().replace(",", " ").split()
        found: set[str] = set()
        unknown: list[str] = []
        i = 0
        while i < len(words):
            # A term can be two words ("blob 3"): try the longer match first.
            pair = " ".join(words[i:i + 2])
            if len(words) > i + 1 and pair in self.terms:
                found.add(pair)
                i += 2
                continue
            if words[i] in self.terms:
                found.add(words[i])
            elif words[i] not in unknown:
                unknown.append(words[i])
            i += 1
        if unknown:
            quoted = ", ".join(repr(word) for word in unknown)
            raise PromptError(f"unknown word{'s' if len(unknown) > 1 else ''} {quoted}; the "
                              f"{self.dataset} vocabulary is: {self.listing()}",
                              unknown=tuple(unknown))
        return Prompt(tuple(term for term in self.terms if term in found))

    def multi_hot(self, prompts: list[Prompt] | tuple[Prompt, ...]) -> torch.Tensor:
        """(len(prompts), V) float32: 1 where the prompt has the term (a bag of words)."""
        index = {term: k for k, term in enumerate(self.terms)}
        out = torch.zeros(len(prompts), len(self))
        for row, prompt in enumerate(prompts):
            out[row, [index[term] for term in prompt.terms]] = 1.0
        return out


@dataclass(frozen=True, eq=False)
class CaptionWorld:
    """A training set seen through its captions: which terms each location satisfies, the
    captions of every training point, and the region of any prompt.

    A location's class is the class of its nearest training point (so the plane is split
    into class territories); its position terms come from the half-planes through
    `centre`."""

    vocabulary: Vocabulary
    points: np.ndarray  # (n, 2) float32, the training set
    labels: np.ndarray  # (n,) int64
    centre: tuple[float, float]

    @classmethod
    def of(cls, data: Dataset) -> CaptionWorld:
        centre = data.points.astype(np.float64).mean(0)
        return cls(Vocabulary.of(data.name), data.points, data.labels,
                   (float(centre[0]), float(centre[1])))

    # ------------------------------------------------------------ which terms hold where

    def term_matrix(self, xy: np.ndarray, labels: np.ndarray | None = None) -> np.ndarray:
        """(m, V) bool: the terms each location satisfies. `labels`: their classes if
        known (the training points' own), else the class of the nearest training point."""
        xy = np.asarray(xy, dtype=np.float32)
        if labels is None:
            labels = self.points_labels(xy)
        k = len(self.vocabulary.class_terms)
        out = np.zeros((len(xy), k + len(POSITION_TERMS)), dtype=bool)
        out[np.arange(len(xy)), labels] = True
        cx, cy = self.centre
        out[:, k:] = np.stack([xy[:, 1] >= cy, xy[:, 1] < cy, xy[:, 0] < cx, xy[:, 0] >= cx],
                              axis=1)
        return out

    def points_labels(self, xy: np.ndarray) -> np.ndarray:
        """The class of the nearest training point of each location (chunked: bounded
        memory for big grids)."""
        data = torch.as_tensor(self.points)
        chunks = [torch.cdist(torch.as_tensor(part), data).argmin(1).numpy()
                  for part in np.array_split(np.asarray(xy, dtype=np.float32),
                                             max(1, len(xy) // 4096))]
        nearest = np.concatenate(chunks) if chunks else np.zeros(0, dtype=np.int64)
        return self.labels[nearest]

    def terms_mask(self, prompt: Prompt) -> np.ndarray:
        """(V,) bool: the prompt's terms."""
        return np.isin(np.array(self.vocabulary.terms), prompt.terms)

    def in_region(self, xy: np.ndarray, prompt: Prompt) -> np.ndarray:
        """(m,) bool: the locations that satisfy every term of the prompt (all, if empty)."""
        return self.term_matrix(xy)[:, self.terms_mask(prompt)].all(1)

    def data_share(self, prompt: Prompt) -> float:
        """Share of the training points in the prompt's region."""
        held = self.term_matrix(self.points, self.labels)[:, self.terms_mask(prompt)]
        return float(held.all(1).mean())

    @cached_property
    def on_data_radius(self) -> float:
        """How close to a training point a location must be to count as on the data: the
        distance within which ON_DATA_QUANTILE of a fresh draw of the data lies."""
        fresh = make_dataset(self.vocabulary.dataset, len(self.points), seed=7919).points
        return float(np.quantile(self.distance_to_data(fresh), ON_DATA_QUANTILE))

    def distance_to_data(self, xy: np.ndarray) -> np.ndarray:
        return nearest_distances(xy, self.points)

    def on_data(self, xy: np.ndarray) -> np.ndarray:
        return self.distance_to_data(xy) <= self.on_data_radius

    # ------------------------------------------------------------ captions and prompts

    @cached_property
    def captions(self) -> tuple[Prompt, ...]:
        """Every caption that can describe some training point, held-out ones included:
        each combination of at most one class term, one horizontal and one vertical term."""
        classes = (None, *self.vocabulary.class_terms)
        made = []
        for c, v, h in itertools.product(classes, (None, "top", "bottom"),
                                         (None, "left", "right")):
            terms = {c, v, h} - {None}
            if terms:
                made.append(Prompt(tuple(t for t in self.vocabulary.terms if t in terms)))
        return tuple(made)

    @cached_property
    def held_out(self) -> tuple[Prompt, ...]:
        return tuple(self.vocabulary.parse(text)
                     for text in HELD_OUT.get(self.vocabulary.dataset, ()))

    @cached_property
    def training_captions(self) -> tuple[Prompt, ...]:
        return tuple(c for c in self.captions if c not in self.held_out)

    def caption_matrix(self, captions: tuple[Prompt, ...]) -> torch.Tensor:
        return self.vocabulary.multi_hot(list(captions))

    def point_caption_table(self) -> torch.Tensor:
        """(n, C) bool: which training captions describe each training point."""
        terms = torch.as_tensor(self.term_matrix(self.points, self.labels))
        captions = self.caption_matrix(self.training_captions).bool()
        return satisfies(terms, captions)

    def benchmark_prompts(self, min_share: float = 0.05) -> tuple[Prompt, ...]:
        """The captions whose region holds at least `min_share` of the training data."""
        return tuple(c for c in self.captions if self.data_share(c) >= min_share)


def satisfies(terms: torch.Tensor, captions: torch.Tensor) -> torch.Tensor:
    """(m, C) bool: location i (its terms, a row of `terms`) satisfies caption j (a row of
    `captions`) when it has every term of the caption."""
    missing = captions.float() @ (~terms.bool()).float().T  # (C, m): caption terms it lacks
    return (missing == 0).T
