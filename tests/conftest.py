"""Shared pytest fixtures.

Other test files may append their own fixtures at the end of this file (keep each in its
own section with a comment saying who uses it); please do not change existing fixtures,
other tests depend on their exact settings.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from explainer.runtime import configure_process
from explainer.train_config import TrainConfig
from explainer.trained import TrainedModel
from explainer.training import Training

ROOT = Path(__file__).resolve().parent.parent
PYTHON = ROOT / ".venv" / "bin" / "python"

# One thread and a fixed malloc threshold, as the server runs: the fastest per core here,
# fair to other processes on this 2-core machine, and no heap growth (explainer/runtime.py).
configure_process()

# The sampling page warms its caches for every step count in a background thread, once per
# model and process. Tests open every model: that would be ~1 min of background CPU
# competing with them. Off here (and in the app servers the browser tests start, which
# inherit it); test_page_sampling turns it on where it tests it.
os.environ["EXPLAINER_WARM_CACHES"] = "0"


# --- A tiny trained model (session-wide; ~2 s of training) ------------------------------
# Seeded and step-counted (not time-budgeted), so every run trains the same weights. It is
# far from the data floor (~10-20x) but has learned the spiral's shape and its classes:
# good enough for plumbing (checkpoints, fields, CLI) and for "guidance raises accuracy".
TINY_CONFIG = TrainConfig(dataset="spiral", steps=600, hidden=64, batch=512, warmup=20,
                          seed=0)


@pytest.fixture(scope="session")
def tiny_model() -> TrainedModel:
    """A spiral/ddpm model trained for 600 small steps (read-only: never mutate it)."""
    run = Training(TINY_CONFIG)
    for _ in run.run():
        pass
    return run.model()


@pytest.fixture(scope="session")
def tiny_checkpoint(tiny_model: TrainedModel, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """tiny_model saved as a checkpoint file (read-only: copy it before corrupting it)."""
    from explainer import checkpoints

    path = tmp_path_factory.mktemp("tiny") / "tiny-spiral-ddpm.pt"
    checkpoints.save(tiny_model, path)
    return path


# --- Running the command line ------------------------------------------------------------
CliRunner = Callable[..., subprocess.CompletedProcess]


@pytest.fixture(scope="session")
def run_cli() -> CliRunner:
    """run_cli("sample", "--n", "50", ...) -> CompletedProcess of `python -m explainer ...`,
    run with the venv's python from the project root (text output captured)."""
    python = str(PYTHON) if PYTHON.exists() else sys.executable

    def run(*args: str | Path, timeout: float = 120) -> subprocess.CompletedProcess:
        return subprocess.run([python, "-m", "explainer", *map(str, args)], cwd=ROOT,
                              capture_output=True, text=True, timeout=timeout)

    return run


# --- AppTest with app.py around the page (test_page_random_walks/vector_field, smoke) ---
@pytest.fixture(scope="module")
def app_py_around_pages():
    """Make AppTest run app.py (page config, navigation, the model sidebar) around a page
    after switch_page, as the server does, so links like ?dataset=moons&process=... and
    the sidebar's selectboxes can be tested.

    Streamlit treats an app with a `pages/` folder as an old-style (v1) multipage app
    until st.navigation is first called, and AppTest resets that flag before every run:
    without this patch, runs after switch_page execute the page script alone.
    """
    from streamlit.runtime.pages_manager import PagesManager

    original = PagesManager.__init__

    def init(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        original(self, *args, **kwargs)
        PagesManager.uses_pages_directory = False

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(PagesManager, "__init__", init)
        yield
