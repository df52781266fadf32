"""Plotly charts that update in place when a slider moves.

Streamlit 1.67's st.plotly_chart remounts a chart whenever its figure changes; this
component's identity is its key, so a new figure reaches the same chart, which calls
Plotly.react. The figure travels as one deflated binary argument (SentFigure).

The layout contract (what a figure may ask of assets/plotly_frame/index.html, and what
that page does to every figure) is written down once, in explainer/figures/layout.py.
Why the component exists: docs/ARCHITECTURE.md, "The chart component".
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import shutil
import tempfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import plotly
import plotly.graph_objects as go
import plotly.io as pio
import streamlit as st
import streamlit.components.v1 as components

from explainer import views

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
    """A figure as the bytes the chart receives (`pack`), made once per cached figure.

    Made once because turning a figure into JSON deep-copies every trace and frame and
    encodes every array; sent as bytes because Streamlit passes bytes through as they
    are, while text is escaped into the component's arguments on every run. Plotly's
    default template is left out (the chart page styles the figure with the app's theme
    instead). See docs/ARCHITECTURE.md, "The chart component"."""

    payload: bytes

    @classmethod
    def of(cls, fig: go.Figure) -> SentFigure:
        as_dict = fig.to_dict()
        as_dict.get("layout", {}).pop("template", None)
        return cls(pack(json.loads(pio.json.to_json_plotly(as_dict))))

    def figure(self) -> dict:
        """The figure as Plotly's JSON, as the chart page rebuilds it (for tests)."""
        return unpack(self.payload)


def _typed_arrays(node: object, path: tuple = ()) -> Iterator[tuple[tuple, dict]]:
    """(path, node) of every base64 typed array {dtype, bdata[, shape]} in Plotly's JSON."""
    if isinstance(node, dict):
        if isinstance(node.get("dtype"), str) and "bdata" in node:
            yield path, node
            return
        for key, value in node.items():
            yield from _typed_arrays(value, (*path, key))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _typed_arrays(value, (*path, i))


def pack(spec: dict) -> bytes:
    """Plotly's JSON as deflate(4-byte length, the JSON, the arrays' raw bytes), with each
    typed array's base64 bdata replaced by [offset, length] in the raw bytes; lossless
    (assets/plotly_frame/index.html puts the same bytes back for Plotly to decode).

    Raw bytes instead of base64 are 3/4 the size, and the same trace's arrays go frame
    after frame, so the part of an animation's trails that every frame repeats lies
    within deflate's 32 kB window: the sampling page's figure, 2.3 MB as JSON, is 0.86 MB.
    Changes `spec`."""
    arrays = list(_typed_arrays(spec))
    groups: dict[tuple, int] = {}  # a frame's trace attribute goes with the same in others

    def group(path: tuple) -> int:
        key = ("frames", *path[2:]) if path[:1] == ("frames",) else path
        return groups.setdefault(key, len(groups))

    order = sorted(range(len(arrays)), key=lambda i: group(arrays[i][0]))
    blocks, offset = [], 0
    for i in order:
        node = arrays[i][1]
        raw = base64.b64decode(node["bdata"])
        node["bdata"] = [offset, len(raw)]
        blocks.append(raw)
        offset += len(raw)
    text = json.dumps(spec, separators=(",", ":"), ensure_ascii=False).encode()
    raw = b"".join([len(text).to_bytes(4, "little"), text, *blocks])
    if len(raw) <= RAW_UP_TO:
        return RAW + raw
    return zlib.compress(raw, 6)


# A figure up to this size travels uncompressed, marked by a first byte RAW (a zlib
# stream starts with 0x78): the chart page decodes it in the same task as the message,
# while inflating goes through async streams that let the page finish other work first
# (docs/ARCHITECTURE.md, "The chart component").
RAW_UP_TO = 256 * 1024
RAW = b"R"


def unpack(payload: bytes) -> dict:
    """The inverse of pack: Plotly's JSON with base64 typed arrays."""
    raw = payload[1:] if payload[:1] == RAW else zlib.decompress(payload)
    size = int.from_bytes(raw[:4], "little")
    spec = json.loads(raw[4:4 + size])
    blob = raw[4 + size:]
    for _, node in _typed_arrays(spec):
        start, length = node["bdata"]
        node["bdata"] = base64.b64encode(blob[start:start + length]).decode("ascii")
    return spec


def show(fig: go.Figure | SentFigure, key: str, alt: str, file_name: str = "",
         frame: str | None = None, frame_in_link: bool = False) -> None:
    """Draw `fig` in the chart named `key`; `alt` is its accessible name (screen readers,
    and the browser tests check it follows the slider). With a `file_name` (no
    extension) the chart has a "PNG for slides" button saving it under that name. With
    `frame_in_link` the chart reports the animation frame it shows, for the page's link,
    and first shows `frame` (a frame's t, the link's ?frame=). In the presentation view
    (?present=1) the chart fits the screen with larger type."""
    sent = fig if isinstance(fig, SentFigure) else SentFigure.of(fig)
    present = bool(st.session_state.get(views.PRESENT_PARAM, False))
    _chart(figure=sent.payload, alt=alt, file_name=file_name, key=key, default=None,
           present=present, frame=frame, frameKey=key if frame_in_link else None)
