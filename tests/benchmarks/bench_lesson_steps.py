"""Lesson stepping in Chromium: how long PageDown takes to show the next step's page.

    .venv/bin/python tests/benchmarks/bench_lesson_steps.py [--passes 2]

One server, opened once at "/", measured once its CPU has settled. Each pass opens the
shipped lesson's step 1 from its link, then presses PageDown through every step; the time
is from the key press to the bar showing the next step with the page idle and every
chart drawn. The first pass meets each view for the first time on this server (its
figures are computed); later passes find them in the shared caches, as the students
following the teacher do.
"""

from __future__ import annotations

import argparse
import time

import benchlib
from appserver import CHROMIUM, CHROMIUM_ARGS, AppServer
from browser_helpers import _SETTLED_JS, open_page
from playwright.sync_api import Page, sync_playwright

from explainer import lessons

_ON_STEP_JS = f"""(k) => {{
  const app = document.querySelector('[data-testid=stApp]');
  const bar = document.querySelector('.st-key-lesson_bar');
  return bar && bar.innerText.includes('Step ' + k + ' of ')
    && app.getAttribute('data-test-script-state') === 'notRunning' && ({_SETTLED_JS})();
}}"""


def one_pass(page: Page, url: str, lesson: lessons.Lesson) -> list[float]:
    open_page(page, f"{url}/{lesson.url(1)}")
    page.wait_for_function(_ON_STEP_JS, arg=1, timeout=120_000)
    times = []
    for k in range(2, len(lesson.steps) + 1):
        page.locator("[data-testid=stMain] h1").first.click()  # focus on the page itself
        start = time.perf_counter()
        page.keyboard.press("PageDown")
        page.wait_for_function(_ON_STEP_JS, arg=k, timeout=120_000, polling=20)
        times.append(time.perf_counter() - start)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--passes", type=int, default=2)
    args = parser.parse_args()
    lesson = lessons.shipped()["seed"]
    print(benchlib.machine())
    with AppServer() as server, sync_playwright() as p:
        server.wait_healthy()
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.set_default_timeout(120_000)
        open_page(page, server.url + "/")
        benchlib.wait_settled(server.process.pid)
        for n in range(1, args.passes + 1):
            times = one_pass(page, server.url, lesson)
            steps = " ".join(f"{k}:{t:.2f}" for k, t in enumerate(times, start=2))
            label = "first visit" if n == 1 else "cached"
            print(f"pass {n} ({label}): PageDown -> next step drawn  "
                  f"{benchlib.ms(benchlib.percentiles(times))}")
            print(f"  per step (s): {steps}")
        browser.close()


if __name__ == "__main__":
    main()
