"""The generic extractor on real pages of many publishers: trafilatura's own evaluation set
(990 pages, read from ../shared/eval when it exists), against trafilatura in the same run.

- Body: each page carries snippets its text must contain ("with") and must not contain
  ("without"); precision, recall and F1 are counted as trafilatura's tests/eval_common.py
  counts them (and as ../shared/eval/score_generic.py does), for ipnews's generic path
  (decode + generic_extract), trafilatura default and fast mode, all pages and CJK pages.
- Metadata: 200 of those pages (a seeded sample holding every CJK page) were labelled by
  hand, in bench/labels/ (publication day, author names), by reading each page, not by
  running an extractor; where ipnews, trafilatura and the label disagreed on a day, a third
  reader decided the first-publication day blind to which reader said what (the notes say
  "ADJUDICATED"). The 8 pages of ../shared/real-pages (Chinese government and state media,
  SHINE) are labelled the same way (the two that are also in the evaluation set count
  once). Right day (Chinese pages apart: Han characters in the <title>, no kana) and
  exactly right authors are counted for ipnews's read_metadata and for trafilatura's
  metadata (htmldate and friends).
- Time: ms per page of decode + generic_extract against trafilatura.extract with metadata
  on the same bytes, taking turns page by page.

The pages are third-party and stay in ../shared; only our labels are in the repository.
"""

from __future__ import annotations

import json
import re
import tarfile
import tempfile
import time
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

from measure import BENCH, ROOT, Row, verdict

EVAL = ROOT.parent / "shared" / "eval" / "trafilatura-evaldata.tar.gz"
REAL_PAGES = ROOT.parent / "shared" / "real-pages"
LABELS = BENCH / "labels"
CJK = re.compile("[\u3400-\u9fff\u3040-\u30ff\uac00-\ud7af]")
HAN, KANA = re.compile("[\u3400-\u9fff]"), re.compile("[\u3040-\u30ff]")
DATE_TARGET, AUTHOR_TARGET = 0.95, 0.80


@dataclass
class Page:
    url: str
    raw: bytes
    with_: list[str]
    without: list[str]
    cjk: bool
    label: dict | None = None


@dataclass
class Tally:
    tp: int = 0
    fp: int = 0
    fn: int = 0
    empty: int = 0
    seconds: float = 0.0
    kinds: dict[str, int] = field(default_factory=dict)

    def add(self, page: Page, text: str | None) -> None:
        t = _norm(text) if text else None
        if t is None:
            self.empty += 1
        tp = sum(1 for w in page.with_ if t is not None and _norm(w) in t)
        self.tp += tp
        self.fn += len(page.with_) - tp
        self.fp += sum(1 for w in page.without if t is not None and _norm(w) in t)

    def prf(self) -> tuple[float, float, float]:
        p = self.tp / (self.tp + self.fp) if self.tp + self.fp else 0.0
        r = self.tp / (self.tp + self.fn) if self.tp + self.fn else 0.0
        return p, r, 2 * p * r / (p + r) if p + r else 0.0


def _norm(text: str) -> str:
    return " ".join(text.split())


def load(tmp: Path) -> list[Page]:
    with tarfile.open(EVAL) as t:
        t.extractall(tmp, filter="data")
    ev = json.loads((tmp / "evaldata.json").read_text(encoding="utf-8"))
    labels: dict[str, dict] = {}
    for f in sorted(LABELS.glob("eval-metadata-*.json")):
        labels.update(json.loads(f.read_text(encoding="utf-8")))
    pages = []
    for url in sorted(ev):
        item = ev[url]
        path = next((p for sub in ("cache", "eval") if (p := tmp / sub / item["file"]).is_file()),
                    None)
        if path is None:
            continue
        pages.append(Page(url, path.read_bytes(), item["with"], item["without"],
                          any(CJK.search(w) for w in item["with"] + item["without"]),
                          labels.get(item["file"])))
    return pages


def load_real_pages() -> list[Page]:
    """The captured pages of ../shared/real-pages (SHINE, CNIPA, People's Daily, Xinhua,
    China Daily), with the labels of bench/labels/real-pages-metadata.json: for metadata
    only (they have no body snippets)."""
    labels = json.loads((LABELS / "real-pages-metadata.json").read_text(encoding="utf-8"))
    pages = []
    for name, label in sorted(labels.items()):
        path = REAL_PAGES / name
        if path.is_file():
            raw = path.read_bytes()
            pages.append(Page(label["url"] or f"https://example.invalid/{name}", raw, [], [],
                              not name.startswith("shine/"), label))
    return pages


def _ipnews(page: Page) -> tuple[str | None, str | None]:
    """Body (None when refused) and the refusal's kind."""
    from ipnews.decoding import decode_html
    from ipnews.errors import ExtractError
    from ipnews.extraction import generic_extract

    try:
        article = generic_extract(decode_html(page.raw, None).text, page.url)
    except ExtractError as exc:
        return None, str(exc).split("(")[0].strip()
    return article.body, None


def _trafilatura(page: Page, fast: bool, metadata: bool = False) -> str | None:
    import trafilatura

    try:
        return trafilatura.extract(page.raw, url=page.url, fast=fast, include_comments=False,
                                   include_tables=True, with_metadata=metadata)
    except Exception:
        return None


def _ipnews_metadata(page: Page) -> tuple[str | None, list[str]]:
    from ipnews.decoding import decode_html
    from ipnews.extraction import meta_tags, parse_html
    from ipnews.metadata import read_metadata

    tree = parse_html(decode_html(page.raw, None).text)
    found = read_metadata(tree, meta_tags(tree), page.url)
    return (found["published"] or "")[:10] or None, found["authors"]


def _trafilatura_metadata(page: Page) -> tuple[str | None, list[str]]:
    import trafilatura

    try:
        doc = trafilatura.bare_extraction(page.raw, url=page.url, with_metadata=True,
                                          only_with_metadata=False)
    except Exception:
        return None, []
    if doc is None:
        return None, []
    date = getattr(doc, "date", None)
    author = getattr(doc, "author", None) or ""
    return (date or "")[:10] or None, [a for a in author.split("; ") if a.strip()]


def _chinese(page: Page) -> bool:
    """A page in Chinese: Han characters in its <title>, and no kana (Japanese)."""
    from ipnews.decoding import decode_html
    from ipnews.extraction import parse_html, text_of

    title = text_of(parse_html(decode_html(page.raw, None).text), "title") or ""
    return len(HAN.findall(title)) >= 4 and not KANA.search(title)


def _fold(name: str) -> str:
    return " ".join(unicodedata.normalize("NFKC", name).casefold().split())


def score_metadata(pages: list[Page], read) -> dict[str, tuple[int, int]]:
    """(right, out of) for dates and authors; and invented ones where the page has none."""
    counts = {k: [0, 0] for k in ("date", "date_zh", "authors", "no_date", "no_authors")}
    for page in pages:
        label = page.label
        day, authors = read(page)
        if label["date"]:
            key = "date_zh" if _chinese(page) else "date"
            counts[key][1] += 1
            counts[key][0] += day == label["date"]
        else:
            counts["no_date"][1] += 1
            counts["no_date"][0] += day is not None
        if label["authors"]:
            counts["authors"][1] += 1
            counts["authors"][0] += ({_fold(a) for a in authors}
                                     == {_fold(a) for a in label["authors"]})
        else:
            counts["no_authors"][1] += 1
            counts["no_authors"][0] += bool(authors)
    return {k: (v[0], v[1]) for k, v in counts.items()}


def run(log=print, verbose: bool = False) -> list[Row]:
    if not EVAL.is_file():
        return [Row("generic", "trafilatura's evaluation set", "skipped",
                    note=f"{EVAL} not found")]
    with tempfile.TemporaryDirectory(prefix="ipnews-eval-") as tmp:
        pages = load(Path(tmp))
    log(f"generic: {len(pages)} pages, body (ipnews, trafilatura default and fast) ...")
    sides = {name: Tally() for name in ("ipnews", "trafilatura", "trafilatura fast")}
    zh = {name: Tally() for name in sides}
    for page in pages:
        for name, fn in (("ipnews", lambda p: _ipnews(p)),
                         ("trafilatura", lambda p: (_trafilatura(p, False), None)),
                         ("trafilatura fast", lambda p: (_trafilatura(p, True), None))):
            t0 = time.perf_counter()
            text, kind = fn(page)
            sides[name].seconds += time.perf_counter() - t0
            sides[name].add(page, text)
            if kind:
                sides[name].kinds[kind] = sides[name].kinds.get(kind, 0) + 1
            if page.cjk:
                zh[name].add(page, text)
    log("generic: time per page against trafilatura with metadata ...")
    t_ours = t_meta = 0.0
    for page in pages:
        t0 = time.perf_counter()
        _ipnews(page)
        t1 = time.perf_counter()
        _trafilatura(page, False, metadata=True)
        t_ours, t_meta = t_ours + t1 - t0, t_meta + time.perf_counter() - t1
    labelled = [p for p in pages if p.label]
    # Two of the real pages are also in the evaluation set: counted once.
    seen = {p.raw for p in labelled}
    labelled += [p for p in load_real_pages() if p.raw not in seen]
    log(f"generic: metadata on {len(labelled)} hand-labelled pages ...")
    ours = score_metadata(labelled, _ipnews_metadata)
    theirs = score_metadata(labelled, _trafilatura_metadata)

    n = len(pages)
    rows = []
    p, r, f = sides["ipnews"].prf()
    _, _, f_def = sides["trafilatura"].prf()
    refused = sides["ipnews"].kinds
    rows.append(Row("generic", f"body P/R/F1 on trafilatura's evaluation set ({n} pages)",
                    f"{p:.3f}/{r:.3f}/{f:.3f}", "F1 above trafilatura default",
                    verdict(f > f_def),
                    f"trafilatura default {_prf(sides['trafilatura'])}, fast "
                    f"{_prf(sides['trafilatura fast'])}; ipnews refused "
                    f"{sides['ipnews'].empty}"
                    + "".join(f", {v} {k!r}" for k, v in sorted(refused.items()))))
    zp = zh["ipnews"].prf()
    rows.append(Row("generic", f"body F1, the {sum(p.cjk for p in pages)} CJK pages",
                    f"{zp[2]:.3f}", "at least trafilatura default",
                    verdict(zp[2] >= zh["trafilatura"].prf()[2]),
                    f"trafilatura default {zh['trafilatura'].prf()[2]:.3f}, fast "
                    f"{zh['trafilatura fast'].prf()[2]:.3f}"))
    for key, what, target in (("date", "publication day right, pages not in Chinese",
                               DATE_TARGET),
                              ("date_zh", "publication day right, Chinese pages", DATE_TARGET),
                              ("authors", "authors exactly right", AUTHOR_TARGET)):
        (right, total), (t_right, _) = ours[key], theirs[key]
        rows.append(Row("generic", f"{what} (hand-labelled pages that state them)",
                        f"{right}/{total} ({right / max(total, 1):.0%})", f">= {target:.0%}",
                        verdict(total > 0 and right / total >= target),
                        f"trafilatura {t_right}/{total} ({t_right / max(total, 1):.0%})"))
    (nd, nd_total), (t_nd, _) = ours["no_date"], theirs["no_date"]
    (na, na_total), (t_na, _) = ours["no_authors"], theirs["no_authors"]
    rows.append(Row("generic", "a date or authors given where the page states none",
                    f"dates {nd}/{nd_total}, authors {na}/{na_total}", note=f"trafilatura "
                    f"dates {t_nd}/{nd_total}, authors {t_na}/{na_total}"))
    ms_ours, ms_meta = 1000 * t_ours / n, 1000 * t_meta / n
    rows.append(Row("generic", "ms per page, decode + generic_extract vs trafilatura with "
                    "metadata", f"{ms_ours:.1f} vs {ms_meta:.1f}", "no slower",
                    verdict(ms_ours <= ms_meta * 1.05),  # 5%: noise between timed passes
                    f"trafilatura default without metadata "
                    f"{1000 * sides['trafilatura'].seconds / n:.1f}, fast "
                    f"{1000 * sides['trafilatura fast'].seconds / n:.1f}"))
    if verbose:
        for page in labelled:
            day, authors = _ipnews_metadata(page)
            if day != page.label["date"] or ({_fold(a) for a in authors}
                                             != {_fold(a) for a in page.label["authors"] or []}):
                log(f"  {page.url}\n    label {page.label['date']} {page.label['authors']}"
                    f"\n    ipnews {day} {authors}")
    return rows


def _prf(t: Tally) -> str:
    return "/".join(f"{v:.3f}" for v in t.prf())


if __name__ == "__main__":
    import sys

    for row in run(log=lambda m: print(m, file=sys.stderr), verbose="-v" in sys.argv):
        print(row)
