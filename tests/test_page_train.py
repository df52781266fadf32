"""Page 5 (train your own) and the server's training slots.

- TrainingSlots: at most `capacity` holders at once, first come first served, a lost
  ticket cannot block the queue for good (unit tests with threads and a fake clock).
- The page's training loop gives its slot back when Streamlit interrupts it (a click
  reruns the script, a closed tab stops it) and keeps the Job to finish or resume.
- AppTest: a short training finishes and its model is then used by another page; a
  stopped job keeps the model trained so far; a paused job resumes its own iterator; a
  busy server makes Train wait, then train or give up with a message; uploads: bad files
  change nothing, a good one becomes the model.
"""

from __future__ import annotations

import io
import threading
import time

import apptest_helpers as ui
import numpy as np
import pytest
import torch
from streamlit.runtime.scriptrunner import RerunData, RerunException, StopException
from streamlit.testing.v1 import AppTest

from explainer import slots
from explainer.datasets import make_dataset
from explainer.figures.primitives import data_image
from explainer.slots import TrainingSlots
from explainer.train_config import TrainConfig
from explainer.training import Training
from explainer.training_job import TrainingJob

PAGE = "pages/train.py"
SMALL = {"train_budget": "steps", "train_steps": "100", "train_hidden": "64",
         "train_depth": "2"}


# ---------------------------------------------------------------- TrainingSlots


def using(at: AppTest) -> str | None:
    """The sidebar's "Using" as the pages see it (shared.active_model): a switch made after
    the radio was drawn is pending until app.py draws the sidebar again."""
    state = at.session_state
    for key in ("_pending_source", "source"):
        if key in state:
            return state[key]
    return None

def test_slots_never_exceed_capacity_and_serve_everyone() -> None:
    pool = TrainingSlots(capacity=2)
    running, peak, lock = [0], [0], threading.Lock()
    served: list[int] = []

    def visitor(i: int) -> None:
        ticket = pool.join()
        try:
            while not pool.wait(ticket, timeout=0.05):
                pass
            with lock:
                running[0] += 1
                peak[0] = max(peak[0], running[0])
            time.sleep(0.05)
            with lock:
                running[0] -= 1
                served.append(i)
        finally:
            pool.leave(ticket)

    threads = [threading.Thread(target=visitor, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert sorted(served) == list(range(8))
    assert peak[0] == 2  # the limit was reached, never passed
    assert pool.status().running == 0 and pool.status().waiting == 0


def test_slots_first_come_first_served_and_leaving_the_queue() -> None:
    pool = TrainingSlots(capacity=1)
    holder, a, b = pool.join(), pool.join(), pool.join()
    assert pool.wait(holder, 0)
    assert not pool.wait(b, 0.05)  # b is behind a
    assert pool.status(a).ahead == 0 and pool.status(b).ahead == 1
    assert pool.status().running == 1 and pool.status().waiting == 2
    pool.leave(a)  # a gives up waiting (Cancel, or its tab closed)
    assert pool.status(b).ahead == 0
    got = []
    waiter = threading.Thread(target=lambda: got.append(pool.wait(b, 5)))
    waiter.start()
    time.sleep(0.1)
    assert not got  # still held
    pool.leave(holder)
    waiter.join(5)
    assert got == [True]
    pool.leave(holder)  # leaving twice is harmless
    assert pool.status().running == 1


def test_slots_drop_a_ticket_that_stopped_showing_signs_of_life() -> None:
    now = [0.0]
    pool = TrainingSlots(capacity=1, stale_after=30, clock=lambda: now[0])
    lost, next_one = pool.join(), pool.join()
    assert pool.wait(lost, 0)
    now[0] = 20.0
    pool.beat(lost)  # alive at 20 s
    now[0] = 45.0
    assert not pool.wait(next_one, 0)  # 25 s since the last beat: still held
    now[0] = 51.0
    assert pool.wait(next_one, 0)  # 31 s: the lost holder no longer blocks anyone
    with pytest.raises(ValueError, match="left the queue"):
        pool.wait(lost, 0)


def test_default_capacity(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(slots.ENV_CAPACITY, "3")
    assert slots.default_capacity() == 3
    monkeypatch.setenv(slots.ENV_CAPACITY, "zero")
    with pytest.raises(ValueError, match=slots.ENV_CAPACITY):
        slots.default_capacity()
    monkeypatch.delenv(slots.ENV_CAPACITY)
    assert slots.default_capacity() >= 1
    with pytest.raises(ValueError):
        TrainingSlots(capacity=0)


# ---------------------------------------------------------------- the loop, interrupted

class Interrupting:
    """A stand-in for the page's placeholders that raises `exc` on the n-th draw, as
    Streamlit does at an st.* call when a click or a closed tab interrupts the script."""

    def __init__(self, exc: Exception, at_draw: int) -> None:
        self.exc, self.at_draw, self.draws = exc, at_draw, 0

    def progress(self, *args: object, **kwargs: object) -> None:
        self.draws += 1
        if self.draws >= self.at_draw:
            raise self.exc

    def __getattr__(self, name: str) -> object:
        return lambda *args, **kwargs: None


@pytest.mark.parametrize("exc", [RerunException(RerunData()), StopException()])
def test_interrupted_training_frees_its_slot_and_lets_go_of_the_job(
        monkeypatch: pytest.MonkeyPatch, exc: Exception) -> None:
    """A click stops the running copy of the page at its next st.* call (StopException
    under fastReruns, RerunException without): the slot is freed, the job let go and left
    running, for the new run to resume (or for a Stop click's run to finish)."""
    from pages import train as page

    monkeypatch.setattr(page, "DRAW_EVERY", 0.0)  # draw after every step
    job = TrainingJob.start(TrainConfig(steps=50, hidden=16, depth=1, batch=64), "50 steps")
    status = Interrupting(exc, at_draw=4)
    view = page.LiveView(status, Interrupting(exc, 99), Interrupting(exc, 99))
    pool = slots.server_slots()
    with pytest.raises(type(exc)):
        page.drive(job, view)
    assert pool.status().running == 0 and pool.status().waiting == 0
    assert job.steps_done == 3  # three steps, then the fourth draw was interrupted
    assert not job.is_held and job.phase == "running"
    with job.held(0):  # the next run goes on with the same training
        assert job.advance().step == 4


# ---------------------------------------------------------------- the page (AppTest)

def open_train_page(**params: str) -> AppTest:
    """The train page opened from a link with these query parameters (through app.py)."""
    return ui.open_page(PAGE, **params)


def user_model(at: AppTest) -> tuple[str, object] | None:
    return at.session_state["user_model"] if "user_model" in at.session_state else None


def texts(at: AppTest) -> str:
    parts = [m.value for m in (*at.markdown, *at.caption, *at.error, *at.info, *at.success)]
    return " ".join(str(p) for p in parts)


def test_a_short_training_becomes_the_model_of_the_other_pages() -> None:
    # The sidebar says spiral (pretrained); we train on moons: the vector field page must
    # then draw the moons, which only the new model knows.
    at = open_train_page(train_dataset="moons", **SMALL)
    assert user_model(at) is None
    at.button(key="train_go").click().run()
    assert not at.exception, [e.value for e in at.exception]
    mine = user_model(at)
    assert mine is not None and "train_job" not in at.session_state
    model = mine[1]
    assert model.data.name == "moons" and model.steps_trained == 100
    assert model.network.config.hidden == 64 and model.quality is not None
    assert using(at) == "your model"
    assert "Your model" in [h.value for h in at.subheader]
    assert "the data-vs-data floor" in texts(at)
    assert "train_download" in ui.download_buttons(at)  # the checkpoint can be downloaded
    # The loss curve's and the samples' data too, like every chart's.
    assert {"train_loss_final_data", "train_samples_data"} <= set(ui.download_buttons(at))

    at.switch_page("pages/vector_field.py").run()
    assert not at.exception, [e.value for e in at.exception]
    figure = next(iter(ui.charts(at).values()))  # the first chart on the page
    # Its training data (an image under the arrows) is this model's: moons.
    expected = data_image(make_dataset("moons", 2000, 0).points)["source"]
    assert figure["layout"]["images"][0]["source"] == expected


def test_a_trained_random_walk_model_samples_on_the_sampling_page() -> None:
    """A random-walk model trained here (T = 65,536) is sampled on page 3 in at most 1,000
    steps: its steps slider stops at 1,000 and the three panels end at t = 0."""
    at = open_train_page(train_process="random_walk", **SMALL)
    at.button(key="train_go").click().run()
    assert not at.exception, [e.value for e in at.exception]
    model = user_model(at)[1]
    assert model.schedule.T == 65536 and model.quality is not None
    at.switch_page("pages/sampling.py").run()
    assert not at.exception, [e.value for e in at.exception]
    steps = at.select_slider(key="steps")
    assert steps.options[-1] == "1000" and steps.value == 200
    figure = ui.charts(at)["chart_sampling"]
    assert figure["layout"]["title"]["text"].startswith("200 steps from t = 65536 to 0")
    assert len(ui.panel_traces(figure)) == 3


def paused_job(steps_before: int, budget: int, **kw: object) -> TrainingJob:
    """A job as a click during training leaves it: some steps done, let go."""
    job = TrainingJob(Training(TrainConfig(steps=budget, hidden=32, depth=2, batch=256)),
                      f"{budget} steps", **kw)
    with job.held(0):
        for _ in range(steps_before):
            job.advance()
    return job


def test_stop_keeps_the_model_trained_so_far_and_a_paused_job_resumes() -> None:
    at = open_train_page(**SMALL)
    at.session_state["train_job"] = paused_job(30, 10_000, stop_requested=True)
    at.run()  # the rerun that a Stop click causes
    assert not at.exception, [e.value for e in at.exception]
    assert "train_job" not in at.session_state
    assert user_model(at)[1].steps_trained == 30
    assert "stopped early" in texts(at)

    job = paused_job(20, 60)
    at.session_state["train_job"] = job
    at.run()  # any other rerun: the same iterator goes on to the end of its budget
    assert not at.exception, [e.value for e in at.exception]
    assert user_model(at)[1].steps_trained == 60
    assert job.steps_done == 60 and job.phase == "done"  # resumed, not new


def test_busy_server_waits_for_a_slot_then_trains_or_gives_up() -> None:
    pool = slots.server_slots()
    held = [pool.join() for _ in range(pool.capacity)]
    try:
        for ticket in held:
            assert pool.wait(ticket, 1)
        patience = pool.patience
        pool.patience = 1.0
        at = open_train_page(**SMALL)
        at.button(key="train_go").click().run()
        pool.patience = patience
        assert not at.exception, [e.value for e in at.exception]
        message = " ".join(e.value for e in at.error)
        assert "busy" in message and f"{pool.capacity} trainings running" in message
        assert user_model(at) is None and "train_job" not in at.session_state

        threading.Timer(1.0, lambda: [pool.leave(t) for t in held]).start()
        at.button(key="train_go").click().run()  # waits ~1 s, then trains
        assert not at.exception, [e.value for e in at.exception]
        assert user_model(at)[1].steps_trained == 100
    finally:
        pool.patience = 600.0
        for ticket in held:
            pool.leave(ticket)
    assert pool.status().running == 0


def bad_checkpoints() -> dict[str, bytes]:
    good = (ui.ROOT / "assets" / "spiral-ddpm.pt").read_bytes()
    raw = torch.load(io.BytesIO(good), weights_only=True)
    name, weight = next((k, v) for k, v in raw["state_dict"].items() if v.ndim == 2)
    raw["state_dict"][name] = torch.zeros(weight.shape[0] + 1, weight.shape[1])
    wrong_shapes, other_kind = io.BytesIO(), io.BytesIO()
    torch.save(raw, wrong_shapes)
    torch.save({"model": {"weight": torch.ones(3, 3)}, "epoch": 7}, other_kind)
    return {"random.pt": np.random.default_rng(0).bytes(5000),
            "truncated.pt": good[: len(good) // 2],
            "other-program.pt": other_kind.getvalue(),
            "wrong-shapes.pt": wrong_shapes.getvalue()}


def test_uploads_bad_files_change_nothing_and_a_good_one_is_used() -> None:
    at = open_train_page()
    good = (ui.ROOT / "assets" / "moons-ddpm.pt").read_bytes()
    at.file_uploader(key="train_upload").set_value(("moons.pt", good, "application/octet-stream"))
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    before = user_model(at)
    assert before is not None and before[1].data.name == "moons"
    assert using(at) == "your model"
    assert "Loaded `moons.pt`" in " ".join(s.value for s in at.success)  # shared.literal

    for name, data in bad_checkpoints().items():
        at.file_uploader(key="train_upload").set_value((name, data, "application/octet-stream"))
        at.run()
        assert not at.exception, [e.value for e in at.exception]
        message = " ".join(e.value for e in at.error)
        assert name in message and "Nothing was changed" in message, (name, message)
        assert user_model(at) is before  # the very same (id, model) pair
        assert using(at) == "your model"


# ---------------------------------------------------------------- a live server

@pytest.mark.slow
def test_many_train_clicks_within_a_second_train_once_without_an_error() -> None:
    """Five Train clicks 0.15 s apart on a real server: Streamlit (fastReruns) starts a
    run per click while the previous one still trains. Before, the new runs stepped the
    same training: "ValueError: generator already executing" on the page."""
    from live_server import AppServer, StreamlitSession, read_until, send_click

    with AppServer() as server:
        session = StreamlitSession(server.url)
        try:
            session.open_page("train", "train_seconds=5&train_hidden=64&train_depth=2")
            for _ in range(5):
                send_click(session, "train_go")
                time.sleep(0.15)
            seen = read_until(session, done="Done after", timeout=90)
        finally:
            session.close()
    assert not seen.exceptions, seen.exceptions
    done = [body for kind, body in seen.alerts if body.startswith("Done after")]
    assert len(done) == 1, seen.alerts  # one training, finished once
    assert not [body for kind, body in seen.alerts if kind == "ERROR"], seen.alerts
    assert "FINISHED_SUCCESSFULLY" in seen.finished
