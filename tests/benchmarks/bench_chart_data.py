"""Chart data downloads: size and server time of each chart's file in the largest views.

    .venv/bin/python tests/benchmarks/bench_chart_data.py

Opens pages through AppTest (no server) in their largest views (page 1 with the random
walk's 65,536 steps, 8 walks at t = T; page 3 with 2,000 points, every sampler), records
the download callables they register (pages/shared.py data_button), and calls each one
twice: the first call is what a click costs, the second what a click on a chart whose
figure arrays are already read costs (a class downloading the same chart).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import benchlib  # noqa: F401  (puts the app on sys.path)

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # apptest_helpers

import apptest_helpers as ui  # noqa: E402
from streamlit.runtime.media_file_manager import MediaFileManager  # noqa: E402

made: dict[str, object] = {}
_register = MediaFileManager.add_deferred


def _record(self, data_callable, mimetype, coordinates, file_name=None, **kw):  # type: ignore[no-untyped-def]
    made[file_name] = data_callable
    return _register(self, data_callable, mimetype, coordinates, file_name=file_name, **kw)


def report() -> None:
    for name, make in made.items():
        if name.startswith("home-"):
            continue
        start = time.perf_counter()
        raw = make()  # type: ignore[operator]
        first = time.perf_counter() - start
        start = time.perf_counter()
        make()  # type: ignore[operator]
        again = time.perf_counter() - start
        print(f"  {name:<60} {len(raw) / 1e6:6.2f} MB  first {first * 1e3:6.0f} ms  "
              f"again {again * 1e3:6.0f} ms")
    made.clear()


def main() -> None:
    MediaFileManager.add_deferred = _record
    print("page 1, random walk, 8 walks, t = T:")
    at = ui.open_page("pages/random_walks.py", {"process": "random_walk"}, walks="8")
    made.clear()
    ui.move(at, "t", ui.t_range(at)[1])
    report()
    print("page 3, DDPM model, 2,000 points, every sampler:")
    ui.open_page("pages/sampling.py", n="2000")
    report()
    print("page 2 and 5, default views:")
    ui.open_page("pages/vector_field.py")
    ui.open_page("pages/guidance.py")
    report()


if __name__ == "__main__":
    main()
