"""Command line: ``python -m explainer COMMAND ...`` (``--help`` on each command).

For scripting, classroom preparation and checking. Arrays are saved with numpy
(.npy float32, .npz for several). A bad argument exits with status 2 and one line; every
size has an upper bound (explainer/limits.py), checked before anything is allocated.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import TypeVar

import numpy as np

from explainer import animations, checkpoints, export, limits, under_conditioned
from explainer.datasets import DATASET_NAMES, Dataset, make_dataset, parse_label
from explainer.fields import grid_field
from explainer.guidance import Guidance
from explainer.ideal import IdealDenoiser
from explainer.images import (
    DEFAULT_SIZE,
    MAX_IMAGES,
    SIZE_RANGE,
    PictureConfig,
    check_count,
    check_size,
    data_images,
    make_pictures,
    reverse_run,
)
from explainer.runtime import configure_process
from explainer.samplers import SAMPLER_NAMES, sample
from explainer.schedules import PROCESS_NAMES, ProcessConfig, make_schedule
from explainer.train_config import PRETRAIN_RECIPE, PRETRAIN_STEPS, TrainConfig
from explainer.trained import TrainedModel, with_measured_quality
from explainer.training import Training
from explainer.user_data import USER_DATA_NAME, read_csv

T = TypeVar("T")
ANIMATIONS = ("sampling", "walks", "guidance")

class UsageError(Exception):
    """A bad argument: printed as one line, exit status 2."""


def positive_float(text: str) -> float:
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be a positive number, got {text}")
    return value


def count(lo: int, hi: int) -> Callable[[str], int]:
    """An argument type: a whole number in lo..hi (explainer/limits.py's bounds)."""
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"expected a whole number, got {limits.shown(text)}") from None
        try:
            return limits.check_count("the value", value, lo, hi)
        except ValueError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None
    return parse


def training_seconds(text: str) -> float:
    """An argument type: a training time in (0, MAX_TRAIN_SECONDS] seconds."""
    value = positive_float(text)
    if not value <= limits.MAX_TRAIN_SECONDS:  # also inf and nan
        raise argparse.ArgumentTypeError(
            f"must be at most {limits.MAX_TRAIN_SECONDS:g} seconds, got {text}")
    return value


def class_name(text: str) -> str:
    """An argument type: a class name or index, of a sane length."""
    if len(text) > limits.MAX_NAME_CHARS:
        raise argparse.ArgumentTypeError(f"a class name has at most {limits.MAX_NAME_CHARS} "
                                         f"characters, got {len(text):,}")
    return text


SEED = count(0, limits.MAX_SEED)


class Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line, not the whole usage text
        self.exit(2, f"{self.prog}: error: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    from explainer import prompt_cli  # imports this module's helpers

    p = Parser(prog="python -m explainer", description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="command", required=True, parser_class=Parser)

    c = sub.add_parser("data", help="draw a labelled dataset (.npz: points, labels)")
    c.add_argument("--dataset", choices=DATASET_NAMES, required=True)
    c.add_argument("--n", type=count(1, limits.MAX_DRAWN_POINTS), default=2000)
    c.add_argument("--seed", type=SEED, default=0)
    c.add_argument("--out", type=Path, required=True)
    c.set_defaults(run=cmd_data)

    c = sub.add_parser("schedule", help="the noise schedule (.npz: alpha, sigma; index t)")
    c.add_argument("--process", choices=PROCESS_NAMES, required=True)
    c.add_argument("--T", type=count(limits.MIN_T, limits.MAX_T), default=0,
                   help="steps (default per process)")
    c.add_argument("--out", type=Path, required=True)
    c.set_defaults(run=cmd_schedule)

    c = sub.add_parser("train", help="train a model and save a checkpoint")
    data = c.add_mutually_exclusive_group(required=True)
    data.add_argument("--dataset", choices=DATASET_NAMES)
    data.add_argument("--data", type=Path, help="your own points: a CSV file with columns x, "
                      "y and optionally class (header optional); scaled into the view")
    c.add_argument("--process", choices=PROCESS_NAMES, required=True)
    budget = c.add_mutually_exclusive_group()
    budget.add_argument("--steps", type=count(1, limits.MAX_TRAIN_STEPS), default=None)
    budget.add_argument("--seconds", type=training_seconds, default=None)
    c.add_argument("--hidden", type=count(limits.MIN_HIDDEN, limits.MAX_HIDDEN), default=128)
    c.add_argument("--depth", type=count(1, limits.MAX_DEPTH), default=3)
    c.add_argument("--seed", type=SEED, default=0)
    c.add_argument("--out", type=Path, required=True)
    prompt_cli.add_train_arguments(c)
    c.set_defaults(run=cmd_train)

    c = sub.add_parser("sample", help="sample points (.npy), or the whole trajectory")
    _model_arguments(c)
    c.add_argument("--ideal", action="store_true", help="use the exact ideal denoiser")
    c.add_argument("--sampler", choices=SAMPLER_NAMES, required=True)
    c.add_argument("--steps", type=count(1, limits.MAX_T), default=None,
                   help="default: T, or 1,000 if T is larger (Karras-spaced for the "
                        "random walk)")
    c.add_argument("--n", type=count(1, limits.MAX_SAMPLES), default=2000)
    _guidance_arguments(c)
    c.add_argument("--seed", type=SEED, default=0)
    prompt_cli.add_sample_arguments(c)
    c.add_argument("--trajectory", action="store_true",
                   help="save (steps+1, n, 2) instead of the final (n, 2)")
    c.add_argument("--out", type=Path, required=True)
    c.set_defaults(run=cmd_sample)

    c = sub.add_parser("animate", help="an animation as a GIF or MP4, for slides: a "
                       "sampling run, page 1's random walks, or page 5's guided samples")
    _model_arguments(c)
    c.add_argument("--what", choices=ANIMATIONS, default="sampling",
                   help="sampling: from noise to data (one panel per sampler); walks: "
                        "random walks from the data outward over t; guidance: samples of "
                        "--label as w goes from 0 to --guidance")
    c.add_argument("--ideal", action="store_true", help="use the exact ideal denoiser")
    c.add_argument("--sampler", choices=(*SAMPLER_NAMES, "all"), default=None,
                   help="sampling: one sampler, or all three side by side (default); "
                        "guidance: the sampler of every run (default ddim)")
    c.add_argument("--steps", type=count(1, limits.MAX_T), default=None,
                   help="sampler steps (sampling: T, or 1,000 if T is larger; guidance: "
                        f"{animations.GUIDANCE_STEPS}, or T if smaller)")
    c.add_argument("--n", type=count(1, limits.MAX_GIF_POINTS), default=None,
                   help="sampling: points (default 1,000); walks: walks to follow "
                        f"(1..{animations.MAX_WALKS}, default 3); guidance: samples "
                        "(default 500)")
    _guidance_arguments(c)
    c.set_defaults(guidance=None)  # each animation has its own default w
    c.add_argument("--seed", type=SEED, default=0)
    c.add_argument("--frames", type=count(2, limits.MAX_GIF_FRAMES), default=None,
                   help="sampling: at most this many, evenly spaced (default: every step); "
                        f"walks: times from 0 to T (default {animations.WALK_FRAMES}); "
                        "guidance: values of w (default: every "
                        f"{animations.GUIDANCE_W_STEP:g})")
    c.add_argument("--size", type=count(*export.PANEL_PX_RANGE), default=None,
                   help=f"each panel's side in pixels (default {export.DEFAULT_PANEL_PX} "
                        f"for sampling, {animations.WALKS_PX} otherwise)")
    c.add_argument("--out", type=Path, required=True, help="F.gif or F.mp4")
    c.set_defaults(run=cmd_animate)

    c = sub.add_parser("field", help="the denoising direction on a grid (.npz: xy, v)")
    _model_arguments(c)
    c.add_argument("--ideal", action="store_true", help="use the exact ideal denoiser")
    c.add_argument("--data", type=Path, help="with --ideal: training points from this .npz")
    c.add_argument("--t", type=int, required=True)
    c.add_argument("--grid", type=count(limits.MIN_GRID, limits.MAX_GRID), default=32)
    _guidance_arguments(c)
    c.add_argument("--out", type=Path, required=True)
    c.set_defaults(run=cmd_field)

    c = sub.add_parser("images", help="pictures with an exact denoiser (.npy: N, S, S)")
    c.add_argument("--what", choices=("data", *SAMPLER_NAMES), required=True,
                   help="data pictures, or the final pictures of a sampler run on the "
                        "exact (Wiener) denoiser")
    c.add_argument("--process", choices=PROCESS_NAMES, default="ddpm")
    c.add_argument("--steps", type=count(1, limits.MAX_T), default=None,
                   help="sampler steps (default: T, or 1,000 if T is larger)")
    c.add_argument("--n", type=int, default=16, help=f"pictures, 1..{MAX_IMAGES}")
    c.add_argument("--size", type=int, default=DEFAULT_SIZE,
                   help=f"S, in {SIZE_RANGE[0]}..{SIZE_RANGE[1]}")
    c.add_argument("--seed", type=SEED, default=0)
    c.add_argument("--out", type=Path, required=True)
    c.set_defaults(run=cmd_images)

    c = sub.add_parser("pretrain", help="(re)make the pretrained checkpoints in assets/")
    c.add_argument("--steps", type=count(1, limits.MAX_TRAIN_STEPS), default=None,
                   help="optimiser steps per model (default per process: "
                        + ", ".join(f"{k} {v}" for k, v in PRETRAIN_STEPS.items()) + ")")
    c.add_argument("--dataset", choices=DATASET_NAMES, action="append")
    c.add_argument("--process", choices=PROCESS_NAMES, action="append")
    c.add_argument("--out-dir", type=Path, default=None,
                   help="default: assets/ (assets/under_conditioned/ with --under-conditioned)")
    c.add_argument("--under-conditioned", action="store_true",
                   help="make the networks that rarely saw the class (the guidance page's; "
                        "explainer/under_conditioned.py) instead")
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
    c.add_argument("--label", type=class_name,
                   help="class name or index (default: unconditional)")
    c.add_argument("--guidance", type=float, default=1.0, help="w: 0 uncond, 1 cond, >1 guided")
    c.add_argument("--negative", type=class_name, help="class to push away from")


def load_model(args: argparse.Namespace) -> TrainedModel:
    return load_from_args(args, checkpoints.load, checkpoints.pretrained_path,
                          "F.pt", "a pretrained model")


def load_from_args(args: argparse.Namespace, load: Callable[[Path], T],
                   pretrained_path: Callable[[str, str], Path], file_hint: str,
                   what: str) -> T:
    """The model of --checkpoint, else the shipped one of --dataset and --process."""
    if args.checkpoint is not None:
        return load(args.checkpoint)
    if args.dataset is None or args.process is None:
        raise UsageError(f"give --checkpoint {file_hint}, or --dataset and --process "
                         f"for {what}")
    return load(pretrained_path(args.dataset, args.process))


def guidance_from(args: argparse.Namespace, names: tuple[str, ...]) -> Guidance:
    return Guidance(parse_label(args.label, names), args.guidance,
                    parse_label(args.negative, names)).check(len(names))


def _save(path: Path, **arrays: np.ndarray) -> None:
    """Write exactly `path` (numpy would add a missing .npy or .npz itself)."""
    if path.suffix == ".npy" and len(arrays) != 1:  # else: "too many values to unpack"
        raise UsageError(f"{path}: this command writes several arrays "
                         f"({', '.join(arrays)}); give an .npz file")
    if path.suffix not in (".npy", ".npz"):
        kinds = ".npz or .npy" if len(arrays) == 1 else ".npz"
        raise UsageError(f"{path}: give a file name ending in {kinds}")
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


def train_with_progress(config: TrainConfig, data: Dataset | None = None) -> TrainedModel:
    run = Training(config, data)
    run_with_progress(run)
    return with_measured_quality(run.model())


def cmd_train(args: argparse.Namespace) -> None:
    from explainer import prompt_cli

    steps = args.steps if args.steps is not None else 3000
    data = None
    if args.data is not None:
        own = read_csv(args.data, seed=args.seed)
        data = own.dataset
        print(f"{args.data}: {own.rows:,} points, {data.num_classes} class(es), scaled "
              f"x{own.scale:.3g} into the view; training on {len(data.points):,}",
              file=sys.stderr)
    config = TrainConfig(dataset=USER_DATA_NAME if data else args.dataset,
                         process=ProcessConfig(args.process), steps=steps,
                         seconds=args.seconds, n_data=len(data.points) if data else 2000,
                         hidden=args.hidden, depth=args.depth, seed=args.seed)
    model = train_with_progress(config, data)
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
    steps = sampling_steps(args, model)
    traj = sample(eps_model, model.schedule, args.sampler, args.n, steps,
                  guidance_from(args, model.class_names), args.seed)
    _save(args.out, x=traj.xs if args.trajectory else traj.final)


def sampling_steps(args: argparse.Namespace, model: TrainedModel, runs: int = 1) -> int:
    """--steps or the default, if `runs` runs of --n samples fit the bound."""
    steps = args.steps or model.schedule.default_sampling_steps
    if runs * args.n * steps > limits.MAX_SAMPLE_POINT_STEPS:  # a sampler keeps every step
        raise UsageError(f"--n {args.n:,} samples x {steps:,} steps"
                         f"{f' x {runs} samplers' if runs > 1 else ''} is more than "
                         f"{limits.MAX_SAMPLE_POINT_STEPS:,} point-steps; give a smaller "
                         "--n or --steps")
    return steps


NOT_FOR = {"walks": ("sampler", "steps", "label", "guidance", "negative", "ideal")}


def cmd_animate(args: argparse.Namespace) -> None:
    fmt = export.file_format(args.out.name)
    for name in NOT_FOR.get(args.what, ()):
        if getattr(args, name) not in (None, False):
            raise UsageError(f"--{name} does not apply to --what {args.what}")
    model = load_model(args)
    make = {"sampling": animate_sampling, "walks": animate_walks,
            "guidance": animate_guidance}[args.what]
    data = make(args, model, fmt)
    print(file=sys.stderr)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_bytes(data)
    print(f"wrote {args.out} ({len(data) / 1e6:.2f} MB)")


def frames_bar(fraction: float) -> None:
    progress_bar(fraction, "frames")


def animate_sampling(args: argparse.Namespace, model: TrainedModel, fmt: str) -> bytes:
    args.n = args.n or 1000
    args.guidance = 1.0 if args.guidance is None else args.guidance
    sampler = args.sampler or "all"
    samplers = SAMPLER_NAMES if sampler == "all" else (sampler,)
    steps = sampling_steps(args, model, len(samplers))
    size = args.size or export.DEFAULT_PANEL_PX
    frames = args.frames or limits.MAX_GIF_FRAMES
    export.check_sizes(args.n, min(frames, steps + 1), len(samplers), size)
    guidance = guidance_from(args, model.class_names)
    eps_model = model.ideal() if args.ideal else model.denoiser()
    print(f"sampling {args.n:,} points, {steps:,} steps, {', '.join(samplers)}...",
          file=sys.stderr)
    runs = [sample(eps_model, model.schedule, s, args.n, steps, guidance, args.seed)
            for s in samplers]
    title = f"{model.data.name}, {model.schedule.name}, {steps:,} steps"
    if guidance.label is not None:
        title += f", class {model.class_names[guidance.label]}, w = {guidance.w:g}"
    panels = [animations.Panel(s, r.xs) for s, r in zip(samplers, runs, strict=True)]
    return animations.sampling(panels, runs[0].times, model.data.points, title, fmt, frames,
                               size, frames_bar)


def animate_walks(args: argparse.Namespace, model: TrainedModel, fmt: str) -> bytes:
    count = args.n or 3
    if count > animations.MAX_WALKS:
        raise UsageError(f"--n: at most {animations.MAX_WALKS} walks, got {count}")
    paths = animations.walk_paths(model.schedule, model.data.points, count, args.seed)
    title = animations.walks_title(model.data.name, model.schedule, count)
    return animations.walks(model.schedule, model.data.points, paths, title, fmt,
                            args.frames or animations.WALK_FRAMES,
                            args.size or animations.WALKS_PX, frames_bar)


def animate_guidance(args: argparse.Namespace, model: TrainedModel, fmt: str) -> bytes:
    names = model.class_names
    args.label = names[-1] if args.label is None else args.label  # page 5's default
    w_max = animations.GUIDANCE_W_MAX if args.guidance is None else args.guidance
    label, negative = parse_label(args.label, names), parse_label(args.negative, names)
    Guidance(label, w_max, negative).check(len(names))
    ws = animations.guidance_ws(w_max, args.frames)
    sampler = args.sampler or animations.GUIDANCE_SAMPLER
    if sampler == "all":
        raise UsageError("--sampler all applies to --what sampling only")
    steps = args.steps or min(animations.GUIDANCE_STEPS, model.schedule.T)
    n, size = args.n or 500, args.size or animations.GUIDANCE_PX
    export.check_sizes(n, len(ws), 1, size)
    eps_model = model.ideal() if args.ideal else model.denoiser()
    print(f"sampling {n:,} points, {steps} {sampler} steps, for {len(ws)} values of w...",
          file=sys.stderr)
    away = "" if negative is None else f", away from '{names[negative]}'"
    title = f"Class '{names[label]}'{away}: {sampler}, {steps} steps"
    points = model.data.points[model.data.labels == label]
    return animations.guided(eps_model, model.schedule, label, negative, ws, n, steps,
                             points, title, fmt, args.seed, sampler, size,
                             lambda f: progress_bar(f, "runs, then frames"))


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
    need = f"{path}: need an .npz with an array 'points' (n, 2)"
    try:
        npz = np.load(path)
        if not isinstance(npz, np.lib.npyio.NpzFile):
            raise UsageError(need)
        with npz:
            n = _points_in(npz, path, need)
            points = np.asarray(npz["points"], dtype=np.float32)
            labels = (np.asarray(npz["labels"], dtype=np.int64) if "labels" in npz
                      else np.zeros(n, dtype=np.int64))
    except (OSError, ValueError, KeyError) as exc:
        raise UsageError(f"{need}: {exc}") from None
    if points.shape != (n, 2) or not np.isfinite(points).all():
        raise UsageError(f"{path}: 'points' must be finite and of shape (n, 2)")
    return IdealDenoiser(model.schedule, points, labels, model.num_classes)


def _points_in(npz: np.lib.npyio.NpzFile, path: Path, need: str) -> int:
    """How many points the file holds, read from the arrays' .npy headers before any
    array is read, and checked against MAX_DATA_POINTS."""
    if "points" not in npz:
        raise UsageError(need)
    n = _stored_shape(npz, "points")[0]
    if n > limits.MAX_DATA_POINTS:
        raise UsageError(f"{path}: {n:,} points; the ideal denoiser takes at most "
                         f"{limits.MAX_DATA_POINTS:,}")
    if "labels" in npz and _stored_shape(npz, "labels") != (n,):
        raise UsageError(f"{path}: 'labels' must hold one class per point")
    return n


def _stored_shape(npz: np.lib.npyio.NpzFile, key: str) -> tuple[int, ...]:
    """The shape of `key` from its .npy header (ValueError if it has none)."""
    with npz.zip.open(f"{key}.npy") as f:
        version = np.lib.format.read_magic(f)
        header = (np.lib.format.read_array_header_1_0 if version == (1, 0)
                  else np.lib.format.read_array_header_2_0)
        shape = header(f)[0]
    return shape if len(shape) else (0,)


def cmd_images(args: argparse.Namespace) -> None:
    pictures = make_pictures(PictureConfig(size=check_size(args.size)))
    n = check_count(args.n)
    if args.what == "data":
        x = data_images(pictures, n, args.seed)
    else:
        schedule = make_schedule(args.process)
        x = reverse_run(pictures, schedule, args.what, n, args.steps, args.seed).final
    _save(args.out, x=x)


def cmd_pretrain(args: argparse.Namespace) -> None:
    for dataset in args.dataset or DATASET_NAMES:
        for process in args.process or PROCESS_NAMES:
            print(f"{dataset} / {process}", file=sys.stderr)
            # A step budget (not seconds) makes the files the same on any machine.
            if args.under_conditioned:
                config = under_conditioned.config(dataset, process)
                config = replace(config, steps=args.steps or config.steps)
            else:
                config = TrainConfig(dataset=dataset, process=ProcessConfig(process),
                                     steps=args.steps or PRETRAIN_STEPS[process], seed=0,
                                     **PRETRAIN_RECIPE)
            model = train_with_progress(config)
            out_dir = args.out_dir or (under_conditioned.FOLDER if args.under_conditioned
                                       else checkpoints.ASSETS)
            out_dir.mkdir(parents=True, exist_ok=True)
            path = out_dir / f"{dataset}-{process}.pt"
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
