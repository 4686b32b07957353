"""The Article record and the text normalization every stored field goes through."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

SHANGHAI = timezone(timedelta(hours=8), "Asia/Shanghai")


class LazyPattern:
    """A regular expression compiled on its first use. Python compiles a character class
    by walking every code point of its ranges: the CJK blocks take ~3 ms, which
    `ipnews search` for an English word would otherwise pay at every start. The source may
    be a function that builds it (a pattern made from a data table)."""

    __slots__ = ("_compiled", "_source")

    def __init__(self, source: str | Callable[[], str]) -> None:
        self._source = source
        self._compiled: re.Pattern[str] | None = None

    @property
    def pattern(self) -> str:
        return self._source if isinstance(self._source, str) else self._source()

    def __getattr__(self, name: str) -> Any:  # findall, sub, search...: the compiled one's
        if self._compiled is None:
            self._compiled = re.compile(self.pattern)
        return getattr(self._compiled, name)


# C0 (but tab and newline), DEL, C1, bidi embedding/override/isolate marks, the BOM used as
# a zero-width space, lone surrogates and the two non-characters: none of them is text a
# reader wants, and several can rewrite a terminal or reorder what a lawyer reads.
CONTROLS = LazyPattern(
    "[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\ufeff\ufffe\uffff"
    "\ud800-\udfff]"
)
CJK = LazyPattern(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\u3040-\u30ff\uac00-\ud7af]")
_SPACES = re.compile(r"[ \t\r\f\v\u00a0\u1680\u2000-\u200b\u2028\u2029\u202f\u205f\u3000]+")


def utcnow() -> str:
    """Now, in UTC, as ISO 8601 to the second: every timestamp ipnews records."""
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def clean_text(value: str | None) -> str:
    """Remove control characters, unify spaces, trim. Keeps newlines."""
    if not value:
        return ""
    value = CONTROLS.sub("", value.replace("\r\n", "\n"))
    if not value.isascii():  # NFC cannot change ASCII; skipping it halves the cost
        value = unicodedata.normalize("NFC", value)
    return _SPACES.sub(" ", value).strip()


def clean_line(value: str | None) -> str:
    """clean_text for one-line fields: every run of white space becomes one space."""
    if not value:
        return ""
    if not value.isprintable():  # a cheap C-level test: most lines need no cleaning
        value = CONTROLS.sub("", value)
    if value.isascii():
        return " ".join(value.split())
    value = unicodedata.normalize("NFC", value)
    return " ".join(_SPACES.sub(" ", value).split())


def join_paragraphs(paragraphs: list[str]) -> str:
    """Paragraphs, each on one line, separated by one blank line; empty ones dropped."""
    out = [clean_line(p) for p in paragraphs]
    return "\n\n".join(p for p in out if p)


def normalize_body(body: str) -> str:
    """A body as stored: paragraphs split on blank lines, each collapsed to one line."""
    return join_paragraphs(re.split(r"\n\s*\n", clean_text(body)))


def fingerprint(text: str) -> str:
    """sha256 of text folded for comparison: NFKC, case-folded, white space collapsed."""
    import hashlib  # here, not at the top: loading OpenSSL costs `ipnews search` 4 ms

    folded = " ".join(unicodedata.normalize("NFKC", text).casefold().split())
    return hashlib.sha256(folded.encode("utf-8")).hexdigest()


def iso_shanghai(value: datetime) -> str:
    """An instant as ISO 8601 at +08:00; a naive datetime is taken as Shanghai time. Raises
    OverflowError for an instant with no UTC equivalent (year 1 at +14:00)."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=SHANGHAI)
    return value.astimezone(SHANGHAI).isoformat(timespec="seconds")


def iso_stated(value: datetime | None) -> str | None:
    """ISO 8601 with the offset the page stated, so that the day stays the publisher's (a
    New York evening is not the next day's news); a time without one is Shanghai time."""
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=SHANGHAI)
    return value.isoformat(timespec="seconds")


def parse_date(value: str | None, formats: tuple[str, ...] = (),
               timezone_name: str = "Asia/Shanghai") -> str | None:
    """A date as a page gives it, as ISO 8601 with its offset (iso_stated): ISO 8601 (with
    or without an offset) or one of formats; a date without an offset is in timezone_name."""
    text = clean_line(value)
    if not text:
        return None
    parsed: datetime | None = None
    day_only = False
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
        day_only = len(text) == 10
    except ValueError:
        for fmt in formats:
            try:
                parsed = datetime.strptime(text, fmt)
                day_only = "%H" not in fmt and "%I" not in fmt
                break
            except ValueError:
                continue
    if parsed is None:
        return None
    if day_only:  # a day is not its midnight: "2023-11-17" stays a day
        return parsed.date().isoformat()
    if parsed.tzinfo is None and timezone_name != "Asia/Shanghai":
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            parsed = parsed.replace(tzinfo=ZoneInfo(timezone_name))
        except (ZoneInfoNotFoundError, ValueError):
            return None
    return iso_stated(parsed)


@dataclass
class Article:
    """One story as extracted from one page. ``url`` is the canonical URL."""

    source: str
    url: str
    title: str
    body: str
    published_at: str | None = None
    authors: list[str] = field(default_factory=list)
    wire_source: str | None = None
    editor: str | None = None
    section: str | None = None
    summary: str | None = None
    tags: list[str] = field(default_factory=list)
    language: str | None = None
    extraction: str = "selectors"
    flags: list[str] = field(default_factory=list)
    # Files the story links to (a CNIPA announcement's PDFs): {"title", "url"}, kept as
    # links, never as body text.
    attachments: list[dict[str, str]] = field(default_factory=list)
    # Further pages of the same story (China Daily's ..._2.html), in order: the fetch reads
    # them and appends their text before the story is judged or stored. Not stored itself.
    more_pages: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.title = clean_line(self.title)
        self.body = normalize_body(self.body)
        self.summary = clean_line(self.summary) or None
        self.wire_source = clean_line(self.wire_source) or None
        self.editor = clean_line(self.editor) or None
        self.section = clean_line(self.section) or None
        self.language = clean_line(self.language) or None
        self.authors = _distinct(self.authors)
        self.tags = _distinct(self.tags)
        files: dict[str, dict[str, str]] = {}
        for a in self.attachments:
            if a.get("url") and a["url"] not in files:
                files[a["url"]] = {"title": clean_line(a.get("title")) or a["url"],
                                   "url": a["url"]}
        self.attachments = list(files.values())

    @property
    def body_hash(self) -> str:
        """Identity of the text, for finding the same story under another URL."""
        return fingerprint(self.body)

    @property
    def content_hash(self) -> str:
        """Identity of this version: a change of title, standfirst, body or attached files
        is an edit. (An article without attachments hashes as it did before they existed.)"""
        files = "".join(f"\n{a['url']}" for a in self.attachments)
        return fingerprint("\n".join((self.title, self.summary or "", self.body)) + files)

    def to_dict(self) -> dict:
        return asdict(self)


def _distinct(values: list[str]) -> list[str]:
    seen: dict[str, None] = {}
    for v in values:
        v = clean_line(v)
        if v and v.casefold() not in {s.casefold() for s in seen}:
            seen[v] = None
    return list(seen)
