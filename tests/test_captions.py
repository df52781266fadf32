"""Captions made by code: vocabularies, parsing (and its one-line errors), the captions of a
training point, held-out combinations, and prompt regions against a brute-force check."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from explainer.captions import (
    MAX_PROMPT_CHARS,
    POSITION_TERMS,
    CaptionWorld,
    Prompt,
    PromptError,
    Vocabulary,
)
from explainer.datasets import DATASET_NAMES, class_names, make_dataset


@pytest.fixture(scope="module", params=DATASET_NAMES)
def world(request: pytest.FixtureRequest) -> CaptionWorld:
    return CaptionWorld.of(make_dataset(request.param, 2000, seed=0))


def test_class_names_that_are_position_words_get_other_words() -> None:
    assert class_names("moons") == ("upper", "lower")
    assert Vocabulary.of("moons").class_terms == ("arch", "bowl")
    assert class_names("checkerboard") == ("left", "right")
    assert Vocabulary.of("checkerboard").class_terms == ("west", "east")
    assert Vocabulary.of("spiral").class_terms == class_names("spiral")
    for dataset in DATASET_NAMES:
        terms = Vocabulary.of(dataset).terms
        assert len(set(terms)) == len(terms)
        assert not set(Vocabulary.of(dataset).class_terms) & {*POSITION_TERMS, "upper",
                                                                "lower"}


def test_parsing_ignores_order_case_commas_and_repetition() -> None:
    v = Vocabulary.of("spiral")
    assert v.parse("Left, OUTER top  outer").terms == ("outer", "top", "left")
    assert v.parse("left top outer") == v.parse("outer top left")
    assert v.parse("").empty and v.parse("   ").empty
    # Terms of two words, as the gaussians' class names are.
    g = Vocabulary.of("gaussians")
    assert g.parse("top blob 3 left").terms == ("blob 3", "top", "left")


@pytest.mark.parametrize("text", ["outer toop", "blob 3", "<b>outer</b>", "outer\x1b[31m"])
def test_an_unknown_word_is_a_one_line_error_that_lists_the_vocabulary(text: str) -> None:
    with pytest.raises(PromptError) as caught:
        Vocabulary.of("spiral").parse(text)
    message = str(caught.value)
    assert "\n" not in message and "\x1b" not in message
    assert "inner, middle, outer, top, bottom, left, right" in message
    assert caught.value.unknown and all(w in text.lower() for w in caught.value.unknown)


def test_a_too_long_prompt_is_a_one_line_error_that_does_not_echo_it() -> None:
    text = "outer " * 2000  # 12,000 characters of known words
    with pytest.raises(PromptError) as caught:
        Vocabulary.of("spiral").parse(text)
    message = str(caught.value)
    assert "\n" not in message and len(message) < 300
    assert "12,000" in message and str(MAX_PROMPT_CHARS) in message
    assert caught.value.length == 12000
    Vocabulary.of("spiral").parse("outer " * (MAX_PROMPT_CHARS // 6))  # at the limit: fine


def test_a_training_points_captions_are_the_combinations_of_its_three_terms(
        world: CaptionWorld) -> None:
    table = world.point_caption_table().numpy()
    training = world.training_captions
    names = world.vocabulary.class_terms
    cx, cy = world.centre
    for i in (0, 1, 2, 500, 1999):
        x, y = world.points[i]
        own = {names[world.labels[i]], "top" if y >= cy else "bottom",
               "left" if x < cx else "right"}
        expected = {frozenset(c) for r in (1, 2, 3) for c in itertools.combinations(own, r)}
        expected -= {frozenset(p.terms) for p in world.held_out}
        assert {frozenset(training[j].terms) for j in np.flatnonzero(table[i])} == expected


def test_held_out_captions_are_new_combinations_of_seen_words(world: CaptionWorld) -> None:
    assert len(world.held_out) >= 2
    seen_terms = {t for c in world.training_captions for t in c.terms}
    for held in world.held_out:
        assert held not in world.training_captions and held in world.captions
        assert len(held.terms) >= 2 and set(held.terms) <= seen_terms
        # Each is one of the benchmark prompts: its region holds >= 5% of the data.
        assert world.data_share(held) >= 0.05
        assert held in world.benchmark_prompts()


def brute_force_region(world: CaptionWorld, xy: np.ndarray, prompt: Prompt) -> np.ndarray:
    """Point by point: the nearest training point's class, and explicit half-planes."""
    cx, cy = world.centre
    out = []
    for x, y in xy:
        label = world.labels[np.argmin(((world.points - (x, y)) ** 2).sum(1))]
        holds = {world.vocabulary.class_terms[label], "top" if y >= cy else "bottom",
                 "left" if x < cx else "right"}
        out.append(set(prompt.terms) <= holds)
    return np.array(out)


def test_regions_are_the_intersection_of_their_words(world: CaptionWorld) -> None:
    xy = np.random.default_rng(1).uniform(-2, 2, (300, 2)).astype(np.float32)
    v = world.vocabulary
    prompts = [v.parse(""), Prompt((v.class_terms[0],)), Prompt(("top", "left")),
               Prompt((v.class_terms[-1], "bottom", "right")), Prompt(("left", "right"))]
    for prompt in prompts:
        np.testing.assert_array_equal(world.in_region(xy, prompt),
                                      brute_force_region(world, xy, prompt))
    assert world.data_share(Prompt(("left", "right"))) == 0.0
    assert world.data_share(Prompt(("left",))) + world.data_share(Prompt(("right",))) == 1.0


def test_on_the_data_means_as_close_as_99_percent_of_fresh_data(world: CaptionWorld) -> None:
    fresh = make_dataset(world.vocabulary.dataset, 2000, seed=123).points
    assert 0.97 <= world.on_data(fresh).mean() <= 1.0
    assert not world.on_data(np.array([[5.0, 5.0]], dtype=np.float32)).any()
    assert 0.0 < world.on_data_radius < 0.1


def test_benchmark_prompts_hold_at_least_5_percent(world: CaptionWorld) -> None:
    prompts = world.benchmark_prompts()
    assert all(world.data_share(p) >= 0.05 for p in prompts)
    left_out = [c for c in world.captions if c not in prompts]
    assert all(world.data_share(c) < 0.05 for c in left_out)
    assert len(prompts) >= 20
