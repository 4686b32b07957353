"""Extraction: ms per article page for each source's parser, for the generic path, and for
trafilatura.extract on the same pages in the same run (the ratio is the figure that holds on
a shared machine). Pages: the article pages of fixtures/*/site (listing pages left out).

Each page is decoded once (ipnews's own decode chain) and every extractor gets the same str.
The extractors take turns on each page; per page the median of R runs is taken, and the
figure is the mean of those medians over the pages: the cost of extracting this set once.
Accuracy rides along for free: the fixtures have golden bodies, and a bag-of-words F1
against them says whether the faster path is also the more accurate one.
"""

from __future__ import annotations

import json
import re
import statistics
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from measure import FIXTURES, Row, verdict

from ipnews.decoding import decode_html
from ipnews.errors import ExtractError

SOURCE_MS_TARGET = 3.0
SPEEDUP_TARGET = 7.0


@dataclass
class Page:
    source: str
    path: Path
    url: str
    html: str
    expected_body: str | None


def _shine_pages() -> list[Page]:
    site = FIXTURES / "shine" / "site"
    pages = []
    for path in sorted(site.rglob("index.html")):
        rel = path.parent.relative_to(site).as_posix()
        if not re.search(r"/\d{10}$", rel):
            continue  # a listing page
        html = decode_html(path.read_bytes(), "text/html").text
        golden = FIXTURES / "shine" / "expected" / (rel.replace("/", "-") + ".json")
        pages.append(Page("shine", path, f"https://www.shine.cn/{rel}/", html,
                          _golden_body(golden)))
    return pages


def _ctplo_pages() -> list[Page]:
    site = FIXTURES / "ctplo" / "site"
    pages = []
    for path in sorted((site / "blog").glob("*/index.html")):
        slug = path.parent.name
        if slug == "blog-list":
            continue
        html = decode_html(path.read_bytes(), "text/html; charset=utf-8").text
        golden = FIXTURES / "ctplo" / "expected" / f"{slug}.json"
        pages.append(Page("ctplo", path, f"http://www.ctplo.com/blog/{slug}", html,
                          _golden_body(golden)))
    return pages


def _golden_body(path: Path) -> str | None:
    if not path.exists():
        return None
    return json.loads(path.read_text(encoding="utf-8"))["expected"]["body"]


def _golden_pages(name: str) -> list[Page]:
    """The article pages of a source whose goldens name their page (`fixture`): every
    source but the first two. A story over several pages is left out (its golden body is
    the join of its pages)."""
    folder = FIXTURES / name
    out = []
    for golden in sorted((folder / "expected").glob("*.json")):
        data = json.loads(golden.read_text("utf-8"))
        if "fixture" not in data or data.get("pages"):
            continue
        html = decode_html((folder / data["fixture"]).read_bytes(), None).text
        out.append(Page(name, folder / data["fixture"], data["url"], html,
                        data["expected"]["body"]))
    return out


def pages() -> list[Page]:
    from ipnews.sources import source_names

    return _shine_pages() + _ctplo_pages() + [
        p for name in source_names() if name not in ("shine", "ctplo")
        for p in _golden_pages(name)]


# --- accuracy ---------------------------------------------------------------------------
def _tokens(text: str) -> Counter[str]:
    return Counter(re.findall(r"\w+", text.casefold()))


def f1(got: str, expected: str) -> float:
    """Bag-of-words F1, the measure of the article-extraction benchmark figures."""
    g, e = _tokens(got), _tokens(expected)
    common = sum((g & e).values())
    if not common:
        return 0.0
    precision, recall = common / sum(g.values()), common / sum(e.values())
    return 2 * precision * recall / (precision + recall)


# --- extractors ---------------------------------------------------------------------------
Extractor = Callable[[Page], str]


def _source_extractor(name: str) -> Extractor:
    from ipnews.sources import get_source_class

    source = get_source_class(name)()
    return lambda page: source.extract(page.html, page.url).body


def _paths(name: str, group: list[Page]) -> Counter[str]:
    """Which path the source's parser took on each page (selectors, or trafilatura when
    the selectors found nothing): a page that falls back costs trafilatura's time."""
    from ipnews.sources import get_source_class

    source = get_source_class(name)()
    return Counter(source.extract(p.html, p.url).extraction for p in group)


def _generic(page: Page) -> str:
    from ipnews.extraction import generic_extract

    try:
        return generic_extract(page.html, page.url).body
    except ExtractError:
        return ""  # refused by the quality gate: counts as nothing extracted


def _refusals(group: list[Page]) -> Counter[str]:
    """Why generic_extract refused pages (its quality gate), if it did."""
    from ipnews.extraction import generic_extract

    reasons: Counter[str] = Counter()
    for page in group:
        try:
            generic_extract(page.html, page.url)
        except ExtractError as exc:
            reasons[str(exc).split(" (")[0]] += 1
    return reasons


def _trafilatura(page: Page) -> str:
    import trafilatura

    return trafilatura.extract(page.html) or ""


def _trafilatura_meta(page: Page) -> str:
    """trafilatura's default extraction with its metadata (htmldate and friends): what the
    generic path does, and the bound on its time (issue 9)."""
    import trafilatura

    doc = trafilatura.bare_extraction(page.html, with_metadata=True)
    return (doc.text if doc is not None else "") or ""


@dataclass
class Timing:
    ms_per_page: float
    f1: float | None


def time_extractors(fns: dict[str, Extractor], group: list[Page],
                    repeat: int) -> dict[str, Timing]:
    """Time several extractors on the same pages. They take turns on each page, run after
    run, so load on the shared machine falls on all of them alike and the ratios hold."""
    per_page: dict[str, list[float]] = {k: [] for k in fns}
    scores: dict[str, list[float]] = {k: [] for k in fns}
    for page in group:
        runs: dict[str, list[float]] = {k: [] for k in fns}
        for name, fn in fns.items():
            body = fn(page)  # warm: imports, lazy regex compilation, caches
            if page.expected_body is not None:
                scores[name].append(f1(body, page.expected_body))
        for _ in range(repeat):
            for name, fn in fns.items():
                start = time.perf_counter()
                fn(page)
                runs[name].append(time.perf_counter() - start)
        for name in fns:
            per_page[name].append(statistics.median(runs[name]))
    return {k: Timing(statistics.mean(per_page[k]) * 1000,
                      statistics.mean(scores[k]) if scores[k] else None) for k in fns}


# --- rows ---------------------------------------------------------------------------------
def _f1(t: Timing) -> str:
    return f"F1 {t.f1:.3f}" if t.f1 is not None else ""


def run(repeat: int, log=print) -> list[Row]:
    all_pages = pages()
    rows: list[Row] = []
    generic_all, meta_all = [], []
    for name in sorted({p.source for p in all_pages}, key=lambda n: (n not in (
            "shine", "ctplo"), n)):
        group = [p for p in all_pages if p.source == name]
        log(f"extraction: {name}, {len(group)} pages x {repeat} ...")
        t = time_extractors({"own": _source_extractor(name), "traf": _trafilatura,
                             "meta": _trafilatura_meta, "gen": _generic}, group, repeat)
        t_own, t_traf, t_meta, t_gen = t["own"], t["traf"], t["meta"], t["gen"]
        paths = _paths(name, group)
        refused = _refusals(group)
        generic_all.append((t_gen, len(group)))
        meta_all.append((t_meta, len(group)))
        speedup = t_traf.ms_per_page / t_own.ms_per_page
        fallback = paths.get("trafilatura", 0)
        area = f"extract {name}"
        rows += [
            Row(area, f"{name} parser, {len(group)} fixture article pages",
                f"{t_own.ms_per_page:.2f} ms/page", f"<= {SOURCE_MS_TARGET:g} ms/page",
                verdict(t_own.ms_per_page <= SOURCE_MS_TARGET),
                f"{_f1(t_own)}; paths: " + ", ".join(f"{k} {v}" for k, v in
                                                     sorted(paths.items()))
                + (f" ({fallback} of {len(group)} pages fell back to trafilatura)"
                   if fallback else "")),
            Row(area, f"trafilatura.extract (default) on the same pages; speed-up of the "
                      f"{name} parser", f"{t_traf.ms_per_page:.2f} ms/page; {speedup:.1f}x",
                f">= {SPEEDUP_TARGET:g}x", verdict(speedup >= SPEEDUP_TARGET), _f1(t_traf)),
            Row(area, "generic_extract (unknown-site path) vs trafilatura with metadata",
                f"{t_gen.ms_per_page:.2f} vs {t_meta.ms_per_page:.2f} ms/page",
                note=f"generic {_f1(t_gen)}, trafilatura with metadata {_f1(t_meta)}"
                + "".join(f"; generic refused {v} of {len(group)} pages: {k!r}"
                          for k, v in refused.items())),
        ]
    rows.append(_generic_verdict(generic_all, meta_all))
    return rows


def _weighted(items: list[tuple[Timing, int]], attr: str) -> float:
    total = sum(n for _, n in items)
    return sum(getattr(t, attr) * n for t, n in items) / total


def _generic_verdict(generic: list[tuple[Timing, int]], meta: list[tuple[Timing, int]]) -> Row:
    g_ms, f_ms = _weighted(generic, "ms_per_page"), _weighted(meta, "ms_per_page")
    g_f1, f_f1 = _weighted(generic, "f1"), _weighted(meta, "f1")
    ok = g_ms <= f_ms * 1.05 and g_f1 >= f_f1  # 5%: the noise between two timed passes
    return Row("extract generic", "generic_extract, all fixture pages: time and F1 vs "
               "trafilatura with metadata", f"{g_ms:.2f} vs {f_ms:.2f} ms/page; F1 "
               f"{g_f1:.3f} vs {f_f1:.3f}", "no slower than trafilatura with metadata, more "
               "accurate", verdict(ok), f"{g_ms / f_ms:.2f}x the time of trafilatura with "
               "metadata")
