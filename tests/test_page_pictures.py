"""AppTest of page 4 (pictures): it opens for both processes, the numbers it prints are the
backend's (explainer.images.picture_story), its grids show what the numbers say, and its
controls and links move the view."""

from __future__ import annotations

import apptest_helpers as ui
import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from explainer.images import PAGE_STEPS, PictureStory, picture_story
from explainer.schedules import make_schedule

PAGE = "pages/pictures.py"
CHARTS = ["chart_two_pixels", "chart_numbered", "chart_data", "chart_data_spectrum",
          "chart_forward", "chart_samplers", "chart_finals", "chart_spectrum"]
STORIES: dict[tuple[str, int], PictureStory] = {}


def open_page(process: str = "ddpm", **params: str) -> AppTest:
    ui.need_checkpoint("spiral", process)
    return ui.open_page(PAGE, {"dataset": "spiral", "process": process}, **params)


def story(process: str, seed: int = 0) -> PictureStory:
    """The backend's numbers for this view, computed here, apart from the page."""
    if (process, seed) not in STORIES:
        STORIES[process, seed] = picture_story(make_schedule(process), seed)
    return STORIES[process, seed]


def tables(at: AppTest) -> list[list[list[str]]]:
    """The tables on the page, as rows of cells (header left out)."""
    return [[[str(c) for c in row] for row in table.value.itertuples(index=False)]
            for table in at.table]


def as_share(cell: str) -> float:
    """'87%' -> 0.87; '<0.1%' -> 0.0005 (below 0.1%)."""
    return 0.0005 if cell == "<0.1%" else float(cell.rstrip("%")) / 100


def close_to_printed(cell: str, value: float) -> bool:
    """`cell` is `value` as the page prints a share: 0.1% or 1% resolution, or '<0.1%'."""
    if cell == "<0.1%":
        return value < 0.001
    step = 0.001 if "." in cell else 0.01
    return abs(as_share(cell) - value) <= step / 2 + 1e-9


def grid_tiles(figure: dict) -> np.ndarray:
    """(rows, cols, S, S) pictures back from a picture grid: one mosaic heatmap whose tick
    marks sit at the centre of each picture."""
    raw = figure["data"][0]["z"]
    if isinstance(raw, dict):  # a base64 typed array with its shape
        z = ui.array(raw).reshape([int(v) for v in str(raw["shape"]).split(",")])
    else:
        z = np.array(raw, dtype=float)
    cols, rows = figure["layout"]["xaxis"]["tickvals"], figure["layout"]["yaxis"]["tickvals"]
    size = round(2 * cols[0] + 1)
    step = round(cols[1] - cols[0]) if len(cols) > 1 else size
    return np.array([[z[r * step:r * step + size, c * step:c * step + size]
                      for c in range(len(cols))] for r in range(len(rows))], dtype=float)


@pytest.mark.parametrize("process", ["ddpm", "random_walk"])
def test_opens_and_prints_the_backends_numbers(process: str) -> None:
    at = open_page(process)
    assert list(ui.charts(at)) == CHARTS
    assert not ui.warnings(at)
    backend = story(process)
    forward, samplers = tables(at)
    # The forward table: the share of x_t's power that is picture, per column time.
    assert [row[0] for row in forward] == [f"t = {t}" for t in sorted(backend.columns)]
    for row in forward:
        share = backend.signal_share(int(row[0].removeprefix("t = ")))
        assert all(close_to_printed(c, v) for c, v in zip(row[1:], share, strict=True)), row
    # The samplers' table: kept power per band and the distance to the average picture.
    assert [row[0] for row in samplers] == ["DDPM", "DDPM, no noise", "DDIM"]
    for row, name in zip(samplers, ("ddpm", "no_noise", "ddim"), strict=True):
        result = backend.samplers[name]
        assert all(close_to_printed(c, v) for c, v in zip(row[1:-1], result.kept,
                                                            strict=True)), row
        assert row[-1] == f"{result.distance_to_mean:.2f}"
    text = " ".join(ui.sentences(at))
    assert f"from {backend.data_power[0]:.2f} at f = 1" in text
    middle = backend.columns[len(backend.columns) // 2]
    assert f"at t = {middle} the picture's power beats the noise's" in text
    assert f"below f = {backend.decided_frequency(middle):.1f} cycles" in text


def test_the_words_follow_the_process() -> None:
    """DDPM's no-noise run lands on the average picture; the walk's keeps a faint blurred
    texture (its x_T remembers the coarsest scales): each page says its own."""
    ddpm, walk = open_page("ddpm"), open_page("random_walk")
    ddpm_text, walk_text = " ".join(ui.sentences(ddpm)), " ".join(ui.sentences(walk))
    assert "every picture lands on the average picture" in ddpm_text
    assert "faint, blurred texture" in walk_text and "lands on" not in walk_text
    for text in (ddpm_text, walk_text):
        assert "they end with the data's texture" in text and "fall short" not in text
    assert story("ddpm").samplers["no_noise"].distance_to_mean < 0.04
    assert story("random_walk").samplers["no_noise"].kept[0] > 0.05
    captions = " ".join(c.value for c in walk.caption)
    assert "divided by sqrt(1 + sigma_t^2)" in captions
    assert "divided by" not in " ".join(c.value for c in ddpm.caption)
    assert "T = 65536" in captions and "Random walk" in captions


def test_the_grids_show_what_the_numbers_say() -> None:
    """The sampler grid's last column: no noise is the average picture, DDPM and DDIM have
    texture; every row starts from the same noise picture."""
    at = open_page("ddpm")
    backend = story("ddpm")
    tiles = grid_tiles(ui.charts(at)["chart_samplers"])
    assert tiles.shape == (3, len(backend.columns), 32, 32)
    mean = backend.pictures.mean
    assert np.abs(tiles[1, -1] - mean).max() < 0.05  # no noise: the average picture
    for row in (0, 2):
        assert np.sqrt(((tiles[row, -1] - mean) ** 2).mean()) > 0.25  # texture
    assert np.array_equal(tiles[0, 0], tiles[1, 0]) and np.array_equal(tiles[0, 0], tiles[2, 0])
    finals = grid_tiles(ui.charts(at)["chart_finals"])
    assert np.allclose(finals[2], backend.samplers["no_noise"].run.final, atol=1e-6)


def test_the_t_slider_moves_the_spectrum() -> None:
    at = open_page("ddpm")
    slider = at.select_slider(key="t")
    assert [int(v) for v in slider.options] == list(range(PAGE_STEPS + 1))
    backend = story("ddpm")
    for t, words in ((0, "no noise left"), (200, "nothing is decided yet"),
                     (20, "below f = ")):
        ui.move(at, "t", t)
        figure = ui.charts(at)["chart_spectrum"]
        assert figure["layout"]["title"]["text"] == f"Power spectra at t = {t}"
        ddim = ui.array(next(d for d in figure["data"] if d["name"] == "DDIM x_t")["y"])
        assert np.allclose(ddim, backend.samplers["ddim"].run.power_at(t), rtol=1e-5)
        sentence = ui.sentences(at)[-1]
        assert words in sentence, sentence
    assert at.query_params["t"] == "20"  # the view is a link


@pytest.mark.parametrize(("process", "words"), [("ddpm", "the average picture** itself"),
                                              ("random_walk", "nearly the average picture")])
def test_predict_then_look_answers_with_the_numbers(process: str, words: str) -> None:
    at = open_page(process)
    no_noise = story(process).samplers["no_noise"]
    answer = f"{no_noise.distance_to_mean:.2f} from the average"
    assert answer not in " ".join(m.value for m in at.markdown)
    at.toggle(key="_predict_pictures_no_noise").set_value(True).run()
    shown = " ".join(m.value for m in at.markdown)
    assert answer in shown and words in shown, shown


def test_a_link_opens_its_seed_and_a_bad_one_falls_back() -> None:
    at = open_page("ddpm", seed="3", t="50")
    assert at.number_input(key="seed").value == 3 and at.select_slider(key="t").value == 50
    tiles = grid_tiles(ui.charts(at)["chart_finals"])
    assert np.allclose(tiles[1], story("ddpm", 3).samplers["ddpm"].run.final, atol=1e-6)
    assert not np.allclose(tiles[1], story("ddpm", 0).samplers["ddpm"].run.final, atol=0.1)
    at = open_page("ddpm", seed="-4", t="7.5")
    assert at.number_input(key="seed").value == 0
    notes = ui.warnings(at)
    assert "seed=-4" in notes and "t=7.5" in notes


def test_switching_process_keeps_the_page_working() -> None:
    """A t of the DDPM runs is not a time of the walk's Karras-spaced runs: it starts
    again from the default rather than failing."""
    at = open_page("ddpm", t="150")
    at.session_state["process"] = "random_walk"
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    times = [int(v) for v in at.select_slider(key="t").options]
    assert 150 not in times and times[-1] == 65536
    assert at.select_slider(key="t").value == story("random_walk").columns[3]
