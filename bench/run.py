"""ipnews benchmarks: one command, one markdown table (stdout and bench/results/latest.md).

    python bench/run.py            # full run, under 10 minutes on 2 cores
    python bench/run.py --quick    # under 1 minute: smaller sizes, fewer repetitions
    python bench/run.py --big      # also search at 1M articles (7 GB file; see README)

Progress goes to stderr, the table to stdout. Never part of the pytest run.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import platform
import sqlite3
import sys
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # `python bench/run.py` from anywhere

import measure

# Before the heavy imports: children inherit the RSS high-water mark of whoever starts them.
measure.start_launcher()

import bench_clusters  # noqa: E402
import bench_extraction  # noqa: E402
import bench_fetch  # noqa: E402
import bench_generic  # noqa: E402
import bench_hosts  # noqa: E402
import bench_search  # noqa: E402
import bench_startup  # noqa: E402
import bench_warc  # noqa: E402
from measure import RESULTS, Row  # noqa: E402

SECTIONS = ("start", "extract", "generic", "fetch", "hosts", "warc", "search", "clusters")


@dataclass(frozen=True)
class Plan:
    """How much of everything a mode does."""

    name: str
    start_runs: int
    extract_repeat: int
    fetch_sizes: tuple[int, ...]
    no_raw_size: int
    incremental_size: int
    fallback_size: int  # pages of the fetch down the trafilatura path
    search_sizes: tuple[int, ...]
    search_budget: float  # seconds of repeated runs per query and size
    host_sizes: tuple[int, ...]  # articles per site, one site per loopback host
    host_compare_runs: int  # delay-0 runs of ipnews and of trafilatura's CLI, taking turns
    cluster_size: int  # articles of the clustering archive (and one a tenth of it)
    cluster_new: int  # new articles stored through Archive.save on each
    warc_bytes: int  # the CC-NEWS-shaped WARC imported (gzip bytes)
    merge_bytes: int  # each of the 4 WARCs imported apart and merged


QUICK = Plan("quick", start_runs=5, extract_repeat=3, fetch_sizes=(200,), no_raw_size=200,
             incremental_size=200, fallback_size=200, search_sizes=(10_000,),
             search_budget=0.3, host_sizes=(2, 1, 1, 1), host_compare_runs=1,
             cluster_size=10_000, cluster_new=300, warc_bytes=100_000_000,
             merge_bytes=15_000_000)
FULL = Plan("full", start_runs=11, extract_repeat=10, fetch_sizes=(1_000, 10_000),
            no_raw_size=1_000, incremental_size=10_000, fallback_size=1_000,
            search_sizes=(10_000, 100_000), search_budget=1.5,
            host_sizes=(15, 11, 10, 9, 8, 7, 6, 5), host_compare_runs=3,
            cluster_size=100_000, cluster_new=1_000, warc_bytes=1_000_000_000,
            merge_bytes=50_000_000)


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


# --- the sections -------------------------------------------------------------------------
def section_start(plan: Plan) -> list[Row]:
    return bench_startup.run(plan.start_runs, quick=plan.name.startswith("quick"), log=log)


def section_extract(plan: Plan) -> list[Row]:
    return bench_extraction.run(plan.extract_repeat, log=log)


def section_generic(plan: Plan) -> list[Row]:
    # The whole evaluation set or nothing: its figures are comparable only on all pages,
    # and those take about 4 minutes.
    if plan.name.startswith("quick"):
        return [Row("generic", "trafilatura's evaluation set", "skipped",
                    note="--quick leaves it out: run `--only generic`")]
    return bench_generic.run(log=log)


def section_fetch(plan: Plan) -> list[Row]:
    return bench_fetch.run(list(plan.fetch_sizes), plan.no_raw_size, plan.incremental_size,
                           repeat_below=5_000, fallback_size=plan.fallback_size, log=log)


def section_hosts(plan: Plan) -> list[Row]:
    return bench_hosts.run(plan.host_sizes, plan.host_compare_runs, log=log)


def section_warc(plan: Plan) -> list[Row]:
    return bench_warc.run(plan.warc_bytes, plan.merge_bytes, log=log)


def section_search(plan: Plan) -> list[Row]:
    sizes = list(plan.search_sizes)
    data = {n: bench_search.measure_size(n, plan.search_budget, log=log) for n in sizes}
    # Stemming's cost up to 100k: a 1M archive without it would be 7 GB more for one row.
    stem = {n: bench_search.measure_stemming(n, plan.search_budget, log=log)
            for n in sizes if n <= 100_000}
    labels = {"rare": "rare", "common": "'customs'", "very": "'said'", "phrase": "phrase"}
    return [*bench_search.rows_for(sizes, data), bench_search.stemming_row(stem, labels)]


def section_clusters(plan: Plan) -> list[Row]:
    return bench_clusters.run(plan.cluster_size, log=log, new=plan.cluster_new)


RUNNERS: dict[str, Callable[[Plan], list[Row]]] = {
    "start": section_start, "extract": section_extract, "generic": section_generic,
    "fetch": section_fetch,
    "hosts": section_hosts, "warc": section_warc, "search": section_search,
    "clusters": section_clusters,
}


# --- the table ------------------------------------------------------------------------------
def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "?"


def _src_fingerprint() -> str:
    """A short hash of ipnews's source files: which code a table belongs to, without git."""
    import hashlib

    import ipnews

    digest = hashlib.sha256()
    for path in sorted(Path(ipnews.__file__).parent.rglob("*.py")):
        digest.update(path.read_bytes())
    return digest.hexdigest()[:10]


def header(plan: Plan, wall: float) -> str:
    versions = ", ".join(f"{p} {_version(p)}" for p in
                         ("ipnews", "click", "httpx", "selectolax", "trafilatura",
                          "sqlite-utils"))
    return (f"**ipnews benchmarks** ({plan.name} run, {time.strftime('%Y-%m-%d %H:%M')}, "
            f"{wall:.0f} s wall). Machine: {os.cpu_count()} CPUs ({_cpu_model()}), "
            f"{platform.system()} {platform.release()}, Python {platform.python_version()}, "
            f"SQLite {sqlite3.sqlite_version}; {versions} (src {_src_fingerprint()}). "
            "Times are medians of repeated "
            "runs; the machine is shared, so ratios within one run hold better than "
            "absolute times.")


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def table(rows: list[Row]) -> str:
    lines = ["| area | measure | result | target | status | notes |",
             "|---|---|---|---|---|---|"]
    for r in rows:
        status = f"**{r.status}**" if r.status == "NOT MET" else r.status
        lines.append("| " + " | ".join(_cell(c) for c in (r.area, r.measure, r.value,
                                                          r.target, status, r.note)) + " |")
    return "\n".join(lines)


# --- main -----------------------------------------------------------------------------------
def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="small sizes, under 1 minute")
    parser.add_argument("--big", action="store_true",
                        help="also search a 1M-article archive (7 GB in bench/.cache/; "
                             "~4 minutes to build the first time)")
    parser.add_argument("--only", metavar="SECTION[,SECTION]",
                        help=f"run only these sections ({', '.join(SECTIONS)})")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    plan = QUICK if args.quick else FULL
    if args.big:
        plan = dataclasses.replace(plan, name=f"{plan.name} --big",
                                   search_sizes=(*plan.search_sizes, 1_000_000))
    chosen = args.only.split(",") if args.only else list(SECTIONS)
    unknown = [s for s in chosen if s not in RUNNERS]
    if unknown:
        print(f"unknown section {unknown[0]!r} (choose from {', '.join(SECTIONS)})",
              file=sys.stderr)
        return 2
    if sys.prefix == sys.base_prefix:
        log(f"note: not in a virtual environment ({sys.executable}); the README's "
            "command runs in /work/main/.venv")
    started = time.perf_counter()
    rows: list[Row] = []
    failed = False
    for name in chosen:
        began = time.perf_counter()
        try:
            rows += RUNNERS[name](plan)
        except Exception as exc:  # one broken section must not lose the others' figures
            failed = True
            log(traceback.format_exc())
            rows.append(Row(name, "section failed", f"{type(exc).__name__}: {exc}",
                            status="ERROR"))
        log(f"{name}: {time.perf_counter() - began:.1f} s")
    text = header(plan, time.perf_counter() - started) + "\n\n" + table(rows) + "\n"
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "latest.md").write_text(text, encoding="utf-8")
    print(text)
    log(f"written to {RESULTS / 'latest.md'}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
