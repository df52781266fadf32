"""Every page of app.py's navigation opens with every shipped model active, through
app.py (page config, navigation, the model sidebar), without an error, and draws its
charts. What each page's charts and sentences say is tested in its own test_page_* file."""

from __future__ import annotations

import ast
from pathlib import Path

import apptest_helpers as ui
import pytest

ROOT = Path(__file__).resolve().parent.parent


def navigation_pages() -> list[str]:
    """The page scripts of app.py's PAGES, read from its source (importing app.py would
    run it)."""
    tree = ast.parse((ROOT / "app.py").read_text())
    (pages,) = [node.value for node in tree.body if isinstance(node, ast.Assign)
                and any(getattr(t, "id", None) == "PAGES" for t in node.targets)]
    return [entry.elts[0].value for entry in pages.elts]


# The charts each page draws with the model's defaults (a page added to app.py and not
# here fails test_every_page_is_smoke_tested).
CHARTS = {
    "pages/random_walks.py": {"chart_data_cloud", "chart_walks", "chart_schedule",
                              "chart_bridge"},
    "pages/vector_field.py": {"chart_learned", "chart_ideal", "chart_angle_error",
                              "chart_settling"},
    "pages/sampling.py": {"chart_sampling"},
    "pages/pictures.py": {"chart_data", "chart_forward", "chart_samplers", "chart_finals"},
    "pages/guidance.py": {"chart_fields", "chart_guided_samples", "chart_share_vs_w"},
    "pages/prompts.py": {"chart_similarity", "chart_prompt_fields", "chart_prompt_samples"},
    "pages/train.py": set(),
}
# Small settings so that sixty page runs stay quick (the defaults are the same code).
PARAMS = {"pages/vector_field.py": {"grid": "16"},
          "pages/sampling.py": {"n": "250", "steps": "5"},
          "pages/guidance.py": {"n": "250"}}

pytestmark = pytest.mark.usefixtures("app_py_around_pages")


def test_every_page_is_smoke_tested() -> None:
    assert navigation_pages() == list(CHARTS)


@pytest.mark.parametrize("page", list(CHARTS))
@ui.every_pretrained_model
def test_page_opens_with_every_shipped_model(page: str, dataset: str, process: str) -> None:
    ui.need_checkpoint(dataset, process)
    at = ui.open_page(page, {"dataset": dataset, "process": process}, **PARAMS.get(page, {}))
    assert not at.error, [e.value for e in at.error]
    assert at.session_state["dataset"] == dataset and at.session_state["process"] == process
    assert CHARTS[page] <= set(ui.charts(at))
    assert at.markdown, "the page wrote nothing"
