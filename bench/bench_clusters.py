"""One story, many copies: the quality and the cost of ipnews's near-duplicate clustering.

An archive of n articles from wirecopies.py (wire stories, their copies with editors'
edits, and near misses that differ from a story in one fact), made by `Archive.open` so the
schema is the real one, then filled by bulk insert (as archive.py does: FTS triggers
dropped, the index built once, the triggers restored). Then:

- the real full rebuild, `Archive.rebuild_stories()` (entities, fingerprints, bands and
  stories of every article, in one transaction), timed;
- its quality against the generator's truth: pair precision and recall (pairs of articles
  of one true story against pairs with one story_id, counted per cell, never pair by
  pair), near-miss pairs merged by the fact that differs, stories whose copies all met;
- what the fingerprints, bands and entities add to the file (SQLite's dbstat);
- a later night: new articles (new stories and late copies of stored ones) stored through
  the real `Archive.save`, each timed whole and in its clustering part (`store._cluster`,
  wrapped in this process), on this archive and on one a tenth of its size: the cost of a
  new article must not grow with the archive.

The pre-rebuild archive is cached in bench/.cache/ (keyed by size, generator, seed, schema
and fingerprint scheme); each run works on a copy in a temporary directory. Diagnostics of
the pairs that went wrong are written to bench/results/clusters-<n>.txt.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import os
import shutil
import sqlite3
import statistics
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import archive
import wirecopies
from measure import CACHE, RESULTS, Row, median, ms, percentile, verdict

import ipnews.store as store
from ipnews.article import Article
from ipnews.clustering import SAME, conflicts, containment, scheme, unpack, unpack_facts
from ipnews.store import SCHEMA_VERSION, Archive

AREA = "clusters"
SEEN_AT = "2025-12-31T00:00:00+00:00"
NEW_ARTICLES = 1_000  # a night's worth, stored through Archive.save
GROWTH_LIMIT = 1.5  # the clustering part at n against n/10: above this, it grows
# Which fact field holds what a near miss changed.
NIGHT = datetime(2031, 1, 1, 2, 0, tzinfo=wirecopies.SHANGHAI)  # after every stored article
FACT_FIELD = {"number": "number", "place": "city", "date": "date", "party": "brand",
              "case": "case", "patent": "patent"}


# --- the archive ------------------------------------------------------------------------
def cache_path(n: int, seed: int = wirecopies.DEFAULT_SEED) -> Path:
    fp = hashlib.sha256(scheme().encode()).hexdigest()[:8]  # how fingerprints are made
    return CACHE / (f"clusters-{n}-g{wirecopies.GENERATOR_VERSION}-s{seed}-v{SCHEMA_VERSION}"
                    f"-{fp}.db")


def _rows(wc: wirecopies.WireCopies, n: int, truth: list, dups: Counter) -> Iterator[tuple]:
    from ipnews.bigrams import index_text

    seen: set[str] = set()
    for d in wc.articles(n):
        a = Article(source=d["source"], url=d["url"], title=d["title"], body=d["body"],
                    published_at=d["published_at"], summary=d["summary"],
                    language=d["language"])
        if a.body_hash in seen:
            # Archive.save would link this URL to the stored text, not store a row.
            dups["same body"] += 1
            continue
        seen.add(a.body_hash)
        truth.append([a.url, d["story"], d["near_miss_of"], d["changed"], d["edits"]])
        yield (a.source, a.url, a.title, a.published_at, a.summary, a.language, a.body,
               a.body_hash, a.content_hash, SEEN_AT, SEEN_AT, index_text(a.title),
               index_text(a.summary, a.body))


def build(path: Path, n: int, seed: int, log=print) -> dict:
    """The archive of the first n generated articles, not yet clustered, and its truth."""
    tmp, conn, triggers = archive.bulk_file(path)
    truth: list = []
    dups: Counter = Counter()
    insert_s, index_s = archive.fill(conn, triggers, _rows(wirecopies.WireCopies(seed), n,
                                                           truth, dups), (
        "source", "url", "title", "published_at", "summary", "language", "body", "body_hash",
        "content_hash", "first_seen", "last_seen", "zh_title", "zh_text"))
    conn.close()
    os.replace(tmp, path)
    meta = {"n": n, "rows": len(truth), "seed": seed,
            "generator": wirecopies.GENERATOR_VERSION, "scheme": scheme(),
            "duplicates": dups["same body"], "insert_s": round(insert_s, 2),
            "index_s": round(index_s, 2), "file_bytes": path.stat().st_size,
            "built_at": time.strftime("%Y-%m-%d %H:%M"), "truth": truth}
    path.with_suffix(".json").write_text(json.dumps(meta), encoding="utf-8")
    return meta


def ensure(n: int, seed: int = wirecopies.DEFAULT_SEED, log=print) -> tuple[Path, dict]:
    path = cache_path(n, seed)
    meta_path = path.with_suffix(".json")
    if path.exists() and meta_path.exists():
        return path, json.loads(meta_path.read_text(encoding="utf-8"))
    log(f"clusters: building an archive of {n:,} wire copies in {path} ...")
    meta = build(path, n, seed, log)
    log(f"clusters: built ({meta['rows']:,} rows, {meta['duplicates']} exact copies linked "
        f"instead, insert {meta['insert_s']} s, FTS {meta['index_s']} s)")
    return path, meta


# --- sizes ------------------------------------------------------------------------------
STORY_TABLES = ("fingerprints", "fingerprint_bands",
                "entities", "idx_entities_kind_key", "idx_articles_story_id")


def table_bytes(path: Path) -> dict[str, int]:
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return dict(conn.execute("SELECT name, sum(pgsize) FROM dbstat GROUP BY name"))
    except sqlite3.OperationalError:  # an SQLite built without dbstat
        return {}
    finally:
        conn.close()


def _mb(n: float) -> str:
    return f"{n / 2**20:,.1f} MB"


# --- quality ----------------------------------------------------------------------------
def _pairs(counts: Counter) -> int:
    return sum(c * (c - 1) // 2 for c in counts.values())


class Truth:
    """The generator's truth for the stored rows, by article id."""

    def __init__(self, conn: sqlite3.Connection, truth: list) -> None:
        by_url = {url: (story, nm, changed, edits) for url, story, nm, changed, edits in truth}
        self.story: dict[int, str] = {}
        self.near_miss_of: dict[str, str] = {}
        self.changed: dict[str, str] = {}
        self.edits: dict[int, list[str]] = {}
        self.language: dict[int, str] = {}
        self.url: dict[int, str] = {}
        for i, url, language in conn.execute("SELECT id, url, language FROM articles"):
            if url not in by_url:
                continue
            story, nm, changed, edits = by_url[url]
            self.story[i] = story
            self.edits[i] = edits
            self.language[i] = language
            self.url[i] = url
            if nm:
                self.near_miss_of[story] = nm
                self.changed[story] = changed
        self.members: dict[str, list[int]] = defaultdict(list)
        for i, s in self.story.items():
            self.members[s].append(i)


def _states(conn: sqlite3.Connection, ids: list[int], value: str) -> dict[int, bool]:
    marks = ",".join("?" * len(ids))
    return {i: value in body for i, body in conn.execute(
        f"SELECT id, body FROM articles WHERE id IN ({marks})", ids)}


def quality(conn: sqlite3.Connection, truth: Truth, wc: wirecopies.WireCopies) -> dict:
    pred = {i: s for i, s in conn.execute("SELECT id, story_id FROM articles")
            if i in truth.story}
    ids = list(truth.story)
    out: dict = {}
    for lang in (None, "en", "zh"):
        chosen = [i for i in ids if lang is None or truth.language[i] == lang]
        t = _pairs(Counter(truth.story[i] for i in chosen))
        p = _pairs(Counter(pred[i] for i in chosen))
        tp = _pairs(Counter((truth.story[i], pred[i]) for i in chosen))
        out[lang or "all"] = {"true": t, "predicted": p, "tp": tp,
                              "precision": tp / p if p else 1.0, "recall": tp / t if t else 1.0}
    # Near misses: pairs (an article of the story, one of its near miss) with one story_id.
    # A pair can be told apart only if both texts still state the fact that differs: a copy
    # trimmed of the paragraph with the case number is, as text, a copy of the other story.
    near: Counter = Counter()
    near_lang: Counter = Counter()
    near_pairs: Counter = Counter()
    near_stories: Counter = Counter()
    near_merged: list[tuple[int, int]] = []
    blind: Counter = Counter()  # pairs where one copy lost the fact
    blind_merged: Counter = Counter()
    for label, original in truth.near_miss_of.items():
        if original not in truth.members:
            continue
        kind = truth.changed[label]
        field = FACT_FIELD[kind]
        xs, ys = truth.members[original], truth.members[label]
        has = {**_states(conn, xs, wc.story_by_label(original).facts[field]),
               **_states(conn, ys, wc.story_by_label(label).facts[field])}
        near_stories[kind] += 1
        for x, y in itertools.product(xs, ys):
            if not (has[x] and has[y]):
                blind[kind] += 1
                blind_merged[kind] += pred[x] == pred[y]
                continue
            near_pairs[kind] += 1
            if pred[x] == pred[y]:
                near[kind] += 1
                near_lang[kind, truth.language[x]] += 1
                near_merged.append((x, y))
    out["near"], out["near_pairs"], out["near_stories"] = near, near_pairs, near_stories
    out["near_lang"], out["blind"], out["blind_merged"] = near_lang, blind, blind_merged
    out["near_merged"] = near_merged
    multi = [s for s, m in truth.members.items() if len(m) > 1]
    whole = {s for s in multi if len({pred[i] for i in truth.members[s]}) == 1}
    out["multi"], out["whole"] = len(multi), len(whole)
    out["missed"] = [(x, y) for s in multi if s not in whole
                     for x, y in itertools.combinations(truth.members[s], 2)
                     if pred[x] != pred[y]]
    # Merges of unrelated stories (neither a near miss of the other).
    clusters: dict[int, list[int]] = defaultdict(list)
    for i in ids:
        clusters[pred[i]].append(i)
    other = []
    for members in clusters.values():
        labels = {truth.story[i] for i in members}
        if len(labels) < 2:
            continue
        for x, y in itertools.combinations(members, 2):
            sx, sy = truth.story[x], truth.story[y]
            if sx != sy and truth.near_miss_of.get(sx) != sy and truth.near_miss_of.get(sy) != sx:
                other.append((x, y))
    out["other_merged"] = other
    out["stories"] = len(set(pred.values()))
    out["true_stories"] = len(truth.members)
    return out


# --- diagnostics ------------------------------------------------------------------------
def _fingerprints(conn: sqlite3.Connection, ids: set[int]) -> dict[int, tuple]:
    out = {}
    ids_list = sorted(ids)
    for start in range(0, len(ids_list), 500):
        chunk = ids_list[start:start + 500]
        marks = ",".join("?" * len(chunk))
        for i, size, sig, facts in conn.execute(
                f"SELECT article_id, size, signature, facts FROM fingerprints WHERE article_id "
                f"IN ({marks})", chunk):
            out[i] = (unpack(sig), size, unpack_facts(facts))
    bands: dict[int, set[int]] = defaultdict(set)
    for start in range(0, len(ids_list), 500):
        chunk = ids_list[start:start + 500]
        marks = ",".join("?" * len(chunk))
        for key, i in conn.execute(f"SELECT key, article_id FROM fingerprint_bands WHERE "
                                   f"article_id IN ({marks})", chunk):
            bands[i].add(key)
    return {i: (*v, bands[i]) for i, v in out.items()}


def _pair_report(fp: dict[int, tuple], x: int, y: int) -> tuple[str, float | None, list[str]]:
    if x not in fp or y not in fp:
        return "no fingerprint (too short)", None, []
    sx, nx, fx, bx = fp[x]
    sy, ny, fy, by = fp[y]
    c = containment(sx, nx, sy, ny)
    keys = sorted(conflicts(fx, fy))
    if not bx & by:
        return "not a candidate (no band shared)", c, keys
    if c < SAME:
        return f"containment below {SAME}", c, keys
    if keys:
        return "guard: a fact differs", c, keys
    return "alike, split by another copy or the order", c, keys


def diagnose(conn: sqlite3.Connection, truth: Truth, q: dict, wc: wirecopies.WireCopies,
             n: int) -> tuple[dict, list[str]]:
    """Why pairs were missed or merged: counts for the table, lines for the file."""
    pairs = q["missed"] + q["near_merged"] + q["other_merged"]
    fp = _fingerprints(conn, {i for p in pairs for i in p})
    lines = [f"# clusters diagnostics, {n:,} articles ({time.strftime('%Y-%m-%d %H:%M')})", ""]
    causes: Counter = Counter()
    keys: Counter = Counter()
    key_example: dict[str, str] = {}
    examples: dict[str, list[str]] = defaultdict(list)
    edit_pairs: Counter = Counter()
    for x, y in q["missed"]:
        cause, c, conflicting = _pair_report(fp, x, y)
        causes[cause] += 1
        for k in conflicting:
            keys[k] += 1
            key_example.setdefault(k, f"{fp[x][2][k]} vs {fp[y][2][k]}")
        ex, ey = (sorted({e.split(':')[0] for e in truth.edits[i]}) for i in (x, y))
        edit_pairs[" / ".join(sorted(("+".join(ex) or "-", "+".join(ey) or "-")))] += 1
        if len(examples[cause]) < 3:
            examples[cause].append(
                f"  - {truth.story[x]}: {truth.url[x]} edits {truth.edits[x]} | {truth.url[y]} "
                f"edits {truth.edits[y]}: containment {c if c is None else round(c, 3)}"
                + (f", conflicts {[(k, fp[x][2][k], fp[y][2][k]) for k in conflicting]}"
                   if conflicting else ""))
    lines.append(f"## Missed pairs: {len(q['missed']):,} (same story, two story ids)")
    for cause, count in causes.most_common():
        lines.append(f"- {cause}: {count:,}")
        lines += examples[cause]
    if keys:
        lines.append("- conflicting keys: " + ", ".join(
            f"{k!r} {v} (e.g. {key_example[k]})" for k, v in keys.most_common(12)))
    lines.append("- edits of the two copies (most frequent): " + "; ".join(
        f"{k}: {v}" for k, v in edit_pairs.most_common(8)))
    lines += ["", f"## Near-miss pairs merged: {len(q['near_merged']):,}"]
    near_examples: dict[str, int] = Counter()
    for x, y in q["near_merged"]:
        label = truth.story[y]
        kind = truth.changed[label]
        if near_examples[kind] >= 3:
            continue
        near_examples[kind] += 1
        field = FACT_FIELD[kind]
        old = wc.story_by_label(truth.story[x]).facts.get(field)
        new = wc.story_by_label(label).facts.get(field)
        _, c, conflicting = _pair_report(fp, x, y)
        fx, fy = fp.get(x, (0, 0, {}))[2], fp.get(y, (0, 0, {}))[2]
        differ = {k: (fx.get(k), fy.get(k)) for k in sorted(fx.keys() | fy.keys())
                  if fx.get(k) != fy.get(k)}
        lines.append(f"- {kind}: {old!r} -> {new!r} ({truth.language[x]}), containment "
                     f"{c if c is None else round(c, 3)}; {truth.url[x]} | {truth.url[y]}; "
                     f"keys whose values differ: {dict(list(differ.items())[:6])}")
    lines += ["", f"## Unrelated stories merged: {len(q['other_merged']):,} pairs"]
    for x, y in q["other_merged"][:5]:
        _, c, _ = _pair_report(fp, x, y)
        lines.append(f"- {truth.story[x]} ({truth.url[x]}) with {truth.story[y]} "
                     f"({truth.url[y]}): containment {c if c is None else round(c, 3)}")
    return {"causes": causes, "keys": keys}, lines


# --- the runs ---------------------------------------------------------------------------
def _log_progress(log):
    last = [0.0]

    def progress(what: str, done: int, total: int) -> None:
        now = time.perf_counter()
        if done == total or now - last[0] > 30:
            last[0] = now
            log(f"clusters: {what} {done:,} / {total:,}")
    return progress


def rebuild(work: Path, log=print) -> tuple[float, int]:
    archive = Archive.open(work)
    old = store.migration_progress
    store.migration_progress = _log_progress(log)
    try:
        start = time.perf_counter()
        stories = archive.rebuild_stories()
        elapsed = time.perf_counter() - start
    finally:
        store.migration_progress = old
        archive.close()
    return elapsed, stories


def incremental(work: Path, new: list[dict]) -> dict:
    """Store the new articles through Archive.save, timing each save and its _cluster."""
    original = store._cluster
    cluster_times: list[float] = []

    def timed(*args, **kwargs):
        start = time.perf_counter()
        try:
            return original(*args, **kwargs)
        finally:
            cluster_times.append(time.perf_counter() - start)

    archive = Archive.open(work)
    store._cluster = timed
    saves: list[float] = []
    outcomes: Counter = Counter()
    saved: dict[str, int] = {}
    try:
        for d in new:
            article = Article(source=d["source"], url=d["url"], title=d["title"],
                              body=d["body"], published_at=d["published_at"],
                              summary=d["summary"], language=d["language"])
            start = time.perf_counter()
            result = archive.save(article)
            saves.append(time.perf_counter() - start)
            outcomes[result.outcome] += 1
            saved[d["url"]] = result.article_id
    finally:
        store._cluster = original
        archive.close()
    return {"save": saves, "cluster": cluster_times, "outcomes": outcomes, "ids": saved}


def measure_size(n: int, new_count: int, log=print, more_labels: list[str] | None = None,
                 diagnostics: bool = True) -> dict:
    """Build (or reuse) the archive of n articles, rebuild its stories, judge them, then
    store a night of new articles. Returns every figure."""
    path, meta = ensure(n, log=log)
    wc = wirecopies.WireCopies(meta["seed"])
    out: dict = {"n": n, "meta": meta}
    with tempfile.TemporaryDirectory(prefix="ipnews-bench-clusters-") as tmp:
        work = Path(tmp) / "clusters.db"
        shutil.copyfile(path, work)
        before = table_bytes(work)
        size_before = work.stat().st_size
        log(f"clusters: rebuilding the stories of {meta['rows']:,} articles ...")
        out["rebuild_s"], out["stories"] = rebuild(work, log)
        log(f"clusters: rebuild {out['rebuild_s']:.1f} s, {out['stories']:,} stories")
        out["bytes_before"], out["bytes_after"] = before, table_bytes(work)
        out["file_before"], out["file_after"] = size_before, work.stat().st_size
        conn = sqlite3.connect(f"file:{work}?mode=ro", uri=True)
        try:
            truth = Truth(conn, meta["truth"])
            q = quality(conn, truth, wc)
            out["quality"] = q
            if diagnostics:
                out["diag"], lines = diagnose(conn, truth, q, wc, n)
                RESULTS.mkdir(parents=True, exist_ok=True)
                report = RESULTS / f"clusters-{n}.txt"
                report.write_text("\n".join(lines) + "\n", encoding="utf-8")
                out["report"] = report
            last = conn.execute("SELECT max(published_at), max(id) FROM articles").fetchone()
        finally:
            conn.close()
        # The same night for both sizes: late copies of stories both archives hold.
        labels = more_labels or sorted(truth.members)
        new = wc.more(new_count, labels, NIGHT)
        out["more_labels"] = labels
        log(f"clusters: saving {len(new):,} new articles through Archive.save ...")
        inc = incremental(work, new)
        out["incremental"] = inc
        # Late copies of stored stories: did each join the story its stored copies have?
        conn = sqlite3.connect(f"file:{work}?mode=ro", uri=True)
        try:
            story_of = dict(conn.execute("SELECT id, story_id FROM articles"))
        finally:
            conn.close()
        stored_story: dict[str, Counter] = defaultdict(Counter)
        for i, label in truth.story.items():
            stored_story[label][story_of[i]] += 1
        late_ok = late = fresh_apart = fresh = 0
        for d in new:
            i = inc["ids"][d["url"]]
            if i <= last[1]:  # linked to a stored row (same text)
                late += d["story"] in stored_story
                late_ok += d["story"] in stored_story
                continue
            if d["story"] in stored_story:
                late += 1
                late_ok += story_of[i] == stored_story[d["story"]].most_common(1)[0][0]
            else:
                fresh += 1
                fresh_apart += story_of[i] > last[1]
        out["late"], out["late_ok"], out["fresh"], out["fresh_apart"] = (late, late_ok, fresh,
                                                                        fresh_apart)
    return out


# --- the rows ---------------------------------------------------------------------------
def _pct(x: float) -> str:
    return f"{100 * x:.2f}%" if x < 0.9995 else f"{100 * x:.3f}%"


def _short(n: int) -> str:
    return f"{n // 1000}k" if n % 1000 == 0 else f"{n:,}"


def rows_for(big: dict, small: dict) -> list[Row]:
    n, rows_n = big["n"], big["meta"]["rows"]
    q = big["quality"]
    rows = []
    per = big["rebuild_s"] / rows_n
    rows.append(Row(
        AREA, f"full rebuild (Archive.rebuild_stories), {_short(n)} articles",
        f"{big['rebuild_s']:.0f} s, {ms(per)}/article", "stated",
        note=f"{_short(small['n'])}: {small['rebuild_s']:.1f} s, "
             f"{ms(small['rebuild_s'] / small['meta']['rows'])}/article. Entities, MinHash "
             f"and bands, candidates, guard and story of every article, in one transaction; "
             f"{big['stories']:,} stories found for {q['true_stories']:,} true ones "
             f"({rows_n:,} rows; {big['meta']['duplicates']:,} further copies had an "
             "identical text and were left out, as Archive.save links them instead)."))
    a, en, zh = q["all"], q["en"], q["zh"]
    sq = small["quality"]["all"]
    other = len(q["other_merged"])
    rows.append(Row(
        AREA, f"pair precision / recall, {_short(n)} articles",
        f"P {_pct(a['precision'])} / R {_pct(a['recall'])}", "",
        note=f"pairs of copies of one story: {a['true']:,}, found {a['tp']:,}; pairs put "
             f"together: {a['predicted']:,}. English P {_pct(en['precision'])} / R "
             f"{_pct(en['recall'])}, Chinese P {_pct(zh['precision'])} / R "
             f"{_pct(zh['recall'])}; {_short(small['n'])}: P {_pct(sq['precision'])} / R "
             f"{_pct(sq['recall'])}. Unrelated stories merged: {other:,} pairs."
             + _causes_note(big)))
    near, total = q["near"], sum(q["near"].values())
    kinds = [k for k in wirecopies.FACT_KINDS if q["near_pairs"][k]]
    by_lang = ", ".join(f"{k} {lang} {v}" for (k, lang), v in sorted(q["near_lang"].items()))
    blind = sum(q["blind"].values())
    # The target: no copies that differ in a number merged (a count, a case or a
    # patent number); places, dates and parties are reported beside it.
    numbers = sum(near[k] for k in ("number", "case", "patent") if k in near)
    rows.append(Row(
        AREA, "near misses merged (another story, one fact changed)",
        f"{total:,} of {sum(q['near_pairs'].values()):,} pairs; differing in a number "
        f"(count, case or patent number): {numbers}",
        "0 false merges of copies differing in a number", verdict(numbers == 0),
        note="by the fact changed (merged / pairs, stories): " + ", ".join(
            f"{k} {near[k]} / {q['near_pairs'][k]} ({q['near_stories'][k]})" for k in kinds)
             + (f"; by language: {by_lang}" if by_lang else "")
             + f". Not counted: {blind:,} pairs where one copy no longer states the fact "
               f"(trimmed away; as text, a copy), {sum(q['blind_merged'].values()):,} of them "
               f"merged. {_short(small['n'])}: {sum(small['quality']['near'].values())} "
               "merged."
             + (f" Examples in {big['report'].relative_to(RESULTS.parent.parent)}."
                if total and "report" in big else "")))
    rows.append(Row(
        AREA, "stories whose copies all met",
        f"{q['whole']:,} of {q['multi']:,} ({_pct(q['whole'] / q['multi'])})", "",
        note=f"true stories with 2+ stored copies; {_short(small['n'])}: "
             f"{small['quality']['whole']:,} of {small['quality']['multi']:,}."))
    rows.append(_size_row(big))
    rows += _incremental_rows(big, small)
    return rows


def _causes_note(big: dict) -> str:
    diag = big.get("diag")
    if not diag or not diag["causes"]:
        return ""
    causes = ", ".join(f"{c} {v:,}" for c, v in diag["causes"].most_common())
    keys = ", ".join(f"{k} {v:,}" for k, v in diag["keys"].most_common(4))
    return (f" Missed pairs by cause: {causes}" + (f"; guard keys: {keys}" if keys else "")
            + f" (examples in {big['report'].relative_to(RESULTS.parent.parent)}).")


def _size_row(big: dict) -> Row:
    before, after = big["bytes_before"], big["bytes_after"]
    rows_n = big["meta"]["rows"]
    if not after:
        grown = big["file_after"] - big["file_before"]
        return Row(AREA, "database size of the stories", f"{_mb(grown)} (file growth)", "",
                   note="SQLite without dbstat: the file's growth only")
    added = {t: after.get(t, 0) - before.get(t, 0) for t in STORY_TABLES}
    total = sum(added.values())
    fts = sum(after.get(t, 0) - before.get(t, 0) for t in after if t.startswith("articles_fts"))
    arts = sum(after.get(t, 0) - before.get(t, 0) for t in after
               if t == "articles" or (t.startswith("idx_articles")
                                      and t != "idx_articles_story_id"))
    parts = ", ".join(f"{t} {_mb(v)}" for t, v in added.items() if v)
    return Row(AREA, "database size of the stories (fingerprints, bands, entities)",
               f"{_mb(total)}, {total / rows_n:,.0f} bytes/article", "",
               note=f"{parts} (dbstat); the FTS index changed by {_mb(fts)} and articles by "
                    f"{_mb(arts)} in the same rebuild; file {_mb(big['file_before'])} -> "
                    f"{_mb(big['file_after'])}.")


def _incremental_rows(big: dict, small: dict) -> list[Row]:
    ib, is_ = big["incremental"], small["incremental"]

    def fig(times: list[float]) -> str:
        return f"{ms(median(times))} (p95 {ms(percentile(times, 95))})"

    cb, cs = median(ib["cluster"]), median(is_["cluster"])
    ratio = cb / cs
    outcomes = ", ".join(f"{k} {v}" for k, v in sorted(ib["outcomes"].items()))
    return [
        Row(AREA, f"new article, whole Archive.save: at {_short(big['n'])} / at "
                  f"{_short(small['n'])}",
            f"{fig(ib['save'])} / {fig(is_['save'])}", "stated",
            note=f"{len(ib['save']):,} new articles (new stories, late copies of stored ones), "
                 f"one transaction each (journal, fsync); outcomes: {outcomes}; mean "
                 f"{ms(statistics.fmean(ib['save']))} / {ms(statistics.fmean(is_['save']))}."),
        Row(AREA, f"new article, its clustering (store._cluster): at {_short(big['n'])} / at "
                  f"{_short(small['n'])}",
            f"{fig(ib['cluster'])} / {fig(is_['cluster'])}",
            f"no growth with the archive (<= {GROWTH_LIMIT}x)", verdict(ratio <= GROWTH_LIMIT),
            note=f"{ratio:.2f}x from {_short(small['n'])} to {_short(big['n'])}; "
                 f"{len(ib['cluster']):,} calls (a text stored already is linked, not "
                 f"clustered); mean {ms(statistics.fmean(ib['cluster']))} / "
                 f"{ms(statistics.fmean(is_['cluster']))}; the share of a save: "
                 f"{sum(ib['cluster']) / sum(ib['save']):.0%}. Late copies that joined their "
                 f"stored story: {big['late_ok']} of {big['late']} (at {_short(small['n'])}: "
                 f"{small['late_ok']} of {small['late']}); new stories' articles kept apart "
                 f"from the stored ones: {big['fresh_apart']} of {big['fresh']}."),
    ]


def run(n: int, log=print, new: int = NEW_ARTICLES) -> list[Row]:
    """The archive of n articles and one of n/10: quality at n, cost at both."""
    small_n = max(1_000, n // 10)
    small = measure_size(small_n, new, log=log, diagnostics=False)
    big = measure_size(n, new, log=log, more_labels=small["more_labels"])
    return rows_for(big, small)
