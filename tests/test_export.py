"""Animated GIF export: the file opens, has one frame per kept time, the expected size,
the points where the run put them, and every size is bounded (module and CLI)."""

from __future__ import annotations

import io
import threading
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from explainer import export, limits
from explainer.cli import main
from explainer.raster import ARROW_COLOUR, frame_indices


def run(steps: int = 30, n: int = 200, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """A made-up run: points drifting from noise to a ring, times T..0."""
    rng = np.random.default_rng(seed)
    start = rng.normal(0, 1, (n, 2))
    angle = rng.uniform(0, 2 * np.pi, n)
    end = np.stack([np.cos(angle), np.sin(angle)], 1)
    w = np.linspace(0, 1, steps + 1)[:, None, None]
    return ((1 - w) * start + w * end).astype(np.float32), np.arange(steps, -1, -1)


def opened(gif: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(gif))
    assert image.format == "GIF"
    return image


def test_one_frame_per_time_and_the_panel_layout() -> None:
    xs, times = run()
    panels = [export.GifPanel("ddpm", xs), export.GifPanel("ddim", xs[:, ::-1])]
    gif = export.sampling_gif(panels, times, xs[-1], "a title", panel_px=200)
    image = opened(gif)
    assert image.n_frames == len(times)
    header = export.HEADER_PX + export.HEADER_PX // 2
    assert image.size == (2 * 200, header + 200)
    assert image.info["loop"] == 0


def test_frames_are_thinned_to_the_bound_keeping_both_ends() -> None:
    xs, times = run(steps=100)
    gif = export.sampling_gif([export.GifPanel("ddpm", xs)], times, xs[-1], "", max_frames=12)
    assert opened(gif).n_frames == len(frame_indices(101, 12)) == 12


def test_the_last_frame_shows_the_final_points() -> None:
    xs, times = run(n=50)
    px = 200
    gif = export.sampling_gif([export.GifPanel("ddpm", xs)], times, np.zeros((0, 2)), "",
                              panel_px=px)
    image = opened(gif)
    image.seek(image.n_frames - 1)
    rgb = np.asarray(image.convert("RGB")).astype(int)
    top = image.height - px
    extent = max(export.VIEW_EXTENT, 1.05 * float(np.abs(xs[-1]).max()))
    scale = (px - 1) / (2 * extent)
    cols = np.rint((xs[-1, :, 0] + extent) * scale).astype(int)
    rows = np.rint((extent - xs[-1, :, 1]) * scale).astype(int) + top
    blue = [int(ARROW_COLOUR[i:i + 2], 16) for i in (1, 3, 5)]
    assert (rgb[rows, cols] == blue).all()
    # ... and nowhere far from them: the first frame's scattered start is gone.
    on_blue = (rgb[top:] == blue).all(-1)
    assert on_blue.sum() <= 9 * len(cols)


def test_progress_reaches_one() -> None:
    xs, times = run(steps=10)
    seen: list[float] = []
    export.sampling_gif([export.GifPanel("ddpm", xs)], times, xs[-1], "", progress=seen.append)
    assert len(seen) == 11 and seen[-1] == 1.0 and seen == sorted(seen)


@pytest.mark.parametrize("sizes, fragment", [
    ((limits.MAX_GIF_POINTS + 1, 10, 1, 280), "number of points"),
    ((10, limits.MAX_GIF_FRAMES + 1, 1, 280), "number of frames"),
    ((10, 10, 4, 280), "number of panels"),
    ((10, 10, 1, 2000), "panel size"),
    ((10, 1001, 3, 1024), "M pixels"),
])
def test_sizes_are_bounded(sizes, fragment: str) -> None:
    with pytest.raises(ValueError, match=fragment):
        export.check_sizes(*sizes)


def test_the_default_sampling_view_is_small_and_fast() -> None:
    """3 panels x 1,000 points x 201 frames (the sampling page's default): under 2 MB.
    (A made-up run scatters more than a real one: the bound has room.)"""
    xs, times = run(steps=200, n=1000)
    gif = export.sampling_gif([export.GifPanel(s, xs) for s in ("a", "b", "c")], times,
                              xs[-1], "title")
    assert opened(gif).n_frames == 201
    assert len(gif) < 2 * 10**6


@pytest.mark.slow
def test_cli_writes_a_gif(tmp_path: Path) -> None:
    out = tmp_path / "run.gif"
    assert main(["animate", "--dataset", "spiral", "--process", "ddpm", "--ideal",
                 "--sampler", "all", "--steps", "20", "--n", "100", "--frames", "10",
                 "--size", "150", "--out", str(out)]) == 0
    image = opened(out.read_bytes())
    assert image.n_frames == 10 and image.width == 3 * 150


@pytest.mark.parametrize("extra, fragment", [
    (["--out", "x.mp4"], "ending in .gif"),
    (["--size", "4000", "--out", "x.gif"], "--size"),
    (["--n", "100000", "--out", "x.gif"], "--n"),
    (["--steps", "1000", "--n", "10000", "--sampler", "all", "--out", "x.gif"], "point-steps"),
    (["--label", "nope", "--out", "x.gif"], "unknown class"),
])
def test_cli_errors_are_one_line(extra: list[str], fragment: str, tmp_path: Path,
                                 capsys, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    args = ["animate", "--dataset", "spiral", "--process", "ddpm", "--sampler", "ddpm", *extra]
    try:
        code = main(args)
    except SystemExit as exit_:  # argparse's own errors
        code = exit_.code
    assert code == 2
    err = capsys.readouterr().err.strip()
    assert fragment in err and "\n" not in err
    assert not list(tmp_path.iterdir())


def test_exports_wait_for_a_free_slot_then_give_up() -> None:
    started, release = threading.Event(), threading.Event()

    def slow() -> bytes:
        started.set()
        release.wait(5)
        return b"first"

    first: list[bytes] = []
    holder = threading.Thread(target=lambda: first.append(export.bounded(slow)))
    holder.start()
    started.wait(5)
    with pytest.raises(export.ExportBusy, match="busy"):
        export.bounded(lambda: b"second", wait=0.1)
    release.set()
    holder.join(5)
    assert first == [b"first"]
    assert export.bounded(lambda: b"third", wait=0.1) == b"third"  # the slot came back


GIF_BUTTON = "sampling_gif_download"  # (the chart's own data download is there too)


def test_sampling_page_makes_a_gif_on_click(monkeypatch) -> None:
    import apptest_helpers as ui

    at = ui.open_page("pages/sampling.py", steps="20", n="250")
    assert not at.exception, [e.value for e in at.exception]
    assert GIF_BUTTON not in ui.download_buttons(at)  # nothing is made before the click
    at.button(key="sampling_gif_make").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert "Download the GIF" in ui.download_buttons(at)[GIF_BUTTON].label
    # While another GIF is being made and does not finish, a click says so and
    # offers nothing.
    monkeypatch.setattr(export, "EXPORT_WAIT_S", 0.05)
    monkeypatch.setattr(export, "_export_slots", threading.BoundedSemaphore(1))
    export._export_slots.acquire()
    at = ui.open_page("pages/sampling.py", steps="20", n="250", seed="7")
    at.button(key="sampling_gif_make").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert "busy making other animations" in " ".join(w.value for w in at.warning)
    assert GIF_BUTTON not in ui.download_buttons(at)
