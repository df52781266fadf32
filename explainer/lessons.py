"""A lesson: an ordered list of steps, each a view of the app (a page and its settings,
explainer/views.py) with one line of narration. Written by a teacher as a small TOML
file; read, checked, written back and turned into links here.

    title = "From noise back to the spiral"

    [[steps]]
    page = "random_walks"            # a page's url_path
    narration = "One line of text."  # plain text, shown as written
    present = true                   # optional: open the step in the presentation view
    show = "walks"                   # optional: the figure the presentation view shows
    [steps.settings]                 # optional: the page's URL parameters
    t = 20

Every problem with a file is one LessonError line naming the step and the field.
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from explainer import limits
from explainer.views import (
    LESSON_PARAM,
    PAGES,
    PRESENT_PARAM,
    SHOW_PARAM,
    STEP_PARAM,
    Value,
    check_view,
    page_view,
    shown,
    url_text,
)

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib  # type: ignore[no-redef]

SHIPPED_DIR = Path(__file__).resolve().parents[1] / "assets" / "lessons"
ID_PATTERN = re.compile(r"[a-z0-9][a-z0-9_-]{0,39}")
BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")
LESSON_KEYS = ("title", "steps")
STEP_KEYS = ("page", "narration", "present", "show", "settings")


class LessonError(ValueError):
    """A lesson file that cannot be used: the message is one line for the teacher."""


@dataclass(frozen=True)
class Step:
    page: str  # url_path of the page ("" is Home)
    narration: str
    settings: Mapping[str, Value] = field(default_factory=dict)
    present: bool = False
    show: str | None = None

    def query(self) -> dict[str, str]:
        """The step's URL parameters (without the lesson's)."""
        query = {name: url_text(value) for name, value in self.settings.items()}
        if self.present:
            query[PRESENT_PARAM] = "1"
        if self.show is not None:
            query[SHOW_PARAM] = self.show
        return query


@dataclass(frozen=True)
class Lesson:
    id: str  # its name in links: a shipped file's stem, or made from an upload's bytes
    title: str
    steps: tuple[Step, ...]

    def query(self, k: int) -> dict[str, str]:
        """Step k's URL parameters (k counts from 1), with the lesson's own."""
        return {**self.steps[k - 1].query(), LESSON_PARAM: self.id, STEP_PARAM: str(k)}

    def url(self, k: int) -> str:
        """Step k as a link relative to the app's root: "page?settings&lesson=id&step=k"."""
        return f"{self.steps[k - 1].page}?{urlencode(self.query(k))}"


# ---------------------------------------------------------------- reading

def parse(text: str, lesson_id: str) -> Lesson:
    """A lesson from TOML text, checked; LessonError (one line) if anything is wrong."""
    check_id(lesson_id)
    if len(text.encode()) > limits.MAX_LESSON_BYTES:
        raise LessonError(f"the file is larger than {limits.MAX_LESSON_BYTES // 1024} KB")
    try:
        table = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise LessonError(f"not valid TOML: {one_line(str(exc))}") from None
    except ValueError:  # Python's limit on the digits of an int (4,300)
        raise LessonError("not valid TOML here: a number has thousands of digits") from None
    except RecursionError:
        raise LessonError("not valid TOML here: arrays or tables nested too deeply") from None
    unknown = [key for key in table if key not in LESSON_KEYS]
    if unknown:
        raise LessonError(f"{shown(unknown[0])} is not a lesson field (the fields are: "
                          "title, and [[steps]])")
    title = table.get("title")
    if title is None:
        raise LessonError("the lesson has no title (a line: title = \"...\")")
    title = checked_line("title", title, limits.MAX_LESSON_TITLE_CHARS)
    steps = table.get("steps")
    if not isinstance(steps, list) or not steps:
        raise LessonError("the lesson has no steps (each starts with a line [[steps]])")
    if len(steps) > limits.MAX_LESSON_STEPS:
        raise LessonError(f"the lesson has {len(steps)} steps; at most "
                          f"{limits.MAX_LESSON_STEPS} are allowed")
    return Lesson(lesson_id, title, tuple(parse_step(k, raw)
                                          for k, raw in enumerate(steps, start=1)))


def parse_bytes(data: bytes, lesson_id: str) -> Lesson:
    """A lesson from a file's bytes (an upload): size checked before decoding."""
    if len(data) > limits.MAX_LESSON_BYTES:
        raise LessonError(f"the file is larger than {limits.MAX_LESSON_BYTES // 1024} KB, "
                          "the most a lesson may be")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise LessonError("the file is not UTF-8 text (a TOML file is)") from None
    return parse(text, lesson_id)


def load(path: Path | str, lesson_id: str | None = None) -> Lesson:
    """A lesson from a file on the server; its id is the file's stem unless given."""
    path = Path(path)
    try:
        with path.open("rb") as file:  # read one byte past the bound, never more
            data = file.read(limits.MAX_LESSON_BYTES + 1)
    except OSError as exc:
        raise LessonError(f"cannot read {path.name}: {exc.strerror or exc}") from None
    return parse_bytes(data, lesson_id or path.stem.lower())


def parse_step(k: int, raw: Any) -> Step:
    where = f"step {k}"
    if not isinstance(raw, dict):
        raise LessonError(f"{where}: is not a table of fields (write it as [[steps]])")
    unknown = [key for key in raw if key not in STEP_KEYS]
    if unknown:
        raise LessonError(f"{where}: {shown(unknown[0])} is not a step field (the fields "
                          f"are: {', '.join(STEP_KEYS)})")
    for key in ("page", "narration"):
        if key not in raw:
            raise LessonError(f"{where}: has no {key}")
    page = raw["page"]
    if not isinstance(page, str) or page not in PAGES:
        raise LessonError(f"{where}: page {shown(page)} is not one of "
                          f"{', '.join(repr(p) for p in PAGES)}")
    try:
        narration = checked_line("narration", raw["narration"], limits.MAX_NARRATION_CHARS)
    except LessonError as exc:
        raise LessonError(f"{where}: {exc}") from None
    present = raw.get("present", False)
    if not isinstance(present, bool):
        raise LessonError(f"{where}: present must be true or false, got {shown(present)}")
    show = raw.get("show")
    figures = page_view(page).figure_ids()
    if show is not None and show not in figures:
        raise LessonError(f"{where}: show {shown(show)} is not a figure of page "
                          f"{page or 'Home'!r} (it has: {', '.join(figures)})")
    settings = raw.get("settings", {})
    if not isinstance(settings, dict):
        raise LessonError(f"{where}: settings must be a table ([steps.settings])")
    try:
        settings = check_view(page, settings)
    except ValueError as exc:
        raise LessonError(f"{where}: {exc}") from None
    return Step(page, narration, settings, present, show)


def checked_line(name: str, value: Any, max_chars: int) -> str:
    if not isinstance(value, str):
        raise LessonError(f"{name} must be a text in quotes, got {shown(value)}")
    value = value.strip()
    if not value:
        raise LessonError(f"{name} is empty")
    if len(value) > max_chars:
        raise LessonError(f"{name} is {len(value):,} characters long; at most {max_chars} "
                          "are allowed (one line)")
    if not value.isprintable():
        raise LessonError(f"{name} has a line break or another unprintable character "
                          "(one line)")
    return value


def check_id(lesson_id: str) -> str:
    if not ID_PATTERN.fullmatch(lesson_id):
        raise LessonError(f"the lesson name {shown(lesson_id)} is not 1-40 lower-case "
                          "letters, digits, _ and - (it is the file's name)")
    return lesson_id


def one_line(text: str) -> str:
    return " ".join(text.split())


# ---------------------------------------------------------------- writing

def dump(lesson: Lesson) -> str:
    """The lesson as TOML text that `parse` reads back to an equal lesson."""
    lines = [f"title = {toml_value(lesson.title)}"]
    for step in lesson.steps:
        lines += ["", "[[steps]]", f"page = {toml_value(step.page)}",
                  f"narration = {toml_value(step.narration)}"]
        if step.present:
            lines.append("present = true")
        if step.show is not None:
            lines.append(f"show = {toml_value(step.show)}")
        if step.settings:
            lines.append("[steps.settings]")
            lines += [f"{toml_key(name)} = {toml_value(value)}"
                      for name, value in step.settings.items()]
    return "\n".join(lines) + "\n"


def toml_value(value: Value) -> str:
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)  # JSON's escapes are TOML's
    if isinstance(value, float):
        return repr(value)  # always with a "." or an exponent: read back as a float
    return str(value)


def toml_key(name: str) -> str:
    return name if BARE_KEY.fullmatch(name) else json.dumps(name, ensure_ascii=False)


# ---------------------------------------------------------------- lessons on the server

def shipped() -> dict[str, Lesson]:
    """The lessons in assets/lessons/, by id (a broken one is a bug: it raises)."""
    return {path.stem: load(path) for path in sorted(SHIPPED_DIR.glob("*.toml"))}


class Shelf:
    """Lessons this server was given (uploads, a path at start), by id: bounded, the
    least recently used dropped first, safe to share between sessions."""

    def __init__(self, max_lessons: int = limits.MAX_SHELVED_LESSONS) -> None:
        self._lessons: OrderedDict[str, Lesson] = OrderedDict()
        self._max = max_lessons
        self._lock = threading.Lock()

    def put(self, lesson: Lesson) -> None:
        with self._lock:
            self._lessons[lesson.id] = lesson
            self._lessons.move_to_end(lesson.id)
            while len(self._lessons) > self._max:
                self._lessons.popitem(last=False)

    def get(self, lesson_id: str) -> Lesson | None:
        with self._lock:
            lesson = self._lessons.get(lesson_id)
            if lesson is not None:
                self._lessons.move_to_end(lesson_id)
            return lesson

    def all(self) -> list[Lesson]:
        with self._lock:
            return list(self._lessons.values())


def upload_id(data: bytes) -> str:
    """An uploaded lesson's id: made from its bytes, so the same file gets the same link."""
    return "u-" + hashlib.sha256(data).hexdigest()[:12]
