"""The data behind a chart, as a file to download: NPZ (several arrays: points,
trajectories over frames, fields on a grid) or CSV (one table of points).

Two sources. A page may name the arrays it drew from (`samples`, `trajectories`, `xy`,
`field`...); otherwise `figure_arrays` reads them back from the figure's own Plotly JSON
(every trace's x/y/z, each animation frame's, the arrows' segments), so the file holds
exactly what the chart draws. Every file carries a short README. Sizes are bounded by
limits.MAX_CHART_DATA_BYTES. Why: docs/ARCHITECTURE.md, "Chart exports".
"""

from __future__ import annotations

import base64
import io
import re
from collections.abc import Iterator, Mapping, Sequence

import numpy as np

from explainer.limits import MAX_CHART_DATA_BYTES

TRACE_ATTRIBUTES = ("x", "y", "z", "text")
# "M x,y L x,y" (or spaces) repeated: an arrow layer's shafts (figures/primitives.py).
_SEGMENT = re.compile(r"M\s*(-?[\d.]+(?:e-?\d+)?)[ ,]+(-?[\d.]+(?:e-?\d+)?)\s*"
                      r"L\s*(-?[\d.]+(?:e-?\d+)?)[ ,]+(-?[\d.]+(?:e-?\d+)?)", re.I)
NPZ_MIME, CSV_MIME = "application/octet-stream", "text/csv"


def slug(text: str) -> str:
    """`text` as a piece of a file or array name: lower case letters, digits, _ . -"""
    return re.sub(r"[^a-z0-9.\-]+", "_", text.lower()).strip("_") or "chart"


FILE_PART_CHARS = 40  # a part of a file name (a typed prompt can be 200 characters)


def file_stem(parts: Sequence[object]) -> str:
    """A file name without extension from its parts, each slugged and shortened, e.g.
    ("sampling", "Two moons", "t10") -> "sampling-two_moons-t10"."""
    return "-".join(slug(str(p))[:FILE_PART_CHARS] for p in parts if str(p))


def plotly_array(value: object) -> np.ndarray | None:
    """A Plotly JSON array (a base64 typed array {dtype, bdata[, shape]}, or a list of
    numbers with None for gaps, or of strings) as numpy; None if it is not one."""
    if isinstance(value, np.ndarray):
        return value
    if isinstance(value, dict) and isinstance(value.get("dtype"), str) and "bdata" in value:
        raw = value["bdata"]
        flat = np.frombuffer(base64.b64decode(raw) if isinstance(raw, str) else raw,
                             dtype=value["dtype"])
        shape = value.get("shape")
        return flat.reshape([int(s) for s in str(shape).split(",")]) if shape else flat
    if not isinstance(value, (list, tuple)) or not value:
        return None
    if all(v is None or (isinstance(v, (int, float)) and not isinstance(v, bool))
           for v in value):
        return np.array([np.nan if v is None else v for v in value], dtype=float)
    if all(isinstance(v, str) for v in value):
        return np.array(value, dtype=str)
    return None


def _panel_titles(layout: Mapping) -> dict[str, str]:
    """{x axis id: panel title} of a figure of panels (figures/layout.py panels_layout)."""
    titles = {}
    for note in layout.get("annotations") or []:
        xref = str(note.get("xref", ""))
        if xref.endswith(" domain"):
            titles[xref.removesuffix(" domain")] = re.sub(r"<[^>]+>", "", note.get("text", ""))
    return titles


def _trace_names(spec: Mapping) -> list[str]:
    """A unique array-name prefix for each trace: its panel title (if any) and name."""
    titles = _panel_titles(spec.get("layout") or {})
    names: list[str] = []
    for i, trace in enumerate(spec.get("data") or []):
        label = trace.get("name") or f"trace{i}"
        panel = titles.get(trace.get("xaxis", "x"))
        name = slug(f"{panel}_{label}" if panel and len(titles) > 1 else label)
        names.append(name if name not in names else f"{name}_{i}")
    return names


def _attributes(trace: Mapping) -> Iterator[tuple[str, np.ndarray]]:
    """A trace's arrays with data: numeric x and y of one length as `xy` (n, 2) points,
    else each of x, y, z, text on its own."""
    found = {}
    for attr in TRACE_ATTRIBUTES:
        array = plotly_array(trace.get(attr))
        if array is not None and (array.dtype.kind in "US" or not np.isnan(
                array.astype(float)).all()):
            found[attr] = array
    x, y = found.get("x"), found.get("y")
    if (x is not None and y is not None and x.dtype.kind in "fiu" and y.dtype.kind in "fiu"
            and x.ndim == y.ndim == 1 and x.shape == y.shape):
        del found["x"], found["y"]
        found = {"xy": np.stack([x, y], axis=1), **found}
    yield from found.items()


def segments(path: str) -> np.ndarray | None:
    """(n, 2, 2) [tail, tip] of an SVG path made only of "M tail L tip" segments."""
    found = _SEGMENT.findall(path)
    if not found or len(found) != path.upper().count("M"):
        return None
    return np.array(found, dtype=float).reshape(-1, 2, 2)


def figure_arrays(spec: Mapping) -> dict[str, np.ndarray]:
    """The arrays a figure draws, from its Plotly JSON (go.Figure.to_dict() or what the
    chart component is sent): `<trace>_xy` (n, 2) points (or `_x`, `_y` apart when they
    differ in kind or length) and `<trace>_z`, `<trace>_text`, of every trace with data
    (panel title first in a figure of panels); for an animation, `<trace>_<attr>_frames` with
    one row per frame (when every frame's array has the same shape) and `frame_names`;
    `<shape>_segments` (n, 2, 2) of each named path of arrows. Pictures drawn as layout
    images (PNG) are not arrays and are left out."""
    names = _trace_names(spec)
    arrays: dict[str, np.ndarray] = {}
    for name, trace in zip(names, spec.get("data") or [], strict=True):
        for attr, array in _attributes(trace):
            arrays[f"{name}_{attr}"] = array
    frames = spec.get("frames") or []
    if frames:
        arrays["frame_names"] = np.array([str(f.get("name", i)) for i, f in enumerate(frames)])
        arrays.update(_frame_stacks(frames, names))
    for shape in (spec.get("layout") or {}).get("shapes") or []:
        found = segments(str(shape.get("path", ""))) if shape.get("name") else None
        if found is not None:
            arrays[f"{slug(shape['name'])}_segments"] = found
    return arrays


def _frame_stacks(frames: Sequence[Mapping], names: Sequence[str]) -> dict[str, np.ndarray]:
    """`<trace>_<attr>_frames`: each animated trace's arrays, one row per frame."""
    rows: dict[str, list[np.ndarray]] = {}
    for frame in frames:
        data = frame.get("data") or []
        indices = frame.get("traces") or list(range(len(data)))
        for index, trace in zip(indices, data, strict=False):
            if index >= len(names):
                continue
            for attr, array in _attributes(trace):
                rows.setdefault(f"{names[index]}_{attr}_frames", []).append(array)
    return {key: np.stack(parts) for key, parts in rows.items()
            if len(parts) == len(frames) and len({p.shape for p in parts}) == 1}


def data_bytes(arrays: Mapping[str, np.ndarray]) -> int:
    return sum(np.asarray(a).nbytes for a in arrays.values())


def check_size(arrays: Mapping[str, np.ndarray]) -> None:
    size = data_bytes(arrays)
    if size > MAX_CHART_DATA_BYTES:
        raise ValueError(f"this chart's data is {size / 2**20:.0f} MB, over the "
                         f"{MAX_CHART_DATA_BYTES / 2**20:.0f} MB limit of a download")


def is_table(arrays: Mapping[str, np.ndarray]) -> bool:
    """One table of points: every array 1-D, or (n, 2) points, all with the same n."""
    shapes = [np.shape(a) for a in arrays.values()]
    return bool(shapes) and all(len(s) == 1 or (len(s) == 2 and s[1] == 2) for s in shapes) \
        and len({s[0] for s in shapes}) == 1


def table_columns(arrays: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The columns of a table (is_table): an (n, 2) array `p` becomes `p_x` and `p_y`."""
    columns = {}
    for name, array in arrays.items():
        array = np.asarray(array)
        if array.ndim == 2:
            columns[f"{name}_x"], columns[f"{name}_y"] = array[:, 0], array[:, 1]
        else:
            columns[name] = array
    return columns


def csv_bytes(arrays: Mapping[str, np.ndarray]) -> bytes:
    """One table (is_table) as CSV: a header of the column names, then one row per point;
    floats with 7 significant digits (float32 precision), NaN as an empty cell."""
    check_size(arrays)
    columns = table_columns(arrays)
    cells = [_cells(np.asarray(c)) for c in columns.values()]
    rows = map(",".join, zip(*cells, strict=True))
    return "\n".join([",".join(columns), *rows, ""]).encode()


def _cells(column: np.ndarray) -> list[str]:
    """A column's cells as text (a list comprehension: ~0.15 s for 65,537 rows x 3)."""
    if column.dtype.kind == "f":
        return [f"{v:.7g}" if v == v else "" for v in column.tolist()]
    if column.dtype.kind in "iub":
        return [str(v) for v in column.tolist()]
    return [f'"{v.replace(chr(34), chr(34) * 2)}"' if any(c in v for c in ',"\n\r') else v
            for v in map(str, column.tolist())]


def npz_bytes(arrays: Mapping[str, np.ndarray], readme: str) -> bytes:
    """The arrays as an .npz (np.load opens it without pickle), with `README`: `readme`
    then one line per array (name, shape, dtype). Uncompressed: float noise hardly
    compresses, and zipping costs the server time on every download."""
    check_size(arrays)
    lines = [readme, "", "Arrays:"] + [f"  {k}: shape {np.shape(v)}, {np.asarray(v).dtype}"
                                       for k, v in arrays.items()]
    out = io.BytesIO()
    np.savez(out, README=np.array("\n".join(lines)), **{k: np.asarray(v)
                                                       for k, v in arrays.items()})
    return out.getvalue()


# ---------------------------------------------------------------- named data of the pages

def points_data(points: np.ndarray, labels: np.ndarray | None = None,
                class_names: Sequence[str] = ()) -> dict[str, np.ndarray]:
    """A point set as one table: `points` (n, 2), and each point's class index and name."""
    out: dict[str, np.ndarray] = {"points": np.asarray(points)}
    if labels is not None:
        out["label"] = np.asarray(labels)
        if len(class_names):
            out["class_name"] = np.asarray(class_names, dtype=str)[np.asarray(labels)]
    return out


def walks_data(paths: np.ndarray, t: int, data: np.ndarray,
               cloud: np.ndarray) -> dict[str, np.ndarray]:
    """The random-walks chart at step t: `trajectories` (t + 1, walks, 2) from step 0 to
    t, `t` (t + 1,), the training set `data` and the whole `cloud` noised to step t."""
    return {"trajectories": np.asarray(paths[: t + 1]), "t": np.arange(t + 1),
            "data": np.asarray(data), "cloud": np.asarray(cloud)}


def schedule_data(alpha: np.ndarray, sigma: np.ndarray) -> dict[str, np.ndarray]:
    """A noise schedule as one table: `t`, `alpha` and `sigma` (x_t = alpha_t x_0 +
    sigma_t eps)."""
    return {"t": np.arange(len(alpha)), "alpha": np.asarray(alpha),
            "sigma": np.asarray(sigma)}


def field_data(xy: np.ndarray, data: np.ndarray, **fields: np.ndarray
               ) -> dict[str, np.ndarray]:
    """Vector fields on a grid: `xy` (m, 2) where they are evaluated, the training points
    `data` drawn under them, and each field (m, 2) by name (e.g. `field`, or `learned`
    and `ideal`): the vectors themselves, not normalised (the charts draw them at equal
    length, coloured by length)."""
    return {"xy": np.asarray(xy), "data": np.asarray(data),
            **{k: np.asarray(v) for k, v in fields.items()}}
