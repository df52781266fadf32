"""Animation export (GIF and MP4): the files open, have one frame per kept time (or w),
the expected size, the points where the run put them, and every size is bounded (module,
CLI and pages)."""

from __future__ import annotations

import io
import threading
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from explainer import animations, export, limits
from explainer.cli import main
from explainer.fields import VIEW_EXTENT
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
    panels = [animations.Panel("ddpm", xs), animations.Panel("ddim", xs[:, ::-1])]
    gif = animations.sampling(panels, times, xs[-1], "a title", panel_px=200)
    image = opened(gif)
    assert image.n_frames == len(times)
    header = export.HEADER_PX + export.HEADER_PX // 2
    assert image.size == (2 * 200, header + 200)
    assert image.info["loop"] == 0


def test_frames_are_thinned_to_the_bound_keeping_both_ends() -> None:
    xs, times = run(steps=100)
    gif = animations.sampling([animations.Panel("ddpm", xs)], times, xs[-1], "", max_frames=12)
    assert opened(gif).n_frames == len(frame_indices(101, 12)) == 12


def test_the_last_frame_shows_the_final_points() -> None:
    xs, times = run(n=50)
    px = 200
    gif = animations.sampling([animations.Panel("ddpm", xs)], times, np.zeros((0, 2)), "",
                              panel_px=px)
    image = opened(gif)
    image.seek(image.n_frames - 1)
    rgb = np.asarray(image.convert("RGB")).astype(int)
    top = image.height - px
    extent = max(VIEW_EXTENT, 1.05 * float(np.abs(xs[-1]).max()))
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
    animations.sampling([animations.Panel("ddpm", xs)], times, xs[-1], "", progress=seen.append)
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
    gif = animations.sampling([animations.Panel(s, xs) for s in ("a", "b", "c")], times,
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
    (["--out", "x.png"], "ending in .gif or .mp4"),
    (["--size", "4000", "--out", "x.gif"], "--size"),
    (["--n", "100000", "--out", "x.gif"], "--n"),
    (["--steps", "1000", "--n", "10000", "--sampler", "all", "--out", "x.gif"], "point-steps"),
    (["--label", "nope", "--out", "x.gif"], "unknown class"),
])
def test_cli_errors_are_one_line(extra: list[str], fragment: str, tmp_path: Path,
                                 capsys, monkeypatch) -> None:
    args = ["animate", "--dataset", "spiral", "--process", "ddpm", "--sampler", "ddpm", *extra]
    assert fragment in refused(args, tmp_path, capsys, monkeypatch)


def refused(args: list[str], tmp_path: Path, capsys, monkeypatch) -> str:
    """The CLI's one-line error for `args` run in an empty folder, which it leaves empty
    (exit status 2)."""
    monkeypatch.chdir(tmp_path)
    try:
        code = main(args)
    except SystemExit as exit_:  # argparse's own errors
        code = exit_.code
    assert code == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err
    assert not list(tmp_path.iterdir())
    return err


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


# ---------------------------------------------------------------- MP4

def decoded(mp4: bytes) -> tuple[list[np.ndarray], float]:
    """Every frame of an MP4 as RGB, and its frame rate (decoded with PyAV)."""
    import av

    with av.open(io.BytesIO(mp4)) as container:
        stream = container.streams.video[0]
        frames = [f.to_ndarray(format="rgb24") for f in container.decode(stream)]
        return frames, float(stream.average_rate)


def test_mp4_has_one_frame_per_time_at_25_a_second() -> None:
    xs, times = run(steps=30, n=100)
    px, header = 200, export.HEADER_PX
    mp4 = animations.sampling([animations.Panel("ddpm", xs)], times, np.zeros((0, 2)), "",
                              "mp4", panel_px=px)
    frames, rate = decoded(mp4)
    assert len(frames) == len(times) and rate == 1000 / export.FRAME_MS
    assert frames[0].shape == (header + px, px, 3)
    # Lossy, but the final points are still blue where the run put them, on white.
    extent = max(VIEW_EXTENT, 1.05 * float(np.abs(xs[-1]).max()))
    x, y = np.rint(export.Layout(1, px, header).pixels(xs[-1], extent)).astype(int).T
    last = frames[-1][header:].astype(int)
    dot = last[y, x]
    assert (dot.sum(1) < 500).mean() > 0.95  # dark where a point is (white is 765)
    assert (dot[:, 2] - dot[:, 0]).mean() > 40  # and blue on average (chroma is subsampled)
    assert (last[5:15, 5:15] > 230).all()  # a corner far from the ring stays white


def test_an_odd_sized_frame_is_padded_to_even_sides_for_mp4() -> None:
    xs, times = run(steps=3, n=10)
    mp4 = animations.sampling([animations.Panel("a", xs)], times, xs[-1], "", "mp4",
                              panel_px=121)
    frames, _ = decoded(mp4)
    assert frames[0].shape[:2] == (export.HEADER_PX + 122, 122)


def test_a_file_format_comes_from_the_suffix() -> None:
    assert export.file_format("a/b.GIF") == "gif" and export.file_format("x.mp4") == "mp4"
    for bad in ("x.png", "gif", "x.gif.txt"):
        with pytest.raises(ValueError, match=".gif or .mp4"):
            export.file_format(bad)


# ---------------------------------------------------------------- random walks over t

def spiral(process: str = "ddpm"):
    from explainer import checkpoints

    return checkpoints.load(checkpoints.pretrained_path("spiral", process))


@pytest.mark.parametrize("process", ["ddpm", "random_walk"])
def test_walks_has_one_frame_per_time_and_ends_on_the_walks(process: str) -> None:
    model = spiral(process)
    schedule, data = model.schedule, model.data.points
    paths = animations.walk_paths(schedule, data, 2, seed=3)
    gif = animations.walks(schedule, data, paths, "walks", frames=21, panel_px=300)
    image = opened(gif)
    times = animations.walk_times(schedule, 21)
    assert image.n_frames == len(times) == 21 and times[0] == 0 and times[-1] == schedule.T
    assert image.size == (300, export.HEADER_PX + 300)
    # The last frame: the walk drawn last (on top) has its cross, in its colour, where it
    # ended.
    image.seek(image.n_frames - 1)
    rgb = np.asarray(image.convert("RGB")).astype(int)[export.HEADER_PX:]
    cloud = animations.noised_cloud(schedule, data, schedule.T, seed=0)
    steps = animations.frame_indices(schedule.T + 1, animations.PATH_VERTICES + 1)
    extent = animations.view_extent(cloud, paths[steps].reshape(-1, 2), data)
    x, y = np.rint(export.Layout(1, 300, 0).pixels(paths[-1, 1][None], extent))[0]
    around = rgb[int(y) - 5:int(y) + 6, int(x) - 5:int(x) + 6]
    assert (around == export.hex_rgb(animations.PALETTE[1])).all(-1).sum() >= 15


def test_walks_first_frame_is_the_data_itself() -> None:
    """At t = 0 the noised cloud is the data: cloud dots cover every data point."""
    model = spiral()
    data = model.data.points
    paths = animations.walk_paths(model.schedule, data, 1, seed=0)
    image = opened(animations.walks(model.schedule, data, paths, "", frames=5, panel_px=300))
    rgb = np.asarray(image.convert("RGB")).astype(int)[export.HEADER_PX:]
    extent = animations.view_extent(data, paths[:1, 0], data)
    x, y = np.rint(export.Layout(1, 300, 0).pixels(data, extent)).astype(int).T
    on = rgb[y, x]
    assert (on[:, 2] > on[:, 0] + 40).mean() > 0.95  # the cloud's blue, not the data's grey


def test_walks_are_bounded() -> None:
    model = spiral()
    paths = animations.walk_paths(model.schedule, model.data.points, 9, seed=0)
    with pytest.raises(ValueError, match="number of walks"):
        animations.walks(model.schedule, model.data.points, paths, "")


# ---------------------------------------------------------------- guided samples over w

def test_guidance_has_one_frame_per_w_with_the_samples_of_that_w() -> None:
    model = spiral()
    ws = animations.guidance_ws()
    assert ws[0] == 0 and ws[-1] == animations.GUIDANCE_W_MAX and len(ws) == 41
    ws = animations.guidance_ws(4.0, frames=5)
    assert list(ws) == [0, 1, 2, 3, 4]
    finals = animations.guided_finals(model.denoiser(), model.schedule, 2, None, ws, 200, 20)
    assert finals.shape == (5, 200, 2)
    assert not np.allclose(finals[0], finals[-1])  # w moves the samples
    points = model.data.points[model.data.labels == 2]
    image = opened(animations.guidance(finals, ws, points, "title", panel_px=300))
    assert image.n_frames == 5 and image.size == (300, export.HEADER_PX + 300)
    extent = animations.view_extent(*finals, points)
    for k in (0, 4):
        image.seek(k)
        rgb = np.asarray(image.convert("RGB")).astype(int)[export.HEADER_PX:]
        inside = (np.abs(finals[k]) <= extent).all(1)
        x, y = np.rint(export.Layout(1, 300, 0).pixels(finals[k][inside], extent)).astype(int).T
        assert (rgb[y, x] == export.BLUE.rgb).all()


@pytest.mark.parametrize("w_max, frames, fragment", [
    (0.0, None, "positive"), (float("nan"), None, "positive"), (60.0, None, "-1..50"),
    (3.0, 1, "number of frames"), (3.0, limits.MAX_GIF_FRAMES + 1, "number of frames")])
def test_guidance_ws_are_bounded(w_max: float, frames: int | None, fragment: str) -> None:
    with pytest.raises(ValueError, match=fragment):
        animations.guidance_ws(w_max, frames)


def test_guided_runs_are_bounded_in_point_steps() -> None:
    model = spiral()
    ws = animations.guidance_ws(10.0, frames=1001)
    with pytest.raises(ValueError, match="point-steps"):
        animations.guided_finals(model.denoiser(), model.schedule, 0, None, ws, 10_000, 50)


# ---------------------------------------------------------------- CLI round trips

@pytest.mark.parametrize("what, extra, frames, width", [
    ("walks", ["--n", "2", "--frames", "12", "--size", "200"], 12, 200),
    ("guidance", ["--n", "100", "--steps", "10", "--frames", "6", "--guidance", "5",
                  "--label", "inner", "--size", "200"], 6, 200),
    ("sampling", ["--sampler", "ddim", "--steps", "15", "--n", "100", "--size", "150"], 16,
     150),
])
@pytest.mark.parametrize("suffix", [".gif", ".mp4"])
def test_cli_animates_each_kind_to_each_format(what: str, extra: list[str], frames: int,
                                               width: int, suffix: str,
                                               tmp_path: Path, capsys) -> None:
    out = tmp_path / f"a{suffix}"
    assert main(["animate", "--what", what, "--dataset", "spiral", "--process", "ddpm",
                 *extra, "--out", str(out)]) == 0
    if suffix == ".gif":
        image = opened(out.read_bytes())
        assert image.n_frames == frames and image.width == width
    else:
        decoded_frames, _ = decoded(out.read_bytes())
        assert len(decoded_frames) == frames and decoded_frames[0].shape[1] == width
    err = capsys.readouterr().err
    assert "100%" in err  # the progress bar reached the end


@pytest.mark.parametrize("extra, fragment", [
    (["--what", "walks", "--sampler", "ddim"], "--sampler does not apply to --what walks"),
    (["--what", "walks", "--label", "inner"], "--label does not apply"),
    (["--what", "walks", "--n", "9"], "at most 8 walks"),
    (["--what", "guidance", "--guidance", "60"], "-1..50"),
    (["--what", "guidance", "--guidance", "0"], "positive"),
    (["--what", "guidance", "--sampler", "all"], "--sampler all"),
    (["--what", "guidance", "--label", "nope"], "unknown class"),
    (["--what", "guidance", "--frames", "1"], "--frames"),
    (["--what", "pictures"], "--what"),
])
def test_cli_animation_errors_are_one_line(extra: list[str], fragment: str, tmp_path: Path,
                                           capsys, monkeypatch) -> None:
    args = ["animate", "--dataset", "spiral", "--process", "ddpm", *extra, "--out", "x.gif"]
    assert fragment in refused(args, tmp_path, capsys, monkeypatch)


# ---------------------------------------------------------------- the pages

def test_sampling_page_makes_an_mp4_when_asked() -> None:
    import apptest_helpers as ui

    at = ui.open_page("pages/sampling.py", steps="10", n="250", seed="3")
    at.radio(key="sampling_gif_format").set_value("mp4").run()
    at.button(key="sampling_gif_make").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert "Download the MP4" in ui.download_buttons(at)[GIF_BUTTON].label


@pytest.mark.parametrize("page, key, params", [
    ("pages/random_walks.py", "walks_animation", {"walks": "2"}),
    ("pages/guidance.py", "guidance_animation", {"n": "250"}),
])
def test_pages_make_their_animation_on_click(page: str, key: str, params: dict,
                                             monkeypatch) -> None:
    import apptest_helpers as ui

    at = ui.open_page(page, **params)
    assert f"{key}_download" not in ui.download_buttons(at)
    at.button(key=f"{key}_make").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert "Download the GIF" in ui.download_buttons(at)[f"{key}_download"].label
    # Busy: another export holds the only slot, so a click says so and offers nothing.
    monkeypatch.setattr(export, "EXPORT_WAIT_S", 0.05)
    monkeypatch.setattr(export, "_export_slots", threading.BoundedSemaphore(1))
    export._export_slots.acquire()
    at.radio(key=f"{key}_format").set_value("mp4").run()
    at.button(key=f"{key}_make").click().run()
    assert "busy making other animations" in " ".join(w.value for w in at.warning)
    assert f"{key}_download" not in ui.download_buttons(at)


def test_the_worker_process_makes_the_same_file_and_reports_progress_and_errors() -> None:
    xs, times = run(steps=12, n=80)
    panels = [animations.Panel("ddpm", xs)]
    seen: list[float] = []
    here = animations.sampling(panels, times, xs[-1], "title", "gif")
    there = export.in_worker(animations.sampling, panels, times, xs[-1], "title", "gif",
                             progress=seen.append)
    assert there == here
    assert seen[-1] == 1.0 and len(seen) == len(times)
    with pytest.raises(ValueError, match="one point set per time"):
        export.in_worker(animations.sampling, panels, times[:-1], xs[-1], "title")


def test_a_worker_process_setting_up_its_main_does_not_start_the_app(monkeypatch) -> None:
    """multiprocessing runs the parent's __main__ (app.py under Streamlit) in each worker
    as __mp_main__: that must define things only, not draw pages or start warming."""
    import runpy

    import streamlit as st

    def started(*args: object, **kwargs: object) -> None:
        raise AssertionError("the app started in a worker process")

    monkeypatch.setattr(st, "set_page_config", started)
    monkeypatch.setattr(st, "navigation", started)
    app = Path(__file__).resolve().parents[1] / "app.py"
    names = runpy.run_path(str(app), run_name="__mp_main__")
    assert "main" in names and "PAGES" in names
