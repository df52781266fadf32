"""Animation exports: time and size of each animation the app offers, as GIF and MP4.

    .venv/bin/python tests/benchmarks/bench_export.py [--repeats 3] [--dataset spiral]

Each animation at the app's defaults on a pretrained model: the sampling page's default
view (3 samplers x 1,000 points x 201 frames, DDPM), page 1's walks (3 walks, 201 times
from 0 to T) on DDPM and on the random walk, page 5's guided samples (500 samples, 41
values of w, DDIM-50). Time = drawing and encoding in this process (the runs already
made, as the pages have them cached), median of --repeats; the guidance row also gives
the 41 sampling runs apart. Then the command line end to end (a new process: imports,
model, sampling, file). Then what an export does to the server's other work: a
"slider" thread runs a fixed pure-Python task (~20 ms idle) every 100 ms, and its times
are compared while nothing else runs, while the default sampling GIF is made in this
process's own thread (holding the GIL, as the first version did), and while it is made in
the worker process (export.in_worker, nice 10, as the pages do): --rounds exports each,
interleaved. A fixed single-thread workload is timed before and after
(reference workload): on a machine shared with other jobs it says how much CPU the run
could have had (~0.3 s on an idle core of this project's machine).
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

import benchlib

from explainer import animations, checkpoints, export
from explainer.runtime import configure_process
from explainer.samplers import SAMPLER_NAMES, sample


def reference_seconds() -> float:
    """The classroom benchmark's reference workload (pure Python, one thread)."""
    start = time.perf_counter()
    total = 0
    for i in range(10_000_000):
        total += i % 7
    return time.perf_counter() - start


def timed(make: Callable[[], bytes], repeats: int) -> tuple[float, int]:
    """Median seconds of make() and the size of what it made."""
    seconds, size = [], 0
    for _ in range(repeats):
        start = time.perf_counter()
        size = len(make())
        seconds.append(time.perf_counter() - start)
    return statistics.median(seconds), size


def row(name: str, make: Callable[[str], bytes], repeats: int) -> None:
    cells = []
    for fmt in ("gif", "mp4"):
        seconds, size = timed(lambda fmt=fmt: make(fmt), repeats)
        cells.append(f"{seconds:5.2f} s {size / 1e6:5.2f} MB")
    print(f"| {name:<44} | {cells[0]} | {cells[1]} |")


def slider_task() -> float:
    """A fixed pure-Python task standing in for a slider's rerun; returns its seconds."""
    start = time.perf_counter()
    total = 0
    for i in range(400_000):
        total += i % 7
    return time.perf_counter() - start


def slider_times(busy: Callable[[], object] | None, seconds: float = 4.0) -> list[float]:
    """The slider task every 100 ms for `seconds`, or while busy() runs beside it."""
    done = threading.Event()
    times: list[float] = []

    def sliders() -> None:
        end = time.monotonic() + seconds
        while not done.is_set() and (busy is not None or time.monotonic() < end):
            times.append(slider_task())
            time.sleep(0.1)

    thread = threading.Thread(target=sliders)
    thread.start()
    if busy is not None:
        busy()
        done.set()
    thread.join()
    return times


def gil_rows(make_here: Callable[[], bytes], make_there: Callable[[], bytes],
             rounds: int) -> None:
    cases = {"nothing else": None, "export in this process's thread": make_here,
             "export in the worker process": make_there}
    times: dict[str, list[float]] = {name: [] for name in cases}
    make_there()  # start the forkserver (the first export only)
    for _ in range(rounds):
        for name, busy in cases.items():
            times[name] += slider_times(busy)
    print("\n| the slider task (~20 ms idle) while ... | n | p50 | p95 | max |\n"
          "|---|---|---|---|---|")
    for name, values in times.items():
        stats = benchlib.percentiles(values)
        print(f"| {name} | {len(values)} | {stats['p50'] * 1000:.0f} ms | "
              f"{stats['p95'] * 1000:.0f} ms | {stats['max'] * 1000:.0f} ms |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--dataset", default="spiral")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    configure_process()
    print(benchlib.machine())
    print(f"reference workload before: {reference_seconds():.2f} s")
    print("| animation (drawing + encoding) | GIF | MP4 |\n|---|---|---|")
    model = checkpoints.load(checkpoints.pretrained_path(args.dataset, "ddpm"))
    data = model.data.points
    runs = [sample(model.denoiser(), model.schedule, s, 1000, None, seed=0)
            for s in SAMPLER_NAMES]
    panels = [animations.Panel(s, r.xs) for s, r in zip(SAMPLER_NAMES, runs, strict=True)]
    row("sampling: 3 x 1,000 points x 201 frames", lambda fmt: animations.sampling(
        panels, runs[0].times, data, "title", fmt), args.repeats)
    for process in ("ddpm", "random_walk"):
        walker = checkpoints.load(checkpoints.pretrained_path(args.dataset, process))
        paths = animations.walk_paths(walker.schedule, data, 3, seed=0)
        row(f"walks ({process}): 3 walks x 201 times", lambda fmt, w=walker, p=paths: (
            animations.walks(w.schedule, w.data.points, p, "title", fmt)), args.repeats)
    ws = animations.guidance_ws()
    label = model.num_classes - 1
    start = time.perf_counter()
    finals = animations.guided_finals(model.denoiser(), model.schedule, label, None, ws, 500,
                                      animations.GUIDANCE_STEPS)
    sampling_s = time.perf_counter() - start
    points = data[model.data.labels == label]
    row(f"guidance: 500 samples x {len(ws)} w", lambda fmt: animations.guidance(
        finals, ws, points, "title", fmt), args.repeats)
    print(f"\nguidance's {len(ws)} DDIM-50 runs of 500 samples before drawing: "
          f"{sampling_s:.2f} s")
    gil_rows(lambda: animations.sampling(panels, runs[0].times, data, "title"),
             lambda: export.in_worker(animations.sampling, panels, runs[0].times, data,
                                      "title"), args.rounds)
    print("\ncommand line, end to end (new process: imports, model, sampling, encoding):")
    with tempfile.TemporaryDirectory() as folder:
        for what, suffix in (("sampling", "gif"), ("sampling", "mp4"), ("walks", "gif"),
                             ("guidance", "gif")):
            out = Path(folder) / f"a.{suffix}"
            start = time.perf_counter()
            subprocess.run([sys.executable, "-m", "explainer", "animate", "--what", what,
                            "--dataset", args.dataset, "--process", "ddpm", "--out",
                            str(out)], check=True, capture_output=True)
            print(f"  animate --what {what} --out a.{suffix}: "
                  f"{time.perf_counter() - start:.2f} s, {out.stat().st_size / 1e6:.2f} MB")
    print(f"reference workload after: {reference_seconds():.2f} s")


if __name__ == "__main__":
    main()
