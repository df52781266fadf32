"""7. Train your own: pick data (a built-in set, or your own points, drawn or from a CSV
file), a noise process, a budget and a model size; train a tiny model live; it then drives
every page in this browser session, and can be downloaded. A checkpoint can also be
uploaded.

How a training survives Streamlit's reruns: the job (explainer/training_job.py) lives in
st.session_state and is stepped only by the run that holds it. A click while it trains
starts a new run at once (runner.fastReruns) and stops the old one at its next st.* call;
the new run waits until the old one lets go of the job, then does what the job's phase
says: resume it, finish it (Stop: the EMA model at any step) or drop it (cancelled).
Leaving the page stops it (the sidebar of the other page asks; coming back finishes it
with the model so far); closing the tab ends the session and the training with it.
Training always works on its own fresh network, never on a cached model.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import plotly.graph_objects as go
import streamlit as st
from streamlit import runtime
from streamlit.runtime.scriptrunner import get_script_run_ctx

from explainer import chart_data, checkpoints, limits
from explainer.checkpoints import CheckpointError
from explainer.datasets import DATASET_NAMES, Dataset
from explainer.fields import VIEW_EXTENT
from explainer.figures import train as figures
from explainer.figures.random_walks import data_cloud_figure
from explainer.model_store import KeptModel, keep_time_text
from explainer.schedules import PROCESS_NAMES, ProcessConfig
from explainer.slots import Ticket, TrainingSlots, server_slots
from explainer.train_config import PRETRAIN_RECIPE, PRETRAIN_STEPS, TrainConfig
from explainer.trained import (
    QUALITY_SAMPLES,
    TrainedModel,
    quality_samples,
    with_measured_quality,
)
from explainer.training import smoothed
from explainer.training_job import TrainingJob
from explainer.user_data import SINGLE_CLASS, USER_DATA_NAME, UserData, read_csv, read_drawing
from pages import shared
from pages.draw_points import CLASS_NAMES, draw_plane

JOB_KEY = shared.TRAIN_JOB_KEY  # session_state: the TrainingJob (paused between runs)
NOTICE_KEY = "train_notice"  # session_state: (kind, text) to show once, e.g. "cancelled"
UPLOAD_KEY = "train_upload"
CSV_KEY = "train_csv"  # the CSV uploader of "your data"
# session_state: (file name, UserData) of the last good CSV, or (None, UserData) of the
# last good drawing: the points "your data" trains on
OWN_DATA_KEY = "train_own_data"
CSV_NOTICE_KEY = "train_csv_notice"  # session_state: why the last CSV was refused
DRAW_KEY = "train_draw"  # the drawing plane of "your data" (pages/draw_points.py)
DRAW_NOTICE_KEY = "train_draw_notice"  # session_state: why the last drawing was refused
SOURCE_KEY = shared.SOURCE_KEY  # the sidebar's "Using: pretrained / your model"
DRAW_EVERY = 0.5  # seconds between progress updates: a quiet websocket, a smooth bar
# Seconds between loss-curve redraws: each is a new chart element the browser builds
# from scratch, and a phone or busy laptop needs the pause to draw it at all.
CHART_EVERY = 2.0
WAIT_POLL = 0.5  # seconds between looks at the queue while the server is busy
HANDOVER_POLL = 0.25  # seconds between looks at a job the previous run still holds
MAX_CURVE_POINTS = 400  # the loss curve sent to the browser is thinned to this
ALREADY_RUNNING = ("A training is already running in this session (one at a time): that "
                   "click changed nothing. Stop it first to start another.")


@dataclass(eq=False)
class LiveView:
    status: st.delta_generator.DeltaGenerator
    cancel: st.delta_generator.DeltaGenerator
    chart: st.delta_generator.DeltaGenerator


# ---------------------------------------------------------------- callbacks (run first)

def prefer_user_model() -> None:
    """Point the sidebar's "Using" switch at "your model". Only a callback can do this
    once the switch exists: app.py draws it before this page runs, and Streamlit refuses
    to set a widget's key after the widget is drawn in the same run."""
    st.session_state[SOURCE_KEY] = "your model"


def start_job(config: TrainConfig, budget: str, data: Dataset | None = None) -> None:
    running: TrainingJob | None = st.session_state.get(JOB_KEY)
    if running is not None and running.phase != "done":
        # A click that reached us before the disabled button did (or a second tab of
        # the page's state): one training per session, and say so.
        st.session_state[NOTICE_KEY] = ("warning", ALREADY_RUNNING)
        return
    job = TrainingJob.start(config, budget, source=st.session_state.get(SOURCE_KEY),
                            data=data)
    st.session_state[JOB_KEY] = job
    st.session_state.pop(NOTICE_KEY, None)
    prefer_user_model()  # the model being trained is the one to use when it is done


def request_stop() -> None:
    job: TrainingJob | None = st.session_state.get(JOB_KEY)
    if job is not None:
        job.request_stop()  # nothing trained yet: that is a cancel


def cancel_wait() -> None:
    job: TrainingJob | None = st.session_state.get(JOB_KEY)
    if job is not None:
        job.cancel()


def load_upload(data: bytes, name: str) -> tuple[TrainedModel, np.ndarray]:
    """A validated checkpoint (its quality measured if it has none) and its DDPM samples;
    CheckpointError if unusable."""
    model = checkpoints.load(data, name=name)
    samples = quality_samples(model)
    if model.quality is None:
        model = with_measured_quality(model, samples)
    return model, samples


def on_upload() -> None:
    """A new file in the uploader: use it if it is a good checkpoint, else say why.
    Runs as a callback, before the sidebar is drawn, so the "Using" switch follows."""
    file = st.session_state.get(UPLOAD_KEY)
    if file is None:
        return
    try:
        model, samples = load_upload(file.getvalue(), file.name)
    except CheckpointError as exc:
        # As written: the file's name and contents are the uploader's, never Markdown.
        st.session_state[NOTICE_KEY] = ("error", f"{shared.literal(str(exc))}. Nothing was "
                                        "changed.")
        return
    store(model, samples, None, f"uploaded from {shared.literal(file.name)}")
    st.session_state[NOTICE_KEY] = ("success", f"Loaded {shared.literal(file.name)}: now your "
                                    "model.")


def on_csv() -> None:
    """A new CSV in the "your data" uploader: keep its points if the file is good, else
    say why and keep whatever was there before."""
    file = st.session_state.get(CSV_KEY)
    clear_own_notices()
    if file is None:
        return
    try:
        own = read_csv(file.getvalue())
    except ValueError as exc:
        st.session_state[CSV_NOTICE_KEY] = (f"{shared.literal(file.name)}: "
                                            f"{shared.literal(str(exc))}. Nothing was changed.")
        return
    st.session_state[OWN_DATA_KEY] = (file.name, own)


def on_drawing() -> None:
    """ "Use these points" on the drawing plane: keep the drawing if it is good (checked
    like a CSV file: it is untrusted input), else say why and keep what was there."""
    payload = st.session_state.get(DRAW_KEY)
    clear_own_notices()
    if payload is None:
        return
    try:
        own = read_drawing(payload, CLASS_NAMES)
    except ValueError as exc:
        st.session_state[DRAW_NOTICE_KEY] = (f"Your drawing was not used: "
                                             f"{shared.literal(str(exc))}. Nothing was changed.")
        return
    st.session_state[OWN_DATA_KEY] = (None, own)


def clear_own_notices() -> None:
    """A new CSV or drawing: the last refusal of either no longer applies."""
    st.session_state.pop(CSV_NOTICE_KEY, None)
    st.session_state.pop(DRAW_NOTICE_KEY, None)


def pretrain_recipe() -> str:
    """How the shipped checkpoints were trained, read from the command that makes them."""
    steps = " or ".join(f"{s:,}" for s in sorted(set(PRETRAIN_STEPS.values())))
    return (f"{steps} steps of batches of {PRETRAIN_RECIPE['batch']:,}, a network "
            f"{PRETRAIN_RECIPE['hidden']} units wide")


# ---------------------------------------------------------------- backend calls

def store(model: TrainedModel, samples: np.ndarray, losses: list[float] | None,
          how: str) -> None:
    """Make `model` this session's model (the other pages then use it), kept on the
    server behind the page's link."""
    shared.set_user_model(model, samples, losses, how)


# ---------------------------------------------------------------- the session's life

def session_alive() -> bool:
    """False once the browser session is gone (tab closed). Streamlit also requests a
    stop of the script then, which raises at the next st.* call; this is the backstop."""
    if not runtime.exists():
        return True  # AppTest, or bare mode: no sessions to lose
    ctx = get_script_run_ctx()
    return ctx is None or runtime.get_instance().is_active_session(ctx.session_id)


# ---------------------------------------------------------------- training, live

def drive(job: TrainingJob, view: LiveView) -> None:
    """Take the job over from the previous run of this page (it lets go at its next st.*
    call), then do what its phase says. Whatever stops this run (a click, a closed tab),
    the job is let go and stays in session_state for the next run."""
    while not job.claim(timeout=HANDOVER_POLL):
        # An st.* call each time round: a newer click can stop this run while it waits.
        view.status.info("Taking the training over from your last click...",
                         icon=":material/sync:")
    try:
        phase = job.phase
        if phase == "done":  # the previous run delivered it: redraw with its model
            st.rerun()
        elif phase == "cancelled":
            end(job, ("info", "Cancelled: nothing was trained and nothing changed."))
            if job.source is not None:  # "Using" as it was before Train
                st.session_state[shared.PENDING_SOURCE_KEY] = job.source
            st.rerun()
        elif phase == "stopping":
            finish(job, view, stopped=True)
        else:
            run_job(job, view)
    finally:
        job.release()


def end(job: TrainingJob, notice: tuple[str, str] | None = None) -> None:
    """The job is over: out of the session (by the run that holds it)."""
    job.close()
    if st.session_state.get(JOB_KEY) is job:
        del st.session_state[JOB_KEY]
    if notice is not None:
        st.session_state[NOTICE_KEY] = notice


def run_job(job: TrainingJob, view: LiveView) -> None:
    """Wait for a server slot, train to the end of the budget, finish. An interruption
    leaves the job paused and the slot free."""
    slots = server_slots()
    ticket = slots.join()
    try:
        if not wait_for_slot(job, slots, ticket, view):
            return
        view.cancel.empty()
        if not train(job, slots, ticket, view):
            return  # the session went away: nobody to show the model to
        finish(job, view, stopped=False)
    finally:
        slots.leave(ticket)


def wait_for_slot(job: TrainingJob, slots: TrainingSlots, ticket: Ticket,
                  view: LiveView) -> bool:
    started = time.monotonic()
    cancel_shown = False
    while not slots.wait(ticket, timeout=WAIT_POLL):
        waited = time.monotonic() - started
        s = slots.status(ticket)
        if not session_alive():
            return False
        if waited > slots.patience:
            end(job, ("error", (
                f"The server stayed busy for {waited:.0f} s ({s.running} trainings running, "
                f"at most {s.capacity} at once). Nothing was trained; please try again in "
                "a few minutes, or use the pretrained models meanwhile.")))
            st.rerun()
        if not cancel_shown:
            view.cancel.button("Cancel waiting", key="train_cancel", on_click=cancel_wait)
            cancel_shown = True
        view.status.warning(
            f"The server is busy: {s.running} trainings are running (at most {s.capacity} "
            f"at once); waiting for a free slot... {_ahead(s.ahead)} "
            f"Waited {waited:.0f} s.", icon=":material/hourglass_top:")
    return True


def _ahead(n: int) -> str:
    return "You are next." if n == 0 else f"{n} ahead of you."


def train(job: TrainingJob, slots: TrainingSlots, ticket: Ticket, view: LiveView) -> bool:
    """Step until the budget is used up; False if the session went away meanwhile."""
    last_draw = last_chart = time.monotonic()
    draw(job, view, chart=job.last is not None)  # (a resumed job has a curve to show)
    while job.advance() is not None:
        now = time.monotonic()
        if now - last_draw >= DRAW_EVERY:
            last_draw = now
            slots.beat(ticket)
            if not session_alive():
                return False
            chart = now - last_chart >= CHART_EVERY
            last_chart = now if chart else last_chart
            draw(job, view, chart)  # also where a click stops this run (StopException)
    return True


def draw(job: TrainingJob, view: LiveView, chart: bool) -> None:
    fraction = 0.0 if job.last is None else job.last.progress
    view.status.progress(fraction, text=job.progress_text())
    losses = job.training.losses
    if chart and losses:
        job.draws += 1
        view.chart.plotly_chart(loss_chart(losses), width="stretch",
                                key=f"train_loss_live_{job.draws}", alt=loss_alt(losses))


def loss_chart(losses: list[float] | np.ndarray) -> go.Figure:
    """The loss curve, thinned to a few hundred points (a 2-minute run has ~20,000
    steps; sending all of them twice a second would flood a classroom's websockets)."""
    steps = np.arange(1, len(losses) + 1)
    keep = np.unique(np.linspace(0, len(losses) - 1, MAX_CURVE_POINTS).astype(int))
    return figures.loss_figure(steps[keep], np.asarray(losses)[keep], smoothed(losses)[keep])


def loss_alt(losses: list[float] | np.ndarray) -> str:
    return (f"Training loss over {len(losses):,} steps on a log scale: the batch loss and "
            f"its running mean, now {smoothed(losses)[-1]:.3f}.")


def finish(job: TrainingJob, view: LiveView, stopped: bool) -> None:
    """Take the EMA model as it is now, measure it, make it this session's model. If a
    click stops this run on the way, the next run finishes it (the job is still there)."""
    steps = job.steps_done
    if steps == 0:
        end(job, ("info", "Stopped before the first training step: nothing was trained "
                          "and nothing changed."))
        st.rerun()
    view.status.info(f"{'Stopped' if stopped else 'Done'} after {steps:,} steps. Measuring "
                     f"the model: {QUALITY_SAMPLES:,} DDPM samples against fresh data...",
                     icon=":material/straighten:")
    model = job.model()
    samples = quality_samples(model)
    model = with_measured_quality(model, samples)
    elapsed = job.last.elapsed if job.last else 0.0
    how = f"trained here in {elapsed:.0f} s" + (", stopped early" if stopped else "")
    losses = list(job.training.losses)
    end(job)  # before store's st.* call, where a click could stop this run
    store(model, samples, losses, how)
    st.rerun()  # redraw everything, the sidebar's "Using" switch included


# ---------------------------------------------------------------- the page

def start_from_sidebar() -> None:
    """The new model's dataset and process start from the sidebar's choice on the other
    pages (moons there: moons here), unless the link says otherwise. On this page the
    sidebar shows a note instead of its own boxes (shared.model_sidebar)."""
    for key, picked in (("train_dataset", "dataset"), ("train_process", "process")):
        if key not in st.session_state and key not in st.query_params:
            default = shared.DEFAULT_DATASET if picked == "dataset" else shared.DEFAULT_PROCESS
            st.session_state[key] = st.session_state.get(picked, default)


def controls(disabled: bool) -> tuple[TrainConfig, str, Dataset | None]:
    """The new model's settings, its budget in words, and the user's own points if
    "your data" is chosen (None until a good CSV is uploaded)."""
    start_from_sidebar()
    left, right = st.columns(2, gap="medium")
    with left:
        dataset = shared.url_selectbox("Dataset to train on", "train_dataset",
                                       [*DATASET_NAMES, USER_DATA_NAME],
                                       shared.DEFAULT_DATASET, disabled=disabled)
        process = shared.url_selectbox("Noise process to train with", "train_process",
                                       list(PROCESS_NAMES), shared.DEFAULT_PROCESS,
                                       format_func=shared.PROCESS_LABELS.get,
                                       disabled=disabled)
        kind = shared.url_selectbox("Budget", "train_budget", ["seconds", "steps"], "seconds",
                                    widget=st.radio, horizontal=True, disabled=disabled)
        if kind == "seconds":
            seconds = shared.url_slider("Training time (seconds)", "train_seconds", 5, 120,
                                        20, disabled=disabled)
            steps, budget = 3000, f"{seconds} s"
        else:
            steps = shared.url_slider("Optimiser steps", "train_steps", 100, 5000, 1000,
                                      step=100, disabled=disabled)
            seconds, budget = None, f"{steps:,} steps"
    with right:
        hidden = shared.url_selectbox("Hidden width (neurons per layer)", "train_hidden",
                                      [64, 128, 256], 128, widget=st.radio, horizontal=True,
                                      disabled=disabled)
        depth = shared.url_selectbox("Depth (hidden layers)", "train_depth", [2, 3, 4], 3,
                                     widget=st.radio, horizontal=True, disabled=disabled)
        shared.seed_from_url("train_seed", 0, shared.parse_number(0, 9999))
        seed = st.number_input("Seed (initial weights and batches)", 0, 9999, step=1,
                               key="train_seed", disabled=disabled)
        shared.show_url_note("train_seed", seed, 0)
        shared.write_url("train_seed", seed, 0)
    own = own_data_section(disabled) if dataset == USER_DATA_NAME else None
    config = TrainConfig(dataset=dataset, process=ProcessConfig(process), steps=steps,
                         seconds=seconds, n_data=len(own.points) if own else 2000,
                         hidden=hidden, depth=depth, seed=int(seed))
    return config, budget, own


def own_data_section(disabled: bool) -> Dataset | None:
    """The drawing plane and the CSV uploader of "your data", and a preview of the points
    the model will train on (the last good drawing or file)."""
    draw, side = st.columns(2, gap="medium")
    with draw:
        st.markdown("**Draw your points**, or upload them as a CSV file on the right.")
        draw_plane(DRAW_KEY, disabled, on_drawing)
        notice = st.session_state.get(DRAW_NOTICE_KEY)
        if notice:
            st.error(notice)
    with side:
        st.file_uploader(
            "Your points (CSV)", type=["csv", "txt"], key=CSV_KEY, on_change=on_csv,
            disabled=disabled,
            help="Comma-separated columns x, y and optionally class (up to "
                 f"{limits.MAX_USER_CLASSES} classes), with or without a header line; "
                 f"{limits.MIN_USER_POINTS} to {limits.MAX_USER_ROWS:,} points. They are "
                 "moved and scaled, keeping their shape, into the box the built-in sets fill.")
        notice = st.session_state.get(CSV_NOTICE_KEY)
        if notice:
            st.error(notice)
        return own_data_preview()


def own_data_preview() -> Dataset | None:
    kept: tuple[str | None, UserData] | None = st.session_state.get(OWN_DATA_KEY)
    if kept is None:
        st.info(f"Draw at least {limits.MIN_USER_POINTS} points and press **Use these "
                "points**, or upload a CSV file of points, to train on them.",
                icon=":material/draw:")
        return None
    name, own = kept
    data = own.dataset
    shared.chart(data_cloud_figure(data.points, data.labels, data.class_names,
                                   "Your data, scaled into the view", height=320),
                 key="train_own_preview",
                 alt=f"Scatter plot of the {len(data.points):,} points of your data.",
                 data=chart_data.points_data(data.points, data.labels, data.class_names))
    shared.sentence(own_data_sentence(name, own))
    return data


def own_data_sentence(name: str | None, own: UserData) -> str:
    """What "your data" holds; `name`: the CSV file's, None for a drawing."""
    data = own.dataset
    kept = len(data.points)
    if data.class_names != (SINGLE_CLASS,):
        classes = f"{data.num_classes} classes ({', '.join(data.class_names)})"
    else:
        classes = "no class column" if name is not None else "one class"
    thinned = "" if kept == own.rows else f"; training uses {kept:,} of them, each class " \
                                          "keeping its share"
    source = "Your drawing" if name is None else shared.literal(name)
    return f"{source}: {own.rows:,} points, {classes}, scaled by {own.scale:.3g}{thinned}."


def show_notice() -> None:
    notice = st.session_state.pop(NOTICE_KEY, None)
    if notice is not None:
        kind, text = notice
        getattr(st, kind)(text)


def show_result() -> None:
    mine = shared.user_model()
    if mine is None:
        return
    _, model = mine
    result = shared.kept_user_model()
    if result is None:  # (set_user_model always keeps one; a test's session may not)
        result = KeptModel.of(model, quality_samples(model), None, "")
    st.subheader("Your model")
    if result.losses is not None and len(result.losses):
        shared.chart(loss_chart(result.losses), key="train_loss_final",
                     alt=loss_alt(result.losses), name=shared.model_name(model),
                     data={"step": np.arange(1, len(result.losses) + 1),
                           "loss": np.asarray(result.losses)})
        st.caption("The training loss |eps - eps_hat|² per step (grey) and its running mean "
                   "(orange), on a log scale: it falls fast at first, then slowly.")
    left, right = st.columns([3, 2], gap="large")
    with left:
        fig = figures.samples_figure(model.data.points, result.samples)
        shared.chart(fig, key="train_samples",
                     alt=f"{len(result.samples):,} samples from your model drawn over the "
                         f"{model.data.name} training data.", name=shared.model_name(model),
                     data={"samples": result.samples, "data": model.data.points})
        shared.sentence(result_sentence(model, result.samples))
    with right:
        quality = model.quality
        if quality is not None:
            st.metric("Sample quality (lower is better)", f"{quality.ratio:.1f}x the floor",
                      help="MMD² between 2,000 samples and 2,000 fresh data points, divided "
                           "by the same number for an independent draw of the data, i.e. a "
                           "perfect sampler (the floor). "
                           "1x: as close to the data as the data is to itself.")
        st.markdown(f"**{model.describe()}**" + (f", {result.how}" if result.how else ""))
        pretrained = pretrained_quality(model)
        if pretrained:
            st.caption(pretrained)
        if st.session_state.get(SOURCE_KEY) == "your model":
            st.markdown("Every page now uses this model (switch back in the sidebar: "
                        "*Using: pretrained*).")
        else:
            st.markdown("The sidebar is set to *Using: pretrained*; switch it to "
                        "*your model* to use this model on every page.")
        name = (f"{model.data.name.replace(' ', '-')}-{model.schedule.name}-"
                f"{model.steps_trained}steps.pt")
        st.download_button("Download the checkpoint (.pt)", lambda: result.checkpoint,
                           file_name=name, mime="application/octet-stream",
                           on_click="ignore", icon=":material/download:",
                           key="train_download")
        st.caption(kept_sentence())


def kept_sentence() -> str:
    """How long this server keeps the model, and how to get it back or keep it longer."""
    return (f"This server keeps your model for {keep_time_text()} after its last use: "
            "reloading this page, or opening its link (the address now ends in "
            "`?model=...`) on this server, brings it back. Download the checkpoint to "
            "keep it longer, or to load it on another server.")


def result_sentence(model: TrainedModel, samples: np.ndarray) -> str:
    n = len(samples)
    text = (f"{n:,} DDPM samples of your model (blue) over its {len(model.data.points):,} "
            f"training points (grey)")
    if model.quality is not None:
        text += f": {model.quality.sentence()} (1.0x = as close as a fresh draw of the data)"
    outside = int((np.abs(samples) > VIEW_EXTENT).any(axis=1).sum())
    if outside >= 0.02 * n:  # a few strays are normal; this many say "train longer"
        text += (f". {outside:,} of the samples ({outside / n:.0%}) land outside this view: "
                 "the model needs more training")
    return text + "."


def pretrained_quality(model: TrainedModel) -> str | None:
    if model.data.name not in DATASET_NAMES:  # a user's data: no pretrained model of it
        return None
    try:
        ref = shared.pretrained(model.data.name, model.schedule.name)
    except (CheckpointError, ValueError):
        return None
    if ref.quality is None:
        return None
    return (f"For comparison, the pretrained {model.data.name} / {model.schedule.name} model: "
            f"{ref.quality.ratio:.1f}x the floor after {ref.steps_trained:,} steps.")


def upload_section(disabled: bool) -> None:
    with st.expander("Load a checkpoint (.pt) saved from this app"):
        st.file_uploader("Checkpoint file", type=["pt"], key=UPLOAD_KEY, on_change=on_upload,
                         disabled=disabled,
                         help="A file downloaded from this page. It is checked before use; "
                              "a file that is not a valid checkpoint changes nothing.")


def page() -> None:
    st.title("7. Train your own")
    (shared.folded("train_introduction") if shared.presenting() else st).markdown(
        "Everything so far used a model trained in advance. Here you train one yourself, "
        "live: pick the data, the noise process, how long to train and how big the network "
        "is, and press **Train**. The loss curve shows the network getting better at "
        "guessing the noise; when it stops, 2,000 samples drawn from your model are "
        "compared with the data. Your model then drives every other page in this browser "
        "session, and you can download it.")
    with st.expander("What happens when you press Train"):
        st.markdown(
            f"Each step draws a batch of {TrainConfig().batch:,} training points $x_0$, a step "
            "$t \\sim \\mathrm{Uniform}\\{1..T\\}$ and noise $\\epsilon \\sim \\mathcal N(0, I)$ "
            "for each (for the random walk, half the steps are drawn with $\\log \\sigma_t$ "
            "uniform instead, so the small steps that decide the fine detail get practice), "
            "makes $x_t = \\alpha_t x_0 + \\sigma_t \\epsilon$ and nudges the "
            "network to shrink $\\lVert \\epsilon - \\hat\\epsilon(x_t, t, y)\\rVert^2$ "
            "(Adam, learning rate warm-up then cosine decay over the budget). A quarter of "
            "the time the class label $y$ is hidden, so the same network also learns the "
            "unconditional model that guidance needs. Sampling uses an exponential moving "
            "average of the weights, which is smoother than the last step's weights. The "
            f"pretrained models used a longer recipe: {pretrain_recipe()}. The "
            "loss never reaches 0: from a noisy point the noise cannot be known exactly, "
            "only guessed on average.")
    job: TrainingJob | None = st.session_state.get(JOB_KEY)
    config, budget, own = controls(disabled=job is not None)
    go_col, stop_col, note_col = st.columns([1, 1, 4], vertical_alignment="center")
    go_col.button("Train", type="primary", icon=":material/play_arrow:", key="train_go",
                  on_click=start_job, args=(config, budget, own),
                  disabled=job is not None or (config.dataset == USER_DATA_NAME and own is None),
                  width="stretch")
    stop_col.button("Stop", icon=":material/stop:", key="train_stop", on_click=request_stop,
                    disabled=job is None, width="stretch",
                    help="End training now and keep the model trained so far.")
    note_col.caption("Training runs while this page is open. Leaving the page stops it: "
                     "coming back finishes it with the model trained so far. Closing or "
                     "reloading the tab during training loses that training.")
    view = LiveView(st.empty(), st.empty(), st.empty())
    show_notice()
    if job is not None:
        drive(job, view)
    show_result()
    upload_section(disabled=st.session_state.get(JOB_KEY) is not None)


if __name__ == "__main__":  # Streamlit runs pages as __main__; tests import the helpers
    page()
