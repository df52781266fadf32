"""A point cloud drawn once into a PNG image, for charts whose points never change.

Why: a browser without a GPU redraws a chart's WebGL scatter (or thousands of SVG
markers) slowly on every change, while an image costs almost nothing to redraw. See
docs/ARCHITECTURE.md, "Figures without WebGL". The training data under a vector field is
drawn once per point set (figures/primitives.py points_image caches it); page 1's noised cloud once
per t, with the data, into one image. Pure numpy and zlib: no imaging library.
"""

from __future__ import annotations

import base64
import struct
import zlib
from collections.abc import Sequence

import numpy as np

# The colours that PNG rasters, GIFs and Plotly charts share (no plotly needed here).
DATA_RGB, DATA_ALPHA = (150, 150, 150), 0.45
ARROW_COLOUR = "#0072B2"
CLOUD_RGB, CLOUD_ALPHA = (86, 180, 233), 0.35  # the noised cloud on page 1
# Okabe-Ito: distinguishable for colour-blind readers, visible on white and on black.
PALETTE = ("#E69F00", "#56B4E9", "#009E73", "#F0E442", "#0072B2", "#D55E00", "#CC79A7",
           "#999999")


def frame_indices(n_times: int, max_frames: int) -> np.ndarray:
    """Which of n_times states an animation shows: at most max_frames, evenly spaced,
    always the first (t = T) and the last (t = 0)."""
    return np.unique(np.linspace(0, n_times - 1, min(max_frames, n_times)).round().astype(int))


def disc_kernel(radius: float) -> np.ndarray:
    """Coverage (0..1) of a disc of `radius` pixels on a square of pixels around its
    centre, with a one-pixel soft edge so the dots are not jagged."""
    half = int(np.ceil(radius)) + 1
    yy, xx = np.mgrid[-half:half + 1, -half:half + 1]
    return np.clip(radius + 0.5 - np.hypot(xx, yy), 0.0, 1.0).astype(np.float32)


def coverage(points: np.ndarray, extent: float, size: int, radius: float) -> np.ndarray:
    """(size, size) coverage of dots at `points` over [-extent, extent]^2; row 0 is the
    top (y = +extent), as in an image. Overlapping dots do not add up (max), so a dense
    region looks like one flat colour, as overlapping markers of one colour do."""
    kernel = disc_kernel(radius)
    half = kernel.shape[0] // 2
    canvas = np.zeros((size + 2 * half, size + 2 * half), dtype=np.float32)
    scale = (size - 1) / (2 * extent)
    cols = np.rint((points[:, 0] + extent) * scale).astype(int) + half
    rows = np.rint((extent - points[:, 1]) * scale).astype(int) + half
    inside = (cols >= half) & (cols < size + half) & (rows >= half) & (rows < size + half)
    rows, cols = rows[inside], cols[inside]
    for dy, dx in zip(*np.nonzero(kernel), strict=True):
        np.maximum.at(canvas, (rows + dy - half, cols + dx - half), kernel[dy, dx])
    return canvas[half:-half, half:-half]


def png_data_url(rgba: np.ndarray) -> str:
    """An (h, w, 4) uint8 image as a "data:image/png;base64,..." URL (no filtering:
    the mostly transparent images here compress well without)."""
    height, width, _ = rgba.shape
    scanlines = np.concatenate([np.zeros((height, 1), np.uint8),
                                np.ascontiguousarray(rgba, np.uint8).reshape(height, -1)],
                               axis=1)

    def chunk(kind: bytes, body: bytes) -> bytes:
        crc = zlib.crc32(kind + body) & 0xFFFFFFFF
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", width, height, 8, 6, 0, 0, 0)  # 8-bit RGBA
    png = (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
           + chunk(b"IDAT", zlib.compress(scanlines.tobytes(), 6)) + chunk(b"IEND", b""))
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


Layer = tuple[np.ndarray, tuple[int, int, int], float]  # (points, rgb, alpha)


def points_png(layers: Sequence[Layer], extent: float, size: int = 640,
               radius: float = 2.4) -> str:
    """Dots at each layer's points, in its colour and opacity, over [-extent, extent]^2,
    later layers over earlier ones ("over" compositing), as a PNG data URL."""
    colour = np.zeros((size, size, 3), dtype=np.float32)  # premultiplied by alpha
    alpha = np.zeros((size, size), dtype=np.float32)
    for points, rgb, opacity in layers:
        a = coverage(points, extent, size, radius) * opacity
        colour = colour * (1 - a[..., None]) + np.asarray(rgb, np.float32) * a[..., None]
        alpha = alpha * (1 - a) + a
    rgba = np.zeros((size, size, 4), dtype=np.uint8)
    rgba[..., :3] = np.rint(colour / np.maximum(alpha, 1e-6)[..., None])
    rgba[..., 3] = np.rint(alpha * 255)
    return png_data_url(rgba)
