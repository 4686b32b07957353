"""What the archive can prove about an article: `ipnews verify` and `show --evidence`.

verify checks three things per article, and says which failed:
- raw: the stored page still has the sha256 recorded when it was fetched (intact), or its
  bytes cannot be read (damaged) or hash to something else (altered);
- row: the stored text still has the hash it was stored with (a row edited by hand, or by
  another program, shows as altered);
- text: today's parser, run on the stored page, gives the stored text (same), or not
  (differs: which fields, and how many words each way). A parser fixed since the text was
  stored differs too: `ipnews reextract` then stores the new text as a version.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from typing import Any

from ipnews.errors import ExtractError, Interrupted
from ipnews.formats import safe
from ipnews.sources.base import Source
from ipnews.warc import payload_digest
from ipnews.worker import Extractor, InProcess

TEXT_FIELDS = ("title", "summary", "body")


def verify(conn: sqlite3.Connection, sources: dict[str, Source], ids: list[int] | None,
           extractor: Extractor | InProcess, stop: threading.Event | None = None
           ) -> Iterator[dict[str, Any]]:
    """One record per article checked, in id order (or the order of ids)."""
    from ipnews.pipeline import extract_stored
    from ipnews.store import as_capture, capture_at, verifiable

    for found in verifiable(conn, ids):
        if stop is not None and stop.is_set():
            raise Interrupted(getattr(stop, "signum", 2))
        article, capture = found["article"], found["capture"]
        record: dict[str, Any] = {
            "id": article["id"], "source": article["source"], "url": article["url"],
            "fetched_at": capture["fetched_at"] if capture else None,
            "sha256": capture["sha256"] if capture else None,
            "raw": found["raw"], "row": article["row"], "text": "not checked",
            "differs": [], "detail": None}
        source = sources.get(article["source"])
        if found["raw"] != "intact":
            record["detail"] = {"none": "stored without its page (keep_raw = false)",
                                "missing": "its capture row is gone",
                                "damaged": "the stored page cannot be decompressed",
                                "altered": "the stored page does not match its sha256"
                                }[found["raw"]]
        elif source is None:
            record["detail"] = f"source {article['source']} is not configured here"
        else:
            try:
                fresh = extract_stored(source, extractor, as_capture(capture), article,
                                       lambda url: capture_at(conn, url))
            except ExtractError as exc:
                if exc.kind == "interrupted":
                    raise Interrupted(getattr(stop, "signum", 2)) from exc
                record["text"], record["detail"] = "failed", str(exc)
            else:
                if fresh.content_hash == article["text_hash"]:
                    record["text"] = "same"
                else:
                    record["text"] = "differs"
                    record["differs"], record["detail"] = _differences(article, fresh)
        record["ok"] = (record["raw"] in ("intact", "none") and record["row"] == "intact"
                        and record["text"] in ("same", "not checked"))
        yield record


def _differences(stored: dict[str, Any], fresh: Any) -> tuple[list[str], str]:
    from ipnews.diffing import diff_versions, tokens

    new = {f: getattr(fresh, f) for f in TEXT_FIELDS}
    fields, parts = [], []
    for diff in diff_versions(stored, new, fields=TEXT_FIELDS):
        if not diff.changed:
            continue
        fields.append(diff.field)
        words = {"insert": 0, "delete": 0}
        for change in diff.changes:
            if change.op in words:
                words[change.op] += sum(1 for t in tokens(change.text) if t.strip())
        parts.append(f"{diff.field} +{words['insert']}/-{words['delete']} words")
    if [a.get("url") for a in stored.get("attachments") or ()] != \
            [a.get("url") for a in fresh.attachments]:
        fields.append("attachments")
        parts.append("attached files")
    return fields, "today's parser gives: " + ", ".join(parts or ["the same words"])


def render_evidence(found: dict[str, Any]) -> str:
    """The evidence record as plain text a lawyer can attach to a memo."""
    lines = [f"Evidence for ipnews article {found['id']}: {found['title']}",
             f"  Canonical URL    {found['url']}",
             f"  Source           {found['source']}",
             f"  First stored     {found['first_seen']} (UTC)",
             f"  Last seen        {found['last_seen']} (UTC)",
             f"  Versions         {found['version']} (text sha256 of the current one: "
             f"{found['content_hash']})"]
    others = [u for u in found["urls"] if u["url"] != found["url"]]
    for u in others:
        lines.append(f"  Also at          {u['url']} ({u['kind'].replace('_', ' ')}, "
                     f"first seen {u['first_seen']})")
    for entry in found["captures"]:
        which = "current text" if entry["version"] == found["version"] else "earlier text"
        lines += ["", f"Version {entry['version']} ({which}, stored {entry['text_stored_at']})"]
        capture = entry["capture"]
        if capture is None:
            lines.append("  No page capture is kept for this text (keep_raw was off, or it "
                         "was re-extracted from an earlier capture).")
            continue
        exchange = capture.get("exchange") or {}
        version = exchange.get("http_version") or "HTTP/1.1"
        asked = capture["final_url"] or capture["url"]
        lines += [f"  Capture          {capture['id']}",
                  f"  Fetched at       {capture['fetched_at']} (UTC)",
                  f"  Requested        GET {asked} {version}"]
        for hop in exchange.get("redirects") or ():
            lines.append(f"  Redirected from  {hop}")
        reason = exchange.get("reason") or ""
        lines += [f"  Response         {version} {capture['status']} {reason}".rstrip(),
                  f"  Size             {capture['size']:,} bytes (body as received, "
                  "content-encoding undone)",
                  f"  SHA-256          {capture['sha256']}",
                  f"  WARC digest      {payload_digest(capture['sha256'])}",
                  f"  Integrity        {capture['sha256_checked']} (checked now)"]
        run = capture.get("run")
        if run:
            lines.append(f"  Stored by        run {run['id']} ({run['source']}, started "
                         f"{run['started_at']}, ipnews {run['ipnews_version']}, status "
                         f"{run['status']})")
            if run.get("origin"):
                lines.append(f"  Run read         {run['origin']}")
        origin = capture.get("origin")
        lines.append(f"  Came from        {_origin_text(origin)}")
        sent = exchange.get("request_headers")
        if sent:
            lines.append("  Request headers")
            lines += [f"    {k}: {v}" for k, v in sent.items()]
        else:
            lines.append("  Request headers  not recorded (a capture made before ipnews "
                         "recorded them)")
        lines.append("  Response headers")
        lines += [f"    {k}: {v}" for k, v in capture["headers"].items()]
    # Headers, URLs and titles come from servers and WARC files: no control character or
    # bidirectional override reaches the page a lawyer prints.
    return "\n".join(safe(line, one_line=True) for line in lines)


def _origin_text(origin: dict[str, Any] | None) -> str:
    if not origin:
        return "the network, fetched by this archive's own run"
    if "warc" in origin:
        return (f"WARC file {origin['warc']}, record {origin.get('record')} at byte "
                f"{origin.get('offset', 0):,}")
    if "merged_from" in origin:
        inner = origin.get("origin")
        return (f"archive {origin['merged_from']} (its capture {origin.get('capture')})"
                + (f", which took it from {_origin_text(inner)}" if inner else ""))
    return str(origin)
