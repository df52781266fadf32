"""Every chart on every page has its data download beside it (pages/shared.py chart): made
on the click (deferred), not rerunning the page, named after the page, chart and view,
and holding the values the chart draws."""

from __future__ import annotations

import io
import json
from collections.abc import Callable

import apptest_helpers as ui
import numpy as np
import pytest
from streamlit.runtime.media_file_manager import MediaFileManager
from streamlit.testing.v1 import AppTest
from test_pages_smoke import CHARTS, PARAMS

from explainer import checkpoints
from explainer.figures.random_walks import drawn_steps

Made = dict[str, tuple[Callable[[], bytes], str]]  # file name -> (the callable, mime)


@pytest.fixture
def downloads(monkeypatch: pytest.MonkeyPatch) -> Made:
    """The deferred downloads the page registers, by file name (the real manager still
    registers them; AppTest drops its manager after each run)."""
    made: Made = {}
    register = MediaFileManager.add_deferred

    def add_deferred(self, data_callable, mimetype, coordinates, file_name=None, **kw):  # type: ignore[no-untyped-def]
        made[file_name] = (data_callable, mimetype)
        return register(self, data_callable, mimetype, coordinates, file_name=file_name, **kw)

    monkeypatch.setattr(MediaFileManager, "add_deferred", add_deferred)
    return made


def npz(raw: bytes) -> dict[str, np.ndarray]:
    with np.load(io.BytesIO(raw)) as found:
        return {k: found[k] for k in found.files}


def file_of(made: Made, stem: str) -> tuple[str, bytes, str]:
    """(name, bytes, mime) of the one download whose name starts with `stem`."""
    (name,) = [n for n in made if n.startswith(stem + "-") or n.startswith(stem + ".")]
    make, mime = made[name]
    return name, make(), mime


def png_names(at: AppTest) -> dict[str, str]:
    """Each chart component's PNG file name (its `file_name` argument), by chart key."""
    return {e.proto.id.rsplit("-", 1)[-1]: json.loads(e.proto.json_args)["file_name"]
            for e in at.get("component_instance")
            if e.proto.component_name.endswith("plotly_frame")}


def check_buttons(at: AppTest, made: Made, page: str) -> None:
    """One deferred, no-rerun data button per chart, its file named page-chart-..., and the
    file opens (NPZ with a README, or a CSV with a header); the chart's PNG has the same
    name."""
    charts, buttons, pngs = set(ui.charts(at)), ui.download_buttons(at), png_names(at)
    data_buttons = {k.removesuffix("_data") for k in buttons if k.endswith("_data")}
    assert charts and data_buttons == charts
    for key in charts:
        button = buttons[f"{key}_data"]
        assert button.deferred_file_id and button.ignore_rerun and not button.disabled
        name, raw, mime = file_of(made, f"{page}-{key.removeprefix('chart_')}")
        assert button.label == f"Data ({name[name.rindex('.'):]})"
        assert pngs[key] == name[: name.rindex(".")]
        if name.endswith(".npz"):
            assert mime == "application/octet-stream" and "README" in npz(raw)
        else:
            assert name.endswith(".csv") and mime == "text/csv"
            assert raw.decode().split("\n", 1)[0].replace("_", "").replace(",", "").isalnum()


@pytest.mark.parametrize("page", [p for p, charts in CHARTS.items() if charts])
def test_every_chart_has_its_data_download(page: str, downloads: Made) -> None:
    at = ui.open_page(page, **PARAMS.get(page, {}))
    downloads_of_page = {n: v for n, v in downloads.items() if not n.startswith("home-")}
    check_buttons(at, downloads_of_page, page.removeprefix("pages/").removesuffix(".py"))


def test_home_chart_has_its_data_download(downloads: Made) -> None:
    at = AppTest.from_file(ui.APP, default_timeout=120).run()
    assert not at.exception
    check_buttons(at, downloads, "home")


def test_random_walks_files_hold_what_the_charts_draw(downloads: Made) -> None:
    at = ui.open_page("pages/random_walks.py", t="30")
    figure = ui.charts(at)["chart_walks"]
    name, raw, _ = file_of(downloads, "random_walks-walks")
    assert name == "random_walks-walks-spiral-ddpm-t30.npz"
    walks = npz(raw)
    lines = [ui.xy(trace) for trace in figure["data"]
             if trace.get("mode") == "lines" and "x" in trace]
    assert walks["trajectories"].shape == (31, len(lines), 2)
    for i, line in enumerate(lines):
        np.testing.assert_array_equal(line, walks["trajectories"][drawn_steps(30), i])
    data = checkpoints.load(checkpoints.pretrained_path("spiral", "ddpm")).data
    np.testing.assert_array_equal(walks["data"], data.points)

    name, raw, _ = file_of(downloads, "random_walks-data_cloud")
    table = np.genfromtxt(io.BytesIO(raw), delimiter=",", names=True, dtype=None,
                          encoding="utf-8")
    np.testing.assert_allclose(np.stack([table["points_x"], table["points_y"]], 1),
                               data.points, rtol=1e-6)
    np.testing.assert_array_equal(table["label"], data.labels)


def test_vector_field_file_holds_the_arrows_drawn(downloads: Made) -> None:
    at = ui.open_page("pages/vector_field.py", grid="16", t="50")
    tails, unit = ui.arrows(ui.charts(at)["chart_learned"], "learned")
    name, raw, _ = file_of(downloads, "vector_field-learned")
    assert name == "vector_field-learned-spiral-ddpm-t50.npz"
    field = npz(raw)
    assert field["xy"].shape == field["field"].shape == (16 * 16, 2)
    v = field["field"]
    np.testing.assert_allclose(v / np.linalg.norm(v, axis=1, keepdims=True), unit, atol=1e-3)
    np.testing.assert_allclose(tails, field["xy"], atol=1e-3)  # each arrow from its point


def test_sampling_file_holds_each_panel_s_samples_and_frames(downloads: Made) -> None:
    at = ui.open_page("pages/sampling.py", **PARAMS["pages/sampling.py"])
    figure = ui.charts(at)["chart_sampling"]
    _, raw, _ = file_of(downloads, "sampling-sampling")
    found = npz(raw)
    np.testing.assert_array_equal(found["ddpm_samples_xy"], ui.final_samples(figure, "DDPM"))
    assert found["ddim_samples_xy_frames"].shape == (len(figure["frames"]), 250, 2)
    assert "trajectories" in str(found["README"])
    # The training data, drawn as a picture under the points, is added by name.
    data = checkpoints.load(checkpoints.pretrained_path("spiral", "ddpm")).data.points
    np.testing.assert_array_equal(found["data"], data)


def test_data_over_the_bound_gets_a_disabled_button(monkeypatch: pytest.MonkeyPatch,
                                                    downloads: Made) -> None:
    from explainer import chart_data

    monkeypatch.setattr(chart_data, "MAX_CHART_DATA_BYTES", 10_000)  # walks: ~40 kB
    at = ui.open_page("pages/random_walks.py")
    button = ui.download_buttons(at)["chart_walks_data"]
    assert button.disabled and "Too large" in button.help
    assert not any(n.startswith("random_walks-walks") for n in downloads)  # nothing to run
    assert not ui.download_buttons(at)["chart_schedule_data"].disabled  # 5 kB: allowed
