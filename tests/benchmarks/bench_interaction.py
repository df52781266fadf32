"""Interaction latency: keyboard moves of each page's main slider in Chromium.

    .venv/bin/python tests/benchmarks/bench_interaction.py [--moves 20] [--query Q]

(--query process=random_walk measures the pages with the random-walk models.)

One server, opened once at "/", measured once its CPU has settled. On each page: focus
the main slider, press an arrow key, wait until the app reports it is done
([data-testid=stApp][data-test-script-state=notRunning], nothing stale or loading, every
chart has drawn the last figure it got) AND some chart's data changed; the time is taken
inside the page, from the keydown event to the first animation frame where both hold.
`--moves` presses away from the default (values not seen before on this server: cache
misses), then the same number back (values seen: cache hits). Moves are sequential.
Then the same moves from a websocket client on a fresh server, without a browser: the
server's share (on this machine the browser draws on the same 2 cores as the server).
"""

from __future__ import annotations

import argparse
import time

import benchlib
from appserver import CHROMIUM, CHROMIUM_ARGS, AppServer
from browser_helpers import _FINGERPRINTS_JS, _SETTLED_JS, open_page, slider
from playwright.sync_api import Page, sync_playwright
from st_client import StreamlitSession

from pages.sampling_views import WARM_DELAY_S  # (benchlib puts the app on sys.path)

MAIN_SLIDERS = {"random_walks": "t", "vector_field": "t", "sampling": "steps", "guidance": "t",
                "prompts": "t"}

# Timestamps inside the page: the key press, and the script state's last change to
# notRunning (the server's script_finished arriving), to split the time into the
# server's run plus the websocket, and the browser's drawing.
_RECORD_JS = """() => { window.__keyAt = null; window.__idleAt = null;
  document.addEventListener('keydown', e => { window.__keyAt = performance.now(); },
                            {capture: true});
  const app = document.querySelector('[data-testid=stApp]');
  new MutationObserver(() => {
    if (app.getAttribute('data-test-script-state') === 'notRunning')
      window.__idleAt = performance.now();
  }).observe(app, {attributes: true, attributeFilter: ['data-test-script-state']}); }"""
_DONE_JS = f"""(before) => {{
  const state = document.querySelector('[data-testid=stApp]')
    .getAttribute('data-test-script-state');
  if (window.__keyAt === null || state !== 'notRunning' || !({_SETTLED_JS})()) return false;
  const now = ({_FINGERPRINTS_JS})();
  if (JSON.stringify(now) === JSON.stringify(before)) return false;
  window.__doneAt = performance.now();
  return true;
}}"""


def one_move(page: Page, press: str) -> tuple[float, float]:
    """Seconds from the key press to the app idle with a changed chart (total), and to
    the script state turning notRunning (idle: the browser has received and handled the
    whole run, script_finished included; what is left is drawing the charts).

    (Chrome's CDP websocket frame times are taken on the page's main thread too, so they
    cannot tell the server's share; the websocket client below does.)"""
    before = page.evaluate(_FINGERPRINTS_JS)
    page.evaluate("() => { window.__keyAt = null; window.__doneAt = null; "
                  "window.__idleAt = null; }")
    page.keyboard.press(press)
    page.wait_for_function(_DONE_JS, arg=before, polling="raf", timeout=120_000)
    total, idle = page.evaluate("() => [window.__doneAt, window.__idleAt]"
                                ".map(t => (t - window.__keyAt) / 1000)")
    return total, idle


Moves = list[tuple[float, float]]


def measure_page(page: Page, url: str, key: str, moves: int) -> tuple[Moves, Moves]:
    open_page(page, url, timeout=180_000)
    page.evaluate(_RECORD_JS)
    thumb = slider(page, key)
    at_max = float(thumb.input_value()) >= float(thumb.get_attribute("max"))
    away, back = ("ArrowLeft", "ArrowRight") if at_max else ("ArrowRight", "ArrowLeft")
    # A short slider (sampling's steps: 7 positions at T = 100) has fewer moves to give.
    room = (float(thumb.input_value()) - float(thumb.get_attribute("min")) if at_max
            else float(thumb.get_attribute("max")) - float(thumb.input_value()))
    moves = min(moves, int(room / float(thumb.get_attribute("step") or 1)))
    thumb.focus()
    cold = [one_move(page, away) for _ in range(moves)]
    warm = [one_move(page, back) for _ in range(moves)]
    return cold, warm


def measure_server_only(url: str, name: str, key: str, moves: int,
                        query: str = "") -> tuple[list, list]:
    """The same moves from the websocket client (no browser): the server's share."""
    session = StreamlitSession(url)
    try:
        session.open_page(name, query)
        start, count = session.slider_position(key)
        step = -1 if start == count - 1 else 1
        moves = min(moves, start if step < 0 else count - 1 - start)
        cold = [session.set_slider(key, start + step * (i + 1)).seconds for i in range(moves)]
        warm = [session.set_slider(key, start + step * (moves - 1 - i)).seconds
                for i in range(moves)]
        return cold, warm
    finally:
        session.close()


def settle(server: AppServer) -> None:
    """Measure a settled server: the first visit starts warming the sampling page's caches
    in the background (pages/sampling_views.py), a few seconds of CPU that would otherwise
    land on the first pages measured."""
    assert server.process is not None
    # The warming starts WARM_DELAY_S after the first visit: an idle second before that is
    # not the end of it.
    time.sleep(WARM_DELAY_S + 1.0)
    waited = WARM_DELAY_S + 1.0 + benchlib.wait_settled(server.process.pid)
    print(f"server settled after {waited:.0f} s", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--moves", type=int, default=20)
    parser.add_argument("--pages", nargs="*", default=list(MAIN_SLIDERS))
    parser.add_argument("--query", default="", help="URL query for every page, e.g. "
                                                      "process=random_walk")
    args = parser.parse_args()
    suffix = f"?{args.query}" if args.query else ""
    print(benchlib.machine())
    results = {}
    with AppServer() as server, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(viewport={"width": 1280, "height": 900})
            page = context.new_page()
            open_page(page, server.url + "/", timeout=180_000)
            settle(server)
            for name in args.pages:
                key = MAIN_SLIDERS[name]
                start = time.perf_counter()
                cold, warm = measure_page(page, f"{server.url}/{name}{suffix}", key,
                                          args.moves)
                results[name] = (cold, warm)
                print(f"{name} ({key}): {time.perf_counter() - start:.0f} s", flush=True)
            context.close()
        finally:
            browser.close()
    # The server alone, on a fresh server (so that its values are new to it as well).
    server_only = {}
    with AppServer() as server:
        StreamlitSession(server.url).open_page("")
        settle(server)
        for name in args.pages:
            server_only[name] = measure_server_only(server.url, name, MAIN_SLIDERS[name],
                                                    args.moves, args.query)
    print(f"\n{args.moves} moves each way in Chromium. total: key press -> app idle with the "
          "chart updated; idle: key press -> script state notRunning (run received and "
          "handled; the rest is chart drawing)")
    for name, (cold, warm) in results.items():
        for label, moves in (("new values", cold), ("seen values", warm), ("all", cold + warm)):
            for i, part in enumerate(("total", "idle")):
                stats = benchlib.percentiles([m[i] for m in moves])
                head = name if label == "new values" and i == 0 else ""
                print(f"  {head:<13} {label if i == 0 else '':<11} {part:<6} "
                      f"{benchlib.ms(stats)}")
    print("\nthe same moves from a websocket client, no browser (rerun sent -> script_finished):")
    for name, (cold, warm) in server_only.items():
        print(f"  {name:<13} new values  {benchlib.ms(benchlib.percentiles(cold))}")
        print(f"  {'':<13} seen values {benchlib.ms(benchlib.percentiles(warm))}")


if __name__ == "__main__":
    main()
