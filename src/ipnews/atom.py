"""Records as an Atom 1.0 feed (RFC 4287), for feed readers to follow a watch or a search:
``ipnews watch run customs --atom > ~/feeds/customs.xml``.

Written by hand, entry by entry, rather than as a DOM: an export of the whole archive should
not have to fit in memory twice. Every string goes through :func:`_text` (control characters
out, as in formats.py, and anything XML 1.0 cannot carry) before it is escaped, so a stored
title can neither break the document nor smuggle markup into a reader.

Identity: an article's entry id is a tag URI (RFC 4151) of its canonical URL, not of its row
id. The URL is the story's identity in the archive (see README, "Identity and
deduplication") and survives a rebuilt database, where row ids do not; a reader that saw the
entry once never shows it twice. Other records (entities, runs) get an id from their own
identity fields (see :func:`entry_id`).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable
from datetime import date, datetime, timezone
from typing import IO, Any
from urllib.parse import urlsplit
from xml.sax.saxutils import escape, quoteattr

from ipnews.article import CONTROLS, SHANGHAI

ATOM_NS = "http://www.w3.org/2005/Atom"

# RFC 4151: tag:authorityName,date:specific. The date is fixed for good: were it to change,
# every entry id would change with it and readers would show the whole archive again.
TAG_AUTHORITY = "ipnews,2024"

# What XML 1.0 forbids outright (§2.2). CONTROLS already covers it today; this keeps the
# document well-formed even if CONTROLS is ever narrowed for the terminal's sake.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")

# A tag URI's specific part: pchar / "/" / "?" (RFC 3986 pchar: unreserved, sub-delims, ":",
# "@", and %XX). Anything else, non-ASCII included, is percent-encoded as UTF-8.
_TAG_SAFE = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
                      "-._~!$&'()*+,;=:@/?")
_PCT = re.compile("%[0-9A-Fa-f]{2}")

# BCP 47 in outline: enough to keep a stray value out of xml:lang, which must be a tag.
_LANG = re.compile(r"[A-Za-z]{1,8}(?:-[A-Za-z0-9]{1,8})*")

# Search snippets mark matches with ** (store.make_snippet); a feed reader would show them.
_MARKS = re.compile(r"\*\*")

# The record's own title, in the order a reader would recognize it.
_TITLE_KEYS = ("title", "label", "name", "key")
# Failing those, what tells one row from the next (a run: "customs · ok · 12").
_FALLBACK_TITLE_KEYS = ("kind", "source", "status", "outcome", "id")

# When an article changed: updated_at is set only when its text changed; first_seen when it
# was archived. last_seen is not a change (every fetch that meets the story moves it), so a
# reader would mark the entry unread on every run.
_ARTICLE_UPDATED_KEYS = ("updated_at", "first_seen")
# Other rows: their latest activity, which is also when what they show (a count, a status)
# last changed.
_ROW_UPDATED_KEYS = ("updated_at", "last_seen", "finished_at", "checked_at", "at",
                     "captured_at", "applied_at", "started_at", "first_seen", "published_at")
_PUBLISHED_KEYS = ("published_at", "first_seen", "started_at")
# Keys whose naive values are the publisher's local time; every other timestamp ipnews
# records is UTC (article.utcnow), so a naive one is read as UTC.
_LOCAL_KEYS = frozenset({"published_at"})

_SUMMARY_CHARS = 300  # an opening of the body when there is no summary: entries stay small


def tag_uri(*parts: str) -> str:
    """A tag URI (RFC 4151) under ipnews's authority: ``tag_uri("watch", "customs")`` is
    ``tag:ipnews,2024:watch/customs``. Parts are joined with "/" as they are (a URL keeps
    its slashes, so its tag stays readable); characters a tag URI cannot hold, non-ASCII
    included, are percent-encoded as UTF-8, and an existing %XX is kept as it is."""
    specific = "/".join(_text(str(p)) for p in parts)
    return f"tag:{TAG_AUTHORITY}:{_tag_encode(specific)}"


def _tag_encode(text: str) -> str:
    out: list[str] = []
    i = 0
    while i < len(text):
        ch = text[i]
        if ch in _TAG_SAFE:
            out.append(ch)
        elif ch == "%" and _PCT.match(text, i):
            out.append(text[i:i + 3])
            i += 3
            continue
        else:
            out.extend(f"%{b:02X}" for b in ch.encode("utf-8"))
        i += 1
    return "".join(out)


def entry_id(record: dict[str, Any], feed_id: str = "") -> str:
    """The record's Atom id, the same every time the record is rendered.

    An article (a record with a url): its canonical URL, ``tag_uri("article", url)``. An
    entity row: its kind and key. Anything else: its id field (or, without one, a digest of
    its fields) under the feed's id, since a run's or a log line's number means nothing
    outside the table it came from."""
    url = record.get("url")
    if isinstance(url, str) and _text(url).strip():
        return tag_uri("article", _text(url).strip())
    kind, key = record.get("kind"), record.get("key")
    if kind is not None and key is not None:
        return tag_uri("entity", str(kind), str(key))
    ident = record.get("id")
    if ident is None:
        try:
            blob = json.dumps(record, sort_keys=True, ensure_ascii=False, default=str)
        except (TypeError, ValueError):  # keys that do not sort, or a circular value
            blob = repr(record)
        ident = hashlib.sha256(blob.encode("utf-8", "replace")).hexdigest()[:32]
    return tag_uri("record", feed_id, str(ident))


def render_atom(records: Iterable[dict[str, Any]], out: IO[str], *, title: str,
                feed_id: str, updated: str | None = None,
                generator_version: str = "") -> None:
    """Write records to out as one Atom 1.0 feed (UTF-8 text; the caller encodes it).

    The feed's updated comes before its entries, so without ``updated`` the records are
    read into a list first to find the latest entry's; a large export should pass
    ``updated`` (e.g. now) and is then streamed entry by entry. ``updated`` is ISO 8601
    (a naive time is UTC); with neither it nor any dated entry, the feed is dated now.
    """
    if updated is not None:
        feed_updated = _instant(updated, timezone.utc)
        if feed_updated is None:
            raise ValueError(f"updated is not an ISO 8601 date or time: {updated!r}")
        rows: Iterable[dict[str, Any]] = records
    else:
        rows = list(records)
        dates = [d for d in (_updated(r) for r in rows) if d is not None]
        feed_updated = max(dates) if dates else datetime.now(timezone.utc)
    stamp = _rfc3339(feed_updated)
    generator = "<generator"
    if generator_version:
        generator += f" version={_attr(generator_version)}"
    out.write('<?xml version="1.0" encoding="utf-8"?>\n'
              f'<feed xmlns="{ATOM_NS}">\n'
              f"  <id>{_esc(feed_id)}</id>\n"
              f'  <title type="text">{_esc(title)}</title>\n'
              f"  <updated>{stamp}</updated>\n"
              f"  {generator}>ipnews</generator>\n"
              # Atom requires an author on the feed or on every entry; most entries carry
              # none (news rarely names one), and the feed's covers them.
              "  <author><name>ipnews</name></author>\n")
    for record in rows:
        if isinstance(record, dict):
            out.write(_entry(record, feed_id, stamp))
    out.write("</feed>\n")


def _entry(record: dict[str, Any], feed_id: str, fallback_updated: str) -> str:
    url = _http_url(record.get("url"))
    head = "  <entry"
    language = _plain(record.get("language"))
    if language and _LANG.fullmatch(language):
        head += f" xml:lang={_attr(language)}"
    parts = [head + ">",
             f"    <id>{_esc(entry_id(record, feed_id))}</id>",
             f'    <title type="text">{_esc(_title(record))}</title>']
    changed = _updated(record)
    parts.append(f"    <updated>{_rfc3339(changed) if changed else fallback_updated}</updated>")
    published = _first_date(record, _PUBLISHED_KEYS)
    if published is not None:
        parts.append(f"    <published>{_rfc3339(published)}</published>")
    for name in _authors(record.get("authors")):
        parts.append(f"    <author><name>{_esc(name)}</name></author>")
    if url:
        parts.append(f'    <link rel="alternate" href={_attr(url)}/>')
    seen = {url}
    for other in _items(record.get("also_in")):
        if not isinstance(other, dict):
            continue
        href = _http_url(other.get("url"))
        if href and href not in seen:
            seen.add(href)
            label = _plain(other.get("source"))
            title = f" title={_attr(label)}" if label else ""
            parts.append(f'    <link rel="related" href={_attr(href)}{title}/>')
    source = _plain(record.get("source"))
    if source:
        parts.append(_category(source, "source"))
    for topic in _items(record.get("topics")):
        term = _plain(topic)
        if term:
            parts.append(_category(term, "topic"))
    summary = _summary(record)
    if summary:
        parts.append(f'    <summary type="text">{_esc(summary)}</summary>')
    if not url:
        # Without an alternate link an entry must carry content (RFC 4287 §4.1.2): the row's
        # fields, as a reader can read them.
        parts.append(f'    <content type="text">{_esc(_fields_text(record))}</content>')
    parts.append("  </entry>\n")
    return "\n".join(parts)


def _title(record: dict[str, Any]) -> str:
    for key in _TITLE_KEYS:
        value = _plain(record.get(key))
        if value:
            return _one_line(value)
    values = [_plain(record.get(k)) for k in _FALLBACK_TITLE_KEYS]
    return _one_line(" · ".join(v for v in values if v)) or "(untitled)"


def _summary(record: dict[str, Any]) -> str:
    snippet = _plain(record.get("snippet"))
    if snippet:
        return _one_line(_MARKS.sub("", snippet))
    summary = _plain(record.get("summary"))
    if summary:
        return summary.strip()
    body = _plain(record.get("body")).strip()
    if len(body) > _SUMMARY_CHARS:
        return body[:_SUMMARY_CHARS].rstrip() + "…"
    return body


def _fields_text(record: dict[str, Any]) -> str:
    lines = []
    for key, value in record.items():
        if value is None or value == "" or value == []:
            continue
        lines.append(f"{_one_line(_text(str(key)))}: {_one_line(_value_text(value))}")
    return "\n".join(lines)


def _value_text(value: Any) -> str:
    if isinstance(value, list):
        return "; ".join(_value_text(v) for v in value)
    if isinstance(value, dict):
        return json.dumps(value, ensure_ascii=False, default=str)
    return _plain(value)


def _items(value: Any) -> list[Any]:
    """A list field as a list: a lone value where a list was expected is one item, and
    None (or anything else that is not a sequence) none."""
    if isinstance(value, (list, tuple)):
        return list(value)
    if isinstance(value, (str, dict)):
        return [value]
    return []


def _authors(value: Any) -> list[str]:
    names = (_one_line(_plain(v)) for v in _items(value))
    return [n for n in names if n]


def _category(term: str, scheme: str) -> str:
    # The scheme tells a source's name from a topic's, should one ever equal the other.
    return (f"    <category term={_attr(_one_line(term))}"
            f" scheme={_attr(tag_uri(scheme))}/>")


def _http_url(value: Any) -> str:
    """The URL if a reader may follow it: http(s) only, so that no stored javascript: or
    data: address becomes a link."""
    url = _plain(value).strip()
    if not url or any(c.isspace() for c in url):
        return ""
    try:
        scheme = urlsplit(url).scheme.lower()
    except ValueError:
        return ""
    return url if scheme in ("http", "https") else ""


# Dates ---------------------------------------------------------------------------------


def _updated(record: dict[str, Any]) -> datetime | None:
    if record.get("url"):
        changed = _first_date(record, _ARTICLE_UPDATED_KEYS)
        published = _first_date(record, ("published_at",))
        # A publisher's date later than our capture (a clock or zone wrong at either end)
        # would make the entry updated before it was published.
        if changed is None or (published is not None and published > changed):
            return published
        return changed
    return _first_date(record, _ROW_UPDATED_KEYS)


def _first_date(record: dict[str, Any], keys: tuple[str, ...]) -> datetime | None:
    for key in keys:
        value = record.get(key)
        if value is None:
            continue
        instant = _instant(value, SHANGHAI if key in _LOCAL_KEYS else timezone.utc)
        if instant is not None:
            return instant
    return None


def _instant(value: Any, zone: timezone) -> datetime | None:
    """An ISO 8601 value as an aware datetime; None when it is not one. A bare date is its
    midnight and a naive time is in ``zone``: for published_at that is China's time (+08:00),
    since the sources are Chinese and a page that prints only a day means the day there."""
    if isinstance(value, datetime):
        parsed = value
    elif isinstance(value, date):
        parsed = datetime(value.year, value.month, value.day)
    elif isinstance(value, str):
        text = _text(value).strip()
        if text[-1:] in ("Z", "z"):  # fromisoformat before 3.11 does not read Z
            text = text[:-1] + "+00:00"
        try:
            parsed = datetime.fromisoformat(text)
        except ValueError:
            return None
    else:
        return None
    if parsed.tzinfo is None or parsed.utcoffset() is None:
        parsed = parsed.replace(tzinfo=zone)
    offset = parsed.utcoffset()
    if offset is not None and offset.total_seconds() % 60:
        # RFC 3339 has no offset with seconds (a local mean time, +05:53:28): such a time
        # is written in UTC, and one that has no UTC equivalent (year 1) is no date.
        try:
            parsed = parsed.astimezone(timezone.utc)
        except OverflowError:
            return None
    return parsed


def _rfc3339(value: datetime) -> str:
    """RFC 3339 to the second with the offset the value was stated in: the publisher's day
    stays theirs."""
    text = value.isoformat(timespec="seconds")
    return text[:-6] + "Z" if text.endswith("+00:00") else text


# Text ----------------------------------------------------------------------------------


def _text(value: str) -> str:
    return _NOT_XML.sub("", CONTROLS.sub("", value))


def _plain(value: Any) -> str:
    """Any scalar as clean text; None, containers and the like as nothing."""
    if value is None or isinstance(value, (list, dict, tuple, set)):
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return _text(str(value))


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _esc(text: str) -> str:
    return escape(_text(text))


def _attr(text: str) -> str:
    # quoteattr also writes newlines and tabs as character references, which attribute-value
    # normalization would otherwise turn into spaces.
    return quoteattr(_text(text))
