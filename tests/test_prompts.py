"""The text-conditioned denoiser: guidance with prompts and negative prompts follows the
formula, the shipped text-prompt models put samples in their prompts' regions, and their
files load safely."""

from __future__ import annotations

import io

import numpy as np
import pytest
import torch

from explainer import checkpoints, prompt_checkpoints
from explainer.captions import Prompt
from explainer.checkpoints import CheckpointError
from explainer.guidance import Guidance, guided_eps
from explainer.prompts import (
    PromptModel,
    PromptRequest,
    PromptTrainConfig,
    PromptTraining,
    caption_choices,
    prompt_fields,
    prompt_shares,
)
from explainer.schedules import PROCESS_NAMES

TARGET = 0.9  # share of samples in the prompt's region and on the data, at w = 3


@pytest.fixture(scope="module")
def tiny() -> PromptModel:
    config = PromptTrainConfig(dataset="moons", steps=60, hidden=32, batch=128, warmup=5)
    run = PromptTraining(config)
    for _ in run.run():
        pass
    return run.model()


def shipped(dataset: str, process: str) -> PromptModel:
    return prompt_checkpoints.load(prompt_checkpoints.pretrained_prompt_path(dataset, process))


def test_eps_at_with_a_vector_is_forward_with_that_condition(tiny: PromptModel) -> None:
    network = tiny.network.denoiser
    x = torch.randn(40, 2, generator=torch.Generator().manual_seed(0))
    condition = tiny.embed(tiny.vocabulary.parse("arch top"))
    t = 17
    with torch.no_grad():
        expected = network(x, torch.full((40,), t), None, condition=condition.expand(40, -1))
    torch.testing.assert_close(network.eps_at(x, t, condition), expected, atol=1e-5, rtol=1e-4)


def test_guidance_with_a_negative_prompt_replaces_the_null_embedding(tiny: PromptModel) -> None:
    request = tiny.request("arch", "left", 2.5)
    model, guidance = tiny.denoiser(request)
    assert guidance == Guidance(0, 2.5, 1)
    x = torch.randn(30, 2, generator=torch.Generator().manual_seed(1))
    net, t = tiny.network.denoiser, 9

    def eps(condition: torch.Tensor) -> torch.Tensor:
        with torch.no_grad():
            return net(x, torch.full((30,), t), None, condition=condition.expand(30, -1))

    e_prompt = eps(tiny.embed(request.prompt))
    e_negative = eps(tiny.embed(request.negative))
    expected = e_negative + 2.5 * (e_prompt - e_negative)
    torch.testing.assert_close(guided_eps(model, x, t, guidance), expected, atol=1e-5,
                               rtol=1e-4)


def test_an_empty_prompt_is_the_null_embedding(tiny: PromptModel) -> None:
    model, guidance = tiny.denoiser(tiny.request("", "", 4.0))
    assert guidance == Guidance() and model.num_classes == 0
    torch.testing.assert_close(tiny.embed(Prompt(())), tiny.network.null_embedding.detach())
    # A negative prompt alone: eps_neg + w (eps_null - eps_neg).
    model, guidance = tiny.denoiser(tiny.request("", "bowl", 4.0))
    assert guidance == Guidance(0, 4.0, 1)
    torch.testing.assert_close(model.conditions[0], tiny.network.null_embedding.detach())


def test_fields_of_an_empty_prompt_are_unconditional(tiny: PromptModel) -> None:
    f = prompt_fields(tiny, tiny.request("", ""), 20, 8)
    np.testing.assert_array_equal(f.conditional.v, f.unconditional.v)
    np.testing.assert_array_equal(f.guided.v, f.unconditional.v)
    assert f.negative is None
    g = prompt_fields(tiny, tiny.request("arch", "top", 3.0), 20, 8)
    assert g.negative is not None and not np.allclose(g.conditional.v, g.unconditional.v)


def test_each_point_draws_its_captions_uniformly(tiny: PromptModel) -> None:
    table = tiny.world.point_caption_table()
    choices, counts = caption_choices(table)
    for i in (0, 7, 99):
        listed = set(choices[i, :counts[i]].tolist())
        assert listed == set(torch.nonzero(table[i]).flatten().tolist())


def test_shares_count_nan_samples_as_misses(tiny: PromptModel) -> None:
    world = tiny.world
    inside = world.points[world.in_region(world.points, Prompt(("arch",)))][:3]
    samples = np.concatenate([inside, np.full((1, 2), np.nan, np.float32)])
    shares = prompt_shares(world, samples, PromptRequest(Prompt(("arch",)), Prompt(("bowl",))))
    assert shares.in_region_on_data == 0.75 and shares.out_of_negative == 1.0


# ---------------------------------------------------------------- the shipped models

@pytest.mark.parametrize("process", PROCESS_NAMES)
@pytest.mark.parametrize(("dataset", "prompts"), [
    ("spiral", ("outer top right", "inner left")),  # the first is held out
    ("moons", ("arch top left", "bowl")),
    ("gaussians", ("blob 5 left", "blob 2 top")),
])
def test_shipped_prompts_land_in_their_region(dataset: str, process: str,
                                              prompts: tuple[str, ...]) -> None:
    model = shipped(dataset, process)
    for text in prompts:
        request = model.request(text, "", 3.0)
        shares = prompt_shares(model.world, model.sample(request, 500, seed=11).final, request)
        assert shares.in_region_on_data >= TARGET, (text, shares)


@pytest.mark.parametrize("process", PROCESS_NAMES)
def test_a_negative_prompt_keeps_samples_out_of_its_region(process: str) -> None:
    model = shipped("rings", process)
    request = model.request("", "outer", 3.0)
    alone = prompt_shares(model.world, model.sample(request, 500, seed=12).final, request)
    assert alone.out_of_negative >= TARGET
    # Unguided (w = 0) about half the samples are on the outer ring.
    w0 = model.request("", "outer", 0.0)
    assert prompt_shares(model.world, model.sample(w0, 500, seed=12).final,
                         w0).out_of_negative < 0.7


# ---------------------------------------------------------------- files

def as_bytes(model: PromptModel) -> bytes:
    buffer = io.BytesIO()
    prompt_checkpoints.save(model, buffer)
    return buffer.getvalue()


def test_a_saved_model_loads_with_the_same_outputs(tiny: PromptModel) -> None:
    loaded = prompt_checkpoints.load(as_bytes(tiny))
    request = tiny.request("bowl right", "top", 2.0)
    np.testing.assert_array_equal(tiny.sample(request, 50, seed=3).final,
                                  loaded.sample(request, 50, seed=3).final)
    assert loaded.train_config == tiny.train_config


def test_every_shipped_text_model_exists_and_is_small() -> None:
    for path in (prompt_checkpoints.pretrained_prompt_path(d, p)
                 for d in ("spiral", "moons", "rings", "gaussians", "checkerboard")
                 for p in PROCESS_NAMES):
        assert path.is_file() and path.stat().st_size < 1 << 20


def edited(model: PromptModel, **changes: object) -> bytes:
    raw = prompt_checkpoints.to_dict(model)
    for key, value in changes.items():
        if key in raw["train_config"]:
            raw["train_config"][key] = value
        else:
            raw[key] = value
    buffer = io.BytesIO()
    torch.save(raw, buffer)
    return buffer.getvalue()


@pytest.mark.parametrize(("changes", "message"), [
    ({"format": "diffusion-explainer-checkpoint"}, "not a text-prompt model"),
    ({"version": 99}, "version 99"),
    ({"hidden": 1 << 20}, "the hidden width must be at most"),
    ({"clip_dim": 1 << 20}, "CLIP dim"),
    ({"clip_hidden": 1 << 20}, "CLIP hidden"),
    ({"process": {"name": "ddpm", "T": 1 << 30}}, "T must be at most"),
    ({"vocabulary": ["a", "b"]}, "vocabulary"),
])
def test_bad_files_are_refused_with_a_one_line_message(tiny: PromptModel, changes: dict,
                                                       message: str) -> None:
    with pytest.raises(CheckpointError, match=message) as caught:
        prompt_checkpoints.load(edited(tiny, **changes), name="f.pt")
    assert "\n" not in str(caught.value) and str(caught.value).startswith("f.pt: ")


def test_a_class_model_truncated_or_oversized_file_is_refused(tiny: PromptModel,
                                                              tmp_path) -> None:
    class_file = checkpoints.pretrained_path("moons", "ddpm")
    with pytest.raises(CheckpointError, match="not a text-prompt model"):
        prompt_checkpoints.load(class_file)
    with pytest.raises(CheckpointError, match="not a readable"):
        prompt_checkpoints.load(as_bytes(tiny)[:1000])
    big = tmp_path / "big.pt"
    big.write_bytes(b"\0" * (prompt_checkpoints.MAX_FILE_BYTES + 1))
    with pytest.raises(CheckpointError, match="too large"):
        prompt_checkpoints.load(big)
