"""The command line's text-prompt parts (explainer/cli.py hands them over):

- ``sample ... --prompt "outer left" [--negative-prompt "top"] --guidance W``
- ``train ... --prompts-out G.pt``: also train the text model and its denoiser
- ``pretrain-prompts``: (re)make the shipped text-prompt models in assets/prompts/
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from explainer import prompt_checkpoints
from explainer.cli import UsageError, _save, load_from_args, run_with_progress
from explainer.datasets import DATASET_NAMES
from explainer.prompts import PROMPT_STEPS, PromptModel, PromptTrainConfig, PromptTraining
from explainer.schedules import PROCESS_NAMES, ProcessConfig


def add_sample_arguments(c: argparse.ArgumentParser) -> None:
    c.add_argument("--prompt", help="a text prompt, e.g. 'outer top left' (words of the "
                                    "dataset's vocabulary; uses the text-prompt model)")
    c.add_argument("--negative-prompt", help="a text prompt to push away from")


def add_train_arguments(c: argparse.ArgumentParser) -> None:
    c.add_argument("--prompts-out", type=Path,
                   help="also train the text model and a text-conditioned denoiser "
                        f"({PROMPT_STEPS} steps, or --seconds) and save them here")


def add_commands(sub: argparse._SubParsersAction) -> None:
    c = sub.add_parser("pretrain-prompts",
                       help="(re)make the shipped text-prompt models in assets/prompts/")
    c.add_argument("--steps", type=int, default=PROMPT_STEPS)
    c.add_argument("--dataset", choices=DATASET_NAMES, action="append")
    c.add_argument("--process", choices=PROCESS_NAMES, action="append")
    c.add_argument("--out-dir", type=Path, default=prompt_checkpoints.PROMPT_ASSETS)
    c.set_defaults(run=cmd_pretrain_prompts)


def prompted(args: argparse.Namespace) -> bool:
    return args.prompt is not None or args.negative_prompt is not None


def load_prompt_model(args: argparse.Namespace) -> PromptModel:
    return load_from_args(args, prompt_checkpoints.load,
                          prompt_checkpoints.pretrained_prompt_path,
                          "G.pt (made by train --prompts-out)", "a shipped text-prompt model")


def cmd_sample_prompted(args: argparse.Namespace) -> None:
    if args.ideal or args.label is not None or args.negative is not None:
        raise UsageError("--prompt / --negative-prompt do not combine with --ideal, "
                         "--label or --negative")
    model = load_prompt_model(args)
    request = model.request(args.prompt or "", args.negative_prompt or "", args.guidance)
    steps = args.steps or model.schedule.default_sampling_steps
    traj = model.sample(request, args.n, args.seed, args.sampler, steps)
    _save(args.out, x=traj.xs if args.trajectory else traj.final)


def train_prompts_with_progress(config: PromptTrainConfig) -> PromptModel:
    run = PromptTraining(config)
    run_with_progress(run)
    return run.model()


def train_and_save(args: argparse.Namespace) -> None:
    """`train --prompts-out G.pt`: the text-prompt model of the same dataset and process."""
    config = PromptTrainConfig(dataset=args.dataset, process=ProcessConfig(args.process),
                               steps=args.steps or PROMPT_STEPS, seconds=args.seconds,
                               seed=args.seed)
    print("text model and text-conditioned denoiser", file=sys.stderr)
    model = train_prompts_with_progress(config)
    prompt_checkpoints.save(model, args.prompts_out)
    print(f"wrote {args.prompts_out}")


def cmd_pretrain_prompts(args: argparse.Namespace) -> None:
    if args.steps < 1:
        raise UsageError(f"--steps must be positive, got {args.steps}")
    for dataset in args.dataset or DATASET_NAMES:
        for process in args.process or PROCESS_NAMES:
            print(f"{dataset} / {process}", file=sys.stderr)
            config = PromptTrainConfig(dataset=dataset, process=ProcessConfig(process),
                                       steps=args.steps, seed=0)
            model = train_prompts_with_progress(config)
            path = args.out_dir / f"{dataset}-{process}.pt"
            prompt_checkpoints.save(model, path)
            print(f"wrote {path}")
