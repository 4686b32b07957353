"""`ipnews import` of a CC-NEWS-shaped WARC (warcgen.py), and `ipnews merge` of archives
imported apart against the same files imported into one archive.

Every command is its own `ipnews` process measured on its own (measure.run_child): wall
time, CPU time (with the children it waited for), peak RSS. The figures checked are the
generator's own labels (its manifest), never what the import says it did.
"""

from __future__ import annotations

import re
import sqlite3
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import warcgen
from measure import Child, Row, check, child_env, ipnews_argv, run_child, verdict

SEED = 1
RSS_FLAT = 1.25  # peak RSS on the whole file / on a quarter of it: "flat" up to this
MERGE_FILES = 4
MERGE_SEEDS = tuple(range(11, 11 + MERGE_FILES))
MERGE_OWNED_SHARE = 0.15  # the merge files are small: more SHINE pages per MB than CC-NEWS
POOL_SEED = 100
BYTES_PER_RESPONSE = 17_500  # compressed, as warcgen makes them (for sizing the pool)


def write_config(path: Path) -> Path:
    """The built-in sources as they come (shine among them), no base_url: a WARC's URLs
    are the sites' own and an import makes no request."""
    path.write_text("[fetch]\ndelay = 0\n", encoding="utf-8")
    return path


@dataclass
class Archive:
    """What an archive holds, read with plain sqlite3."""

    articles: int
    versions: int  # sum of articles.version: every text a URL has had
    stories: int  # distinct story ids
    hashes: dict[str, tuple[str, int]]  # canonical URL -> (current content_hash, version)
    history: dict[str, tuple[str, ...]]  # URL -> the content_hash of each older version
    groups: set[frozenset[str]]  # the URLs of each story

    @classmethod
    def read(cls, db: Path) -> Archive:
        conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
        try:
            rows = conn.execute("SELECT id, url, content_hash, version, coalesce(story_id, id) "
                                "FROM articles").fetchall()
            old: dict[int, list[str]] = {}
            for article_id, content_hash in conn.execute(
                    "SELECT article_id, content_hash FROM versions ORDER BY article_id, "
                    "version"):
                old.setdefault(article_id, []).append(content_hash)
        finally:
            conn.close()
        by_story: dict[int, set[str]] = {}
        for _id, url, _h, _v, story in rows:
            by_story.setdefault(story, set()).add(url)
        return cls(articles=len(rows), versions=sum(r[3] for r in rows),
                   stories=len(by_story),
                   hashes={r[1]: (r[2], r[3]) for r in rows},
                   history={r[1]: tuple(old.get(r[0], ())) for r in rows},
                   groups={frozenset(g) for g in by_story.values()})


def _fresh(db: Path) -> Path:
    for side in ("", "-wal", "-shm", "-journal", ".lock", ".verified"):
        Path(f"{db}{side}").unlink(missing_ok=True)
    return db


def run_import(files: Iterable[Path], db: Path, config: Path, work: Path) -> Child:
    argv = [*ipnews_argv(), "import", *map(str, files), "--db", str(db),
            "--config", str(config)]
    return check(run_child(argv, child_env(work), timeout=3600, sample_memory=True),
                 "ipnews import")


def _summary(stderr: str) -> dict[str, int]:
    """The counts of the import's summary lines ("X.warc.gz: ... 12 new, 0 updated, 3
    unchanged, 0 duplicate, 24 skipped (not about IP), 0 failed"), summed over files."""
    out: dict[str, int] = {}
    for m in re.finditer(r"(\d[\d,]*) (new|updated|unchanged|duplicate|skipped|failed)\b",
                         stderr):
        out[m.group(2)] = out.get(m.group(2), 0) + int(m.group(1).replace(",", ""))
    return out


def _counts(summary: dict[str, int]) -> str:
    return ", ".join(f"{v:,} {k}" for k, v in summary.items()) or "no summary line"


def _peak(c: Child) -> float:
    return c.tree_rss_mb or c.maxrss_mb  # without psutil, the largest single process


def _peak_note(c: Child) -> str:
    return ("summed over the process tree" if c.tree_rss_mb else
            "largest single process (ru_maxrss; psutil is missing for the tree's sum)")


def _mb(n: int) -> str:
    return f"{n / 1e6:,.0f} MB"


def _expected_versions(manifests: list[warcgen.Manifest]) -> dict[str, int]:
    """IP URL -> the number of texts it showed over these files (in their time order)."""
    seen: dict[str, set[int]] = {}
    for m in manifests:
        for url, entry in m.owned.items():
            if entry["ip"]:
                seen.setdefault(url, set()).update(entry["versions"])
    return {url: len(v) for url, v in seen.items()}


def _against_manifest(archive: Archive, manifests: list[warcgen.Manifest]) -> tuple[bool, str]:
    """Are the stored articles the IP pages the files hold, each with its texts?"""
    expected = _expected_versions(manifests)
    stored = {url: v for url, (_h, v) in archive.hashes.items()}
    missing = sorted(set(expected) - set(stored))
    extra = sorted(set(stored) - set(expected))
    wrong = sorted(u for u in set(expected) & set(stored) if expected[u] != stored[u])
    ok = not (missing or extra or wrong)
    parts = [f"versions {archive.versions:,} (expected {sum(expected.values()):,})"]
    for label, urls in (("missing", missing), ("not expected", extra),
                        ("other version count", wrong)):
        if urls:
            parts.append(f"{len(urls)} {label}, e.g. {urls[0]}")
    return ok, "; ".join(parts)


# --- the import of one big file -----------------------------------------------------------
def import_rows(size: int, work: Path, config: Path, log=print) -> list[Row]:
    path, m = warcgen.cached(size, SEED, log=log)
    quarter_path, quarter = warcgen.cached(size // 4, SEED, log=log)
    label = warcgen.size_label(size)
    db = _fresh(work / "import.db")
    log(f"warc: import of {label} ({m.responses:,} responses) ...")
    c = run_import([path], db, config, work)
    first = Archive.read(db)
    summary = _summary(c.err)
    log("warc: the same file again ...")
    again = run_import([path], db, config, work)
    second = Archive.read(db)
    log(f"warc: import of {warcgen.size_label(size // 4)} (memory) ...")
    q = run_import([quarter_path], _fresh(work / "quarter.db"), config, work)

    records = sum(m.records.values())
    area = f"import {label}"
    ok, detail = _against_manifest(first, [m])
    flat = _peak(c) <= _peak(q) * RSS_FLAT
    return [
        Row(area, f"import of a {label} CC-NEWS-shaped WARC: records/s",
            f"{records / c.wall:,.0f} records/s, {m.bytes_compressed / 1e6 / c.wall:.1f} MB/s "
            f"({c.wall:.1f} s wall)",
            note=f"{records:,} records ({m.responses:,} responses, {m.hosts:,} hosts), "
                 f"{_mb(m.bytes_compressed)} gzip = {_mb(m.bytes_uncompressed)} of records; "
                 f"CPU {c.cpu:.1f} s = {c.cpu / c.wall:.0%} of wall; "
                 f"{m.responses / c.wall:,.0f} responses/s; import said: {_counts(summary)}"),
        Row(area, "peak RSS: whole file / a quarter of it",
            f"{_peak(c):.0f} MB / {_peak(q):.0f} MB ({_peak(c) / _peak(q):.2f}x)",
            f"flat (<= {RSS_FLAT}x)", verdict(flat),
            f"{_peak_note(c)}; the quarter ({_mb(quarter.bytes_compressed)}) took "
            f"{q.wall:.1f} s"),
        Row(area, "articles stored / SHINE pages about IP in the file",
            f"{first.articles:,} / {m.owned_ip_pages:,}", "all, nothing else", verdict(ok),
            f"{m.owned_pages:,} SHINE article URLs ({m.owned_captures:,} captures, "
            f"{m.owned_encoded} with Content-Encoding gzip, {m.recrawls_identical} "
            f"recrawled identical, {m.recrawls_edited} edited), {m.owned_listing} SHINE "
            f"section pages; {detail}"),
        Row(area, "the same file imported again: articles added / wall",
            f"{second.articles - first.articles} articles, {second.versions - first.versions} "
            f"versions ({again.wall:.1f} s wall)", "0 added",
            verdict(second.articles == first.articles and second.versions == first.versions
                    and second.hashes == first.hashes),
            f"CPU {again.cpu:.1f} s; import said: {_counts(_summary(again.err))}"),
    ]


# --- merge ------------------------------------------------------------------------------
def merge_files(size: int, log=print) -> list[tuple[Path, warcgen.Manifest]]:
    """MERGE_FILES consecutive files (epochs 0..3) sharing one pool of SHINE pages, sized
    so that each file holds most of the pool: the same story in several files, some
    edited between two of them."""
    per_file = size / BYTES_PER_RESPONSE * MERGE_OWNED_SHARE * (1 - warcgen.OWNED_LISTING_SHARE)
    pool = warcgen.Pool(POOL_SEED, max(20, int(per_file)), MERGE_FILES)
    return [warcgen.cached(size, seed, pool=pool, epoch=j, owned_share=MERGE_OWNED_SHARE,
                           log=log) for j, seed in enumerate(MERGE_SEEDS)]


def merge(out: Path, parts: list[Path], work: Path) -> Child:
    argv = [*ipnews_argv(), "merge", *map(str, parts), "--db", str(out)]
    return check(run_child(argv, child_env(work), timeout=3600, sample_memory=True),
                 "ipnews merge")


def _compare(a: Archive, b: Archive) -> tuple[int, int, list[str]]:
    """(identical articles, articles of either, what differs): an article is identical
    when both hold its URL with the same current text, number of versions and history."""
    urls = set(a.hashes) | set(b.hashes)
    same = sum(1 for u in urls if a.hashes.get(u) == b.hashes.get(u)
               and a.history.get(u) == b.history.get(u))
    diffs = []
    for label, only in (("only merged", set(a.hashes) - set(b.hashes)),
                        ("only one-archive", set(b.hashes) - set(a.hashes))):
        if only:
            diffs.append(f"{len(only)} URLs {label}, e.g. {min(only)}")
    both = set(a.hashes) & set(b.hashes)
    text = sorted(u for u in both if a.hashes[u][0] != b.hashes[u][0])
    count = sorted(u for u in both if a.hashes[u][1] != b.hashes[u][1])
    hist = sorted(u for u in both if a.history[u] != b.history[u])
    for label, found in (("current text", text), ("version count", count),
                         ("older versions", hist)):
        if found:
            diffs.append(f"{len(found)} differ in {label}, e.g. {found[0]}")
    if a.stories != b.stories:
        diffs.append(f"stories {a.stories:,} merged vs {b.stories:,}")
    elif a.groups != b.groups:
        diffs.append(f"{len(a.groups ^ b.groups)} stories grouped differently")
    return same, len(urls), diffs


def merge_rows(size: int, work: Path, config: Path, log=print) -> list[Row]:
    files = merge_files(size, log=log)
    paths = [p for p, _ in files]
    manifests = [m for _, m in files]
    parts, walls = [], []
    for j, path in enumerate(paths):
        log(f"warc: merge part {j + 1} of {len(paths)} ...")
        db = _fresh(work / f"part-{j}.db")
        walls.append(run_import([path], db, config, work).wall)
        parts.append(db)
    log("warc: ipnews merge ...")
    merged_db = _fresh(work / "merged.db")
    mc = merge(merged_db, parts, work)
    log("warc: the same files into one archive ...")
    one_db = _fresh(work / "one.db")
    oc = run_import(paths, one_db, config, work)
    # importing.py says files may come in any order (a page's capture time places it):
    # the newest file first must give the same archive.
    log("warc: the same files into one archive, newest first ...")
    reverse_db = _fresh(work / "reverse.db")
    rc = run_import(paths[::-1], reverse_db, config, work)
    merged, one = Archive.read(merged_db), Archive.read(one_db)
    same, total, diffs = _compare(merged, one)
    r_same, r_total, r_diffs = _compare(Archive.read(reverse_db), one)
    ok, detail = _against_manifest(one, manifests)
    part_articles = sum(Archive.read(p).articles for p in parts)
    label = f"{MERGE_FILES} x {warcgen.size_label(size)}"
    shared = _shared(manifests)
    return [
        Row(f"merge {label}", f"{MERGE_FILES} WARCs imported apart then merged, against "
            "imported one after another into one archive",
            f"identical {same:,} of {total:,} articles", "all identical",
            verdict(same == total and not diffs),
            "; ".join([*diffs, f"stories {merged.stories:,} / {one.stories:,}",
                       f"versions {merged.versions:,} / {one.versions:,}",
                       f"{shared}; one archive vs the manifests: "
                       + ("as expected" if ok else "NOT as expected") + f" ({detail})"])),
        Row(f"merge {label}", "the same files imported newest first, against oldest first",
            f"identical {r_same:,} of {r_total:,} articles", "all identical",
            verdict(r_same == r_total and not r_diffs),
            "; ".join([*r_diffs, f"{rc.wall:.1f} s wall"])),
        Row(f"merge {label}", f"ipnews merge of {MERGE_FILES} archives: wall / articles/s",
            f"{mc.wall:.2f} s, {part_articles / mc.wall:,.0f} articles/s",
            note=f"{part_articles:,} articles in the parts, {merged.articles:,} after; CPU "
                 f"{mc.cpu:.2f} s; peak RSS {_peak(mc):.0f} MB; imports: apart "
                 f"{sum(walls):.1f} s ({' + '.join(f'{w:.1f}' for w in walls)}), "
                 f"into one {oc.wall:.1f} s"),
    ]


def _shared(manifests: list[warcgen.Manifest]) -> str:
    """How much the files overlap: the point of the exercise."""
    files_of: dict[str, int] = {}
    texts: dict[str, set[int]] = {}
    for m in manifests:
        for url, entry in m.owned.items():
            if entry["ip"]:
                files_of[url] = files_of.get(url, 0) + 1
                texts.setdefault(url, set()).update(entry["versions"])
    several = sum(1 for n in files_of.values() if n > 1)
    edited = sum(1 for v in texts.values() if len(v) > 1)
    return (f"{len(files_of):,} IP stories over the files, {several:,} in 2+ files, "
            f"{edited:,} edited")


def run(size: int, merge_size: int, log=print) -> list[Row]:
    with tempfile.TemporaryDirectory(prefix="ipnews-bench-warc-") as tmp:
        work = Path(tmp)
        config = write_config(work / "config.toml")
        rows = import_rows(size, work, config, log=log)
        try:
            rows += merge_rows(merge_size, work, config, log=log)
        except RuntimeError as exc:  # keep the import's figures if merge fails
            rows.append(Row(f"merge {MERGE_FILES} x {warcgen.size_label(merge_size)}",
                            "merge", "failed", status="ERROR", note=str(exc)[-300:]))
    return rows
