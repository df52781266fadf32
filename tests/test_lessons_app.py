"""AppTest of lessons in the app (pages/lesson_bar.py): each step of the shipped lesson
opens its page with exactly its settings and its narration says numbers the page prints;
Next / Previous move between steps without the previous view's values leaking; Home
lists the lessons and takes a teacher's file; bad links and files get a plain line. Also:
the registry of URL parameters (explainer/views.py) names what each page reads."""

from __future__ import annotations

import apptest_helpers as ui
import pytest
from streamlit.testing.v1 import AppTest

from explainer import lessons, views

pytestmark = pytest.mark.usefixtures("app_py_around_pages")
SEED = lessons.shipped()["seed"]


def open_step(lesson: lessons.Lesson, k: int) -> AppTest:
    """Step k opened from its link in a fresh session."""
    step = lesson.steps[k - 1]
    return ui.open_page(f"pages/{step.page}.py", **lesson.query(k))


def param(at: AppTest, key: str) -> str:
    """A URL parameter's value (AppTest keeps a link's as a string, a page's as a list)."""
    value = at.query_params[key]
    return value if isinstance(value, str) else value[-1]


def bar_text(at: AppTest) -> list[str]:
    return [t.value for t in at.text]


def page_text(at: AppTest) -> str:
    """What the page itself says in words (markdown, captions, warnings), the bar's plain
    text aside."""
    return " ".join(e.value for kind in ("markdown", "caption", "warning")
                    for e in at.get(kind))


def assert_on_step(at: AppTest, lesson: lessons.Lesson, k: int) -> None:
    """The bar shows step k, and the page uses exactly step k's settings."""
    step = lesson.steps[k - 1]
    assert f"**Step {k} of {len(lesson.steps)}**, at " in page_text(at)
    for name, value in step.settings.items():  # the view the narration is about
        assert f"`{name} = {views.url_text(value)}`" in page_text(at)
    assert step.narration in bar_text(at)
    assert param(at, "lesson") == lesson.id and param(at, "step") == str(k)
    for name, value in step.settings.items():
        assert at.session_state[name] == value, name
    assert "was not used" not in ui.warnings(at)


@pytest.mark.parametrize("k", range(1, len(SEED.steps) + 1))
def test_each_shipped_step_shows_its_view_and_its_narrations_numbers(k: int) -> None:
    at = open_step(SEED, k)
    assert_on_step(at, SEED, k)
    said = page_text(at)
    for number in ui.numbers_in(SEED.steps[k - 1].narration):
        assert number in said, f"step {k}: {number} is not on the page"
    at.run()  # the page has written its link: still the step's own view
    assert "no longer step" not in page_text(at)


def test_next_and_previous_move_between_steps_with_no_leftover_settings() -> None:
    at = open_step(SEED, 3)  # random walk process, t = 655
    assert at.button(key="lesson_previous").disabled is False
    at.button(key="lesson_next").click().run()  # -> the vector field at t = 200, DDPM
    assert not at.exception
    assert_on_step(at, SEED, 4)
    assert at.session_state["process"] == "ddpm"  # step 3's random walk is gone
    at.button(key="lesson_next").click().run()  # same page, another t
    assert_on_step(at, SEED, 5)
    at.button(key="lesson_previous").click().run()
    assert_on_step(at, SEED, 4)


def test_a_changed_view_is_flagged_and_back_to_the_step_restores_it() -> None:
    at = open_step(SEED, 5)  # the vector field at t = 2
    assert "no longer step" not in page_text(at)
    ui.move(at, "t", 200)
    assert "This view is no longer step 5's" in page_text(at)
    at.button(key="lesson_again").click().run()
    assert_on_step(at, SEED, 5)
    assert "no longer step" not in page_text(at)
    at.radio(key="view").set_value("overlay").run()  # a setting the step leaves at default
    assert "This view is no longer step 5's" in page_text(at)


def test_the_presentation_view_stays_on_from_step_to_step() -> None:
    at = ui.open_page("pages/vector_field.py", **SEED.query(4), present="1")
    at.button(key="lesson_next").click().run()
    assert_on_step(at, SEED, 5)
    assert param(at, "present") == "1"
    plain = open_step(SEED, 4)
    plain.button(key="lesson_next").click().run()
    assert "present" not in plain.query_params


def test_the_ends_of_a_lesson_and_exit() -> None:
    at = open_step(SEED, 1)
    assert at.button(key="lesson_previous").disabled
    last = open_step(SEED, len(SEED.steps))
    assert last.button(key="lesson_next").disabled
    last.button(key="lesson_exit").click().run()
    assert "lesson" not in last.query_params and "step" not in last.query_params
    assert "**Step " not in page_text(last)
    assert last.session_state["w"] == SEED.steps[-1].settings["w"]  # the view stays


def test_a_bad_lesson_link_says_so_and_shows_the_page() -> None:
    at = ui.open_page("pages/vector_field.py", lesson="no-such", t="2")
    assert "This link's lesson `no-such` is not on this server" in ui.warnings(at)
    assert "lesson" not in at.query_params
    assert at.session_state["t"] == 2  # the page keeps the link's own settings
    at = ui.open_page("pages/random_walks.py", lesson="seed", step="99")
    assert "is not a step of this lesson (1 to 12): showing step 1" in ui.warnings(at)
    assert SEED.steps[0].narration in bar_text(at)


@pytest.fixture()
def home() -> AppTest:
    at = AppTest.from_file(ui.APP, default_timeout=120)
    at.run()
    assert not at.exception
    return at


def test_home_starts_the_shipped_lesson(home: AppTest) -> None:
    assert f"{SEED.title} ({len(SEED.steps)} steps)" in bar_text(home)
    home.button(key="lesson_start_seed").click().run()
    assert not home.exception
    assert_on_step(home, SEED, 1)


def test_a_teachers_file_is_loaded_and_its_steps_have_links(home: AppTest) -> None:
    text = ('title = "Mine"\n[[steps]]\npage = "vector_field"\nnarration = "Look <b>here</b>."'
            '\n[steps.settings]\nt = 2\nview = "overlay"\n')
    home.file_uploader(key="_lesson_upload").set_value(("mine.toml", text.encode(),
                                                         "application/toml")).run()
    assert not home.exception
    lesson_id = lessons.upload_id(text.encode())
    assert "Mine (1 steps)" in bar_text(home)
    home.button(key=f"lesson_start_{lesson_id}").click().run()
    mine = lessons.parse(text, lesson_id)
    assert_on_step(home, mine, 1)
    assert "Look <b>here</b>." in bar_text(home)  # as written: plain text, not HTML
    # The link works in another session of the same server (the shelf is shared).
    assert_on_step(open_step(mine, 1), mine, 1)


def test_a_bad_teachers_file_gets_one_plain_line_and_changes_nothing(home: AppTest) -> None:
    text = 'title = "Bad"\n[[steps]]\npage = "foo"\nnarration = "n"\n'
    home.file_uploader(key="_lesson_upload").set_value(("bad.toml", text.encode(),
                                                         "application/toml")).run()
    assert not home.exception
    assert [e.value for e in home.error] == ["This lesson file cannot be used:"]
    assert "step 1: page 'foo' is not one of ''" in " ".join(bar_text(home))
    assert not any(t.startswith("Bad (") for t in bar_text(home))


# Example values a link may set on each page, other than the defaults; the pages must
# take each one as it is. Left out: pictures' t (its times depend on the story's run) and
# the prompts (their words depend on the dataset's vocabulary).
EXAMPLES = {
    "random_walks": {"dataset": "moons", "process": "random_walk", "t": 26, "walks": 5,
                     "seed": 7},
    "vector_field": {"t": 2, "view": "overlay", "grid": 32},
    "sampling": {"sampler": "ddim", "denoiser": "ideal", "steps": 50, "n": 250, "seed": 3},
    "pictures": {"seed": 2},
    "guidance": {"label": "inner", "negative": "middle", "denoiser": "weak", "w": 2.5,
                 "n": 1000, "t": 2},
    "prompts": {"w": 4.5, "t": 2},
    "train": {"train_dataset": "moons", "train_process": "random_walk",
              "train_budget": "steps", "train_steps": 200, "train_hidden": 64,
              "train_depth": 2, "train_seed": 5},
}
NOT_TRIED = {("pictures", "t"), ("prompts", "prompt"), ("prompts", "negative_prompt"),
             ("train", "train_seconds"),
             # The animation frame lives in the chart, not in session state (the browser
             # test of the copied link checks it).
             ("sampling", "frame"), ("guidance", "frame")}


@pytest.mark.parametrize("page", sorted(EXAMPLES))
def test_each_page_reads_the_parameters_the_registry_gives_it(page: str) -> None:
    settings = views.check_view(page, EXAMPLES[page])
    own = set(views.PAGE_PARAMS[page])
    assert own - set(settings) <= {name for p, name in NOT_TRIED if p == page}
    at = ui.open_page(f"pages/{page}.py", **{k: views.url_text(v) for k, v in settings.items()})
    for name, value in settings.items():
        assert at.session_state[name] == value, name
    assert "was not used" not in ui.warnings(at)


def test_a_step_that_presents_turns_the_presentation_view_on_and_picks_its_figure() -> None:
    from pages import lesson_bar

    lesson = lessons.parse(
        'title = "Two figures"\n'
        '[[steps]]\npage = "random_walks"\nnarration = "The walks."\n'
        '[[steps]]\npage = "random_walks"\nnarration = "The last step."\npresent = true\n'
        'show = "bridge"\n', "two-figures")
    lesson_bar.shelf().put(lesson)
    at = open_step(lesson, 1)
    assert "present" not in at.query_params and not (
        "present" in at.session_state and at.session_state["present"])
    at.button(key="lesson_next").click().run()
    assert param(at, "step") == "2" and param(at, "present") == "1"
    assert "present" in at.session_state and at.session_state["present"]
    assert at.session_state["show"] == "bridge"
    assert "What you see" not in page_text(at)
