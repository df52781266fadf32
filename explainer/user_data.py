"""A user's own 2D points, from a CSV file or drawn on the Train page, as a Dataset the
app can train on.

The file: columns x, y and an optional class column, comma-separated, with or without a
header line (a header names the columns: x, y and class or label, in any order; without
one the columns are x, y[, class]). Everything read is checked, with one line saying
what is wrong: sizes (explainer/limits.py) before anything of that size is made, then
every value. The points are moved and scaled, keeping their shape, to fit the box
the built-in sets fill (centred, the longer side spanning -1.4..1.4), and at most
USER_TRAIN_POINTS of them are kept, every class keeping its share. A drawing (the
Train page's drawing component sends {"points": [[x, y, class], ...]}) is untrusted input
too: its types and sizes are checked, then the same rules and the same scaling apply.
"""

from __future__ import annotations

import csv
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from numbers import Integral, Real
from pathlib import Path

import numpy as np

from explainer import limits
from explainer.datasets import Dataset

USER_DATA_NAME = "your data"  # the Dataset's (and a checkpoint's) name for user data
USER_TRAIN_POINTS = 2000  # as many as the built-in sets train on (TrainConfig.n_data)
EXTENT = 1.4  # the built-in sets reach 1.35..1.45 from the centre
SINGLE_CLASS = "points"  # the one class of a file without a class column
X_NAMES, Y_NAMES, CLASS_NAMES = ("x",), ("y",), ("class", "label")
# Class names are shown on every page (selectboxes, sentences): plain words only.
CLASS_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9 _.+-]*")


@dataclass(frozen=True)
class UserData:
    dataset: Dataset  # scaled into the view, at most USER_TRAIN_POINTS points
    rows: int  # points in the file or drawing
    scale: float  # view units per unit of the file or drawing


def check_class_names(names: object) -> tuple[str, ...]:
    """`names` as a tuple if it is 1..MAX_USER_CLASSES distinct plain names (letters,
    digits, space, _ . + -), else ValueError. Also what a checkpoint's user data must hold."""
    if not isinstance(names, (list, tuple)) or not names:
        raise ValueError("the class names must be a non-empty list")
    if len(names) > limits.MAX_USER_CLASSES:
        raise ValueError(f"the class column has {len(names):,} different classes; at most "
                         f"{limits.MAX_USER_CLASSES} are allowed")
    for name in names:
        if not isinstance(name, str) or len(name) > limits.MAX_USER_CLASS_CHARS \
                or not CLASS_NAME.fullmatch(name):
            raise ValueError(f"class {limits.shown(name, 30)} is not a plain name: up to "
                             f"{limits.MAX_USER_CLASS_CHARS} letters, digits, spaces, _ . + -, "
                             "starting with a letter or digit")
    if len(set(names)) != len(names):
        raise ValueError("the class names are not distinct")
    return tuple(names)


def read_csv(source: bytes | str | Path, seed: int = 0) -> UserData:
    """The points of a CSV file (a path, or its bytes as uploaded), checked and scaled;
    ValueError with one line if the file is not usable. `seed` picks the kept points."""
    raw = _read_bytes(source)
    lines = _text(raw).splitlines()
    numbered = [(i + 1, line) for i, line in enumerate(lines) if line.strip()]
    if not numbered:
        raise ValueError("the file is empty")
    columns, has_header = _columns(numbered[0][1])
    rows = numbered[1:] if has_header else numbered
    _check_count("the file", len(rows), "rows")
    points, classes = _values(rows, columns)
    labels, names = _labels(classes, len(points))
    return _user_data(points, labels, names, seed)


def read_drawing(payload: object, class_names: Sequence[str], seed: int = 0) -> UserData:
    """The points of a drawing as the drawing component sends them, {"points": [[x, y,
    class index], ...]} with class indices into `class_names` (the classes as the app
    colours them), checked like a CSV file and scaled; ValueError with one line if not
    usable. Classes left empty are skipped: the k-th class drawn gets class_names[k]."""
    if not isinstance(payload, dict) or not isinstance(payload.get("points"), list):
        raise ValueError("the drawing did not arrive as a list of points")
    rows = payload["points"]
    _check_count("the drawing", len(rows), "points")
    points = np.empty((len(rows), 2))
    drawn = np.empty(len(rows), np.int64)
    bound = min(len(class_names), limits.MAX_USER_CLASSES)
    for k, row in enumerate(rows):
        if not isinstance(row, (list, tuple)) or len(row) != 3:
            raise ValueError(f"point {k + 1} is not an (x, y, class) triple")
        points[k, 0] = _coordinate(row[0], k, "x")
        points[k, 1] = _coordinate(row[1], k, "y")
        drawn[k] = _class_index(row[2], k, bound)
    used, labels = np.unique(drawn, return_inverse=True)
    names = (SINGLE_CLASS,) if len(used) == 1 else \
        check_class_names([class_names[j] for j in range(len(used))])
    return _user_data(points, labels.astype(np.int64), names, seed)


def _check_count(what: str, n: int, unit: str) -> None:
    """The same bounds on the number of points for every source, checked before reading
    them one by one."""
    if n > limits.MAX_USER_ROWS:
        raise ValueError(f"{what} has {n:,} {unit}; at most {limits.MAX_USER_ROWS:,} "
                         "points are allowed")
    if n < limits.MIN_USER_POINTS:
        raise ValueError(f"{what} has {n} points; at least {limits.MIN_USER_POINTS} are "
                         "needed")


def _finite(value: float, where: str, axis: str, text: str) -> float:
    if not math.isfinite(value):
        raise ValueError(f"{where}: {axis} is {text}; every x and y must be a finite number "
                         "(no NaN or infinity)")
    return value


def _coordinate(value: object, k: int, axis: str) -> float:
    """A drawn point's x or y: a finite number (JSON's are float or int: checked first,
    as the ABC checks cost ~10x more for every point of a large drawing)."""
    if type(value) is not float and type(value) is not int \
            and (isinstance(value, bool) or not isinstance(value, Real)):
        raise ValueError(f"point {k + 1}: {axis} is not a number: {limits.shown(value, 30)}")
    try:
        number = float(value)  # type: ignore[arg-type]
    except OverflowError:  # an int too large for a float (JSON's ints have no bound)
        number = math.inf
    if not math.isfinite(number):
        _finite(number, f"point {k + 1}", axis, limits.shown(value))
    return number


def _class_index(value: object, k: int, bound: int) -> int:
    """A drawn point's class: a whole number below the drawing's (and the app's) bound."""
    if type(value) is not int and (isinstance(value, bool) or not isinstance(value, Integral)) \
            or not 0 <= value < bound:  # type: ignore[operator]
        raise ValueError(f"point {k + 1}: class {limits.shown(value, 30)} is not one of the "
                         f"{bound} classes (0..{bound - 1}); at most "
                         f"{limits.MAX_USER_CLASSES} are allowed")
    return int(value)  # type: ignore[call-overload]


def _user_data(points: np.ndarray, labels: np.ndarray, names: tuple[str, ...],
               seed: int) -> UserData:
    """Checked points as the Dataset the app trains on: scaled into the view, thinned."""
    scaled, scale = scale_into_view(points)
    keep = _kept(labels, len(names), np.random.default_rng(seed))
    dataset = Dataset(USER_DATA_NAME, scaled[keep].astype(np.float32), labels[keep], names)
    return UserData(dataset, len(points), scale)


def scale_into_view(points: np.ndarray) -> tuple[np.ndarray, float]:
    """Points moved so their bounding box is centred on 0 and scaled (the same factor on
    both axes, so shapes stay as drawn) so its longer side spans -EXTENT..EXTENT."""
    lo, hi = points.min(axis=0), points.max(axis=0)
    with np.errstate(over="ignore"):
        half = float(np.max(hi - lo)) / 2
    if not 0 < half < math.inf:
        raise ValueError("all points are at the same place: the data has no shape to learn"
                         if half == 0 else "the coordinates span too large a range")
    scale = EXTENT / half
    return (points - (lo + hi) / 2) * scale, scale


def _read_bytes(source: bytes | str | Path) -> bytes:
    if isinstance(source, bytes):
        size = len(source)
    else:
        path = Path(source)
        if not path.is_file():
            raise ValueError(f"{path}: no such file")
        size = path.stat().st_size
    if size > limits.MAX_USER_CSV_BYTES:
        raise ValueError(f"the file is {size / 2**20:.1f} MB; at most "
                         f"{limits.MAX_USER_CSV_BYTES >> 20} MB of CSV is allowed")
    return source if isinstance(source, bytes) else Path(source).read_bytes()


def _text(raw: bytes) -> str:
    if b"\0" in raw:
        raise ValueError("not a CSV file: it holds binary data (give a text file with "
                         "columns x, y and optionally class)")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ValueError("not a CSV file: it is not UTF-8 text") from None


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _split(line: str) -> list[str]:
    return [field.strip() for field in next(csv.reader([line]))]


def _columns(first: str) -> tuple[tuple[int, int, int | None, int], bool]:
    """((x, y, class or None, number of fields), has a header) from the first line."""
    fields = _split(first)
    if len(fields) < 2:
        found = next((name for sep, name in ((";", "semicolons"), ("\t", "tabs"),
                                             (" ", "spaces")) if sep in first.strip()), None)
        raise ValueError("not a comma-separated file: " + (
            f"its columns are separated by {found}; use commas (x,y or x,y,class)" if found
            else "the first line has one column; need x,y or x,y,class"))
    if _is_number(fields[0]) and _is_number(fields[1]):  # no header
        if len(fields) > 3:
            raise ValueError(f"{len(fields)} columns and no header line: add a first line "
                             "naming the columns x, y and class")
        return (0, 1, 2 if len(fields) == 3 else None, len(fields)), False
    names = [f.lower() for f in fields]

    def find(options: tuple[str, ...], required: bool) -> int | None:
        index = next((names.index(o) for o in options if o in names), None)
        if index is None and required:
            raise ValueError(f"missing column {options[0]!r}: the header names "
                             f"{limits.shown(', '.join(fields), 60)}; need x, y (and "
                             "optionally class)")
        return index

    x, y = find(X_NAMES, True), find(Y_NAMES, True)
    return (x, y, find(CLASS_NAMES, False), len(fields)), True  # type: ignore[return-value]


def _values(rows: list[tuple[int, str]], columns: tuple[int, int, int | None, int]
            ) -> tuple[np.ndarray, list[str] | None]:
    """(points float64 (n, 2), class values or None), every field checked."""
    x_col, y_col, class_col, width = columns
    points = np.empty((len(rows), 2))
    classes: list[str] | None = None if class_col is None else []
    seen: set[str] = set()
    for k, (number, line) in enumerate(rows):
        fields = _split(line)
        if len(fields) != width:
            raise ValueError(f"line {number}: {len(fields)} fields, but the file has {width} "
                             "columns (comma-separated x, y and optionally class)")
        for j, (col, axis) in enumerate(((x_col, "x"), (y_col, "y"))):
            try:
                points[k, j] = float(fields[col])
            except ValueError:
                raise ValueError(f"line {number}: {axis} is not a number: "
                                 f"{limits.shown(fields[col], 30)}") from None
            _finite(points[k, j], f"line {number}", axis, fields[col])
        if classes is not None:
            value = fields[class_col]  # type: ignore[index]
            if not value:
                raise ValueError(f"line {number}: the class is empty")
            seen.add(value)
            if len(seen) > limits.MAX_USER_CLASSES:
                raise ValueError(f"the class column has more than {limits.MAX_USER_CLASSES} "
                                 "different classes")
            classes.append(value)
    return points, classes


def _labels(classes: list[str] | None, n: int) -> tuple[np.ndarray, tuple[str, ...]]:
    """Integer labels and the class names, numbers in numeric order (0, 1, 2, 10)."""
    if classes is None:
        return np.zeros(n, np.int64), (SINGLE_CLASS,)
    distinct = set(classes)
    numeric = all(re.fullmatch(r"-?\d+", c) for c in distinct)
    names = check_class_names(sorted(distinct, key=int if numeric else str))
    index = {name: i for i, name in enumerate(names)}
    return np.array([index[c] for c in classes], dtype=np.int64), names


def _kept(labels: np.ndarray, num_classes: int, rng: np.random.Generator) -> np.ndarray:
    """Indices of at most ~USER_TRAIN_POINTS points, every class keeping its share (and
    at least one point); all of them, in order, if there are no more than that."""
    n = len(labels)
    if n <= USER_TRAIN_POINTS:
        return np.arange(n)
    kept = [rng.choice(members, max(1, round(len(members) * USER_TRAIN_POINTS / n)),
                       replace=False)
            for members in (np.flatnonzero(labels == c) for c in range(num_classes))]
    return rng.permutation(np.concatenate(kept))
