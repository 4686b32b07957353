"""Search latency: ipnews.store.search (top 20 with snippets, as `ipnews search` runs it) on a
read-only connection, at 10k / 100k / 1M synthetic articles, and how each figure grows.

Figures are warm (the file is in the OS page cache once the first queries have run; a
benchmark cannot drop the cache of a shared machine). "First query after opening" is a
fresh connection's first query: SQLite's own page cache is empty then.
"""

from __future__ import annotations

import itertools
import math
import time
from dataclasses import dataclass

import archive
import corpus
from measure import Row, median, ms, percentile, timed_runs, verdict

from ipnews.store import build_query, open_reader, search

RARE_TARGET_S = 0.020  # at 1M articles (performance.md)
COMMON_TARGET_S = 0.150
ZH_TARGET_S = 0.150  # a Chinese term at 1M (issue 11); at 100k: ZH_TARGET_100K_S
ZH_TARGET_100K_S = 0.020
INDEX_BUILD_TARGET_S = 600  # for 1M articles


@dataclass(frozen=True)
class Query:
    key: str
    label: str
    text: str
    source: str | None = None
    since: str | None = None
    sort: str = "relevance"
    target: float | None = None  # seconds, at 1M
    remark: str = ""  # shown as the target when there is none to judge by


def queries(doc_counts: dict[str, int], n: int) -> list[Query]:
    share = {k: v / n for k, v in doc_counts.items()}

    def pct(term: str) -> str:
        return f"{share[term]:.2%}" if share[term] < 0.01 else f"{share[term]:.0%}"

    return [
        Query("rare", f"rare word '{corpus.RARE_WORD}' (1 row in {corpus.RARE_EVERY:,})",
              corpus.RARE_WORD, target=RARE_TARGET_S),
        Query("common", f"common word '{corpus.COMMON_WORD}' ({pct(corpus.COMMON_WORD)})",
              corpus.COMMON_WORD, target=COMMON_TARGET_S),
        Query("very", f"very common word '{corpus.VERY_COMMON_WORD}' "
                      f"({pct(corpus.VERY_COMMON_WORD)})", corpus.VERY_COMMON_WORD,
              remark="none set; performance.md: ranking every hit is the cost to avoid"),
        Query("phrase", f'phrase "{corpus.PHRASE}" ({pct(corpus.PHRASE)})',
              f'"{corpus.PHRASE}"'),
        Query("src", f"'{corpus.COMMON_WORD}' --source ctplo", corpus.COMMON_WORD,
              source="ctplo"),
        Query("since", f"'{corpus.COMMON_WORD}' --since 2024-01-01", corpus.COMMON_WORD,
              since="2024-01-01"),
        Query("vsince", f"'{corpus.VERY_COMMON_WORD}' --since 2025-06-01",
              corpus.VERY_COMMON_WORD, since="2025-06-01"),
        Query("date", f"'{corpus.VERY_COMMON_WORD}' --sort date (newest first)",
              corpus.VERY_COMMON_WORD, sort="date"),
        *(Query(f"zh{len(t)}", f"Chinese {len(t)}-character term '{t}' ({pct(t)})", t,
                target=ZH_TARGET_S, remark=f"<= {ms(ZH_TARGET_100K_S)} at 100k")
          for t in corpus.ZH_TERMS),
    ]


@dataclass
class Measured:
    p50: float
    p95: float
    runs: int
    hits: int


def measure_size(n: int, budget: float, log=print) -> tuple[dict[str, Measured], dict,
                                                             list[Query], float]:
    path, meta = archive.ensure(n, log=log)
    qs = queries(meta["doc_counts"], n)
    log(f"search: {n:,} articles ({path.stat().st_size / 2**20:,.0f} MB) ...")
    _warm_os_cache(path, qs)
    first = median([_first_query(path) for _ in range(5)])
    conn = open_reader(path)
    results: dict[str, Measured] = {}
    try:
        for q in qs:
            def run(q: Query = q) -> list:
                return search(conn, q.text, source=q.source, since=q.since, sort=q.sort,
                              limit=20, path=path)
            hits = len(run())  # warm: pages of this query's posting lists now cached
            times = timed_runs(run, min_runs=5, max_runs=50, budget=budget)
            results[q.key] = Measured(median(times), percentile(times, 95), len(times), hits)
    finally:
        conn.close()
    return results, meta, qs, first


# English with stemming, against the same corpus indexed without it (performance.md).
STEM_TARGET = 1.20
ENGLISH = ("rare", "common", "very", "phrase")


def measure_stemming(n: int, budget: float, log=print) -> dict[str, tuple[float, float, int,
                                                                          int]]:
    """The English queries on the archive of n articles and on the same articles indexed
    without the porter stemmer, runs taking turns so that a busy moment of the machine
    weighs on both: key -> (p50 stemmed, p50 unstemmed, matching articles stemmed,
    matching articles unstemmed)."""
    stemmed, meta = archive.ensure(n, log=log)
    plain, _ = archive.ensure(n, log=log, stem=False)
    log(f"search: stemming or not, {n:,} articles ...")
    qs = [q for q in queries(meta["doc_counts"], n) if q.key in ENGLISH]
    conns = {path: open_reader(path) for path in (stemmed, plain)}
    out = {}
    try:
        for path in conns:
            _warm_os_cache(path, qs)
        for q in qs:
            def run(path, q: Query = q) -> list:
                return search(conns[path], q.text, limit=20, path=path)
            fts = build_query(q.text).fts
            hits = [conns[path].execute("SELECT count(*) FROM articles_fts WHERE articles_fts "
                                        "MATCH ?", [fts]).fetchone()[0]
                    for path in (stemmed, plain)]
            times: dict = {stemmed: [], plain: []}
            deadline = time.perf_counter() + 2 * budget
            while len(times[plain]) < 5 or (time.perf_counter() < deadline
                                            and len(times[plain]) < 50):
                for path in (stemmed, plain):
                    start = time.perf_counter()
                    run(path)
                    times[path].append(time.perf_counter() - start)
            out[q.key] = (median(times[stemmed]), median(times[plain]), *hits)
    finally:
        for conn in conns.values():
            conn.close()
    return out


def stemming_row(data: dict[int, dict[str, tuple[float, float, int, int]]],
                 labels: dict[str, str]) -> Row:
    cells, worst = [], 0.0
    for n, figures in data.items():
        parts = []
        for key, (with_stem, without, _hits, _plain_hits) in figures.items():
            worst = max(worst, with_stem / without)
            parts.append(f"{labels[key]} {ms(with_stem)} vs {ms(without)} "
                         f"({with_stem / without:.2f}x)")
        cells.append(f"{_short(n)}: " + ", ".join(parts))
    hits = "; ".join(f"{_short(n)}: " + ", ".join(f"{labels[k]} {h} vs {ph}" for k, (_, _, h, ph)
                                                   in figures.items())
                     for n, figures in data.items())
    return Row("search", "English with the porter stemmer vs the same articles indexed "
               "without it: p50, top 20 + snippets", "; ".join(cells),
               f"<= {STEM_TARGET:.2f}x", verdict(worst <= STEM_TARGET),
               f"worst {worst:.2f}x; runs alternate between the two files; articles "
               f"matched (stemmed vs not; stemming finds more, and ranks them): {hits}")


def _warm_os_cache(path, qs: list[Query]) -> None:
    """Run every query once so the pages they need are in the OS page cache: the figures
    must not depend on what this machine happened to read before."""
    conn = open_reader(path)
    try:
        for q in qs:
            search(conn, q.text, source=q.source, since=q.since, sort=q.sort, path=path)
    finally:
        conn.close()


def _first_query(path) -> float:
    """The first query of a new connection: SQLite's page cache starts empty."""
    conn = open_reader(path)
    try:
        start = time.perf_counter()
        search(conn, corpus.COMMON_WORD, limit=20, path=path)
        return time.perf_counter() - start
    finally:
        conn.close()


# --- growth -------------------------------------------------------------------------------
def exponent(t_small: float, t_big: float, n_small: int, n_big: int) -> float:
    """k in time ~ rows^k between two sizes: 0 constant, 1 linear."""
    return math.log(t_big / t_small) / math.log(n_big / n_small)


def growth_label(k: float) -> str:
    # One decade of rows: log growth (ratio ~1.25 from 10k to 100k) gives k ~ 0.1 and
    # cannot be told apart from constant plus noise; say so rather than guess.
    if k < 0.25:
        return "constant or log"
    if k < 0.75:
        return "sub-linear"
    if k < 1.25:
        return "linear"
    return "super-linear"


def _short(n: int) -> str:
    return f"{n // 1_000_000}M" if n >= 1_000_000 else f"{n // 1000}k"


def rows_for(sizes: list[int], data: dict[int, tuple[dict[str, Measured], dict, list[Query],
                                                      float]]) -> list[Row]:
    rows: list[Row] = []
    biggest = sizes[-1]
    qs = data[biggest][2]
    for q in qs:
        cells = []
        for n in sizes:
            m = data[n][0][q.key]
            cells.append(f"{_short(n)}: {ms(m.p50)} / {ms(m.p95)}")
        growth = _growth_note(sizes, data, q.key)
        target, status = q.remark, ""
        if q.target is not None:
            target = f"<= {ms(q.target)} at 1M" + (f", {q.remark}" if q.remark else "")
            if q.key.startswith("zh") and 100_000 in data:
                status = "100k " + verdict(data[100_000][0][q.key].p50 <= ZH_TARGET_100K_S) + "; "
            if 1_000_000 in data:
                status += verdict(data[1_000_000][0][q.key].p50 <= q.target)
            else:
                projected = _project(sizes, data, q.key)
                status += (f"projected {'met' if projected <= q.target else 'NOT MET'} "
                           f"({ms(projected)} at 1M)")
        hits = data[biggest][0][q.key].hits
        rows.append(Row("search", f"{q.label}: p50 / p95, top 20 + snippets",
                        "; ".join(cells), target, status,
                        f"{growth}; {hits} results"))
    first = "; ".join(f"{_short(n)}: {ms(data[n][3])}" for n in sizes)
    rows.append(Row("search", f"first query after opening ('{corpus.COMMON_WORD}')", first,
                    note="fresh connection; OS page cache warm"))
    rows.append(_index_row(sizes, data))
    rows.append(_pairs_size_row(sizes, data))
    return rows


def _pairs_size_row(sizes: list[int], data: dict) -> Row:
    """What the Chinese pairs cost in bytes: the same archive built with the pairs columns
    left empty, against the real one."""
    cells = []
    for n in sizes:
        with_pairs = data[n][1]["file_bytes"]
        without = archive.ensure(n, pairs=False)[1]["file_bytes"]
        zh = data[n][1]["doc_counts"]["zh_articles"]
        cells.append(f"{_short(n)}: {with_pairs / 2**20:,.0f} MB vs {without / 2**20:,.0f} MB "
                     f"(+{(with_pairs - without) / 2**20:,.0f} MB, "
                     f"+{(with_pairs - without) / without:.0%}; {zh:,} Chinese articles)")
    return Row("search", "database size, with the Chinese pairs vs without them",
               "; ".join(cells), note="the pairs columns and their share of the FTS index; "
               "the issue's measured figure: 249 MB at 30k Chinese articles (trigram 427 MB)")


def _growth_note(sizes: list[int], data: dict, key: str) -> str:
    parts = []
    for a, b in itertools.pairwise(sizes):
        ta, tb = data[a][0][key].p50, data[b][0][key].p50
        k = exponent(ta, tb, a, b)
        parts.append(f"{_short(a)}->{_short(b)} x{tb / ta:.1f}: {growth_label(k)} (k={k:.2f})")
    return "; ".join(parts) if parts else "one size only: no growth figure"


def _project(sizes: list[int], data: dict, key: str) -> float:
    """p50 at 1M, extrapolating the measured exponent (or linearly, with one size only)."""
    n = sizes[-1]
    t = data[n][0][key].p50
    k = exponent(data[sizes[-2]][0][key].p50, t, sizes[-2], n) if len(sizes) > 1 else 1.0
    return t * (1_000_000 / n) ** max(k, 0.0)


def _index_row(sizes: list[int], data: dict) -> Row:
    cells = []
    for n in sizes:
        meta = data[n][1]
        cells.append(f"{_short(n)}: {meta['index_s']:.1f} s")
    if 1_000_000 in data:
        build = data[1_000_000][1]["index_s"]
        status = verdict(build <= INDEX_BUILD_TARGET_S)
    else:
        n = sizes[-1]
        build = data[n][1]["index_s"] * 1_000_000 / n
        status = (f"projected {'met' if build <= INDEX_BUILD_TARGET_S else 'NOT MET'} "
                  f"({build / 60:.1f} min, linear)")
    insert = "; ".join(f"{_short(n)} {n / data[n][1]['insert_s']:,.0f} rows/s" for n in sizes)
    return Row("search", "FTS5 index build (bulk 'rebuild' after insert, when the cache was made)",
               "; ".join(cells), "<= 10 min for 1M", status,
               f"row insert without FTS: {insert}")
