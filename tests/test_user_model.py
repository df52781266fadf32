"""A student's own model across pages, runs and reloads (AppTest, app.py around pages):

- kept on the server behind ?model=<token>: a new session opened from that link (a
  reload) gets it back, with what the Train page showed of it; a link whose model is gone
  says so and falls back to the pretrained model; a malformed link value is not used and
  not repeated;
- the Train page has one "Dataset" and one "Noise process", its own: the sidebar shows a
  note instead of its picker there, and the page starts from the sidebar's choice;
- one training per session: a click while it trains changes nothing and says so; a run
  takes the job over only once the previous run lets go of it; leaving the page stops
  the training, coming back finishes it with the model so far.
"""

from __future__ import annotations

import threading
import time

import apptest_helpers as ui
import pytest
from streamlit.testing.v1 import AppTest
from test_page_train import paused_job  # a job as a click during training leaves it

from explainer.model_store import is_token, keep_time_text, new_token, server_store

pytestmark = pytest.mark.usefixtures("app_py_around_pages")

TRAIN = "pages/train.py"
SMALL = {"train_budget": "steps", "train_steps": "100", "train_hidden": "64",
         "train_depth": "2"}


def texts(at: AppTest) -> str:
    parts = [m.value for m in (*at.markdown, *at.caption, *at.error, *at.info, *at.success,
                               *at.warning)]
    return " ".join(str(p) for p in parts)


def sidebar_texts(at: AppTest) -> str:
    return " ".join(str(e.value) for e in (*at.sidebar.caption, *at.sidebar.markdown))


def user_model(at: AppTest) -> tuple[str, object] | None:
    return at.session_state["user_model"] if "user_model" in at.session_state else None


def from_link(**params: str) -> AppTest:
    """A new session (a reload) from a link: its first run, through app.py (Home)."""
    at = AppTest.from_file(ui.APP, default_timeout=120)
    for key, value in params.items():
        at.query_params[key] = value
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


# ---------------------------------------------------------------- the model behind a link

def test_a_trained_model_comes_back_from_its_link_in_a_new_session() -> None:
    at = ui.open_page(TRAIN, train_dataset="moons", **SMALL)
    at.button(key="train_go").click().run()
    assert not at.exception, [e.value for e in at.exception]
    token, model = user_model(at)
    assert is_token(token) and at.query_params["model"] == token
    kept = server_store().get(token)
    assert kept is not None and kept.how.startswith("trained here")
    assert keep_time_text() in texts(at) and "brings it back" in texts(at)

    again = from_link(**at.query_params)  # the same address, a new session: a reload
    mine = user_model(again)
    assert mine is not None and mine[0] == token and mine[1] is not model
    assert mine[1].data.name == "moons" and mine[1].steps_trained == 100
    again.switch_page(TRAIN).run()
    assert not again.exception, [e.value for e in again.exception]
    assert "Your model" in [h.value for h in again.subheader]
    assert kept.how in texts(again)  # what the page said of it before the reload
    assert "train_download" in ui.download_buttons(again)
    assert again.radio(key="source").value == "your model"

    # Another page draws this model's data (moons), not the sidebar's pretrained spiral.
    again.switch_page("pages/vector_field.py").run()
    assert not again.exception, [e.value for e in again.exception]
    assert "Your model: moons" in sidebar_texts(again)
    assert again.query_params["model"] == token  # still in the address on every page


def test_a_link_whose_model_is_gone_says_so_and_uses_the_pretrained_model() -> None:
    at = from_link(model=new_token(), source="your model")  # well formed, never kept here
    warning = " ".join(w.value for w in at.warning)
    assert "no longer on this server" in warning and keep_time_text() in warning
    assert "pretrained" in warning
    assert user_model(at) is None
    assert "model" not in at.query_params and "source" not in at.query_params
    at.switch_page("pages/vector_field.py").run()
    assert not at.exception, [e.value for e in at.exception]
    assert "could not be used" in sidebar_texts(at)
    assert at.sidebar.selectbox(key="dataset").value == "spiral"  # the pretrained picker


@pytest.mark.parametrize("raw", ["[Session expired, log in](https://evil.example)",
                                 "x" * 5000, "../../etc/passwd", "a" * 21 + "!"])
def test_a_malformed_model_link_is_not_used_and_not_repeated(raw: str) -> None:
    at = from_link(model=raw, source="your model")
    warning = " ".join(w.value for w in at.warning)
    assert "not a model link" in warning
    assert raw not in warning and "evil" not in warning and len(warning) < 300
    assert user_model(at) is None and "model" not in at.query_params


# ---------------------------------------------------------------- one Dataset, one process

def test_the_train_page_has_its_own_dataset_and_process_starting_from_the_sidebar() -> None:
    at = ui.open_page("pages/vector_field.py", dataset="moons", process="random_walk")
    assert at.sidebar.selectbox(key="dataset").value == "moons"
    at.switch_page(TRAIN).run()
    assert not at.exception, [e.value for e in at.exception]
    sidebar_keys = {w.key for w in at.sidebar.selectbox}
    assert not sidebar_keys & {"dataset", "process"}, sidebar_keys  # no second pair
    labels = [s.label for s in at.selectbox]
    assert labels.count("Dataset to train on") == 1 and "Dataset" not in labels
    assert at.selectbox(key="train_dataset").value == "moons"
    assert at.selectbox(key="train_process").value == "random_walk"
    note = sidebar_texts(at)
    assert "The other pages use: the pretrained moons model, Random walk" in note
    assert "boxes on this page" in note

    # Back on another page, the sidebar's choice is still moons / random walk.
    at.switch_page("pages/vector_field.py").run()
    assert at.sidebar.selectbox(key="dataset").value == "moons"
    assert at.sidebar.selectbox(key="process").value == "random_walk"


# ---------------------------------------------------------------- one training at a time

def test_a_train_click_while_training_changes_nothing_and_says_so() -> None:
    def script() -> None:
        import streamlit as st

        from explainer.train_config import TrainConfig
        from pages import train

        config = TrainConfig(steps=40, hidden=16, depth=1, batch=64)
        st.button("Train", key="train_go", on_click=train.start_job, args=(config, "40"))
        train.show_notice()

    at = AppTest.from_function(script, default_timeout=60).run()
    running = paused_job(5, 40)
    at.session_state["train_job"] = running
    at.button(key="train_go").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.session_state["train_job"] is running and running.steps_done == 5
    assert "already running" in " ".join(w.value for w in at.warning)

    del at.session_state["train_job"]
    at.button(key="train_go").click().run()  # no training: this one starts
    started = at.session_state["train_job"]
    assert started is not running and started.phase == "running" and not at.warning


def test_a_run_takes_the_training_over_only_when_the_previous_run_lets_go() -> None:
    """As after a click under fastReruns: the previous run still holds the job (it lets
    go at its next st.* call); the new run waits, then resumes the same training."""
    at = ui.open_page(TRAIN, **SMALL)
    job = paused_job(10, 40)
    previous_run_holds, let_go_at = threading.Event(), [0.0]

    def previous_run() -> None:
        with job.held(1):
            previous_run_holds.set()
            time.sleep(1.0)
            let_go_at[0] = time.monotonic()

    holder = threading.Thread(target=previous_run)
    holder.start()
    assert previous_run_holds.wait(5)
    at.session_state["train_job"] = job
    at.run()
    holder.join(5)
    assert not at.exception, [e.value for e in at.exception]
    assert let_go_at[0] > 0 and job.phase == "done"
    assert user_model(at)[1].steps_trained == 40  # 10 before, 30 after the handover


def test_leaving_the_train_page_stops_the_training_and_coming_back_finishes_it() -> None:
    at = ui.open_page(TRAIN, **SMALL)
    job = paused_job(30, 10_000)  # as a click on another page's link leaves it
    at.session_state["train_job"] = job
    at.switch_page("pages/vector_field.py").run()
    assert not at.exception, [e.value for e in at.exception]
    assert job.phase == "stopping" and job.steps_done == 30
    at.switch_page(TRAIN).run()
    assert not at.exception, [e.value for e in at.exception]
    assert user_model(at)[1].steps_trained == 30 and "stopped early" in texts(at)
    assert "train_job" not in at.session_state
