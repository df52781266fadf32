"""Lessons in the app (explainer/lessons.py): the bar at the top of a page while a link
says ?lesson=<id>&step=<k>, and Home's list of lessons with a teacher's upload.

A step is a link: Previous / Next (or PageUp / PageDown, the keys a presenter's clicker
sends) open the step's page with exactly its settings. A page's controls keep their
values in session state and read the link only when they have none (shared.
seed_from_url), so moving to a step first forgets the values of every parameter a link
can set.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable, Mapping
from pathlib import Path

import streamlit as st
from streamlit.navigation.page import StreamlitPage

from explainer import lessons, limits, views
from explainer.lessons import LESSON_PARAM, PRESENT_PARAM, STEP_PARAM, Lesson, LessonError
from pages import shared

LOG = logging.getLogger(__name__)
SERVER_FLAG = "--lesson"  # streamlit run app.py -- --lesson path.toml (repeatable)
UPLOADER_KEY = "_lesson_upload"
AGAIN_KEY = "_lesson_again"  # session_state: (lesson id, k) when "Back to step k" was clicked
MY_LESSONS_KEY = "_my_lessons"  # session_state: ids of the lessons this session uploaded
# Everything a step's link may set.
LINK_KEYS = tuple(dict.fromkeys(name for page in views.PAGES for name in views.params_of(page)))


# ---------------------------------------------------------------- where lessons come from

@st.cache_resource(show_spinner=False)
def shipped() -> dict[str, Lesson]:
    return lessons.shipped()


@st.cache_resource(show_spinner=False)
def shelf() -> lessons.Shelf:
    """The lessons this server process was given: uploads, shared by every session so
    that a step's link works for the whole class."""
    return lessons.Shelf()


@st.cache_resource(show_spinner=False)
def server_lessons() -> tuple[dict[str, Lesson], tuple[str, ...]]:
    """The lessons named on the command line (by id), and a line per file that failed."""
    args, found, problems = sys.argv[1:], {}, []
    paths = [args[i + 1] for i, arg in enumerate(args[:-1]) if arg == SERVER_FLAG]
    for path in paths:
        name = Path(path).name  # visitors see the file's name, never a server path
        try:
            lesson = lessons.load(path)
        except LessonError as exc:
            problems.append(f"{name}: {exc}")
            continue
        if lesson.id in shipped():
            problems.append(f"{name}: the name {lesson.id!r} is a shipped lesson's; rename "
                            "the file")
            continue
        found[lesson.id] = lesson
    for problem in problems:
        LOG.error("lesson not loaded: %s", problem)
    return found, tuple(problems)


def find(lesson_id: str) -> Lesson | None:
    return (shipped().get(lesson_id) or server_lessons()[0].get(lesson_id)
            or shelf().get(lesson_id))


# ---------------------------------------------------------------- moving between steps

def go_to(lesson: Lesson, k: int, pages: Mapping[str, StreamlitPage]) -> None:
    """Open step k: its page, with exactly its settings (nothing of the previous view),
    in the presentation view if the step asks for it or the current view is in it."""
    shared.forget_controls(LINK_KEYS)
    query = lesson.query(k)
    if st.query_params.get(PRESENT_PARAM) == "1":  # a teacher presenting stays presenting
        query.setdefault(PRESENT_PARAM, "1")
    # The switch and the figure picker read the link only while they hold no value.
    st.session_state.pop(shared.SHOW_KEY, None)
    if query.get(PRESENT_PARAM) == "1":
        st.session_state[shared.PRESENT_KEY] = True
    st.switch_page(pages[lesson.steps[k - 1].page], query_params=query)


def exit_lesson() -> None:
    for key in (LESSON_PARAM, STEP_PARAM):
        if key in st.query_params:
            del st.query_params[key]


def step_number(lesson: Lesson) -> tuple[int, str | None]:
    """The link's step (1..N), or 1 and a note if it is not one."""
    raw = st.query_params.get(STEP_PARAM, "1")
    try:
        k = int(raw)
    except ValueError:
        k = 0
    if 1 <= k <= len(lesson.steps):
        return k, None
    return 1, (f"The link's step {shared.literal(shared.shortened(raw))} is not a step of "
               f"this lesson (1 to {len(lesson.steps)}): showing step 1.")


def bar(page: str, pages: Mapping[str, StreamlitPage]) -> Callable[[], None]:
    """The lesson bar, when the link names a lesson (`page`: the url_path being shown).
    Returns what to call after the page has run: the note if the view is no longer the
    step's (only then are the page's values in the link)."""
    lesson_id = st.query_params.get(LESSON_PARAM)
    if lesson_id is None:
        return lambda: None
    lesson = find(lesson_id)
    if lesson is None:
        st.warning(f"This link's lesson {shared.literal(shared.shortened(lesson_id))} is not "
                   "on this server (an uploaded lesson is kept until the server restarts): "
                   "the page is shown without it.", icon=":material/link_off:")
        exit_lesson()
        return lambda: None
    k, note = step_number(lesson)
    if st.session_state.pop(AGAIN_KEY, None) == (lesson.id, k):
        go_to(lesson, k, pages)
    if note:
        st.warning(note, icon=":material/link_off:")
    n, step = len(lesson.steps), lesson.steps[k - 1]
    with st.container(border=True, key="lesson_bar"):
        st.markdown(f"**Step {k} of {n}**, {where(step)}:")
        st.text(step.narration)  # the teacher's words: never markup
        left_slot = st.empty()
        back_col, next_col, link_col, exit_col = st.columns(4)
        with back_col:
            back = st.button("Previous", key="lesson_previous", icon=":material/arrow_back:",
                             disabled=k == 1, shortcut="PageUp", width="stretch")
        with next_col:
            forward = st.button("Next", key="lesson_next", icon=":material/arrow_forward:",
                                disabled=k == n, shortcut="PageDown", width="stretch")
        with link_col, st.popover("Link to this step", icon=":material/link:",
                                  width="stretch"):
            st.code(shared.link_to_view(lesson.steps[k - 1].page, lesson.query(k)),
                    language=None, wrap_lines=True)
        with exit_col:
            st.button("Exit lesson", key="lesson_exit", icon=":material/close:",
                      on_click=exit_lesson, width="stretch")
    if back or forward:
        go_to(lesson, k - 1 if back else k + 1, pages)

    def note_if_left() -> None:
        if not left_the_step(step, page):
            return
        with left_slot.container():
            note_col, again_col = st.columns([3, 1], vertical_alignment="center")
            with note_col:
                st.caption(f"This view is no longer step {k}'s (another page, or changed "
                           "settings): the line above is about the step's own view.")
            with again_col:
                # A callback: the click is handled before the page runs again.
                st.button(f"Back to step {k}", key="lesson_again", icon=":material/undo:",
                          width="stretch", on_click=st.session_state.__setitem__,
                          args=(AGAIN_KEY, (lesson.id, k)))
    return note_if_left


def where(step: lessons.Step) -> str:
    """The step's view in words, so that its narration is true as labelled even after
    the user moves a control (a fragment's rerun does not redraw the bar)."""
    settings = ", ".join(shared.literal(f"{name} = {views.url_text(value)}")
                         for name, value in step.settings.items())
    return f"at {settings}" if settings else "at the page's first view"


def left_the_step(step: lessons.Step, page: str) -> bool:
    """Whether the user has moved away from the step's view: another page, a control of
    the step changed (its value in session state), or a parameter the step leaves at its
    default set in the link (the pages write their non-default values there)."""
    if step.page != page:
        return True
    expected = step.query()
    if any(st.session_state.get(name, value) != value
           for name, value in step.settings.items()):
        return True
    # A page leaves a default value out of the link: absent is always the step's value.
    return any(st.query_params.get(name) not in (None, expected.get(name))
               for name in views.params_of(page))


# ---------------------------------------------------------------- Home: choosing a lesson

def lessons_section(pages: Mapping[str, StreamlitPage]) -> None:
    """Home's list of lessons with a start button each, and the teacher's upload."""
    st.subheader("Lessons: the pages as a story, step by step")
    st.markdown("A lesson walks through the pages in order: each step opens a page at the "
                "settings it needs, with one line saying what to look at. Move with "
                "**Previous** / **Next** at the top of the page, or the **PageUp** / "
                "**PageDown** keys (a presenter's clicker sends them); every step has its "
                "own link to share.")
    found, problems = server_lessons()
    mine = [shelf().get(i) for i in st.session_state.get(MY_LESSONS_KEY, [])]
    everything = [*shipped().values(), *found.values(), *(m for m in mine if m is not None)]
    for lesson in everything:
        title_col, start_col = st.columns([5, 1], vertical_alignment="center")
        with title_col:
            st.text(f"{lesson.title} ({len(lesson.steps)} steps)")
        with start_col:
            if st.button("Start", key=f"lesson_start_{lesson.id}", width="stretch",
                         icon=":material/play_arrow:"):
                go_to(lesson, 1, pages)
    for problem in problems:
        st.error("A lesson file given to the server could not be used:", icon=":material/error:")
        st.text(problem)
    upload(pages)


def upload(pages: Mapping[str, StreamlitPage]) -> None:
    st.markdown("**Your own lesson**")
    about, box = st.columns([3, 2])
    with about:
        st.markdown(
            "Write a lesson as a small text file (TOML): a `title`, then one `[[steps]]` "
            "table per step with its `page`, a one-line `narration`, and the page's "
            "settings in `[steps.settings]` (the names a page's link uses, e.g. `t`, `w`, "
            f"`sampler`). At most {limits.MAX_LESSON_STEPS} steps, "
            f"{limits.MAX_NARRATION_CHARS} characters of narration each, "
            f"{limits.MAX_LESSON_BYTES // 1024} KB in all.")
        st.download_button("The shipped lesson's file, as an example",
                           (lessons.SHIPPED_DIR / "seed.toml").read_bytes(),
                           file_name="seed.toml", mime="application/toml",
                           icon=":material/download:")
    with box:
        # The browser refuses anything over 1 MB (the smallest it can be told); the
        # 32 KB bound is checked here, with its own line.
        file = st.file_uploader("Load a lesson file", type=["toml"], key=UPLOADER_KEY,
                                max_upload_size=1)
    if file is None:
        return
    data = file.getvalue()
    try:
        lesson = lessons.parse_bytes(data, lessons.upload_id(data))
    except LessonError as exc:
        st.error("This lesson file cannot be used:", icon=":material/error:")
        st.text(str(exc))
        return
    shelf().put(lesson)
    ids = st.session_state.setdefault(MY_LESSONS_KEY, [])
    if lesson.id not in ids:
        ids.append(lesson.id)
        st.rerun()  # list it with the others, with its start button
    st.success(f"Loaded, listed above: {len(lesson.steps)} steps.", icon=":material/check:")
