"""The app's three animations as GIF or MP4 bytes (drawn and encoded by
explainer/export.py):

- `sampling`: a sampling run, one panel per sampler, from noise (t = T) to data (t = 0).
- `walks`: page 1's random walks, from the data outward as t grows, over the whole
  noised cloud; the view widens with the cloud, as the page's does.
- `guidance`: page 5's guided samples of one class, one frame per w from 0 up.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

import numpy as np
from PIL import ImageDraw

from explainer import export, limits
from explainer.export import HEADER_PX, Ink, Layout, Progress
from explainer.fields import VIEW_EXTENT, view_extent
from explainer.guidance import Guidance
from explainer.model import EpsModel
from explainer.raster import CLOUD_RGB, PALETTE, frame_indices
from explainer.samplers import sample, timesteps
from explainer.schedules import Schedule, forward_paths, noised_cloud

WALKS_PX = GUIDANCE_PX = 480  # one panel alone: larger than a sampler's
WALK_FRAMES = 201  # t from 0 to T: 8 s at 25 frames a second
MAX_WALKS = 8  # page 1's slider; one ink each
PATH_VERTICES = 1000  # a walk is drawn through at most this many of its steps
GUIDANCE_FRAME_MS = 150  # w changes slower than t: 41 values of w play in 6 s
GUIDANCE_W_MAX, GUIDANCE_W_STEP = 10.0, 0.25  # page 5's slider's end; w per frame
GUIDANCE_SAMPLER, GUIDANCE_STEPS = "ddim", 50  # page 5's deterministic run
CLOUD_INK = Ink(CLOUD_RGB, 0.6)  # solid dots: a little stronger than the page's soft ones


def _part(progress: Progress | None, lo: float, hi: float) -> Progress | None:
    """progress for a stage that covers lo..hi of the whole."""
    return None if progress is None else (lambda f: progress(lo + (hi - lo) * f))


def _centre(layout: Layout, i: int) -> float:
    return (i + 0.5) * layout.panel_px


# ---------------------------------------------------------------- sampling over t

@dataclass(frozen=True)
class Panel:
    title: str  # e.g. "DDPM"
    xs: np.ndarray  # (steps + 1, n, 2): the samples at each of the run's times


def sampling(panels: Sequence[Panel], times: np.ndarray, data: np.ndarray, title: str,
             fmt: str = "gif", max_frames: int = limits.MAX_GIF_FRAMES,
             panel_px: int = export.DEFAULT_PANEL_PX,
             progress: Progress | None = None) -> bytes:
    """The panels' runs side by side, at most `max_frames` frames evenly spaced over the
    run (always t = T and t = 0). `title` goes above the panels' titles."""
    n_times = len(times)
    if any(p.xs.shape[:1] != (n_times,) or p.xs.ndim != 3 for p in panels):
        raise ValueError("every panel needs one point set per time")
    keep = frame_indices(n_times, max_frames)
    export.check_sizes(panels[0].xs.shape[1] if panels else 0, len(keep), len(panels),
                       panel_px)
    layout = Layout(len(panels), panel_px, HEADER_PX + (HEADER_PX // 2 if title else 0))
    extent = max(VIEW_EXTENT, *(1.05 * float(np.abs(p.xs[-1]).max()) for p in panels))
    base = export.underlay(layout, [data] * len(panels), [extent] * len(panels))
    top = layout.header_px
    fixed = [(_centre(layout, i), top - HEADER_PX + 2, p.title) for i, p in enumerate(panels)]
    if title:
        fixed.append((layout.size[0] / 2, 4, title))

    def frames() -> Iterator:
        for k in keep:
            frame = base.copy()
            for i, panel in enumerate(panels):
                export.stamp(layout, layout.area(frame, i), 1,
                             export.dots(layout, panel.xs[k], extent))
            yield export.with_text(layout, frame, fixed + [
                (_centre(layout, i), top - HEADER_PX // 2 + 2, f"t = {times[k]}")
                for i in range(len(panels))])

    return export.encode(frames(), len(keep), fmt, export.FRAME_MS, progress)


# ---------------------------------------------------------------- random walks over t

def walk_paths(schedule: Schedule, data: np.ndarray, count: int, seed: int) -> np.ndarray:
    """Whole random-walk paths (T+1, count, 2) of `count` training points picked by seed
    (page 1's walks for the same count and seed)."""
    picks = np.random.default_rng(seed).choice(len(data), size=count, replace=False)
    return forward_paths(schedule, data[picks], seed=seed)


def walks_title(dataset: str, schedule: Schedule, count: int) -> str:
    return (f"{dataset}, {schedule.name} process: {count} walk{'s' if count > 1 else ''} "
            "from the data")


def walk_times(schedule: Schedule, frames: int) -> list[int]:
    """`frames` times from 0 to T spaced as page 1's t slider (evenly in sigma_t for the
    random walk), fewer if T is smaller."""
    return sorted(timesteps(schedule.T, min(schedule.T, frames - 1), schedule.time_spacing))


def walks(schedule: Schedule, data: np.ndarray, paths: np.ndarray, title: str,
          fmt: str = "gif", frames: int = WALK_FRAMES, panel_px: int = WALKS_PX,
          progress: Progress | None = None) -> bytes:
    """Random walks (T+1, k, 2) drawn up to each t (circle: start, cross: now) over the
    data and the whole data set noised to t (page 1's cloud, seed 0)."""
    if paths.ndim != 3 or paths.shape[0] != schedule.T + 1:
        raise ValueError("the paths need one position per step 0..T")
    limits.check_count("the number of walks", paths.shape[1], 1, MAX_WALKS)
    times = walk_times(schedule, frames)
    export.check_sizes(len(data), len(times), 1, panel_px)
    inks = (CLOUD_INK, *(Ink(export.hex_rgb(PALETTE[i])) for i in range(paths.shape[1])))
    layout = Layout(1, panel_px, HEADER_PX, inks)

    underlay: dict[float, np.ndarray] = {}  # the last one: DDPM's view hardly changes

    def frames_() -> Iterator:
        for t in times:
            cloud = noised_cloud(schedule, data, t, seed=0)
            path = paths[frame_indices(t + 1, PATH_VERTICES + 1)]
            extent = view_extent(cloud, path.reshape(-1, 2), data)
            if extent not in underlay:  # the view widens with the cloud, in 0.1 steps
                underlay.clear()
                underlay[extent] = export.underlay(layout, [data], [extent])
            frame = underlay[extent].copy()
            area = layout.area(frame, 0)
            export.stamp(layout, area, 1, export.dots(layout, cloud, extent))
            walks_drawn = [layout.pixels(path[:, i], extent) for i in range(paths.shape[1])]
            export.stamp(layout, area, export.shapes(layout, _walk_drawing(walks_drawn)))
            yield export.with_text(layout, frame, [
                (panel_px / 2, 2, title),
                (panel_px / 2, HEADER_PX // 2 + 2, f"t = {t:,} (sigma_t = "
                 f"{schedule.sigma[t]:.2f}); view ±{extent:g}")])

    return export.encode(frames_(), len(times), fmt, export.FRAME_MS, progress)


def _walk_drawing(walks_xy: Sequence[np.ndarray]) -> Callable[[ImageDraw.ImageDraw], None]:
    """Each walk (pixel positions) as a path with a circle at its start and a cross at its
    end, in ink 2 + its number (ink 1 is the cloud)."""
    def draw(d: ImageDraw.ImageDraw) -> None:
        for i, xy in enumerate(walks_xy):
            ink = 2 + i
            points = [tuple(p) for p in xy.tolist()]
            if len(points) > 1:
                d.line(points, fill=ink, width=2, joint="curve")
            (x0, y0), (x1, y1) = points[0], points[-1]
            d.ellipse((x0 - 5, y0 - 5, x0 + 5, y0 + 5), outline=ink, width=2)
            d.line((x1 - 5, y1 - 5, x1 + 5, y1 + 5), fill=ink, width=3)
            d.line((x1 - 5, y1 + 5, x1 + 5, y1 - 5), fill=ink, width=3)
    return draw


# ---------------------------------------------------------------- guided samples over w

def guidance_ws(w_max: float = GUIDANCE_W_MAX, frames: int | None = None) -> np.ndarray:
    """The w of each frame: 0 to w_max, GUIDANCE_W_STEP apart, or `frames` values."""
    if not w_max > 0:
        raise ValueError(f"the largest w must be positive, got {limits.shown(w_max)}")
    Guidance(None, w_max).check(0)  # and no larger than any w allows
    count = frames if frames is not None else int(round(w_max / GUIDANCE_W_STEP)) + 1
    limits.check_count("the number of frames", count, 2, limits.MAX_GIF_FRAMES)
    return np.linspace(0.0, w_max, count)


def guided_finals(model: EpsModel, schedule: Schedule, label: int, negative: int | None,
                  ws: np.ndarray, n: int, steps: int, seed: int = 0,
                  progress: Progress | None = None,
                  sampler: str = GUIDANCE_SAMPLER) -> np.ndarray:
    """(len(ws), n, 2): where the same starting noise lands for each w (page 5's run)."""
    if len(ws) * n * steps > limits.MAX_SAMPLE_POINT_STEPS:
        raise ValueError(f"{len(ws)} values of w x {n:,} samples x {steps} steps is more "
                         f"than {limits.MAX_SAMPLE_POINT_STEPS:,} point-steps: give fewer "
                         "frames, samples or steps")
    finals = []
    for done, w in enumerate(ws, 1):
        guidance = Guidance(label, float(w), negative)
        finals.append(sample(model, schedule, sampler, n, steps, guidance, seed).final)
        if progress is not None:
            progress(done / len(ws))
    return np.stack(finals)


def guided(model: EpsModel, schedule: Schedule, label: int, negative: int | None,
           ws: np.ndarray, n: int, steps: int, class_points: np.ndarray, title: str,
           fmt: str = "gif", seed: int = 0, sampler: str = GUIDANCE_SAMPLER,
           panel_px: int = GUIDANCE_PX, progress: Progress | None = None) -> bytes:
    """guided_finals, then their animation (`guidance`): the whole of page 5's export in
    one call, for a worker process (export.in_worker)."""
    export.check_sizes(n, len(ws), 1, panel_px)  # before the runs, not after
    finals = guided_finals(model, schedule, label, negative, ws, n, steps, seed,
                           _part(progress, 0.0, 0.6), sampler)
    return guidance(finals, ws, class_points, title, fmt, panel_px, _part(progress, 0.6, 1.0))


def guidance(finals: np.ndarray, ws: np.ndarray, class_points: np.ndarray, title: str,
             fmt: str = "gif", panel_px: int = GUIDANCE_PX,
             progress: Progress | None = None) -> bytes:
    """One frame per w: the samples guided with that w, over the class's training points."""
    if finals.ndim != 3 or len(finals) != len(ws):
        raise ValueError("one point set per w")
    export.check_sizes(finals.shape[1], len(ws), 1, panel_px)
    layout = Layout(1, panel_px, HEADER_PX)
    extent = view_extent(*finals, class_points)

    def frames() -> Iterator:
        for w, xs in zip(ws, finals, strict=True):
            frame = export.underlay(layout, [class_points], [extent])
            export.stamp(layout, layout.area(frame, 0), 1, export.dots(layout, xs, extent))
            outside = int((np.abs(xs) > extent).any(1).sum())
            yield export.with_text(layout, frame, [
                (panel_px / 2, 2, title),
                (panel_px / 2, HEADER_PX // 2 + 2, f"w = {w:g}" + (
                    f" ({outside} of {len(xs)} samples outside the view)" if outside
                    else ""))])

    return export.encode(frames(), len(ws), fmt, GUIDANCE_FRAME_MS, progress)
