"""A sampling run as an animated GIF, for slides and handouts.

Each frame is the samples at one t over the training data, one panel per sampler, with
the panel's title and the frame's t written above. The points are drawn with the app's
own rasteriser (explainer/raster.py) into a small fixed palette, so a frame needs no
colour quantisation, and the encoder stores only the pixels that changed since the
previous frame (as transparent runs). The size is the dots': solid dots (no soft edge)
and 280 px panels keep the sampling page's default view (3 samplers x 1,000 points x
201 frames) under 2 MB (1.96 MB on the spiral; 8-level soft dots at 360 px made 3.8 MB),
made in about a second. Every size is bounded (explainer/limits.py).
"""

from __future__ import annotations

import io
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from explainer import limits
from explainer.fields import VIEW_EXTENT
from explainer.raster import ARROW_COLOUR, DATA_ALPHA, DATA_RGB, coverage, frame_indices

DEFAULT_PANEL_PX = 280  # one panel's side: 3 panels make an 840 px wide figure
PANEL_PX_RANGE = (120, 1024)
HEADER_PX = 44  # two lines of text above each panel: title, then t
FRAME_MS = 40  # 25 frames a second: 201 frames play in 8 s
LAST_FRAME_MS = 2000  # the final samples stay on screen before the loop starts again
POINT_RADIUS = 1.5  # solid 3 x 3 dots
DATA_LEVELS, POINT_LEVELS = 4, 2  # coverage steps of the palette: 8 colours and text
BACKGROUND, TEXT = (255, 255, 255), (30, 30, 30)
Progress = Callable[[float], None]
# GIFs made at once by one server process (a GIF holds the GIL for ~1 s of numpy and
# encoding: two at once would slow every other visitor's sliders twice as much).
CONCURRENT_EXPORTS = 1
EXPORT_WAIT_S = 20.0
_export_slots = threading.BoundedSemaphore(CONCURRENT_EXPORTS)


class ExportBusy(ValueError):
    """The server is making other animations; try again shortly."""


def bounded(make: Callable[[], bytes], wait: float | None = None) -> bytes:
    """make(), once one of the process's CONCURRENT_EXPORTS slots is free (ExportBusy
    after `wait` seconds, default EXPORT_WAIT_S)."""
    wait = EXPORT_WAIT_S if wait is None else wait
    if not _export_slots.acquire(timeout=wait):
        raise ExportBusy(f"the server is busy making other animations ({wait:.0f} s "
                         "waited); please try again in a minute")
    try:
        return make()
    finally:
        _export_slots.release()


@dataclass(frozen=True)
class GifPanel:
    title: str  # e.g. "DDPM"
    xs: np.ndarray  # (steps + 1, n, 2): the samples at each of the run's times


def _rgb(hex_colour: str) -> np.ndarray:
    return np.array([int(hex_colour[i:i + 2], 16) for i in (1, 3, 5)], dtype=np.float64)


def palette() -> list[int]:
    """Every mix of background, data (DATA_LEVELS coverages) and points (POINT_LEVELS),
    index d * POINT_LEVELS + p, then the text colour."""
    data = np.linspace(0, DATA_ALPHA, DATA_LEVELS)[:, None, None]
    points = np.linspace(0, 1, POINT_LEVELS)[None, :, None]
    under = (1 - data) * np.array(BACKGROUND) + data * np.array(DATA_RGB)
    mixed = (1 - points) * under + points * _rgb(ARROW_COLOUR)
    colours = np.rint(mixed.reshape(-1, 3)).astype(int).tolist() + [list(TEXT)]
    return [c for colour in colours for c in colour]


TEXT_INDEX = DATA_LEVELS * POINT_LEVELS


def check_sizes(n_points: int, n_frames: int, panels: int, panel_px: int) -> None:
    """ValueError (one line) if the GIF would be larger than the bounds allow."""
    limits.check_count("the number of points", n_points, 1, limits.MAX_GIF_POINTS)
    limits.check_count("the number of frames", n_frames, 1, limits.MAX_GIF_FRAMES)
    limits.check_count("the number of panels", panels, 1, limits.MAX_GIF_PANELS)
    limits.check_count("the panel size in pixels", panel_px, *PANEL_PX_RANGE)
    pixels = n_frames * panels * panel_px * (panel_px + 2 * HEADER_PX)
    if pixels > limits.MAX_GIF_PIXELS:
        raise ValueError(f"{n_frames:,} frames of {panels} panels of {panel_px} px is "
                         f"{pixels / 1e6:,.0f} M pixels; at most "
                         f"{limits.MAX_GIF_PIXELS / 1e6:,.0f} M: give fewer frames or "
                         "smaller panels")


def sampling_gif(panels: Sequence[GifPanel], times: np.ndarray, data: np.ndarray,
                 title: str, max_frames: int = limits.MAX_GIF_FRAMES,
                 panel_px: int = DEFAULT_PANEL_PX, progress: Progress | None = None) -> bytes:
    """The panels' runs as one looping GIF, at most `max_frames` frames evenly spaced
    over the run (always t = T and t = 0). `title` goes above the panels' titles;
    `progress(fraction)` is called as frames are made."""
    n_times = len(times)
    if any(p.xs.shape[:1] != (n_times,) or p.xs.ndim != 3 for p in panels):
        raise ValueError("every panel needs one point set per time")
    keep = frame_indices(n_times, max_frames)
    check_sizes(panels[0].xs.shape[1] if panels else 0, len(keep), len(panels), panel_px)
    extent = max(VIEW_EXTENT, *(1.05 * float(np.abs(p.xs[-1]).max()) for p in panels))
    base = _base_frame(panels, data, title, extent, panel_px)
    frames = _frames(panels, times, keep, base, extent, panel_px, progress)
    first = next(frames)
    out = io.BytesIO()
    durations = [FRAME_MS] * (len(keep) - 1) + [LAST_FRAME_MS]
    first.save(out, format="GIF", save_all=True, append_images=frames, duration=durations,
               loop=0, optimize=True, disposal=1)
    return out.getvalue()


def _font(px: int) -> ImageFont.ImageFont | ImageFont.FreeTypeFont:
    return ImageFont.load_default(size=px)


def _base_frame(panels: Sequence[GifPanel], data: np.ndarray, title: str, extent: float,
                panel_px: int) -> np.ndarray:
    """Palette indices of everything that stays: the data under every panel, the texts
    that do not change with t."""
    data_level = np.rint(coverage(data, extent, panel_px, POINT_RADIUS)
                         * (DATA_LEVELS - 1)).astype(np.uint8) * POINT_LEVELS
    top = HEADER_PX + (HEADER_PX // 2 if title else 0)
    base = np.zeros((top + panel_px, panel_px * len(panels)), dtype=np.uint8)
    for i in range(len(panels)):
        base[top:, i * panel_px:(i + 1) * panel_px] = data_level
    image = Image.fromarray(base, "P")
    draw = ImageDraw.Draw(image)
    font = _font(HEADER_PX // 2 - 4)
    if title:
        draw.text((image.width // 2, 4), title, fill=TEXT_INDEX, font=font, anchor="mt")
    for i, panel in enumerate(panels):
        draw.text(((i + 0.5) * panel_px, top - HEADER_PX + 2), panel.title, fill=TEXT_INDEX,
                  font=font, anchor="mt")
    return np.asarray(image)


def _frames(panels: Sequence[GifPanel], times: np.ndarray, keep: np.ndarray,
            base: np.ndarray, extent: float, panel_px: int,
            progress: Progress | None) -> Iterator[Image.Image]:
    """One palette image per kept time, made as the encoder asks for it."""
    top = base.shape[0] - panel_px
    font = _font(HEADER_PX // 2 - 4)
    colours = palette()
    for done, k in enumerate(keep):
        frame = base.copy()
        for i, panel in enumerate(panels):
            level = np.rint(coverage(panel.xs[k], extent, panel_px, POINT_RADIUS)
                            * (POINT_LEVELS - 1)).astype(np.uint8)
            area = frame[top:, i * panel_px:(i + 1) * panel_px]
            area += level  # data level * POINT_LEVELS + point level
        image = Image.fromarray(frame, "P")
        image.putpalette(colours)
        draw = ImageDraw.Draw(image)
        for i in range(len(panels)):
            draw.text(((i + 0.5) * panel_px, top - HEADER_PX // 2 + 2), f"t = {times[k]}",
                      fill=TEXT_INDEX, font=font, anchor="mt")
        if progress is not None:
            progress((done + 1) / len(keep))
        yield image
