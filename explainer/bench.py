"""``python -m explainer bench``: the speed and quality table of the backend.

Everything here is measured on the spot (nothing is read back from a file), on one
torch thread as the server runs it. Quality numbers are medians over several sample
sets, since one draw of MMD^2 is noisy.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable

import numpy as np

from explainer import checkpoints
from explainer.datasets import DATASET_NAMES
from explainer.fields import denoising_direction, field_agreement, grid_field
from explainer.guidance import Guidance
from explainer.images import picture_story
from explainer.metrics import class_share, sample_quality, spread
from explainer.prompt_bench import prompt_table, prompt_training_time
from explainer.runtime import configure_process
from explainer.samplers import sample, timesteps
from explainer.schedules import PROCESS_NAMES, ProcessConfig, make_schedule, noised_cloud
from explainer.train_config import TrainConfig
from explainer.trained import TrainedModel
from explainer.training import train

TARGET_RATIO = 2.0  # "within 2x the data-vs-data floor"


def timed(fn: Callable[[], object], repeats: int = 5, warm_up: bool = True) -> float:
    """Median wall time of fn() in milliseconds, after one warm-up call (if warm_up)."""
    if warm_up:
        fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(1000 * (time.perf_counter() - start))
    return statistics.median(times)


def median_ratio(model: TrainedModel, sampler: str, steps: int | None, sets: int,
                 n: int = 2000, exact: bool = False) -> float:
    """Median over `sets` sample sets of quality / floor; exact=True samples with the
    ideal denoiser of the model's training set instead of the network."""
    denoiser = model.ideal() if exact else model.denoiser()
    ratios = [sample_quality(sample(denoiser, model.schedule, sampler, n, steps,
                                    seed=100 + k).final, model.data.name, seed=200 + k).ratio
              for k in range(sets)]
    return statistics.median(ratios)


def checkpoint_table(datasets: tuple[str, ...], sets: int) -> None:
    print("\n## Shipped checkpoints (median of", sets, "sample sets of 2,000)")
    print("(DDPM: at the default steps, all of T up to 1,000: the random walk's T = 65,536 "
          "in 1,000 Karras-spaced steps)")
    print("(train set/floor: the model's own 2,000 training points against fresh data; a "
          "model that reproduced them exactly would score about this, or up to ~2x it.\n"
          " exact DDIM100/floor: the same sampler with the ideal denoiser of the training set, "
          "what a perfect network would score: the part of a miss that is not the network's.\n"
          " no-noise: its samples' spread, and their quality/floor: where the samples land "
          "on the data (rings' inner ring, each gaussian's centre) the spread stays, but "
          "the quality shows the collapse.\n"
          " exact no-noise: the spread of the same run with the ideal denoiser: where it "
          "stays too, the average of the data is an unstable point of the no-noise update)")
    print(f"{'checkpoint':28} {'DDPM/floor':>10} {'DDIM100/floor':>13} {'exact DDIM100':>13} "
          f"{'train set/floor':>15} {'no-noise spread':>15} {'exact no-noise':>14} "
          f"{'data spread':>11} {'no-noise/floor':>14}  ok")
    for dataset in datasets:
        for process in PROCESS_NAMES:
            model = checkpoints.load(checkpoints.pretrained_path(dataset, process))
            ddpm = median_ratio(model, "ddpm", None, sets)
            ddim = median_ratio(model, "ddim", min(100, model.schedule.T), sets)
            exact = median_ratio(model, "ddim", min(100, model.schedule.T), sets, exact=True)
            no_noise = sample(model.denoiser(), model.schedule, "no_noise", 2000, seed=1).final
            exact_no_noise = spread(sample(model.ideal(), model.schedule, "no_noise", 2000,
                                           seed=1).final)
            collapsed, data = spread(no_noise), spread(model.data.points)
            own = statistics.median(sample_quality(model.data.points, dataset, seed=200 + k).ratio
                                    for k in range(sets))
            ok = ddpm <= TARGET_RATIO and ddim <= TARGET_RATIO and collapsed < data / 2
            print(f"{dataset + '-' + process:28} {ddpm:10.2f} {ddim:13.2f} {exact:13.2f} "
                  f"{own:15.2f} {collapsed:15.3f} {exact_no_noise:14.3f} {data:11.3f} "
                  f"{sample_quality(no_noise, dataset).ratio:14.1f}  {'yes' if ok else 'NO'}")


def time_to_quality(budgets: tuple[float, ...], sets: int) -> None:
    print("\n## Training from scratch on the spiral (DDPM process), by time budget")
    print(f"{'budget s':>8} {'steps':>6} {'DDPM/floor':>10} {'DDIM100/floor':>13}")
    reached = None
    for seconds in budgets:
        model = train(TrainConfig(dataset="spiral", process=ProcessConfig("ddpm"),
                                  seconds=seconds, seed=0))
        ddpm = median_ratio(model, "ddpm", None, sets)
        ddim = median_ratio(model, "ddim", 100, sets)
        print(f"{seconds:8.0f} {model.steps_trained:6d} {ddpm:10.2f} {ddim:13.2f}")
        if reached is None and ddpm <= TARGET_RATIO:
            reached = seconds
    print(f"time to within {TARGET_RATIO:g}x the floor: "
          + (f"<= {reached:g} s" if reached else f"not reached in {budgets[-1]:g} s"))


def guidance_table(model: TrainedModel) -> None:
    print("\n## Guidance on the", model.data.name, "(DDIM 50 steps, 2,000 samples per class)")
    print(f"{'w':>4} " + " ".join(f"{name:>8}" for name in model.class_names) + "   mean")
    for w in (0.0, 1.0, 2.0, 3.0, 5.0):
        shares = [class_share(sample(model.denoiser(), model.schedule, "ddim", 2000, 50,
                                     Guidance(k, w), seed=3).final,
                              model.data.points, model.data.labels, k)
                  for k in range(model.num_classes)]
        print(f"{w:4.1f} " + " ".join(f"{100 * s:7.1f}%" for s in shares)
              + f"  {100 * np.mean(shares):5.1f}%")


def agreement_table(model: TrainedModel) -> None:
    print("\n## Learned vs ideal field where the data is (x_t ~ q(x_t), 2,000 points)")
    print(f"{'t':>5} {'sigma_t':>7} {'mean cosine':>11} {'relative error':>14}")
    schedule = model.schedule
    # t = 1 and ten times evenly spaced as the samplers space them (in sigma for the walk).
    for t in sorted({1, *timesteps(schedule.T, 10, schedule.time_spacing)} - {0}):
        xy = noised_cloud(model.schedule, model.data.points, t, seed=t)
        learned = denoising_direction(model.denoiser(), model.schedule, xy, t).v
        ideal = denoising_direction(model.ideal(), model.schedule, xy, t).v
        a = field_agreement(learned, ideal)
        print(f"{t:5d} {schedule.sigma[t]:7.2f} {a.mean_cosine:11.3f} "
              f"{100 * a.relative_error:13.1f}%")


def cost_table(model: TrainedModel, quick: bool = False) -> None:
    """Interactive costs; `quick` leaves out DDPM over all of a T beyond the default
    steps (the random walk's 65,536 steps take ~1 minute, and no page runs them)."""
    T = model.schedule.T
    print(f"\n## Interactive costs ({model.describe()}), median ms, 1 thread")
    learned, ideal = model.denoiser(), model.ideal()
    rows = [
        ("learned field 32x32", timed(lambda: grid_field(learned, model.schedule, T // 2, 32))),
        ("learned field 64x64", timed(lambda: grid_field(learned, model.schedule, T // 2, 64))),
        ("ideal field 64x64, N = 2,000",
         timed(lambda: grid_field(ideal, model.schedule, T // 2, 64))),
        ("DDIM 50 steps, 2,000 points",
         timed(lambda: sample(learned, model.schedule, "ddim", 2000, 50), repeats=3)),
    ]
    default = model.schedule.default_sampling_steps
    if default < T:
        rows.append((f"DDPM {default} steps (default), 2,000 points (no budget)",
                     timed(lambda: sample(learned, model.schedule, "ddpm", 2000), repeats=3)))
    if not (quick and T > default):
        rows.append((f"DDPM {T} steps, 2,000 points (no budget)",
                     timed(lambda: sample(learned, model.schedule, "ddpm", 2000, T),
                           repeats=1, warm_up=T <= default)))
    for name, ms in rows:
        budget = "" if "no budget" in name else ("  ok" if ms < 50 else "  OVER 50 ms")
        print(f"{name:42} {ms:8.1f}{budget}")


def pictures_table() -> None:
    """The pictures page's exact samplers: power kept per frequency band at t = 0 and the
    time of one page view (3 samplers x 64 pictures of 32 x 32, the page's 200 steps)."""
    print("\n## Pictures (exact Wiener denoiser, 64 pictures of 32 x 32, 200 steps)")
    print("(final power per octave band / the data's, lowest band first; 1.00 = the data)")
    for process in PROCESS_NAMES:
        schedule = make_schedule(process)
        start = time.perf_counter()
        story = picture_story(schedule)
        seconds = time.perf_counter() - start
        for sampler, run in story.samplers.items():
            kept = " ".join(f"{k:5.2f}" for k in run.kept)
            print(f"{process:12} {sampler:9} {kept}")
        print(f"{process:12} page view: {seconds:.2f} s")


def run_bench(quick: bool = False) -> None:
    configure_process()  # one torch thread and the allocator setting, as the server runs
    # 11 sets: one set's ratio is too noisy to judge a model against 2x by a median of
    # fewer. See docs/ARCHITECTURE.md, "The metric and its floor".
    sets = 2 if quick else 11
    print("# explainer bench" + (" (quick)" if quick else ""))
    spiral = {p: checkpoints.load(checkpoints.pretrained_path("spiral", p))
              for p in PROCESS_NAMES}
    for model in spiral.values():
        cost_table(model, quick)
    checkpoint_table(("spiral",) if quick else DATASET_NAMES, sets)
    guidance_table(spiral["ddpm"])
    for model in spiral.values():
        agreement_table(model)
    time_to_quality((2.0,) if quick else (5.0, 10.0, 20.0), sets)
    pictures_table()
    prompt_table(("spiral",) if quick else DATASET_NAMES)
    prompt_training_time(("ddpm",) if quick else PROCESS_NAMES, quick)
