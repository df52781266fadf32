"""Cold start: `streamlit run app.py` to the first page fully rendered in Chromium.

    .venv/bin/python tests/benchmarks/bench_cold_start.py [--repeats 3]

Each repeat starts a fresh server (chromium is already running: its own start-up is not
counted) and times, from the server's launch: /_stcore/health answering, and Home fully
drawn (script finished, nothing stale or still loading). Then, on the same fresh server,
each page's first visit (cold caches: models loaded, fields/samples computed) and a
second visit (warm caches), each in a new browser context, timed from navigation to
every chart drawn; and the script run of a warm visit alone (websocket client, from the
rerun request to script_finished), to tell the server's share from the browser's.
"""

from __future__ import annotations

import argparse
import statistics
import time

import benchlib
from appserver import CHROMIUM, CHROMIUM_ARGS, AppServer
from browser_helpers import open_page
from playwright.sync_api import Browser, sync_playwright
from st_client import StreamlitSession

PAGES = ["random_walks", "vector_field", "sampling", "guidance", "train"]


def visit(browser: Browser, url: str) -> float:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    try:
        page = context.new_page()
        start = time.perf_counter()
        open_page(page, url, timeout=180_000)
        return time.perf_counter() - start
    finally:
        context.close()


def one_repeat(browser: Browser) -> dict[str, float]:
    times: dict[str, float] = {}
    server = AppServer()
    start = time.perf_counter()
    server.start()
    try:
        server.wait_healthy(timeout=180)
        times["health"] = time.perf_counter() - start
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        open_page(context.new_page(), server.url + "/", timeout=180_000)
        times["home"] = time.perf_counter() - start
        context.close()
        for name in PAGES:
            times[f"{name} (first visit)"] = visit(browser, f"{server.url}/{name}")
        for name in PAGES:
            times[f"{name} (second visit)"] = visit(browser, f"{server.url}/{name}")
        for name in PAGES:  # the server's share of a warm visit: the script run alone
            session = StreamlitSession(server.url)
            times[f"{name} (script run, warm)"] = session.open_page(name).seconds
            session.close()
    finally:
        server.stop()
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    print(benchlib.machine())
    runs = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            for i in range(args.repeats):
                runs.append(one_repeat(browser))
                line = ", ".join(f"{k} {v:.2f} s" for k, v in runs[-1].items())
                print(f"repeat {i + 1}: {line}", flush=True)
        finally:
            browser.close()
    print(f"\nmedian of {len(runs)} repeats (seconds):")
    for key in runs[0]:
        values = [run[key] for run in runs]
        print(f"  {key:<32} {statistics.median(values):6.2f}   "
              f"(min {min(values):.2f}, max {max(values):.2f})")


if __name__ == "__main__":
    main()
