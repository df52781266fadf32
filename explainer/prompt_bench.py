"""``bench`` rows for the text prompts: where prompted samples land, and training time.

Every prompt built from a dataset's class terms and the four position words whose region
holds at least 5% of the training data is sampled at w = 3 (prompts.SAMPLER: DDPM, 200
steps; DDIM 50 beside it); the share of samples in its region and on the data is the
score (target: at least 90% each).
Negative prompts are scored by the share kept out of their region (target: 90%), next to
what the exact denoiser of the same regions scores with the same formula, since that
share is a property of the guidance formula as much as of the model.
"""

from __future__ import annotations

import statistics
import time
from dataclasses import dataclass

import numpy as np
import torch

from explainer import prompt_checkpoints
from explainer.captions import POSITION_TERMS, CaptionWorld, Prompt
from explainer.guidance import Guidance
from explainer.ideal import IdealDenoiser
from explainer.prompts import (
    PROMPT_STEPS,
    SAMPLER,
    SAMPLER_STEPS,
    PromptModel,
    PromptRequest,
    PromptTrainConfig,
    prompt_shares,
    train_prompts,
)
from explainer.samplers import sample
from explainer.schedules import PROCESS_NAMES, ProcessConfig, Schedule

W = 3.0
TARGET = 0.9
MIN_SHARE = 0.05
TRAIN_SECONDS_TARGET = 60.0


class ExactRegionDenoiser:
    """The exact denoiser E[x0 | x_t] of the training points in each region, as an
    EpsModel whose label k is regions[k] and whose null label is all the data: what a
    perfect text-conditioned model would predict."""

    def __init__(self, schedule: Schedule, world: CaptionWorld, regions: list[Prompt]):
        points = world.points
        self.parts = [IdealDenoiser(schedule, points[mask], np.zeros(int(mask.sum()), np.int64), 1)
                      for mask in (world.in_region(points, r) for r in regions)]
        self.everything = IdealDenoiser(schedule, points, np.zeros(len(points), np.int64), 1)
        self.num_classes = len(regions)
        self.prior = schedule.prior(points)

    def __call__(self, x_t: torch.Tensor, t: int, label: int) -> torch.Tensor:
        part = self.everything if label == self.num_classes else self.parts[label]
        return part(x_t, t, 1)  # label 1 of a one-class IdealDenoiser: all of its points


def negative_requests(world: CaptionWorld) -> list[PromptRequest]:
    """A negative prompt alone (each class or position term holding 5-95% of the data),
    and a class prompt with a position word as its negative where each part (the class
    inside and outside that half-plane) holds at least 5% of the data."""
    requests = [PromptRequest(Prompt(()), Prompt((term,)), W)
                for term in world.vocabulary.terms
                if MIN_SHARE <= world.data_share(Prompt((term,))) <= 1 - MIN_SHARE]
    for c in world.vocabulary.class_terms:
        for position in POSITION_TERMS:
            inside = world.data_share(Prompt((c, position)))
            if inside >= MIN_SHARE and world.data_share(Prompt((c,))) - inside >= MIN_SHARE:
                requests.append(PromptRequest(Prompt((c,)), Prompt((position,)), W))
    return requests


@dataclass(frozen=True)
class PromptScores:
    shares: dict[str, float]  # prompt -> share in its region and on the data
    held_out: dict[str, float]
    ddim: dict[str, float]  # the same share with DDIM, 50 steps
    alone: dict[str, tuple[float, float]]  # negative -> (out of it, on the data)
    pairs: dict[str, tuple[float, float]]  # "P, not N" -> (out of N, exact model's)


def score(model: PromptModel, n: int = 500, seed: int = 1) -> PromptScores:
    world = model.world
    shares, ddim = {}, {}
    for prompt in world.benchmark_prompts(MIN_SHARE):
        request = PromptRequest(prompt, w=W)
        shares[prompt.text] = prompt_shares(world, model.sample(request, n, seed).final,
                                            request).in_region_on_data
        ddim[prompt.text] = prompt_shares(world, model.sample(request, n, seed, "ddim", 50
                                                              ).final, request).in_region_on_data
    held = {p.text: shares[p.text] for p in world.held_out if p.text in shares}
    alone, pairs = {}, {}
    for request in negative_requests(world):
        learned = prompt_shares(world, model.sample(request, n, seed).final, request)
        if request.prompt.empty:
            alone[request.negative.text] = (learned.out_of_negative, learned.on_data)
            continue
        exact = ExactRegionDenoiser(model.schedule, world, [request.prompt, request.negative])
        steps = min(SAMPLER_STEPS, model.schedule.T)
        x = sample(exact, model.schedule, SAMPLER, n, steps, Guidance(0, W, 1), seed).final
        pairs[f"{request.prompt.text}, not {request.negative.text}"] = (
            learned.out_of_negative, prompt_shares(world, x, request).out_of_negative)
    return PromptScores(shares, held, ddim, alone, pairs)  # type: ignore[arg-type]


def _least(values: dict[str, float]) -> str:
    name = min(values, key=values.get)  # type: ignore[arg-type]
    return f"{100 * values[name]:.0f}% ({name})"


def prompt_table(datasets: tuple[str, ...]) -> None:
    print(f"\n## Text prompts at w = {W:g} (shipped text-prompt models, {SAMPLER.upper()} "
          f"{SAMPLER_STEPS} steps, 500 samples per prompt)")
    print("(prompts: every class term / position word combination whose region holds >= 5% "
          "of the data; share: in the prompt's region and on the data (within the distance "
          "of 99% of fresh data); held out: never a whole caption in training.\n"
          " negative alone: empty prompt; with a prompt: class prompt, position word as "
          "negative; share out of the negative's region, learned and exact denoiser)")
    print(f"{'model':24} {'prompts':>7} {'>= 90%':>6} {'median':>6}  {'least':28} "
          f"{'held out, least':28} {'DDIM 50, least':28} {'neg. alone out/on data':>24} "
          f"{'neg. with prompt out':>30} {'exact':>6}")
    for dataset in datasets:
        for process in PROCESS_NAMES:
            model = prompt_checkpoints.load(
                prompt_checkpoints.pretrained_prompt_path(dataset, process))
            s = score(model)
            values = list(s.shares.values())
            alone_out = min(v[0] for v in s.alone.values())
            alone_on = statistics.median(v[1] for v in s.alone.values())
            pairs_out = {k: v[0] for k, v in s.pairs.items()}
            exact_out = min(v[1] for v in s.pairs.values()) if s.pairs else float("nan")
            print(f"{dataset + '-' + process:24} {len(values):7d} "
                  f"{sum(v >= TARGET for v in values):6d} {100 * statistics.median(values):5.0f}%"
                  f"  {_least(s.shares):28} {_least(s.held_out):28} {_least(s.ddim):28} "
                  f"{100 * alone_out:17.0f}% / {100 * alone_on:3.0f}% "
                  f"{_least(pairs_out) if pairs_out else '-':>30} {100 * exact_out:5.0f}%")


def prompt_training_time(processes: tuple[str, ...], quick: bool = False) -> None:
    """Wall time to train the text model and its denoiser with the shipped recipe (quick: a
    tenth of its steps, not the real budget)."""
    steps = PROMPT_STEPS // 10 if quick else PROMPT_STEPS
    print("\n## Text model + text-conditioned denoiser trained together (spiral), wall time "
          "on 1 thread" + (f" (quick: {steps} steps, not the shipped {PROMPT_STEPS})"
                           if quick else ""))
    for process in processes:
        start = time.perf_counter()
        model = train_prompts(PromptTrainConfig(dataset="spiral", steps=steps,
                                                process=ProcessConfig(process), seed=0))
        seconds = time.perf_counter() - start
        ok = "ok" if seconds <= TRAIN_SECONDS_TARGET else f"OVER {TRAIN_SECONDS_TARGET:g} s"
        print(f"{process:12} {model.steps_trained} steps {seconds:6.1f} s  "
              + ("" if quick else ok))
