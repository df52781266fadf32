"""Classroom load: N simulated students on one server, each on one page moving its main
slider every 2-5 s; optionally some of them training on the Train page at the same time.

    .venv/bin/python tests/benchmarks/bench_classroom.py [--students 60] [--seconds 60]
    .venv/bin/python tests/benchmarks/bench_classroom.py --trainers 5 [--train-seconds 20]
    .venv/bin/python tests/benchmarks/bench_classroom.py --exporters 3
    .venv/bin/python tests/benchmarks/bench_classroom.py --switch [--students 60]
    .venv/bin/python tests/benchmarks/bench_classroom.py --url http://127.0.0.1:8080 ...

Each student is a websocket session (st_client.StreamlitSession, one thread each), not a
browser: it opens its page (a full run), then until the end moves the page's main slider
by 1-5 positions (a fragment rerun) every 2-5 s (uniform, measured from the previous
move's start; a move waits for the previous run to finish). Students join over the first
--ramp seconds and spread over the four chart pages in turn. Trainers open /train, click
Train with a --train-seconds budget and wait for the result (queueing for a training slot
if the server says so). Exporters (counted among the students) make animation files in a
loop until the end: each opens the next of EXPORTS (sampling, random walks, guidance) with
settings nobody asked for yet, clicks its Make button (GIF and MP4 in turn) and waits for
the file or the server's "busy" answer. Reported: page-open and slider rerun times (rerun
sent -> script_finished), p50/p95/max, for all students and per page; rerun times of the
others while at least one training (or export) ran, and while none did; errors (exception
elements, error alerts, failed runs, disconnects, timeouts); the server's peak RSS
(process and children, sampled every 0.25 s) and CPU. Loopback only; every thread stops
at its deadline, the script stops the server it started, and a hard limit of --seconds +
600 s ends it in any case.

--switch: the whole class switches at once. Every student connects first; then all open
the same view (--view, a page and its query: one nobody has opened yet on a fresh
server) at the same moment, once the server is idle (its background cache warming done:
a server the class has been using). Reported: the time from sending that run to its
script_finished (p50/p95/max), errors, and the bytes each session received.

Before either starts, new sessions open the home page until every replica behind a proxy
has run app.py once (as on a server in use).

--url: measure a server that is already running (e.g. `bash deploy/local.sh --replicas 2`:
each session keeps the affinity cookie the proxy sets, as a browser does) instead of
starting one; --pid names the process whose tree's RSS and CPU are reported (local.sh's
pid covers its replicas and nginx). For --switch the view must be new to that server:
restart it, or change the view's seed.

A fixed single-thread workload is timed before and after (reference workload): on a
machine shared with other jobs it says how much CPU the run could have had.
"""

from __future__ import annotations

import argparse
import contextlib
import random
import threading
import time
from dataclasses import dataclass, field

import benchlib
import psutil
from appserver import AppServer
from st_client import StreamlitSession

PAGES = [("vector_field", "t"), ("random_walks", "t"), ("sampling", "steps"),
         ("guidance", "t")]
RUN_TIMEOUT = 60.0  # a slider rerun slower than this counts as an error (timeout)
# The switch case's default view: the sampling page of a model other than the default
# (nothing of it is cached on a fresh server: model, samples, figure).
SWITCH_VIEW = "sampling?dataset=moons&process=random_walk"


# Pages with an animation download: (page, the download's key, queries to cycle through).
EXPORTS = [("sampling", "sampling_gif",
            [f"steps={s}&seed={k}" for k in range(40) for s in (50, 100, 200)]),
           ("random_walks", "walks_animation",
            [f"walks={w}&seed={k}" for k in range(40) for w in (3, 5, 8)]),
           ("guidance", "guidance_animation",
            [f"dataset={d}&n={n}" for n in (250, 500, 1000)
             for d in ("spiral", "moons", "rings", "gaussians", "checkerboard")])]
FORMAT_LABELS = ("GIF", "MP4")  # the radio's options as shown


@dataclass
class Record:
    who: int
    page: str
    kind: str  # "open", "move", "train", "export", "busy"
    start: float  # time.monotonic() when the rerun was sent
    seconds: float
    errors: list[str] = field(default_factory=list)
    bytes_received: int = 0


@dataclass
class Shared:
    records: list[Record] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)  # disconnects, timeouts, crashes
    training: list[tuple[float, float]] = field(default_factory=list)  # (start, end)
    exporting: list[tuple[float, float]] = field(default_factory=list)  # (start, end)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, record: Record) -> None:
        with self.lock:
            self.records.append(record)

    def fail(self, text: str) -> None:
        with self.lock:
            self.failures.append(text)


def student(who: int, url: str, page: str, key: str, start_at: float, end_at: float,
            shared: Shared) -> None:
    rng = random.Random(who)
    time.sleep(max(0.0, start_at - time.monotonic()))
    session = StreamlitSession(url, timeout=RUN_TIMEOUT)
    try:
        sent = time.monotonic()
        run = session.open_page(page)
        shared.add(Record(who, page, "open", sent, run.seconds, run.errors))
        if key not in session.widgets:
            shared.fail(f"student {who}: no slider '{key}' on {page}")
            return
        while True:
            next_move = sent + rng.uniform(2.0, 5.0)
            if next_move >= end_at:
                break
            time.sleep(max(0.0, next_move - time.monotonic()))
            sent = time.monotonic()
            run = session.move_slider(key, rng)
            shared.add(Record(who, page, "move", sent, run.seconds, run.errors))
    except Exception as exc:  # noqa: BLE001 - any failure of a session is a finding
        shared.fail(f"student {who} on {page}: {type(exc).__name__}: {exc}"[:300])
    finally:
        session.close()


def trainer(who: int, url: str, seconds: int, start_at: float, shared: Shared) -> None:
    time.sleep(max(0.0, start_at - time.monotonic()))
    session = StreamlitSession(url, timeout=900)
    try:
        session.open_page("train", f"train_budget=seconds&train_seconds={seconds}")
        sent = time.monotonic()
        run = session.click("train_go")  # returns when trained, measured and redrawn
        shared.add(Record(who, "train", "train", sent, run.seconds, run.errors))
        with shared.lock:
            shared.training.append((sent, sent + run.seconds))
    except Exception as exc:  # noqa: BLE001
        shared.fail(f"trainer {who}: {type(exc).__name__}: {exc}"[:300])
    finally:
        session.close()


def exporter(who: int, url: str, start_at: float, end_at: float, shared: Shared,
             click: bool = True) -> None:
    """Animation files in a loop: page after page, settings after settings, GIF and MP4
    in turn, until end_at. click=False: the same page opens, without the files (what the
    opens alone cost the others)."""
    time.sleep(max(0.0, start_at - time.monotonic()))
    session = StreamlitSession(url, timeout=RUN_TIMEOUT + 60)
    try:
        for k in range(10**6):
            if time.monotonic() >= end_at:
                break
            page, key, queries = EXPORTS[k % len(EXPORTS)]
            session.open_page(page, queries[(who * 7 + k // len(EXPORTS)) % len(queries)])
            fmt = session.choice(f"{key}_format", FORMAT_LABELS[(k // len(EXPORTS)) % 2])
            if not click:
                time.sleep(5.0)  # about as long as a file takes, then the next page
                continue
            sent = time.monotonic()
            run = session.click(f"{key}_make", [fmt])
            made = "download" in run.notes
            shared.add(Record(who, page, "export" if made else "busy", sent, run.seconds,
                              run.errors))
            if made:
                with shared.lock:
                    shared.exporting.append((sent, sent + run.seconds))
    except Exception as exc:  # noqa: BLE001
        shared.fail(f"exporter {who}: {type(exc).__name__}: {exc}"[:300])
    finally:
        session.close()


def switcher(who: int, url: str, view: str, barrier: threading.Barrier,
             shared: Shared) -> None:
    """One student of the switch case: connect, wait for everybody, open `view`."""
    page, _, query = view.partition("?")
    session = StreamlitSession(url, timeout=RUN_TIMEOUT)
    try:
        session.connect()
        barrier.wait()
        sent = time.monotonic()
        run = session.open_page(page, query)
        shared.add(Record(who, page, "switch", sent, run.seconds, run.errors,
                          run.bytes_received))
    except threading.BrokenBarrierError:
        shared.fail(f"student {who}: not everybody connected in time")
    except Exception as exc:  # noqa: BLE001
        shared.fail(f"student {who} switching to {view}: {type(exc).__name__}: {exc}"[:300])
    finally:
        session.close()


def warm_up(url: str, patience: int = 10) -> int:
    """Open the home page in new sessions until `patience` of them in a row reached no
    replica not seen before (behind deploy/'s proxy, the X-Upstream header says which);
    returns how many replicas ran app.py. Each replica has then made its first run and
    started warming its caches, as on a server a class has been using."""
    seen: set[str | None] = set()
    misses = 0
    while misses < patience:
        session = StreamlitSession(url)
        try:
            _, headers = session.get("/_stcore/health")
            session.open_page("")
        finally:
            session.close()
        upstream = headers.get("X-Upstream")
        misses = 0 if upstream not in seen else misses + 1
        seen.add(upstream)
    return len(seen)


def reference_seconds() -> float:
    """Time of a fixed single-thread workload (pure Python, ~0.3 s on an idle core of
    this project's machine): beside a result, it says how busy the machine was."""
    start = time.perf_counter()
    total = 0
    for i in range(10_000_000):
        total += i % 7
    return time.perf_counter() - start


class Memory:
    """Peak RSS (MB) and CPU seconds of a process and all its children."""

    def __init__(self, pid: int) -> None:
        self.root = psutil.Process(pid)
        self.peak_mb = 0.0
        self.cpu_start = self._cpu()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _tree(self) -> list[psutil.Process]:
        return [self.root, *self.root.children(recursive=True)]

    def _cpu(self) -> float:
        total = 0.0
        for proc in self._tree():
            try:
                t = proc.cpu_times()
                total += t.user + t.system
            except psutil.Error:
                pass
        return total

    def _run(self) -> None:
        while not self._stop.wait(0.25):
            rss = 0
            for proc in self._tree():
                try:
                    rss += proc.memory_info().rss
                except psutil.Error:
                    pass
            self.peak_mb = max(self.peak_mb, rss / 2**20)

    def start(self) -> None:
        self._thread.start()

    def wait_idle(self, busy_share: float = 0.25, timeout: float = 180.0,
                  at_least: float = 6.0) -> float:
        """Block until the whole tree uses under `busy_share` of a core over two seconds
        (the caches' background warming done), and at least `at_least` seconds (warming
        starts a few seconds after a replica's first visit); returns the seconds waited."""
        start = time.monotonic()
        time.sleep(at_least)
        while time.monotonic() - start < timeout:
            before = self._cpu()
            time.sleep(2.0)
            if self._cpu() - before < 2.0 * busy_share:
                break
        return time.monotonic() - start

    def stop(self) -> float:
        """Stop sampling; returns the CPU seconds used since start."""
        self._stop.set()
        self._thread.join(timeout=5)
        return self._cpu() - self.cpu_start


def report_switch(shared: Shared, view: str) -> None:
    switches = [r for r in shared.records if r.kind == "switch"]
    sizes = [r.bytes_received for r in switches] or [0]
    print(f"\nswitch to {view} (rerun sent -> script_finished): "
          f"{benchlib.ms(benchlib.percentiles([r.seconds for r in switches]))}")
    print(f"received per session: {min(sizes) / 1e6:.2f}-{max(sizes) / 1e6:.2f} MB")


def report_server(shared: Shared, wall: float, cpu: float | None, peak_mb: float,
                  client_cpu: float) -> None:
    errors = [e for r in shared.records for e in r.errors] + shared.failures
    print(f"errors: {len(errors)}")
    for text in errors[:20]:
        print(f"  {text}")
    server = ("server: not measured (--url without --pid)" if cpu is None else
              f"server: peak RSS {peak_mb:.0f} MB (process and children); CPU {cpu:.0f} s in "
              f"{wall:.0f} s wall = {cpu / wall:.2f} cores")
    print(f"{server}; the load generator used {client_cpu / wall:.2f} cores")


def report(shared: Shared, trainers: int) -> None:
    moves = [r for r in shared.records if r.kind == "move"]
    opens = [r for r in shared.records if r.kind == "open"]
    print(f"\nslider reruns (rerun sent -> script_finished), all students: "
          f"{benchlib.ms(benchlib.percentiles([r.seconds for r in moves]))}")
    for page, _ in PAGES:
        values = [r.seconds for r in moves if r.page == page]
        print(f"  {page:<13} {benchlib.ms(benchlib.percentiles(values))}")
    print(f"page opens (full runs): "
          f"{benchlib.ms(benchlib.percentiles([r.seconds for r in opens]))}")
    for what, busy in (("training", shared.training), ("export", shared.exporting)):
        if not busy:
            continue

        def during(r: Record, busy: list[tuple[float, float]] = busy) -> bool:
            return any(a <= r.start + r.seconds and r.start <= b for a, b in busy)

        print(f"slider reruns while >= 1 {what} ran: "
              f"{benchlib.ms(benchlib.percentiles([r.seconds for r in moves if during(r)]))}")
        print(f"slider reruns while none ran:      "
              f"{benchlib.ms(benchlib.percentiles([r.seconds for r in moves if not during(r)]))}")
    exports = [r for r in shared.records if r.kind == "export"]
    if exports or any(r.kind == "busy" for r in shared.records):
        print(f"exports made: {len(exports)}, click -> file offered "
              f"{benchlib.ms(benchlib.percentiles([r.seconds for r in exports]))}; "
              f"'busy' answers: {sum(r.kind == 'busy' for r in shared.records)}")
        for page, _, _ in EXPORTS:
            values = [r.seconds for r in exports if r.page == page]
            print(f"  {page:<13} {len(values)} made, "
                  f"{benchlib.ms(benchlib.percentiles(values))}")
    if trainers:
        first = min((a for a, _ in busy), default=0.0)
        for r in sorted(shared.records, key=lambda r: r.start):
            if r.kind == "train":
                print(f"  trainer {r.who}: clicked at +{r.start - first:.0f} s, done "
                      f"after {r.seconds:.1f} s (queue + training + measuring), "
                      f"errors {r.errors}")


def classroom_threads(args: argparse.Namespace, url: str, begin: float,
                      shared: Shared) -> list[threading.Thread]:
    threads = []
    sliders = args.students - args.trainers - args.exporters
    for i in range(sliders):
        page, key = PAGES[i % len(PAGES)]
        start_at = begin + args.ramp * i / max(1, sliders)
        threads.append(threading.Thread(target=student, daemon=True, args=(
            i, url, page, key, start_at, start_at + args.seconds, shared)))
    for j in range(args.trainers):  # they click once everybody has joined
        threads.append(threading.Thread(target=trainer, daemon=True, args=(
            sliders + j, url, args.train_seconds, begin + args.ramp + j, shared)))
    for j in range(args.exporters):  # they start once everybody has joined
        threads.append(threading.Thread(target=exporter, daemon=True, args=(
            sliders + args.trainers + j, url, begin + args.ramp + j,
            begin + args.ramp + args.seconds, shared, not args.open_only)))
    return threads


def switch_threads(args: argparse.Namespace, url: str, shared: Shared
                   ) -> list[threading.Thread]:
    barrier = threading.Barrier(args.students, timeout=120)
    return [threading.Thread(target=switcher, daemon=True,
                             args=(i, url, args.view, barrier, shared))
            for i in range(args.students)]


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=60)
    parser.add_argument("--seconds", type=float, default=60.0,
                        help="how long each student keeps moving its slider")
    parser.add_argument("--ramp", type=float, default=10.0,
                        help="students join evenly over this many seconds")
    parser.add_argument("--trainers", type=int, default=0,
                        help="how many of the students train instead (on /train)")
    parser.add_argument("--train-seconds", type=int, default=20)
    parser.add_argument("--exporters", type=int, default=0,
                        help="how many of the students make animation files in a loop")
    parser.add_argument("--open-only", action="store_true",
                        help="exporters open their pages but make no files (a control)")
    parser.add_argument("--switch", action="store_true",
                        help="the whole class opens --view at the same moment")
    parser.add_argument("--view", default=SWITCH_VIEW,
                        help=f"page?query for --switch (default {SWITCH_VIEW})")
    parser.add_argument("--url", default="",
                        help="a running server or proxy to measure (default: start one)")
    parser.add_argument("--pid", type=int, default=0,
                        help="with --url: the process whose tree's RSS and CPU to report")
    args = parser.parse_args()
    if (not 0 <= args.trainers + args.exporters <= args.students <= 200
            or min(args.trainers, args.exporters) < 0 or args.seconds > 900):
        parser.error("need 0 <= trainers + exporters <= students <= 200 and seconds <= 900")
    if args.switch and (args.trainers or args.exporters):
        parser.error("--switch has no trainers or exporters")
    if args.url and not args.url.startswith("http://"):
        parser.error("--url must start with http://")
    return args


def main() -> None:
    args = parse_args()
    print(benchlib.machine())
    print(f"reference workload before: {reference_seconds():.2f} s")
    if args.switch:
        print(f"{args.students} students switch to {args.view} at the same moment")
    else:
        print(f"{args.students} students ({args.trainers} training, {args.exporters} "
              f"exporting), {args.seconds:.0f} s of slider moves each, joining over "
              f"{args.ramp:.0f} s")
    shared = Shared()
    me = psutil.Process()
    client_cpu0 = sum(me.cpu_times()[:2])
    with contextlib.ExitStack() as stack:
        if args.url:
            url, pid = args.url.rstrip("/"), args.pid
        else:
            server = stack.enter_context(AppServer())
            url, pid = server.url, server.process.pid
        print(f"replicas opened before the start: {warm_up(url)}")
        memory = Memory(pid) if pid else None
        if memory and args.switch:
            print(f"waited {memory.wait_idle():.0f} s for the server to settle")
        if memory:
            memory.start()
        begin = time.monotonic()
        threads = (switch_threads(args, url, shared) if args.switch
                   else classroom_threads(args, url, begin, shared))
        for thread in threads:
            thread.start()
        hard_limit = begin + args.ramp + args.seconds + 600
        for thread in threads:
            thread.join(timeout=max(0.0, hard_limit - time.monotonic()))
        stuck = sum(thread.is_alive() for thread in threads)
        if stuck:
            shared.fail(f"{stuck} sessions still running at the hard time limit")
        wall = time.monotonic() - begin
        cpu = memory.stop() if memory else None
        if args.switch:  # one more student, alone, once the view is made
            page, _, query = args.view.partition("?")
            alone = StreamlitSession(url, timeout=RUN_TIMEOUT).open_page(page, query)
    client_cpu = sum(me.cpu_times()[:2]) - client_cpu0
    if args.switch:
        report_switch(shared, args.view)
        print(f"then one more session alone: {alone.seconds * 1000:.0f} ms, "
              f"{alone.bytes_received / 1e6:.2f} MB, errors {alone.errors}")
    else:
        report(shared, args.trainers)
    report_server(shared, wall, cpu, memory.peak_mb if memory else 0.0, client_cpu)
    print(f"reference workload after: {reference_seconds():.2f} s")


if __name__ == "__main__":
    main()
