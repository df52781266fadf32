"""Upper bounds on every size that enters from outside: a checkpoint file, a URL, a
command-line argument. Each is checked where the size is read, before anything of that
size is allocated, so a crafted file or a typo gets one line instead of a server killed
for memory.

The bounds allow everything the app and the shipped checkpoints use, with headroom:

==========================  ===========  ============================================
bound                       value        why
==========================  ===========  ============================================
MAX_T                       262,144      process steps T. The random walk uses 65,536
                                         (4x headroom). A loaded model holds ~40 bytes
                                         per step (schedule, the network's c_in and
                                         time coordinates): 10 MB at the bound; T = 10^9
                                         would be ~40 GB.
MAX_HIDDEN, MAX_DEPTH       1,024, 8     network width and hidden layers (the app
                                         offers 64..256 and 2..4; shipped: 64 x 3).
                                         1,024 x 8 is ~8.4 M weights (34 MB).
MAX_EMBEDDING               256          Fourier features, time and label embedding
                                         widths (shipped: 32, 32, 16).
MAX_CLASSES                 64           classes of a model (the datasets have 2..8).
MAX_DATA_POINTS             10,000       a model's stored training set, also the ideal
                                         denoiser's data (and `field --data`): the app
                                         trains on 2,000; every ideal-denoiser view
                                         costs time in proportion.
MAX_DRAWN_POINTS            1,000,000    `data --n`: points drawn to a file (~12 MB).
MAX_SAMPLES                 100,000      `sample --n`.
MAX_SAMPLE_POINT_STEPS      10,000,000   samples x sampler steps: a sampler keeps every
                                         step's points and x0_hat (16 bytes a point a
                                         step, ~0.3 GB at the bound with its copies); the
                                         pages' largest run is 2,000 x 1,000.
MAX_GRID                    256          a field's grid side (65,536 arrows; the pages
                                         draw at most 32).
MAX_TRAIN_STEPS             1,000,000    a training budget in optimiser steps ...
MAX_TRAIN_SECONDS           3,600        ... or in seconds (the app offers up to 120).
MAX_BATCH                   65,536       training batch (shipped: 1,024).
MAX_STEPS_TRAINED           10^9         the step count a checkpoint reports.
MAX_SEED                    2^32 - 1     seeds on the command line (pages: 0..9,999).
MAX_NAME_CHARS              100          a class name typed on the command line.
MAX_CHECKPOINT_BYTES        64 MB        a checkpoint file, and the unpacked size of its
                                         records (a 1,024 x 8 network is ~34 MB; the
                                         app's uploads stop at 5 MB, .streamlit/
                                         config.toml). Checked before torch.load: a
                                         compressed record could otherwise unpack a
                                         small upload into gigabytes.
MIN_USER_POINTS             20           a user's CSV file or drawing (user_data.py):
MAX_USER_ROWS               100,000      points read; the model trains on at most
                                         USER_TRAIN_POINTS of them, as on the
                                         built-in sets' 2,000.
MAX_USER_CSV_BYTES          5 MB         the CSV file (100,000 rows of full-precision
                                         x, y, class are ~4 MB); checked before it
                                         is decoded. The app's uploads stop at 5 MB.
MAX_USER_CLASSES            10           classes in its class column ...
MAX_USER_CLASS_CHARS        24           ... each named in at most 24 characters.
MAX_GIF_FRAMES              1,001        an animation's frames (explainer/export.py):
                                         every state of a 1,000-step run.
MAX_GIF_POINTS              10,000       points drawn per panel and frame.
MAX_GIF_PANELS              3            samplers side by side.
MAX_GIF_PIXELS              256 M        frames x width x height: the encoder keeps
                                         every frame (one byte a pixel); the
                                         sampling page's default GIF is ~90 M.
MAX_LESSON_BYTES            32 KB        a lesson file (explainer/lessons.py): 50
                                         steps of 300-character narration and a few
                                         settings are ~20 KB. Checked before decoding
                                         (Home's uploader stops at 1 MB in the browser).
MAX_LESSON_STEPS            50           steps of a lesson: a class hour, with room.
MAX_NARRATION_CHARS         300          a step's narration: one line under the bar
                                         (two sentences at most; the shipped lesson's
                                         longest is ~200).
MAX_LESSON_TITLE_CHARS      100          a lesson's title.
MAX_SHELVED_LESSONS         64           uploaded lessons a server keeps behind their
                                         links (least recently used dropped): ~2 MB.
MAX_CHART_DATA_BYTES        32 MB        a chart's data download (explainer/
                                         chart_data.py), made only when clicked: the
                                         largest, page 1's 8 random walks at t = T
                                         (65,537 steps each), is 4.8 MB; page 3's
                                         2,000 points x 3 samplers x 34 frames, 1.7 MB.
==========================  ===========  ============================================

Smaller bounds live where the value is read: the pages' controls and URL values offer
fixed choices (pages/shared.py checks each link value against them).
"""

from __future__ import annotations

import math
from numbers import Integral, Real
from typing import Any

MIN_T = 2
MAX_T = 262_144
MIN_HIDDEN = 8
MAX_HIDDEN = 1024
MAX_DEPTH = 8
MAX_EMBEDDING = 256
MAX_CLASSES = 64
MIN_DATA_POINTS = 10
MAX_DATA_POINTS = 10_000
MAX_DRAWN_POINTS = 1_000_000
MAX_SAMPLES = 100_000
MAX_SAMPLE_POINT_STEPS = 10_000_000
MIN_GRID = 2
MAX_GRID = 256
MAX_TRAIN_STEPS = 1_000_000
MAX_TRAIN_SECONDS = 3600.0
MAX_BATCH = 65_536
MAX_STEPS_TRAINED = 10**9
MAX_SEED = 2**32 - 1
MAX_NAME_CHARS = 100
MAX_CHECKPOINT_BYTES = 64 * 2**20
MIN_USER_POINTS = 20
MAX_USER_ROWS = 100_000
MAX_USER_CSV_BYTES = 5 * 2**20
MAX_USER_CLASSES = 10
MAX_USER_CLASS_CHARS = 24
MAX_GIF_FRAMES = 1001
MAX_GIF_POINTS = 10_000
MAX_GIF_PANELS = 3
MAX_GIF_PIXELS = 256 * 10**6
MAX_LESSON_BYTES = 32 * 1024
MAX_LESSON_STEPS = 50
MAX_NARRATION_CHARS = 300
MAX_LESSON_TITLE_CHARS = 100
MAX_SHELVED_LESSONS = 64
MAX_CHART_DATA_BYTES = 32 * 2**20


def shown(value: Any, width: int = 40) -> str:
    """`value` for a message: a huge number as its order of magnitude (a 5,000-digit int
    cannot even be turned into a string), anything else shortened to `width` chars."""
    if isinstance(value, Integral) and not isinstance(value, bool):
        value = int(value)
        if abs(value) >= 10**15:
            digits = int(value.bit_length() * math.log10(2))
            return f"{'-' if value < 0 else ''}~10^{digits}"
        return f"{value:,}"
    text = repr(value) if not isinstance(value, Real) else str(value)
    return text if len(text) <= width else text[: width - 1] + "…"


def check_count(what: str, value: Any, lo: int, hi: int) -> int:
    """`value` as an int if it is a whole number in lo..hi, else ValueError naming `what`
    and the bound (a bool, float or string is refused even if it looks whole)."""
    if isinstance(value, bool) or not isinstance(value, Integral):
        raise ValueError(f"{what} must be a whole number, got {shown(value)}")
    if value < lo:
        raise ValueError(f"{what} must be at least {lo:,}, got {shown(value)}")
    if value > hi:
        raise ValueError(f"{what} must be at most {hi:,} (this app's limit), "
                         f"got {shown(value)}")
    return int(value)


def check_finite(what: str, value: Any, lo: float, hi: float) -> float:
    """`value` as a float if it is a finite number in lo..hi, else ValueError."""
    if isinstance(value, bool) or not isinstance(value, Real):
        raise ValueError(f"{what} must be a number, got {shown(value)}")
    if not math.isfinite(value) or not lo <= value <= hi:
        raise ValueError(f"{what} must be a number in {lo:g}..{hi:g}, got {shown(value)}")
    return float(value)
