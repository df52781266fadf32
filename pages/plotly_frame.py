"""Plotly charts that update in place when a slider moves.

st.plotly_chart (Streamlit 1.67) derives a chart's element id from its figure, so a new
figure is a new element: the browser throws the chart away and builds it again
(Plotly.newPlot, new WebGL contexts), ~0.5 s per chart in Chromium on a 2-core machine,
several charts per slider move. `show` draws the figure in a small Streamlit component
(assets/plotly_frame/index.html) whose identity is its key, so a new figure reaches the
same chart, which calls Plotly.react on it: measured on a two-chart test page, 1.1 s ->
0.35 s per move (tests/benchmarks/bench_interaction.py measures the real pages).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

import plotly
import plotly.graph_objects as go
import plotly.io as pio
import streamlit.components.v1 as components

CHART_PAGE = Path(__file__).resolve().parents[1] / "assets" / "plotly_frame" / "index.html"
PLOTLY_JS = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"


def served_dir() -> Path:
    """A folder holding the chart page and plotly.min.js side by side.

    Streamlit serves a component from one folder; plotly.js (4.7 MB) comes with the
    installed plotly package instead of a copy in the repository. The folder is named by
    a hash of the page and plotly's version (a new version gets a new folder) and is
    filled under a temporary name, then renamed: servers starting at the same time never
    see half a file."""
    page = CHART_PAGE.read_bytes()
    digest = hashlib.sha256(page + plotly.__version__.encode()).hexdigest()[:12]
    # Per user too: mkdtemp makes the folder readable by its owner only.
    folder = Path(tempfile.gettempdir()) / f"explainer-plotly-frame-{os.getuid()}-{digest}"
    if not (folder / "index.html").is_file():
        staging = Path(tempfile.mkdtemp(prefix="explainer-plotly-frame-tmp-"))
        shutil.copyfile(PLOTLY_JS, staging / "plotly.min.js")
        (staging / "index.html").write_bytes(page)
        try:
            os.rename(staging, folder)
        except OSError:  # another server renamed its copy first
            shutil.rmtree(staging, ignore_errors=True)
    return folder


_chart = components.declare_component("plotly_frame", path=str(served_dir()))


@dataclass(frozen=True)
class SentFigure:
    """A figure as the JSON text the chart receives (arrays as base64 typed arrays).

    Made once per cached figure: turning a figure into JSON deep-copies every trace and
    frame and encodes every array (~20 ms for a 50-frame animation); sending the text is
    ~1 ms. Plotly's default template is left out (the chart page styles the figure with
    the app's theme instead), which also saves ~7 kB per chart."""

    spec: str

    @classmethod
    def of(cls, fig: go.Figure) -> SentFigure:
        as_dict = fig.to_dict()
        as_dict.get("layout", {}).pop("template", None)
        return cls(pio.json.to_json_plotly(as_dict))

    def figure(self) -> dict:
        """The figure as a dict, as the browser gets it (for tests)."""
        return json.loads(self.spec)


def show(fig: go.Figure | SentFigure, key: str, alt: str) -> None:
    """Draw `fig` in the chart named `key`; `alt` is its accessible name (screen readers,
    and the browser tests check it follows the slider)."""
    sent = fig if isinstance(fig, SentFigure) else SentFigure.of(fig)
    _chart(spec=sent.spec, alt=alt, key=key, default=None)
