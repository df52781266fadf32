"""The lesson format (explainer/lessons.py): the shipped lesson reads, a lesson written
back reads as the same lesson, each kind of bad file gets one line naming the step and
the field, and a step's link carries exactly its settings."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from explainer import lessons, limits, views
from explainer.lessons import Lesson, LessonError, Step

GOOD = '''title = "A lesson"

[[steps]]
page = "random_walks"
narration = "First."
[steps.settings]
t = 20

[[steps]]
page = "guidance"
narration = "Second."
[steps.settings]
w = 2.5
label = "outer"
'''


def bad(step_text: str) -> str:
    """A one-step lesson whose step is `step_text`."""
    return f'title = "A lesson"\n\n[[steps]]\n{step_text}\n'


def test_the_shipped_lesson_follows_the_seed_story() -> None:
    lesson = lessons.shipped()["seed"]
    pages = [step.page for step in lesson.steps]
    assert 8 <= len(pages) <= 12
    # random walks -> the vector field -> sampling -> guidance, each a run of steps
    order = list(dict.fromkeys(pages))
    assert order == ["random_walks", "vector_field", "sampling", "guidance"]
    assert pages == sorted(pages, key=order.index)
    field_ts = [s.settings["t"] for s in lesson.steps if s.page == "vector_field"]
    assert max(field_ts) > 10 * min(field_ts)  # large t, then small t
    samplers = {s.settings.get("sampler") for s in lesson.steps if s.page == "sampling"}
    assert {"ddpm", "no_noise"} <= samplers  # with and without the noise
    ws = [s.settings["w"] for s in lesson.steps if "w" in s.settings]
    assert min(ws) == 0 and max(ws) > 1  # the guidance slider, from none to strong


def test_parse_reads_every_field() -> None:
    lesson = lessons.parse(GOOD, "mine")
    assert lesson == Lesson("mine", "A lesson", (
        Step("random_walks", "First.", {"t": 20}),
        Step("guidance", "Second.", {"w": 2.5, "label": "outer"})))


@pytest.mark.parametrize("lesson", [
    lessons.shipped()["seed"],
    Lesson("x", 'Quotes " and \\ backslashes, ünïcode — and # hashes', (
        Step("", "Home first."),
        Step("prompts", 'He said "hi" \\ $x$ <b>bold</b> [a](b)',
             {"prompt": 'a "quoted" word', "w": 0.5, "t": 2}, present=True, show="fields"),
        Step("train", "Train.", {"train_seconds": 60, "train_hidden": 256,
                                 "train_dataset": "moons"}),
        Step("sampling", "Sample.", {"steps": 1000, "process": "random_walk", "n": 2000}),
    )),
])
def test_dump_then_parse_gives_the_same_lesson(lesson: Lesson) -> None:
    again = lessons.parse(lessons.dump(lesson), lesson.id)
    assert again == lesson
    assert [type(v) for s in again.steps for v in s.settings.values()] == \
        [type(v) for s in lesson.steps for v in s.settings.values()]


def test_a_steps_link_carries_its_settings_and_the_lessons_place() -> None:
    lesson = lessons.parse(GOOD.replace('narration = "Second."',
                                        'narration = "Second."\npresent = true'), "mine")
    url = urlsplit(lesson.url(2))
    assert url.path == "guidance"
    assert parse_qs(url.query) == {"w": ["2.5"], "label": ["outer"], "present": ["1"],
                                   "lesson": ["mine"], "step": ["2"]}
    assert parse_qs(urlsplit(lesson.url(1)).query) == {"t": ["20"], "lesson": ["mine"],
                                                       "step": ["1"]}


def test_a_link_value_is_escaped() -> None:
    lesson = Lesson("x", "T", (Step("prompts", "N.", {"prompt": "a&step=9 b"}),))
    assert parse_qs(urlsplit(lesson.url(1)).query)["prompt"] == ["a&step=9 b"]
    assert parse_qs(urlsplit(lesson.url(1)).query)["step"] == ["1"]


@pytest.mark.parametrize("text, message", [
    ('title = "x"\n[[steps]\n', "not valid TOML"),
    ('title = "x"\nauthor = "me"\n' + GOOD.split("\n", 1)[1], "'author' is not a lesson field"),
    (GOOD.replace('title = "A lesson"', ""), "has no title"),
    ('title = "x"\n', "has no steps"),
    ('title = 3\n[[steps]]\npage = ""\nnarration = "n"\n', "title must be a text"),
    (bad('page = "foo"\nnarration = "n"'), "step 1: page 'foo' is not one of"),
    (bad('page = "sampling"'), "step 1: has no narration"),
    (bad('narration = "n"'), "step 1: has no page"),
    (bad('page = "sampling"\nnarration = ""'), "step 1: narration is empty"),
    (bad('page = "sampling"\nnarration = "two\\nlines"'), "step 1: narration has a line break"),
    (bad(f'page = "sampling"\nnarration = "{"a" * (limits.MAX_NARRATION_CHARS + 1)}"'),
     f"step 1: narration is {limits.MAX_NARRATION_CHARS + 1} characters long"),
    (bad('page = "sampling"\nnarration = "n"\ncolour = "red"'),
     "step 1: 'colour' is not a step field"),
    (bad('page = "sampling"\nnarration = "n"\npresent = "yes"'),
     "step 1: present must be true or false"),
    (bad('page = "sampling"\nnarration = "n"\nshow = "a b"'), "step 1: show 'a b' is not"),
    (bad('page = "sampling"\nnarration = "n"\nsettings = 3'), "step 1: settings must be a table"),
    (bad('page = "sampling"\nnarration = "n"\n[steps.settings]\nw = 3'),
     "step 1: settings: 'w' is not a setting of page 'sampling'"),
    (bad('page = "sampling"\nnarration = "n"\n[steps.settings]\nsampler = "fast"'),
     "step 1: settings.sampler: 'fast' is not one of 'all', 'ddpm'"),
    (bad('page = "sampling"\nnarration = "n"\n[steps.settings]\nn = "1000"'),
     "step 1: settings.n: '1000' is not one of"),
    (bad('page = "guidance"\nnarration = "n"\n[steps.settings]\nw = 11.0'),
     "step 1: settings.w: 11.0 is not in 0..10"),
    (bad('page = "guidance"\nnarration = "n"\n[steps.settings]\nw = nan'),
     "step 1: settings.w: nan is not in 0..10"),
    (bad('page = "random_walks"\nnarration = "n"\n[steps.settings]\nt = 2.5'),
     "step 1: settings.t: 2.5 is not a whole number"),
    (bad('page = "random_walks"\nnarration = "n"\n[steps.settings]\nt = true'),
     "step 1: settings.t: true is not a number"),
    (bad('page = "random_walks"\nnarration = "n"\n[steps.settings]\nt = 201'),
     "step 1: settings.t: 201 is more than T = 200 of the ddpm process"),
    (bad('page = "vector_field"\nnarration = "n"\n[steps.settings]\nt = 0'),
     "step 1: settings.t: 0 is not in 1..65536"),
    (bad('page = "random_walks"\nnarration = "n"\n[steps.settings]\nt = 101'),
     "step 1: settings.t: 101 is not a time the slider offers for the ddpm process; the "
     "nearest are 100 and 102"),
    (bad('page = "guidance"\nnarration = "n"\n[steps.settings]\nprocess = "random_walk"\n'
         't = 30'), "settings.t: 30 is not a time the slider offers for the random_walk "
                    "process; the nearest are 26 and 59"),
    (bad('page = "guidance"\nnarration = "n"\n[steps.settings]\nlabel = "upper"'),
     "step 1: settings.label: 'upper' is not a class of spiral"),
    (bad('page = "guidance"\nnarration = "n"\n[steps.settings]\nlabel = "outer"\n'
         'negative = "outer"'), "step 1: settings.negative: the negative class is the class"),
    (bad('page = "prompts"\nnarration = "n"\n[steps.settings]\nprompt = "a\\nb"'),
     "step 1: settings.prompt: has a line break"),
    ('a = ' + '[' * 10_000, "arrays or tables nested too deeply"),
    ('title = "x"\nt = ' + '9' * 5000, "a number has thousands of digits"),
    (bad('page = "random_walks"\nnarration = "n"\n[steps.settings]\nt = ' + '9' * 4000),
     "step 1: settings.t: ~10^4000 is not in 0..65536"),
    (bad('page = ""\nnarration = "n"\n[steps.settings]\ndataset = "moons"'),
     "step 1: settings: 'dataset' is not a setting of page 'Home'"),
])
def test_a_bad_file_gets_one_line_naming_the_step_and_the_field(text: str,
                                                                 message: str) -> None:
    with pytest.raises(LessonError) as error:
        lessons.parse(text, "x")
    assert message in str(error.value)
    assert "\n" not in str(error.value)


def test_the_step_is_counted_from_one_in_messages() -> None:
    text = GOOD + '\n[[steps]]\npage = "sampling"\nnarration = "n"\n[steps.settings]\nn = 7\n'
    with pytest.raises(LessonError, match=r"^step 3: settings\.n: 7 is not one of"):
        lessons.parse(text, "x")


def test_too_many_steps() -> None:
    step = '[[steps]]\npage = "sampling"\nnarration = "n"\n'
    with pytest.raises(LessonError, match=f"at most {limits.MAX_LESSON_STEPS} are allowed"):
        lessons.parse('title = "x"\n' + step * (limits.MAX_LESSON_STEPS + 1), "x")
    assert len(lessons.parse('title = "x"\n' + step * limits.MAX_LESSON_STEPS, "x").steps) \
        == limits.MAX_LESSON_STEPS


def test_a_file_too_large_or_not_utf8_is_refused_before_it_is_read(tmp_path: Path) -> None:
    big = GOOD + "#" * limits.MAX_LESSON_BYTES
    with pytest.raises(LessonError, match="larger than 32 KB"):
        lessons.parse_bytes(big.encode(), "x")
    path = tmp_path / "big.toml"
    path.write_text(big)
    with pytest.raises(LessonError, match="larger than 32 KB"):
        lessons.load(path)
    with pytest.raises(LessonError, match="not UTF-8 text"):
        lessons.parse_bytes(b'title = "\xff"\n', "x")


def test_load_names_the_lesson_by_its_file(tmp_path: Path) -> None:
    path = tmp_path / "My_Class.toml"
    path.write_text(GOOD)
    assert lessons.load(path).id == "my_class"
    with pytest.raises(LessonError, match="cannot read nothing.toml"):
        lessons.load(tmp_path / "nothing.toml")
    (tmp_path / "two words.toml").write_text(GOOD)
    with pytest.raises(LessonError, match="lesson name 'two words' is not"):
        lessons.load(tmp_path / "two words.toml")


def test_an_upload_is_named_by_its_bytes() -> None:
    assert lessons.upload_id(b"a") == lessons.upload_id(b"a") != lessons.upload_id(b"b")
    lessons.check_id(lessons.upload_id(b"a"))


def test_the_shelf_keeps_the_most_recently_used_lessons() -> None:
    shelf = lessons.Shelf(max_lessons=2)
    made = [Lesson(f"l{i}", "T", (Step("", "n"),)) for i in range(3)]
    shelf.put(made[0])
    shelf.put(made[1])
    assert shelf.get("l0") is made[0]  # used: l1 is now the oldest
    shelf.put(made[2])
    assert shelf.get("l1") is None
    assert {lesson.id for lesson in shelf.all()} == {"l0", "l2"}


def test_every_page_of_the_app_is_in_the_registry() -> None:
    app = (Path(__file__).resolve().parents[1] / "app.py").read_text()
    for page in views.PAGES:
        if page:
            assert f'"pages/{page}.py"' in app


def test_a_mangled_file_is_one_line_never_a_traceback() -> None:
    """Random edits of the shipped file (brackets, quotes, digits, NUL, bad UTF-8):
    each reads as a lesson or fails with one LessonError line."""
    import random

    base = (lessons.SHIPPED_DIR / "seed.toml").read_bytes()
    rng = random.Random(0)
    alphabet = b'[]{}="\'\n.,-+0123456789aetruefls #\\\x00\xff'
    failed = 0
    for _ in range(3000):
        data = bytearray(base)
        for _ in range(rng.randint(1, 8)):
            at, what = rng.randrange(len(data)), rng.random()
            if what < 0.4:
                data[at] = rng.choice(alphabet)
            elif what < 0.7:
                del data[at]
            else:
                data.insert(at, rng.choice(alphabet))
        try:
            lessons.parse_bytes(bytes(data), "x")
        except LessonError as error:
            assert "\n" not in str(error)
            failed += 1
    assert failed > 1000  # the edits did break most files
