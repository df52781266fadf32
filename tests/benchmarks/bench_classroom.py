"""Classroom load: N simulated students on one server, each on one page moving its main
slider every 2-5 s; optionally some of them training on the Train page at the same time.

    .venv/bin/python tests/benchmarks/bench_classroom.py [--students 60] [--seconds 60]
    .venv/bin/python tests/benchmarks/bench_classroom.py --trainers 5 [--train-seconds 20]

Each student is a websocket session (st_client.StreamlitSession, one thread each), not a
browser: it opens its page (a full run), then until the end moves the page's main slider
by 1-5 positions (a fragment rerun) every 2-5 s (uniform, measured from the previous
move's start; a move waits for the previous run to finish). Students join over the first
--ramp seconds and spread over the four chart pages in turn. Trainers open /train, click
Train with a --train-seconds budget and wait for the result (queueing for a training slot
if the server says so). Reported: page-open and slider rerun times (rerun sent ->
script_finished), p50/p95/max, for all students and per page; rerun times of the others
while at least one training ran; errors (exception elements, error alerts, failed runs,
disconnects, timeouts); the server's peak RSS (process and children, sampled every
0.25 s) and CPU. Loopback only; every thread stops at its deadline, the script stops the
server it started, and a hard limit of --seconds + 600 s ends it in any case.
"""

from __future__ import annotations

import argparse
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


@dataclass
class Record:
    who: int
    page: str
    kind: str  # "open", "move", "train"
    start: float  # time.monotonic() when the rerun was sent
    seconds: float
    errors: list[str] = field(default_factory=list)


@dataclass
class Shared:
    records: list[Record] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)  # disconnects, timeouts, crashes
    training: list[tuple[float, float]] = field(default_factory=list)  # (start, end)
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

    def stop(self) -> float:
        """Stop sampling; returns the CPU seconds used since start."""
        self._stop.set()
        self._thread.join(timeout=5)
        return self._cpu() - self.cpu_start


def report(shared: Shared, wall: float, cpu: float, peak_mb: float, client_cpu: float,
           trainers: int) -> None:
    moves = [r for r in shared.records if r.kind == "move"]
    opens = [r for r in shared.records if r.kind == "open"]
    errors = [e for r in shared.records for e in r.errors] + shared.failures
    print(f"\nslider reruns (rerun sent -> script_finished), all students: "
          f"{benchlib.ms(benchlib.percentiles([r.seconds for r in moves]))}")
    for page, _ in PAGES:
        values = [r.seconds for r in moves if r.page == page]
        print(f"  {page:<13} {benchlib.ms(benchlib.percentiles(values))}")
    print(f"page opens (full runs): "
          f"{benchlib.ms(benchlib.percentiles([r.seconds for r in opens]))}")
    if trainers:
        busy = shared.training

        def during_training(r: Record) -> bool:
            return any(a <= r.start + r.seconds and r.start <= b for a, b in busy)

        during = [r.seconds for r in moves if during_training(r)]
        print(f"slider reruns while >= 1 training ran: "
              f"{benchlib.ms(benchlib.percentiles(during))}")
        first = min((a for a, _ in busy), default=0.0)
        for r in sorted(shared.records, key=lambda r: r.start):
            if r.kind == "train":
                print(f"  trainer {r.who}: clicked at +{r.start - first:.0f} s, done "
                      f"after {r.seconds:.1f} s (queue + training + measuring), "
                      f"errors {r.errors}")
    print(f"errors: {len(errors)}")
    for text in errors[:20]:
        print(f"  {text}")
    print(f"server: peak RSS {peak_mb:.0f} MB (process and children); CPU {cpu:.0f} s in "
          f"{wall:.0f} s wall = {cpu / wall:.2f} cores; the load generator used "
          f"{client_cpu / wall:.2f} cores")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=60)
    parser.add_argument("--seconds", type=float, default=60.0,
                        help="how long each student keeps moving its slider")
    parser.add_argument("--ramp", type=float, default=10.0,
                        help="students join evenly over this many seconds")
    parser.add_argument("--trainers", type=int, default=0,
                        help="how many of the students train instead (on /train)")
    parser.add_argument("--train-seconds", type=int, default=20)
    args = parser.parse_args()
    if not 0 <= args.trainers <= args.students <= 200 or args.seconds > 900:
        parser.error("need 0 <= trainers <= students <= 200 and seconds <= 900")
    print(benchlib.machine())
    print(f"{args.students} students ({args.trainers} training), {args.seconds:.0f} s of "
          f"slider moves each, joining over {args.ramp:.0f} s")
    shared = Shared()
    me = psutil.Process()
    client_cpu0 = sum(me.cpu_times()[:2])
    with AppServer() as server:
        StreamlitSession(server.url).open_page("")  # app.py has run once: no legacy mode
        memory = Memory(server.process.pid)
        memory.start()
        begin = time.monotonic()
        threads = []
        sliders = args.students - args.trainers
        for i in range(sliders):
            page, key = PAGES[i % len(PAGES)]
            start_at = begin + args.ramp * i / max(1, sliders)
            threads.append(threading.Thread(target=student, daemon=True, args=(
                i, server.url, page, key, start_at, start_at + args.seconds, shared)))
        for j in range(args.trainers):  # they click once everybody has joined
            threads.append(threading.Thread(target=trainer, daemon=True, args=(
                sliders + j, server.url, args.train_seconds, begin + args.ramp + j, shared)))
        for thread in threads:
            thread.start()
        hard_limit = begin + args.ramp + args.seconds + 600
        for thread in threads:
            thread.join(timeout=max(0.0, hard_limit - time.monotonic()))
        stuck = sum(thread.is_alive() for thread in threads)
        if stuck:
            shared.fail(f"{stuck} sessions still running at the hard time limit")
        wall = time.monotonic() - begin
        cpu = memory.stop()
    client_cpu = sum(me.cpu_times()[:2]) - client_cpu0
    report(shared, wall, cpu, memory.peak_mb, client_cpu, args.trainers)


if __name__ == "__main__":
    main()
