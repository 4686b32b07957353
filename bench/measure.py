"""Timing helpers shared by the benchmark sections: repeated timings, percentiles, child
processes measured with their own rusage, and the result row every section returns."""

from __future__ import annotations

import contextlib
import json
import math
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
FIXTURES = ROOT / "fixtures"
CACHE = BENCH / ".cache"
RESULTS = BENCH / "results"


@dataclass
class Row:
    """One line of the results table."""

    area: str
    measure: str
    value: str
    target: str = ""
    status: str = ""  # "met", "NOT MET", "" (no target), or a short reason
    note: str = ""


def verdict(ok: bool | None) -> str:
    return "" if ok is None else ("met" if ok else "NOT MET")


# --- statistics -----------------------------------------------------------------------
def median(values: list[float]) -> float:
    return statistics.median(values)


def percentile(values: list[float], p: float) -> float:
    """Nearest-rank percentile: with 20 samples p95 is the 19th, a value that was seen."""
    ordered = sorted(values)
    rank = max(1, math.ceil(p / 100 * len(ordered)))
    return ordered[rank - 1]


def ms(seconds: float) -> str:
    """Milliseconds with sensible precision for the table."""
    value = seconds * 1000
    if value < 1:
        return f"{value:.2f} ms"
    if value < 100:
        return f"{value:.1f} ms"
    return f"{value:.0f} ms"


def timed_runs(fn: Callable[[], object], *, min_runs: int = 5, max_runs: int = 50,
               budget: float = 1.0) -> list[float]:
    """Time fn repeatedly: at least min_runs, then more until budget seconds are spent.
    A time budget rather than a fixed count keeps a 0.1 ms query and a 1.5 s query both
    affordable while the fast ones still get enough samples for a p95."""
    times: list[float] = []
    spent = 0.0
    while len(times) < max_runs and (len(times) < min_runs or spent < budget):
        start = time.perf_counter()
        fn()
        elapsed = time.perf_counter() - start
        times.append(elapsed)
        spent += elapsed
    return times


# --- child processes ------------------------------------------------------------------
@dataclass
class Child:
    """How one child process went. Wall and CPU time are the child's own (os.wait4: it and
    the descendants it waited for, such as ipnews's extraction worker); maxrss_mb is the
    largest single process; tree_rss_mb is the peak of the whole tree's summed RSS,
    sampled every 20 ms (0 when psutil is missing)."""

    code: int
    wall: float
    cpu: float
    maxrss_mb: float
    out: str
    err: str
    tree_rss_mb: float = 0.0


class _TreeSampler(threading.Thread):
    """Peak summed RSS of a process and its descendants. ru_maxrss cannot give it: it is
    the maximum of any one process, and a fetch now runs a parser process beside itself."""

    def __init__(self, pid: int, interval: float = 0.02) -> None:
        super().__init__(daemon=True)
        self.pid, self.interval, self.peak = pid, interval, 0
        self.done = threading.Event()

    def run(self) -> None:
        try:
            import psutil
        except ImportError:
            return
        try:
            root = psutil.Process(self.pid)
        except psutil.Error:
            return
        while not self.done.is_set():
            total = 0
            try:
                for proc in [root, *root.children(recursive=True)]:
                    with contextlib.suppress(psutil.Error):
                        total += proc.memory_info().rss
            except psutil.Error:
                return
            self.peak = max(self.peak, total)
            self.done.wait(self.interval)


def ipnews_argv() -> list[str]:
    """The installed console script, as a user runs it (same interpreter as ours)."""
    script = Path(sys.executable).parent / "ipnews"
    if script.exists():
        return [str(script)]
    found = shutil.which("ipnews")
    if found:
        return [found]
    return [sys.executable, "-m", "ipnews"]


def child_env(home: Path, **extra: str) -> dict[str, str]:
    """No IPNEWS_* from the caller's shell and no user config or data directory."""
    # PYTHONDONTWRITEBYTECODE (set in some shells) would make every start recompile the
    # modules changed since the last .pyc: a user's install has its bytecode.
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("IPNEWS_") and k != "PYTHONDONTWRITEBYTECODE"}
    env["XDG_CONFIG_HOME"] = str(home / "xdg-config")
    env["XDG_DATA_HOME"] = str(home / "xdg-data")
    env.update(extra)
    return env


# The children are started by a small launcher process, not by this one. Linux carries a
# process's RSS high-water mark across exec, and a child forked (or vforked) from here
# would report *our* peak as its ru_maxrss: after the search section built an archive,
# `ipnews fetch` showed 350 MB where it never used 60. The launcher is started while this
# process is still small (run.py does it before importing anything heavy) and stays small.
_LAUNCHER = r"""
import json, os, subprocess, sys, threading, time
for line in sys.stdin:
    job = json.loads(line)
    with open(job["out"], "wb") as out, open(job["err"], "wb") as err:
        start = time.perf_counter()
        proc = subprocess.Popen(job["argv"], stdout=out, stderr=err, env=job["env"])
        print(json.dumps({"pid": proc.pid}), flush=True)
        killer = threading.Timer(job["timeout"], proc.kill)
        killer.start()
        _pid, status, usage = os.wait4(proc.pid, 0)
        killer.cancel()
        wall = time.perf_counter() - start
    print(json.dumps({"code": os.waitstatus_to_exitcode(status), "wall": wall,
                      "cpu": usage.ru_utime + usage.ru_stime,
                      "maxrss_kb": usage.ru_maxrss}), flush=True)
"""
_launcher: subprocess.Popen | None = None


def start_launcher() -> None:
    """Start the launcher now (idempotent); run_child starts it on first use otherwise."""
    global _launcher
    if _launcher is None or _launcher.poll() is not None:
        _launcher = subprocess.Popen([sys.executable, "-c", _LAUNCHER], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, text=True)


def run_child(argv: list[str], env: dict[str, str], timeout: float = 900,
              sample_memory: bool = False) -> Child:
    """Run argv to its end and measure it. Output goes to files, not pipes: the launcher
    waits with os.wait4 (for the child's own rusage) and cannot drain pipes meanwhile."""
    start_launcher()
    assert _launcher is not None and _launcher.stdin and _launcher.stdout
    with tempfile.TemporaryDirectory(prefix="ipnews-bench-child-") as tmp:
        out, err = Path(tmp) / "out", Path(tmp) / "err"
        job = {"argv": argv, "env": env, "timeout": timeout, "out": str(out), "err": str(err)}
        _launcher.stdin.write(json.dumps(job) + "\n")
        _launcher.stdin.flush()
        pid = json.loads(_launcher.stdout.readline())["pid"]
        sampler = _TreeSampler(pid)
        if sample_memory:
            sampler.start()
        try:
            done = json.loads(_launcher.stdout.readline())
        finally:
            sampler.done.set()
        return Child(code=done["code"], wall=done["wall"], cpu=done["cpu"],
                     maxrss_mb=done["maxrss_kb"] / 1024,  # Linux reports KiB
                     out=out.read_bytes().decode("utf-8", "replace"),
                     err=err.read_bytes().decode("utf-8", "replace"),
                     tree_rss_mb=sampler.peak / 2**20)


def check(child: Child, what: str) -> Child:
    if child.code != 0:
        raise RuntimeError(f"{what} exited with {child.code}:\n{child.err[-2000:]}")
    return child
