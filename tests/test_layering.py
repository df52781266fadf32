"""The backend is importable without the UI stack: explainer/ modules other than the figure
builders import neither streamlit nor plotly (pages own streamlit; figures own plotly)."""

from __future__ import annotations

import pkgutil
import subprocess
import sys
from pathlib import Path

import explainer

UI_PACKAGES = ("streamlit", "plotly")

# Imports each backend module in turn, in one fresh interpreter, and names the first one
# after which a UI package is loaded.
PROBE = """
import importlib, sys
for name in sys.argv[1:]:
    importlib.import_module(name)
    loaded = [p for p in {ui!r} if p in sys.modules]
    if loaded:
        print(name, *loaded)
        break
"""


def is_figures(name: str) -> bool:
    """The figure builders: the explainer.figures package and modules named *figures."""
    return any(part.endswith("figures") for part in name.split("."))


def backend_modules() -> list[str]:
    names = [m.name for m in pkgutil.walk_packages(explainer.__path__, "explainer.")]
    skip = {"explainer.__main__"}  # runs the CLI on import
    return [n for n in sorted(names) if not is_figures(n) and n not in skip]


def test_backend_modules_exist() -> None:
    modules = backend_modules()
    assert "explainer.samplers" in modules
    assert not any(m.startswith("explainer.figures") for m in modules)


def test_backend_imports_neither_streamlit_nor_plotly() -> None:
    result = subprocess.run(
        [sys.executable, "-c", PROBE.format(ui=UI_PACKAGES), *backend_modules()],
        capture_output=True, text=True, timeout=300, cwd=Path(explainer.__file__).parents[1])
    assert result.returncode == 0, result.stderr
    assert result.stdout == "", f"a backend module loads a UI package: {result.stdout}"
