"""Small helpers shared by the bench_*.py scripts: paths, percentiles, machine facts."""

from __future__ import annotations

import os
import platform
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "browser"))  # appserver, browser_helpers
sys.path.insert(0, str(HERE.parents[1]))  # the app's own modules, for their constants

import numpy as np  # noqa: E402


def percentiles(values: list[float]) -> dict[str, float]:
    """n, p50, p95, max (in the values' unit); NaN when there are none."""
    if not values:
        return {"n": 0, "p50": float("nan"), "p95": float("nan"), "max": float("nan")}
    a = np.asarray(values, dtype=float)
    return {"n": len(a), "p50": float(np.percentile(a, 50)), "p95": float(np.percentile(a, 95)),
            "max": float(a.max())}


def ms(stats: dict[str, float]) -> str:
    return (f"n={stats['n']:<4} p50={stats['p50'] * 1000:7.0f} ms  "
            f"p95={stats['p95'] * 1000:7.0f} ms  max={stats['max'] * 1000:7.0f} ms")


def machine() -> str:
    """One paragraph: cores, memory, CPU model, versions."""
    model = "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem_gb = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    import plotly
    import streamlit
    import torch
    return (f"{os.cpu_count()} cores ({model}), {mem_gb:.1f} GB RAM, "
            f"Python {platform.python_version()}, streamlit {streamlit.__version__}, "
            f"torch {torch.__version__}, plotly {plotly.__version__}, "
            f"load average now {os.getloadavg()[0]:.2f}")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time a process (all its threads) has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def wait_settled(pid: int, busy_share: float = 0.25, timeout: float = 120.0) -> float:
    """Block until the process uses under `busy_share` of a core over a one-second window
    (e.g. the app's background cache warming, a whole core, is done); returns the seconds
    waited. An idle server with sessions open can use 7-10% of a core."""
    start = time.perf_counter()
    while time.perf_counter() - start < timeout:
        before = cpu_seconds(pid)
        time.sleep(1.0)
        if cpu_seconds(pid) - before < busy_share:
            break
    return time.perf_counter() - start
