"""The bad-input catalogue: what a careless user or an attacker can send through each entry
point, and the one clear line each gets back, with nothing changed and nothing large
allocated first.

- Checkpoints: a real one re-saved with each stored size made huge (process T, network
  widths, the stored training set, a record that unpacks to more than the file), or with
  values the pages cannot show (steps, quality, a dataset name in Markdown).
- The Train page's upload: the same files give a message and leave the model as it was.
- Links: inf, -inf, nan, 1e999, a 5,000-digit number, long text and Markdown in number
  parameters fall back with a note that quotes the value as written, shortened.
- The command line: huge counts, seeds and names; an --out that numpy would rename.

Every test runs under a memory cap (the process's current size + 2 GB): a bound that
stopped working shows as a MemoryError here instead of the machine swapping or the test
run being killed.
"""

from __future__ import annotations

import copy
import io
import re
import resource
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path

import apptest_helpers as ui
import numpy as np
import pytest
import torch
from streamlit.testing.v1 import AppTest

from explainer import checkpoints, limits
from explainer.checkpoints import CheckpointError
from explainer.cli import main

REAL = ui.ROOT / "assets" / "moons-random_walk.pt"  # T = 65,536: the largest shipped
HEADROOM = 2 << 30

pytestmark = pytest.mark.usefixtures("app_py_around_pages")


@pytest.fixture(autouse=True)
def memory_cap() -> Iterator[None]:
    """Cap this process's address space at its current size + HEADROOM for the test."""
    status = Path("/proc/self/status")
    if not status.exists():
        yield
        return
    vm_kb = int(re.search(r"VmSize:\s+(\d+)", status.read_text()).group(1))
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    cap = vm_kb * 1024 + HEADROOM
    resource.setrlimit(resource.RLIMIT_AS, (cap if hard < 0 else min(cap, hard), hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_AS, (soft, hard))


# ---------------------------------------------------------------- crafted checkpoints

def crafted(edit: Callable[[dict], object]) -> bytes:
    """The real checkpoint REAL, edited and saved again as torch.save writes it."""
    raw = copy.deepcopy(torch.load(REAL, weights_only=True))
    edit(raw)
    buffer = io.BytesIO()
    torch.save(raw, buffer)
    return buffer.getvalue()


def deflated(blob: bytes) -> bytes:
    """The same archive with its records compressed (torch.save stores them as they are)."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(blob)) as src, \
            zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            dst.writestr(info.filename, src.read(info.filename))
    return out.getvalue()


def padded(raw: dict) -> None:
    """An extra 80 MB tensor of zeros: ~80 kB once deflated, 80 MB once loaded."""
    raw["padding"] = torch.zeros(80 << 20, dtype=torch.uint8)


def points(n: int, view: bool = False) -> Callable[[dict], None]:
    """n stored training points: real rows, or a view of one row (a few bytes on disk)."""
    def edit(raw: dict) -> None:
        if view:
            xy, labels = torch.zeros(1, 2).expand(n, 2), torch.zeros(1, dtype=torch.long).expand(n)
        else:
            xy, labels = torch.randn(n, 2), torch.arange(n) % 2
        raw["data"].update(points=xy, labels=labels)
    return edit


def model_size(**sizes: int) -> Callable[[dict], None]:
    return lambda raw: raw["model_config"].update(sizes)


# name -> (the file's bytes, built lazily; a fragment the message must contain)
CRAFTED: dict[str, tuple[Callable[[], bytes], str]] = {
    "process T of 10^9": (lambda: crafted(
        lambda raw: raw["train_config"]["process"].update(T=10**9)), f"{limits.MAX_T:,}"),
    "fourier_features of 10^9": (lambda: crafted(model_size(fourier_features=10**9)),
                                 f"at most {limits.MAX_EMBEDDING}"),
    "time_dim of 10^9": (lambda: crafted(model_size(time_dim=10**9)),
                         f"at most {limits.MAX_EMBEDDING}"),
    "label_dim of 10^9": (lambda: crafted(model_size(label_dim=10**9)),
                          f"at most {limits.MAX_EMBEDDING}"),
    "10^9 stored points, a view of one": (lambda: crafted(points(10**9, view=True)),
                                          f"{limits.MAX_DATA_POINTS:,}"),
    "20,000 stored points": (lambda: crafted(points(20_000)), f"{limits.MAX_DATA_POINTS:,}"),
    "a record that unpacks to 80 MB": (lambda: deflated(crafted(padded)), "unpack"),
    "steps_trained of inf": (lambda: crafted(lambda raw: raw.update(steps_trained=float("inf"))),
                             "steps_trained"),
    "a quality floor of 0": (lambda: crafted(
        lambda raw: raw.update(quality={"mmd2": 1e-3, "floor": 0.0})), "quality"),
    "a dataset name in Markdown": (lambda: crafted(
        lambda raw: raw["data"].update(name="[Session expired](https://evil.example)")),
        "datasets"),
}


@pytest.mark.parametrize("case", list(CRAFTED))
def test_a_crafted_checkpoint_is_refused_in_one_line(case: str) -> None:
    build, fragment = CRAFTED[case]
    with pytest.raises(CheckpointError) as info:
        checkpoints.load(build(), name="crafted.pt")
    message = str(info.value)
    assert message.startswith("crafted.pt: ") and "\n" not in message, message
    assert fragment in message, message


def test_a_file_larger_than_any_checkpoint_is_refused_before_reading(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(limits, "MAX_CHECKPOINT_BYTES", REAL.stat().st_size - 1)
    with pytest.raises(CheckpointError, match="larger than"):
        checkpoints.load(REAL)


# ---------------------------------------------------------------- the Train page's upload

def code_spans(markdown: str) -> tuple[list[str], str]:
    """(the code spans' contents, the text outside them) as CommonMark reads them: a run
    of n backticks opens a span that the next run of exactly n backticks closes."""
    inside, outside, pos = [], [], 0
    runs = list(re.finditer("`+", markdown))
    i = 0
    while i < len(runs):
        opener = runs[i]
        closer = next((j for j in range(i + 1, len(runs))
                       if len(runs[j].group()) == len(opener.group())), None)
        if closer is None:
            i += 1
            continue
        content = markdown[opener.end():runs[closer].start()]
        if content.startswith(" ") and content.endswith(" ") and content.strip():
            content = content[1:-1]
        outside.append(markdown[pos:opener.start()])
        inside.append(content)
        pos, i = runs[closer].end(), closer + 1
    outside.append(markdown[pos:])
    return inside, "".join(outside)


MARKUP = ("[", "]", "<", ">", "!", "http", "`")


def assert_shown_as_written(message: str, value: str) -> None:
    """`value` appears in `message` only inside a code span (literal text), and nothing
    that could be a link, an image or HTML is left outside one."""
    inside, outside = code_spans(message)
    assert any(value in span for span in inside), (value, message)
    assert not any(mark in outside for mark in MARKUP), message


def open_train_page() -> AppTest:
    return ui.open_page("pages/train.py")


def upload(at: AppTest, name: str, data: bytes) -> AppTest:
    at.file_uploader(key="train_upload").set_value((name, data, "application/octet-stream"))
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


@pytest.mark.parametrize("case", ["process T of 10^9", "10^9 stored points, a view of one",
                                  "a dataset name in Markdown"])
def test_a_crafted_upload_gives_a_message_and_changes_nothing(case: str) -> None:
    at = upload(open_train_page(), "moons.pt", REAL.read_bytes())
    before = at.session_state["user_model"]
    build, fragment = CRAFTED[case]
    upload(at, "crafted.pt", build())
    (message,) = (e.value for e in at.error)
    assert fragment in message and "Nothing was changed" in message, message
    assert "\n" not in message
    assert at.session_state["user_model"] is before  # the very same (id, model) pair
    assert at.session_state["source"] == "your model"


def test_an_uploaded_file_s_name_is_shown_as_written() -> None:
    name = "[Session expired, log in](https://evil.example).pt"
    at = upload(open_train_page(), name, b"not a checkpoint")
    (message,) = (e.value for e in at.error)
    assert_shown_as_written(message, name)
    assert "user_model" not in at.session_state


# ---------------------------------------------------------------- links

LINK_VALUES = {
    "inf": "inf", "-inf": "-inf", "nan": "nan", "1e999": "1e999",
    "a 5,000-digit number": "9" * 5000,
    "a link": "[Session expired, log in](https://evil.example/login)",
    "an image": "![x](http://evil.example/x.png)",
    "a code span that closes early": "`[Session expired](https://evil.example)`",
    "long text": "x" * 5000,
}
# page -> (its number parameters, with the value each falls back to)
LINK_PAGES = {
    "pages/random_walks.py": {"t": 20, "seed": 0, "walks": 3},
    "pages/train.py": {"train_seconds": 20, "train_seed": 0},
}


def note_about(at: AppTest, key: str) -> str:
    """The one warning that quotes the link's `key`."""
    (note,) = (w.value for w in at.warning
               if any(span.startswith(f"{key}=") for span in code_spans(w.value)[0]))
    return note


@pytest.mark.parametrize("page_path", list(LINK_PAGES))
@pytest.mark.parametrize("case", list(LINK_VALUES))
def test_a_bad_number_in_a_link_falls_back_with_a_plain_short_note(page_path: str,
                                                                   case: str) -> None:
    value, defaults = LINK_VALUES[case], LINK_PAGES[page_path]
    at = ui.open_page(page_path, **dict.fromkeys(defaults, value))
    for key, default in defaults.items():
        assert at.session_state[key] == default
        note = note_about(at, key)
        inside, outside = code_spans(note)
        (quoted,) = (span for span in inside if span.startswith(f"{key}="))
        shown = quoted.removeprefix(f"{key}=")
        # Quoted as written, shortened: its start, and at most NOTE_VALUE_CHARS of it.
        assert value.startswith(shown.removesuffix("…")) and len(shown) <= 40, shown
        assert not any(mark in outside for mark in MARKUP), note
        assert "expected" in outside and len(note) < 300, note


def test_a_float_parameter_quotes_markup_as_written() -> None:
    value = LINK_VALUES["a link"]
    at = ui.open_page("pages/guidance.py", n="250", w=value)
    assert at.slider(key="w").value == 3.0
    assert_shown_as_written(note_about(at, "w"), value[:20])


# ---------------------------------------------------------------- the command line

@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A checkpoint with T = 10^9, an .npz of 20,000 points and a bare .npy of points."""
    folder = tmp_path_factory.mktemp("bad_input")
    huge_T = folder / "huge-T.pt"
    huge_T.write_bytes(CRAFTED["process T of 10^9"][0]())
    many = folder / "many-points.npz"
    np.savez(many, points=np.zeros((20_000, 2), np.float32))
    bare = folder / "bare-points.npy"
    np.save(bare, np.zeros((50, 2), np.float32))
    return {"huge_T": huge_T, "many_points": many, "bare_points": bare, "out": folder}


MOONS = ["--dataset", "moons", "--process", "ddpm", "--sampler", "ddim"]
# args ({out}, {huge_T}, {many_points} filled in) -> a fragment the one line must contain
CLI: dict[str, tuple[list[str], str]] = {
    "schedule --T 10^9": (["schedule", "--process", "ddpm", "--T", "1000000000",
                           "--out", "{out}/T.npz"], f"{limits.MAX_T:,}"),
    "data --n 10^8": (["data", "--dataset", "spiral", "--n", "100000000", "--out",
                       "{out}/d.npz"], f"{limits.MAX_DRAWN_POINTS:,}"),
    "sample --n 10^8": (["sample", *MOONS, "--n", "100000000", "--out", "{out}/n.npy"],
                        f"{limits.MAX_SAMPLES:,}"),
    "sample --n x steps": (["sample", *MOONS, "--n", "100000", "--out", "{out}/nxs.npy"],
                           f"{limits.MAX_SAMPLE_POINT_STEPS:,}"),
    "sample --checkpoint with T = 10^9": (["sample", "--checkpoint", "{huge_T}", "--sampler",
                                           "ddim", "--out", "{out}/ck.npy"], f"{limits.MAX_T:,}"),
    "sample --seed 10^30": (["sample", *MOONS, "--steps", "2", "--n", "5", "--seed",
                             "1" + "0" * 30, "--out", "{out}/seed.npy"], f"{limits.MAX_SEED:,}"),
    "sample --label of 10^5 characters": (["sample", *MOONS, "--label", "x" * 100_000,
                                           "--out", "{out}/label.npy"],
                                          f"at most {limits.MAX_NAME_CHARS}"),
    "field --data of 20,000 points": (["field", "--dataset", "moons", "--process", "ddpm",
                                       "--ideal", "--data", "{many_points}", "--t", "5",
                                       "--out", "{out}/f.npz"], f"{limits.MAX_DATA_POINTS:,}"),
    "field --data of an .npy file": (["field", "--dataset", "moons", "--process", "ddpm",
                                      "--ideal", "--data", "{bare_points}", "--t", "5",
                                      "--out", "{out}/bare.npz"], "need an .npz"),
    "data --out without a suffix": (["data", "--dataset", "spiral", "--n", "10",
                                     "--out", "{out}/points"], ".npz"),
    "sample --out without a suffix": (["sample", *MOONS, "--steps", "2", "--n", "5",
                                       "--out", "{out}/samples"], ".npy"),
}


@pytest.mark.parametrize("case", list(CLI))
def test_the_command_line_refuses_in_one_line(case: str, files: dict[str, Path],
                                              capsys: pytest.CaptureFixture[str]) -> None:
    args, fragment = CLI[case]
    args = [arg.format(**files) for arg in args]
    try:
        status = main(args)
    except SystemExit as exc:  # argparse's errors
        status = exc.code
    lines = capsys.readouterr().err.strip().splitlines()
    assert status == 2 and len(lines) == 1, lines[:3]
    assert "error" in lines[0] and fragment in lines[0] and len(lines[0]) < 400, lines[0][:400]
    out = Path(args[args.index("--out") + 1])
    assert not any(out.parent.glob(out.name + "*")), "nothing is written"
