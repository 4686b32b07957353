"""End to end: `ipnews fetch shine --full` of a synthetic SHINE mirror on loopback with the
politeness delay 0, then a second fetch with nothing new (the incremental case).

Each fetch is a separate `ipnews` process measured on its own (measure.run_child): wall
time, CPU time (its extraction worker included), the peak RSS of its process tree. The
server runs in this process, on the other core.
"""

from __future__ import annotations

import json
import re
import sqlite3
import tempfile
from dataclasses import dataclass
from pathlib import Path

import mirror
from measure import Child, Row, check, child_env, ipnews_argv, run_child, verdict

PAGES_TARGET = 150  # pages/s, source pages whose selectors succeed (performance.md)
FALLBACK_TARGET = 25  # pages/s on the generic (trafilatura-bound) path
RSS_TARGET_MB = 150
SIZE_TARGET = 2.5  # database bytes per byte of extracted text, without raw capture
INCREMENTAL_TARGET_S = 1.0


@dataclass
class Fetch:
    n: int
    keep_raw: bool
    child: Child
    requests: int
    article_requests: int
    failed: int
    db: Path
    sizes: dict[str, int]  # bytes per table group (dbstat)
    text_bytes: int
    articles: int
    paths: dict[str, int]  # articles per extraction path (selectors, trafilatura)


def write_config(path: Path, server_url: str, sections: list[str], keep_raw: bool) -> Path:
    lines = ["[fetch]", "delay = 0", f"keep_raw = {str(keep_raw).lower()}", "",
             "[sources.shine]", f'base_url = "{server_url}"',
             f"sections = {json.dumps(sections)}", "",
             "[sources.ctplo]", "enabled = false"]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _summary_counts(stderr: str) -> int:
    """Failed pages, from the run's summary line ("shine: 1000 new, ... 0 failed"); quiet
    runs print it only when something failed."""
    m = re.search(r"shine: \d+ new, .*?(\d+) failed", stderr)
    return int(m.group(1)) if m else 0


def _paths(db: Path) -> dict[str, int]:
    conn = sqlite3.connect(db)
    try:
        return dict(conn.execute("SELECT extraction, count(*) FROM articles GROUP BY 1"))
    finally:
        conn.close()


def _db_breakdown(db: Path) -> tuple[dict[str, int], int, int]:
    """Bytes per kind of table (dbstat), bytes of extracted text, number of articles."""
    conn = sqlite3.connect(db)
    try:
        groups: dict[str, int] = {}
        for name, size in conn.execute("SELECT name, sum(pgsize) FROM dbstat GROUP BY name"):
            key = ("fts" if name.startswith("articles_fts") else
                   "articles" if name == "articles" or name.startswith("idx_articles") else
                   "captures" if "captures" in name else
                   "versions" if "versions" in name else "other")
            groups[key] = groups.get(key, 0) + size
        text, count = conn.execute(
            "SELECT sum(length(CAST(title AS BLOB)) + length(CAST(coalesce(summary, '') AS "
            "BLOB)) + length(CAST(body AS BLOB))), count(*) FROM articles").fetchone()
    finally:
        conn.close()
    return groups, text or 0, count


def run_fetch(m: mirror.Mirror, work: Path, keep_raw: bool, log=print) -> tuple[Fetch, Path,
                                                                                 Path]:
    server = mirror.Server(m.root)
    try:
        tag = (f"{m.articles}-{'raw' if keep_raw else 'noraw'}"
               f"{'-fallback' if m.fallback else ''}")
        config = write_config(work / f"config-{tag}.toml", server.url, m.sections, keep_raw)
        db = work / f"fetch-{tag}.db"
        for side in ("", ".verified", ".lock", "-journal"):  # a new archive every run
            Path(f"{db}{side}").unlink(missing_ok=True)
        log(f"fetch: {m.articles:,} pages, keep_raw={keep_raw} ...")
        child = check(run_child([*ipnews_argv(), "fetch", "shine", "--full", "-q",
                                 "--config", str(config), "--db", str(db)],
                                child_env(work), sample_memory=True), "ipnews fetch")
        failed = _summary_counts(child.err)
        sizes, text, count = _db_breakdown(db)
        result = Fetch(m.articles, keep_raw, child, len(server.requests),
                       server.article_requests(), failed, db, sizes, text, count, _paths(db))
    finally:
        server.close()
    return result, config, db


def run_incremental(m: mirror.Mirror, work: Path, config: Path, db: Path,
                    log=print) -> tuple[Child, int, int, int]:
    """A normal run (no --full) against an unchanged mirror and a complete archive."""
    server = mirror.Server(m.root)
    try:
        # The config names the port of the first server: point it at this one.
        text = re.sub(r'base_url = "[^"]*"', f'base_url = "{server.url}"', config.read_text())
        config.write_text(text)
        log("fetch again, nothing new ...")
        child = check(run_child([*ipnews_argv(), "fetch", "shine", "-q", "--config",
                                 str(config), "--db", str(db)], child_env(db.parent)),
                      "ipnews fetch (incremental)")
        listing = sum(1 for p in server.requests if not re.search(r"/\d{10}/$", p)
                      and p != "/robots.txt")
        return child, len(server.requests), server.article_requests(), listing
    finally:
        server.close()


JUDGED_FROM = 1_000  # pages: below, process and worker start-up weigh on the rate


def _rate_status(f: Fetch, ok: bool) -> str:
    if f.articles != f.n:  # a fetch that did not store every page measured something else
        return f"INVALID: {f.articles:,} of {f.n:,} stored"
    if f.n < JUDGED_FROM:
        return f"not judged under {JUDGED_FROM:,} pages (start-up weighs)"
    return verdict(ok)


def _kb(n: float) -> str:
    return f"{n / 1024:.1f} KB"


def fetch_rows(f: Fetch) -> list[Row]:
    c = f.child
    pages_s = f.articles / c.wall
    area = f"fetch {f.n:,}"
    peak = c.tree_rss_mb or c.maxrss_mb  # without psutil, the largest process is a floor
    raw = "raw kept" if f.keep_raw else "no raw"
    rows = [
        Row(area, f"fetch --full of {f.n:,} SHINE pages ({raw}): article pages/s",
            f"{pages_s:.0f} pages/s ({c.wall:.1f} s wall, {f.requests:,} requests)",
            f">= {PAGES_TARGET} pages/s",
            _rate_status(f, pages_s >= PAGES_TARGET),
            f"{f.articles:,} stored, {f.failed} failed"),
        Row(area, f"CPU per page ({raw})", f"{c.cpu / f.articles * 1000:.2f} ms",
            note=f"child CPU {c.cpu:.1f} s = {c.cpu / c.wall:.0%} of wall"),
        Row(area, f"peak RSS, all ipnews processes together ({raw})", f"{peak:.0f} MB",
            f"<= {RSS_TARGET_MB} MB" if f.n >= 10_000 else "",
            verdict(peak <= RSS_TARGET_MB) if f.n >= 10_000 else "",
            f"largest single process (ru_maxrss) {c.maxrss_mb:.0f} MB"),
    ]
    total = sum(f.sizes.values())
    ratio = total / f.text_bytes
    parts = ", ".join(f"{k} {_kb(v / f.articles)}" for k, v in
                      sorted(f.sizes.items(), key=lambda kv: -kv[1]))
    rows.append(Row(
        area, f"database bytes per article ({raw})",
        f"{_kb(total / f.articles)} = {ratio:.2f}x the text ({_kb(f.text_bytes / f.articles)})",
        "" if f.keep_raw else f"<= {SIZE_TARGET}x the text",
        "" if f.keep_raw else verdict(ratio <= SIZE_TARGET), parts))
    return rows


def fallback_row(f: Fetch) -> Row:
    """The same fetch where every page's selectors fail and trafilatura reads the body."""
    c = f.child
    pages_s = f.articles / c.wall
    paths = ", ".join(f"{k} {v:,}" for k, v in sorted(f.paths.items()))
    return Row(f"fetch {f.n:,}", f"fetch --full of {f.n:,} SHINE pages whose body selector "
               "finds nothing (trafilatura path): article pages/s",
               f"{pages_s:.0f} pages/s ({c.wall:.1f} s wall)", f">= {FALLBACK_TARGET} pages/s",
               _rate_status(f, pages_s >= FALLBACK_TARGET),
               f"extraction paths: {paths}; CPU {c.cpu / f.articles * 1000:.1f} ms per page; "
               f"peak RSS {c.tree_rss_mb or c.maxrss_mb:.0f} MB")


def incremental_rows(n: int, child: Child, requests: int, articles: int,
                     listing: int, sections: int) -> list[Row]:
    ok = articles == 0 and listing <= sections and child.wall <= INCREMENTAL_TARGET_S
    return [Row(f"fetch {n:,}", "second fetch, nothing new: requests / wall",
                f"{requests} requests ({listing} listing, {articles} article), "
                f"{child.wall * 1000:.0f} ms",
                f"1 per listing ({sections}), 0 article, <= 1 s", verdict(ok),
                f"other requests (robots.txt): {requests - listing - articles}; "
                f"CPU {child.cpu * 1000:.0f} ms")]


def median_fetch(m: mirror.Mirror, work: Path, keep_raw: bool, runs: int,
                 log=print) -> tuple[Fetch, Path, Path, list[float]]:
    """The run with the median wall time of `runs` fetches, each into a new archive, and
    every run's pages/s (the spread shows how much the shared machine moved)."""
    results = []
    for _ in range(runs):
        results.append(run_fetch(m, work, keep_raw, log=log))
    results.sort(key=lambda r: r[0].child.wall)
    rates = [r[0].articles / r[0].child.wall for r in results]
    return (*results[len(results) // 2], rates)


def _spread(rates: list[float]) -> str:
    if len(rates) < 2:
        return ""
    return f"; median of {len(rates)} runs ({min(rates):.0f}-{max(rates):.0f} pages/s)"


def run(sizes: list[int], no_raw_size: int | None, incremental_size: int, repeat_below: int,
        fallback_size: int | None = None, log=print) -> list[Row]:
    """Fetches of fewer than repeat_below pages are repeated 3 times (median shown)."""
    rows: list[Row] = []
    with tempfile.TemporaryDirectory(prefix="ipnews-bench-fetch-") as tmp:
        work = Path(tmp)
        for n in sizes:
            m = mirror.cached(n, log=log)
            runs = 3 if n < repeat_below else 1
            f, config, db, rates = median_fetch(m, work, True, runs, log=log)
            f_rows = fetch_rows(f)
            f_rows[0].note += _spread(rates)
            rows += f_rows
            if n == no_raw_size:
                g, _, _, g_rates = median_fetch(m, work, False, runs, log=log)
                size_row = fetch_rows(g)[-1]  # the other figures barely move without raw
                size_row.note += (f"; this fetch: {g.articles / g.child.wall:.0f} pages/s, "
                                  f"{g.child.cpu / g.articles * 1000:.2f} ms CPU per page"
                                  + _spread(g_rates))
                rows.append(size_row)
            if n == incremental_size:
                child, requests, articles, listing = run_incremental(m, work, config, db,
                                                                     log=log)
                rows += incremental_rows(n, child, requests, articles, listing,
                                         len(m.sections))
            db.unlink(missing_ok=True)
        if fallback_size:
            m = mirror.cached(fallback_size, fallback=True, log=log)
            f, _, db = run_fetch(m, work, keep_raw=True, log=log)
            rows.append(fallback_row(f))
    return rows
