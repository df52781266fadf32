"""Command line: ``python -m explainer COMMAND ...`` (``--help`` on each command).

For scripting, classroom preparation and checking. Arrays are saved with numpy
(.npy float32, .npz for several). A bad argument exits with status 2 and one line.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from explainer import checkpoints
from explainer.datasets import DATASET_NAMES, make_dataset, parse_label
from explainer.fields import grid_field
from explainer.guidance import Guidance
from explainer.ideal import IdealDenoiser
from explainer.runtime import configure_process
from explainer.samplers import SAMPLER_NAMES, sample
from explainer.schedules import PROCESS_NAMES, ProcessConfig, make_schedule
from explainer.trained import TrainedModel, with_measured_quality
from explainer.training import TrainConfig, Training

# The shipped checkpoints' recipe: longer runs with bigger batches at a gentler learning
# rate than TrainConfig's defaults (which are tuned for live training in seconds), and a
# network half as wide (DDIM-50 on 2,000 points ~44 ms; 131 ms at 128 units; 48 units
# was tried: no better overall). 32,000 steps rather than 16,000: spiral-ddpm DDIM-100
# 2.06x -> 1.85x, moons-random_walk 1.96x -> 1.79x (`python -m explainer bench`,
# session 6, where the rest of the table is in BENCHMARKS.md).
PRETRAIN_STEPS = {"ddpm": 32000, "random_walk": 32000}
PRETRAIN_RECIPE = {"batch": 1024, "lr": 1e-2, "hidden": 64}


class UsageError(Exception):
    """A bad argument: printed as one line, exit status 2."""


def positive_int(text: str) -> int:
    value = int(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text}")
    return value


def positive_float(text: str) -> float:
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be a positive number, got {text}")
    return value


class Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line, not the whole usage text
        self.exit(2, f"{self.prog}: error: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    from explainer import prompt_cli  # imports this module's helpers

    p = Parser(prog="python -m explainer", description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="command", required=True, parser_class=Parser)

    c = sub.add_parser("data", help="draw a labelled dataset (.npz: points, labels)")
    c.add_argument("--dataset", choices=DATASET_NAMES, required=True)
    c.add_argument("--n", type=positive_int, default=2000)
    c.add_argument("--seed", type=int, default=0)
    c.add_argument("--out", type=Path, required=True)
    c.set_defaults(run=cmd_data)

    c = sub.add_parser("schedule", help="the noise schedule (.npz: alpha, sigma; index t)")
    c.add_argument("--process", choices=PROCESS_NAMES, required=True)
    c.add_argument("--T", type=positive_int, default=0, help="steps (default per process)")
    c.add_argument("--out", type=Path, required=True)
    c.set_defaults(run=cmd_schedule)

    c = sub.add_parser("train", help="train a model and save a checkpoint")
    c.add_argument("--dataset", choices=DATASET_NAMES, required=True)
    c.add_argument("--process", choices=PROCESS_NAMES, required=True)
    budget = c.add_mutually_exclusive_group()
    budget.add_argument("--steps", type=positive_int, default=None)
    budget.add_argument("--seconds", type=positive_float, default=None)
    c.add_argument("--hidden", type=positive_int, default=128)
    c.add_argument("--depth", type=positive_int, default=3)
    c.add_argument("--seed", type=int, default=0)
    c.add_argument("--out", type=Path, required=True)
    prompt_cli.add_train_arguments(c)
    c.set_defaults(run=cmd_train)

    c = sub.add_parser("sample", help="sample points (.npy), or the whole trajectory")
    _model_arguments(c)
    c.add_argument("--ideal", action="store_true", help="use the exact ideal denoiser")
    c.add_argument("--sampler", choices=SAMPLER_NAMES, required=True)
    c.add_argument("--steps", type=positive_int, default=None,
                   help="default: T, or 1,000 if T is larger (Karras-spaced for the "
                        "random walk)")
    c.add_argument("--n", type=positive_int, default=2000)
    _guidance_arguments(c)
    prompt_cli.add_sample_arguments(c)
    c.add_argument("--seed", type=int, default=0)
    c.add_argument("--trajectory", action="store_true",
                   help="save (steps+1, n, 2) instead of the final (n, 2)")
    c.add_argument("--out", type=Path, required=True)
    c.set_defaults(run=cmd_sample)

    c = sub.add_parser("field", help="the denoising direction on a grid (.npz: xy, v)")
    _model_arguments(c)
    c.add_argument("--ideal", action="store_true", help="use the exact ideal denoiser")
    c.add_argument("--data", type=Path, help="with --ideal: training points from this .npz")
    c.add_argument("--t", type=int, required=True)
    c.add_argument("--grid", type=positive_int, default=32)
    _guidance_arguments(c)
    c.add_argument("--out", type=Path, required=True)
    c.set_defaults(run=cmd_field)

    c = sub.add_parser("pretrain", help="(re)make the pretrained checkpoints in assets/")
    c.add_argument("--steps", type=positive_int, default=None,
                   help="optimiser steps per model (default per process: "
                        + ", ".join(f"{k} {v}" for k, v in PRETRAIN_STEPS.items()) + ")")
    c.add_argument("--dataset", choices=DATASET_NAMES, action="append")
    c.add_argument("--process", choices=PROCESS_NAMES, action="append")
    c.add_argument("--out-dir", type=Path, default=checkpoints.ASSETS)
    c.set_defaults(run=cmd_pretrain)
    prompt_cli.add_commands(sub)

    c = sub.add_parser("bench", help="print the speed and quality table")
    c.add_argument("--quick", action="store_true", help="fewer repeats, one dataset")
    c.set_defaults(run=cmd_bench)
    return p


def _model_arguments(c: argparse.ArgumentParser) -> None:
    c.add_argument("--checkpoint", type=Path, help="a .pt file (default: the pretrained one)")
    c.add_argument("--dataset", choices=DATASET_NAMES)
    c.add_argument("--process", choices=PROCESS_NAMES)


def _guidance_arguments(c: argparse.ArgumentParser) -> None:
    c.add_argument("--label", help="class name or index (default: unconditional)")
    c.add_argument("--guidance", type=float, default=1.0, help="w: 0 uncond, 1 cond, >1 guided")
    c.add_argument("--negative", help="class to push away from")


def load_model(args: argparse.Namespace) -> TrainedModel:
    if args.checkpoint is not None:
        return checkpoints.load(args.checkpoint)
    if args.dataset is None or args.process is None:
        raise UsageError("give --checkpoint F.pt, or --dataset and --process "
                         "for a pretrained model")
    return checkpoints.load(checkpoints.pretrained_path(args.dataset, args.process))


def guidance_from(args: argparse.Namespace, names: tuple[str, ...]) -> Guidance:
    return Guidance(parse_label(args.label, names), args.guidance,
                    parse_label(args.negative, names)).check(len(names))


def _save(path: Path, **arrays: np.ndarray) -> None:
    if path.suffix == ".npy" and len(arrays) != 1:  # else: "too many values to unpack"
        raise UsageError(f"{path}: this command writes several arrays "
                         f"({', '.join(arrays)}); give an .npz file")
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix == ".npy":
        (array,) = arrays.values()
        np.save(path, array.astype(np.float32))
    else:
        np.savez(path, **arrays)
    print(f"wrote {path}")


def cmd_data(args: argparse.Namespace) -> None:
    d = make_dataset(args.dataset, args.n, args.seed)
    _save(args.out, points=d.points, labels=d.labels)


def cmd_schedule(args: argparse.Namespace) -> None:
    s = make_schedule(ProcessConfig(args.process, args.T))
    _save(args.out, alpha=s.alpha.astype(np.float32), sigma=s.sigma.astype(np.float32))


def progress_bar(fraction: float, text: str, width: int = 30) -> None:
    filled = int(width * fraction)
    print(f"\r[{'#' * filled}{'.' * (width - filled)}] {100 * fraction:3.0f}% {text}",
          end="", file=sys.stderr, flush=True)


def run_with_progress(run: Training) -> None:
    """Train to the end of the budget, with a progress bar on stderr."""
    for stats in run.run():
        if stats.step % 25 == 0 or stats.progress >= 1:
            progress_bar(stats.progress, f"step {stats.step} loss {stats.loss:.3f} "
                         f"{stats.elapsed:.1f}s")
    print(file=sys.stderr)


def train_with_progress(config: TrainConfig) -> TrainedModel:
    run = Training(config)
    run_with_progress(run)
    return with_measured_quality(run.model())


def cmd_train(args: argparse.Namespace) -> None:
    from explainer import prompt_cli

    steps = args.steps if args.steps is not None else 3000
    config = TrainConfig(dataset=args.dataset, process=ProcessConfig(args.process),
                         steps=steps, seconds=args.seconds, hidden=args.hidden,
                         depth=args.depth, seed=args.seed)
    model = train_with_progress(config)
    print(f"DDPM sample quality: {model.quality.sentence()}")  # type: ignore[union-attr]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    checkpoints.save(model, args.out)
    print(f"wrote {args.out}")
    if args.prompts_out is not None:
        prompt_cli.train_and_save(args)


def cmd_sample(args: argparse.Namespace) -> None:
    from explainer import prompt_cli

    if prompt_cli.prompted(args):
        prompt_cli.cmd_sample_prompted(args)
        return
    model = load_model(args)
    eps_model = model.ideal() if args.ideal else model.denoiser()
    steps = args.steps or model.schedule.default_sampling_steps
    traj = sample(eps_model, model.schedule, args.sampler, args.n, steps,
                  guidance_from(args, model.class_names), args.seed)
    _save(args.out, x=traj.xs if args.trajectory else traj.final)


def cmd_field(args: argparse.Namespace) -> None:
    if args.data is not None and not args.ideal:
        raise UsageError("--data only applies with --ideal")
    model = load_model(args)
    eps_model = model.ideal() if args.ideal else model.denoiser()
    if args.data is not None:
        eps_model = _ideal_from_file(args.data, model)
    f = grid_field(eps_model, model.schedule, args.t, args.grid,
                   guidance_from(args, model.class_names))
    _save(args.out, xy=f.xy, v=f.v)


def _ideal_from_file(path: Path, model: TrainedModel) -> IdealDenoiser:
    if not path.is_file():
        raise UsageError(f"{path}: no such file")
    try:
        with np.load(path) as npz:
            points = np.asarray(npz["points"], dtype=np.float32)
            labels = (np.asarray(npz["labels"], dtype=np.int64) if "labels" in npz
                      else np.zeros(len(points), dtype=np.int64))
    except (OSError, ValueError, KeyError) as exc:
        raise UsageError(f"{path}: need an .npz with an array 'points' (n, 2): {exc}") from None
    if points.ndim != 2 or points.shape[1] != 2 or not np.isfinite(points).all():
        raise UsageError(f"{path}: 'points' must be finite and of shape (n, 2)")
    return IdealDenoiser(model.schedule, points, labels, model.num_classes)


def cmd_pretrain(args: argparse.Namespace) -> None:
    for dataset in args.dataset or DATASET_NAMES:
        for process in args.process or PROCESS_NAMES:
            print(f"{dataset} / {process}", file=sys.stderr)
            # A step budget (not seconds) makes the files the same on any machine.
            config = TrainConfig(dataset=dataset, process=ProcessConfig(process),
                                 steps=args.steps or PRETRAIN_STEPS[process], seed=0,
                                 **PRETRAIN_RECIPE)
            model = train_with_progress(config)
            path = args.out_dir / f"{dataset}-{process}.pt"
            checkpoints.save(model, path)
            print(f"wrote {path}: {model.quality.sentence()}")  # type: ignore[union-attr]


def cmd_bench(args: argparse.Namespace) -> None:
    from explainer.bench import run_bench

    run_bench(quick=args.quick)


def main(argv: Sequence[str] | None = None) -> int:
    configure_process()  # one thread, as the server runs it; also the fastest here
    args = build_parser().parse_args(argv)
    run: Callable[[argparse.Namespace], None] = args.run
    try:
        run(args)
    # CheckpointError is a ValueError; OSError: an --out that cannot be written.
    except (UsageError, ValueError, OSError) as exc:
        print(f"python -m explainer {args.command}: error: {exc}", file=sys.stderr)
        return 2
    return 0
