"""Animations as GIF or MP4 files, for slides and handouts: the drawing and encoding
every animation shares (explainer/animations.py says what each one shows).

A frame is palette indices, drawn with the app's own rasteriser (explainer/raster.py):
under everything the training data at a few grey levels, over it solid dots, lines and
markers in a few inks, and text. Index d * (inks + 1) + k is data level d under ink k
(0: none), so a frame needs no colour quantisation, and the GIF encoder stores only the
pixels that changed since the previous frame (as transparent runs). Solid dots (no soft
edge) and 280 px panels keep the sampling page's default view (3 samplers x 1,000 points
x 201 frames) under 2 MB (1.96 MB on the spiral; 8-level soft dots at 360 px made 3.8 MB).
MP4 (H.264, PyAV's own FFmpeg) gets the same frames as RGB. Every size is bounded
(explainer/limits.py); one export runs at a time per server process (`bounded`), in a
child process of lower priority (`in_worker`), so that it never holds the server's GIL
(page 5's export samples there too).
"""

from __future__ import annotations

import functools
import io
import multiprocessing
import os
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from fractions import Fraction

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from explainer import limits
from explainer.raster import ARROW_COLOUR, DATA_ALPHA, DATA_RGB, coverage

DEFAULT_PANEL_PX = 280  # one panel's side: 3 panels make an 840 px wide figure
PANEL_PX_RANGE = (120, 1024)
HEADER_PX = 44  # two lines of text above each panel: title, then t
FRAME_MS = 40  # 25 frames a second: 201 frames play in 8 s
LAST_FRAME_MS = 2000  # a GIF's last frame stays on screen before the loop starts again
POINT_RADIUS = 1.5  # solid 3 x 3 dots
DATA_LEVELS = 4  # grey levels of the data under the panels
BACKGROUND, TEXT = (255, 255, 255), (30, 30, 30)
FORMATS = {"gif": "image/gif", "mp4": "video/mp4"}  # file suffix -> MIME type
MP4_CRF = 28  # x264 quality (lower is better): at 28 the 3 px dots stay blue and distinct
Progress = Callable[[float], None]
# Exports made at once by one server process (a GIF holds the GIL for ~1 s of numpy and
# encoding: two at once would slow every other visitor's sliders twice as much).
CONCURRENT_EXPORTS = 1
EXPORT_WAIT_S = 20.0
_export_slots = threading.BoundedSemaphore(CONCURRENT_EXPORTS)
WORKER_NICE = 10  # the worker gets the CPU the server leaves (sliders first)
WORKER_TIMEOUT_S = 300.0  # far above any bounded export; a stuck worker is killed


class ExportBusy(ValueError):
    """The server is making other animations; try again shortly."""


class ExportUnavailable(ValueError):
    """A format whose encoder is not installed."""


class ExportFailed(ValueError):
    """The worker process stopped without a file."""


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


def file_format(name: str) -> str:
    """'gif' or 'mp4' from a file name's suffix (ValueError, one line, otherwise)."""
    suffix = name.rsplit(".", 1)[-1].lower() if "." in name else ""
    if suffix not in FORMATS:
        raise ValueError(f"{limits.shown(name)}: give a file name ending in .gif or .mp4")
    return suffix


def check_sizes(n_points: int, n_frames: int, panels: int, panel_px: int) -> None:
    """ValueError (one line) if an animation would be larger than the bounds allow."""
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


# ---------------------------------------------------------------- palette and layout

@dataclass(frozen=True)
class Ink:
    """A colour drawn over the data: alpha < 1 mixes it with what is under it."""
    rgb: tuple[int, int, int]
    alpha: float = 1.0


def hex_rgb(hex_colour: str) -> tuple[int, int, int]:
    return (int(hex_colour[1:3], 16), int(hex_colour[3:5], 16), int(hex_colour[5:7], 16))


BLUE = Ink(hex_rgb(ARROW_COLOUR))  # the samples, as on the pages


@dataclass(frozen=True)
class Layout:
    """Square panels side by side under `header_px` rows of text, drawn in `inks`."""
    panels: int
    panel_px: int
    header_px: int
    inks: tuple[Ink, ...] = (BLUE,)

    @property
    def size(self) -> tuple[int, int]:  # (width, height)
        return self.panels * self.panel_px, self.header_px + self.panel_px

    @property
    def text_index(self) -> int:
        return DATA_LEVELS * (len(self.inks) + 1)

    @functools.cached_property
    def palette(self) -> list[int]:
        """Every mix of background, data (DATA_LEVELS coverages) and ink, index
        d * (inks + 1) + k, then the text colour."""
        data = np.linspace(0, DATA_ALPHA, DATA_LEVELS)[:, None]
        under = (1 - data) * np.array(BACKGROUND) + data * np.array(DATA_RGB)  # (D, 3)
        mixes = [under] + [(1 - ink.alpha) * under + ink.alpha * np.array(ink.rgb)
                           for ink in self.inks]
        colours = np.rint(np.stack(mixes, 1).reshape(-1, 3)).astype(int).tolist()
        return [c for colour in [*colours, list(TEXT)] for c in colour]

    def area(self, frame: np.ndarray, i: int) -> np.ndarray:
        """Panel i of a frame (a view: writing to it writes the frame)."""
        return frame[self.header_px:, i * self.panel_px:(i + 1) * self.panel_px]

    def pixels(self, points: np.ndarray, extent: float) -> np.ndarray:
        """(n, 2) points over [-extent, extent]^2 as (x, y) pixel positions in a panel,
        y down (as raster.coverage places them)."""
        scale = (self.panel_px - 1) / (2 * extent)
        return np.stack([(points[:, 0] + extent) * scale, (extent - points[:, 1]) * scale], 1)


def underlay(layout: Layout, data: Sequence[np.ndarray],
             extents: Sequence[float]) -> np.ndarray:
    """A frame of data only: panel i shows data[i] over [-extents[i], extents[i]]^2."""
    width, height = layout.size
    frame = np.zeros((height, width), dtype=np.uint8)
    for i, (points, extent) in enumerate(zip(data, extents, strict=True)):
        level = np.rint(coverage(points, extent, layout.panel_px, POINT_RADIUS)
                        * (DATA_LEVELS - 1)).astype(np.uint8)
        layout.area(frame, i)[:] = level * (len(layout.inks) + 1)
    return frame


def stamp(layout: Layout, area: np.ndarray, ink: np.ndarray | int,
          where: np.ndarray | None = None) -> None:
    """Inks (1-based, as in layout.inks; 0: none) over `area`: one ink where `where` is
    true, or an array of inks where it is not 0, keeping the data level under them
    (later stamps cover earlier ones)."""
    inks = len(layout.inks) + 1
    if where is None:
        where = ink > 0
        ink = ink[where]
    area[where] = area[where] // inks * inks + ink


def dots(layout: Layout, points: np.ndarray, extent: float) -> np.ndarray:
    """Where solid dots at `points` cover a panel."""
    return coverage(points, extent, layout.panel_px, POINT_RADIUS) >= 0.5


def shapes(layout: Layout, draw: Callable[[ImageDraw.ImageDraw], None]) -> np.ndarray:
    """The inks of lines and markers that draw(ImageDraw) draws on a panel (with fill =
    the ink's number), 0 elsewhere."""
    canvas = Image.new("L", (layout.panel_px, layout.panel_px), 0)
    draw(ImageDraw.Draw(canvas))
    return np.frombuffer(canvas.tobytes(), np.uint8).reshape(layout.panel_px, -1)


def font(text: str = "", width: int = 10**6,
         px: int = HEADER_PX // 2 - 4) -> ImageFont.ImageFont | ImageFont.FreeTypeFont:
    """The default font at `px`, smaller (down to 9 px) if `text` is wider than `width`."""
    while px > 9 and _face(px).getlength(text) > width:
        px -= 1
    return _face(px)


@functools.lru_cache(maxsize=32)
def _face(px: int) -> ImageFont.ImageFont | ImageFont.FreeTypeFont:
    return ImageFont.load_default(size=px)


def with_text(layout: Layout, frame: np.ndarray,
              lines: Iterable[tuple[float, float, str]]) -> Image.Image:
    """The frame as a palette image with each (x, y, text) written centred at x, top y."""
    image = Image.fromarray(frame, "P")
    image.putpalette(layout.palette)
    draw = ImageDraw.Draw(image)
    for x, y, text in lines:
        room = 2 * min(x, image.width - x) - 4  # centred at x: as wide as fits both ways
        draw.text((x, y), text, fill=layout.text_index, font=font(text, room), anchor="mt")
    return image


# ---------------------------------------------------------------- encoding

def encode(frames: Iterable[Image.Image], n_frames: int, fmt: str = "gif",
           frame_ms: int = FRAME_MS, progress: Progress | None = None) -> bytes:
    """The frames as a looping GIF (the last one held LAST_FRAME_MS) or an MP4 at
    1000 / frame_ms frames a second; `progress(fraction)` is called as frames are made."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {limits.shown(fmt)}: gif or mp4")
    counted = _counted(frames, n_frames, progress)
    return _gif(counted, n_frames, frame_ms) if fmt == "gif" else _mp4(counted, frame_ms)


def _counted(frames: Iterable[Image.Image], n_frames: int,
             progress: Progress | None) -> Iterator[Image.Image]:
    for done, frame in enumerate(frames, 1):
        yield frame
        if progress is not None:
            progress(min(1.0, done / n_frames))


def _gif(frames: Iterator[Image.Image], n_frames: int, frame_ms: int) -> bytes:
    first = next(frames)
    out = io.BytesIO()
    durations = [frame_ms] * (n_frames - 1) + [LAST_FRAME_MS]
    first.save(out, format="GIF", save_all=True, append_images=frames, duration=durations,
               loop=0, optimize=True, disposal=1)
    return out.getvalue()


def _mp4(frames: Iterator[Image.Image], frame_ms: int) -> bytes:
    """H.264 in MP4, yuv420p (what every player and slide program plays); one encoder
    thread, so an export leaves the second core to the server."""
    try:
        import av  # lazy: ~0.2 s to import, and only MP4 needs it
    except ImportError:
        raise ExportUnavailable("MP4 needs the Python package 'av' (PyAV): pip install av; "
                                "GIF works without it") from None
    out = io.BytesIO()
    with av.open(out, mode="w", format="mp4") as container:
        stream = None
        for image in frames:
            rgb = np.asarray(image.convert("RGB"))
            rgb = np.pad(rgb, ((0, rgb.shape[0] % 2), (0, rgb.shape[1] % 2), (0, 0)),
                         constant_values=255)  # yuv420p needs even sides
            if stream is None:
                stream = container.add_stream("libx264", rate=Fraction(1000, frame_ms))
                stream.height, stream.width = rgb.shape[:2]
                stream.pix_fmt = "yuv420p"
                stream.options = {"crf": str(MP4_CRF), "preset": "veryfast"}
                stream.codec_context.thread_count = 1
            frame = av.VideoFrame.from_ndarray(rgb, format="rgb24")
            container.mux(stream.encode(frame))
        if stream is not None:
            container.mux(stream.encode(None))
    return out.getvalue()


# ---------------------------------------------------------------- the worker process

@functools.lru_cache(maxsize=1)
def _context() -> multiprocessing.context.BaseContext:
    """Children forked from a clean server process that has imported the animations once
    (not from the Streamlit server itself: forking a process with threads is unsafe)."""
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["explainer.animations"])
    return context


def in_worker(make: Callable[..., bytes], *args: object, progress: Progress | None = None,
              **kwargs: object) -> bytes:
    """make(*args, progress=..., **kwargs) in a child process at lower priority (nice
    WORKER_NICE): its work holds none of this process's locks (the GIL), and it gets only
    the CPU this process leaves. Progress comes back over a pipe; a ValueError raised by
    make is raised here."""
    context = _context()
    receive, send = context.Pipe(duplex=False)
    worker = context.Process(target=_work, args=(send, make, args, kwargs), daemon=True)
    worker.start()
    send.close()
    try:
        while receive.poll(WORKER_TIMEOUT_S):
            kind, value = receive.recv()
            if kind == "progress" and progress is not None:
                progress(value)
            elif kind == "done":
                return value
            elif kind == "error":
                raise value
        raise ExportFailed("making the animation took too long; please try again")
    except EOFError:
        raise ExportFailed("making the animation failed (its worker stopped); please "
                           "try again") from None
    finally:
        receive.close()
        worker.join(timeout=1.0)
        if worker.is_alive():
            worker.kill()
            worker.join()


def _work(send: multiprocessing.connection.Connection, make: Callable[..., bytes],
          args: tuple, kwargs: dict) -> None:
    from explainer.runtime import configure_process  # torch: imported by the preload

    os.nice(WORKER_NICE)
    configure_process()  # one torch thread, as the server (guidance samples here)
    try:
        data = make(*args, progress=lambda f: send.send(("progress", f)), **kwargs)
        send.send(("done", data))
    except ValueError as exc:  # a bound or a missing encoder: the caller says it
        send.send(("error", exc))
    finally:
        send.close()
