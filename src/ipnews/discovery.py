"""Article discovery from RSS/Atom feeds and XML sitemaps: bytes in, candidate URLs out.

The fetch pipeline fetches each document with its own client and hands the raw body to
these functions in the extractor child process (bounded in time and memory). Nothing here
touches the network or the file system: feedparser is given the bytes in a BytesIO (a
bytes *string* would be tried as a file name first), and nothing is ever resolved.

    parse_feed(body, url) -> Found
        RSS 0.9x, 1.0 (RDF), 2.0 and Atom, read by feedparser.
    parse_sitemap(body, url, max_bytes=50 MiB) -> Found
        <urlset>, Google News sitemaps and <sitemapindex>; gzip recognised by its magic
        bytes whatever the name or Content-Type, decompressed up to max_bytes.
    looks_like_feed(body, content_type) -> bool
        Whether a body is a feed, from its root element (the Content-Type only decides when
        the first 4 KB show no element).
    feed_links(html, page_url) -> list[str]
        The feeds a page advertises (<link rel="alternate" type="application/rss+xml" or
        "application/atom+xml">, in <head> or not), absolute, deduplicated, in page order.
    is_stale(newest, max_age_days, now=None) -> bool
        True when newest is more than max_age_days before now; False when it is None.

Found holds:
    items   ListingItem(url, title, published_at, authors, section, summary): absolute
            http(s) URLs, newest first by the dates the document gives (undated items after
            the dated ones, in document order), each URL once, at most MAX_ITEMS, none
            longer than MAX_URL.
    more    sitemap index only: the child sitemaps to read next, newest lastmod first, the
            index itself left out (the caller still needs its seen-set and depth cap).
    newest  ISO 8601 at +08:00 of the newest dated item (or child sitemap), for staleness.
    kind    "rss", "atom", "sitemap", "news-sitemap" or "sitemapindex".

Failures are ExtractError with a stable kind:
    bad_xml      the document declares a DTD or entities (billion laughs, quadratic blowup,
                 XXE), refused before any parser expands anything
    not_feed     parse_feed found neither entries nor a well-formed empty feed
    not_sitemap  parse_sitemap found no <urlset>/<sitemapindex> with entries
    too_large    a sitemap (decompressed or not) beyond max_bytes, a feed beyond
                 MAX_FEED_BYTES
A document that breaks off (a cut download, a stray "<") keeps the entries before the
break; feedparser's lenient parser often reads further.

Dates. Feed and sitemap dates are parsed here, not by feedparser: it takes a time without a
zone for UTC (Chinese sites mean Shanghai time) and reads formats it does not know as
something else ("2024/05/01 10:00" became 1 November). ISO 8601, RFC 822 and the common
Chinese forms are read; a time without a zone is Shanghai time, and so is "CST" (the Java
default on Chinese servers, not US Central). A date more than a day in the future (a
Buddhist-era year, a template's placeholder) is dropped rather than trusted.

Encodings. The body is decoded by ipnews.decoding.decode_html with the XML declaration's
label as a hint (valid UTF-8 first, then the label, then CJK detection) and handed on as
UTF-8, with the parsers told so (expat's encoding override, a charset=utf-8 Content-Type
for feedparser, which RFC 3023 puts above the declaration). feedparser alone garbles feeds
whose declaration lies: GBK bytes declared UTF-8 come out as cp1252 mojibake, UTF-8 bytes
declared GBK as the wrong hanzi. On the way, the three errors that make expat give up on
real feeds are repaired: white space before the XML declaration, control characters, and
bare "&".
"""

from __future__ import annotations

import io
import re
import zlib
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import urljoin, urlsplit

from ipnews.article import SHANGHAI, clean_line, iso_shanghai
from ipnews.errors import ExtractError
from ipnews.sources.base import ListingItem

if TYPE_CHECKING:
    from defusedxml.ElementTree import DefusedXMLParser

MAX_ITEMS = 50_000  # the sitemap protocol's limit per file; no feed comes near it
MAX_URL = 2_083  # longer "URLs" are not links anyone publishes (and old browsers' limit)
MAX_BYTES = 50 * 1024 * 1024  # the sitemap protocol's limit, uncompressed
# A news feed is rarely over 2 MB. feedparser's lenient parser, which reads feeds that are
# not well-formed, takes 4-10 s a MB on hostile markup (unclosed or deeply nested elements:
# linear, but slow); beyond this cap the extractor's timeout is what would stop it.
MAX_FEED_BYTES = 10 * 1024 * 1024
MAX_TITLE = 1_000
MAX_SUMMARY = 300  # characters: a hint for the reader and the relevance check, not a body
MAX_FIELD = 20_000  # characters of one field read at all: text beyond is never needed
SNIFF_BYTES = 4_096
FEED_TYPES = frozenset({"application/rss+xml", "application/atom+xml"})
FEED_ROOTS = frozenset({"rss", "feed", "rdf"})
_CHUNK = 1 << 16  # bytes fed to the XML parser, and decompressed, at a time
_GZIP = b"\x1f\x8b"
_FUTURE = timedelta(days=1)
# Times that carry no zone are Shanghai time (as in ipnews.article.parse_date).
_LOCAL_FORMATS = ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d",
                  "%Y/%m/%d %H:%M:%S", "%Y/%m/%d %H:%M", "%Y/%m/%d",
                  "%Y年%m月%d日 %H:%M:%S", "%Y年%m月%d日 %H:%M", "%Y年%m月%d日")
_WORD_AFTER_LT = re.compile(rb"<\w")  # no quantifier: it cannot backtrack
# The most of each sitemap field kept: a longer <loc> is skipped (MAX_URL), the rest cut.
_FIELD_CHARS = {"loc": MAX_URL + 1, "lastmod": 100, "publication_date": 100, "title": MAX_TITLE}


@dataclass
class Found:
    """What one feed or sitemap yields (see the module docstring)."""

    items: list[ListingItem]
    more: list[str]
    newest: str | None = None
    kind: str = ""


# --- feeds --------------------------------------------------------------------------------
def parse_feed(body: bytes, url: str) -> Found:
    """The entries of an RSS or Atom feed, as listing items. Raises ExtractError."""
    import feedparser

    if len(body) > MAX_FEED_BYTES:
        raise ExtractError(f"feed too large ({len(body):,} bytes)", kind="too_large")
    data = _feedparser_safe(_utf8(body, "feed"))
    _check_prolog(data)
    # The Content-Type tells feedparser the bytes are UTF-8 whatever the declaration says
    # (they are, now); Content-Location is the base for relative links. Its HTML sanitizer
    # and link rewriting are off: summaries are reduced to plain text below anyway.
    try:
        parsed = feedparser.parse(io.BytesIO(data), response_headers={
            "content-type": "application/xml; charset=utf-8", "content-location": url},
            sanitize_html=False, resolve_relative_uris=False)
    except MemoryError:
        raise
    except Exception as exc:  # its bugs on hostile input (a namespace URI with a space in
        # it: ValueError) must cost this document only, like any parse failure
        raise ExtractError(f"not a feed: feedparser failed ({type(exc).__name__})",
                           kind="not_feed") from None
    if not parsed.entries and (parsed.bozo or not parsed.get("version")):
        raise ExtractError("not a feed", kind="not_feed")
    items = []
    for entry in parsed.entries:
        link = _absolute(entry.get("link"), url) or _absolute_only(entry.get("id"))
        if link is None:
            continue
        items.append(ListingItem(
            url=link,
            title=_text(entry.get("title"), entry.get("title_detail"), MAX_TITLE),
            # dict.get: feedparser's own get maps a missing "updated" to "published" and
            # warns about it (its issue 310).
            published_at=_when(dict.get(entry, "published") or dict.get(entry, "updated")
                               or dict.get(entry, "created")),
            authors=[name for a in entry.get("authors") or []
                     if (name := clean_line(str(a.get("name") or "")[:MAX_TITLE]))],
            section=_section(entry.get("tags")),
            summary=_summary(entry.get("summary"), entry.get("summary_detail"))))
    items = _ordered(items)
    kind = "atom" if str(parsed.get("version")).startswith("atom") else "rss"
    return Found(items, [], _newest(items), kind)


def _feedparser_safe(data: bytes) -> bytes:
    """data with each run of white space before the first element made one newline.

    feedparser reads the entity declarations it keeps from that part (everything before
    the first "<" followed by a letter) with `^\\s*<!ENTITY` in MULTILINE mode, which is
    quadratic in its blank lines: 100 KB of newlines after the XML declaration took 40 s.
    White space there (declaration, comments, processing instructions) means nothing."""
    found = _WORD_AFTER_LT.search(data)
    if found is None or found.start() == 0:
        return data
    return b"\n".join(data[:found.start()].split()) + data[found.start():]


def _check_prolog(data: bytes) -> None:
    """Refuse a feed that declares a DTD or entities, before feedparser sees it.

    defusedxml's expat reads up to the root element (a DTD can only come before it). When
    that part is not well-formed (text before the declaration, a broken comment), expat
    and feedparser's strict parser stop there, and feedparser's lenient parser uses only
    the entities declared before the first element: those are looked for directly."""
    from xml.etree.ElementTree import ParseError

    found = _WORD_AFTER_LT.search(data)
    head = data[:found.start()].lower() if found else b""
    if b"<!entity" in head:
        raise ExtractError(_REFUSED["entities"].format("feed"), kind="bad_xml")
    if head.count(b"<!doctype") > 1:  # also keeps feedparser's DOCTYPE pattern linear
        raise ExtractError(_REFUSED["dtd"].format("feed"), kind="bad_xml")
    prolog = _Prolog()
    try:
        _read_xml(data, prolog, "feed")
    except _Stop:
        pass
    except ParseError:
        return
    if prolog.root not in FEED_ROOTS:
        raise ExtractError(f"not a feed: the document is <{prolog.root}>", kind="not_feed")


class _Stop(Exception):
    """Raised by a parser target to end parsing early."""


class _Target:
    """What every parser target does: note a DTD, refuse it once the root is known to be
    ours (so that an HTML page, <!DOCTYPE html>, is "not a feed" rather than a bomb)."""

    what = "document"
    roots: frozenset[str] = frozenset()

    def __init__(self) -> None:
        self.dtd = False
        self.root: str | None = None

    def saw_dtd(self, *args: Any) -> None:
        self.dtd = True

    def start(self, tag: str, attrs: list[str]) -> None:
        """An element starts: tag is "namespace}name" or "name" (expat's form)."""
        raise NotImplementedError

    def end(self, tag: str) -> None:
        pass

    def at_root(self, name: str) -> None:
        self.root = name
        if name in self.roots and self.dtd:
            raise ExtractError(_REFUSED["dtd"].format(self.what), kind="bad_xml")


class _Prolog(_Target):
    what = "feed"
    roots = FEED_ROOTS

    def start(self, tag: str, attrs: list[str]) -> None:
        self.at_root(_local(tag))
        raise _Stop


def _summary(value: Any, detail: Any) -> str | None:
    text = _text(value, detail, MAX_FIELD)
    if text is None or len(text) <= MAX_SUMMARY:
        return text
    cut = text[:MAX_SUMMARY]
    space = cut.rfind(" ")
    return (cut[:space] if space > MAX_SUMMARY - 40 else cut).rstrip() + "…"


def _text(value: Any, detail: Any, limit: int) -> str | None:
    """A feed field as one line of plain text: tags removed when feedparser says it is
    HTML (it decodes the XML escaping; what is left is markup the publisher wrote)."""
    if not value:
        return None
    text = str(value)[:MAX_FIELD]
    if "html" in str((detail or {}).get("type") or ""):
        from selectolax.lexbor import LexborHTMLParser

        tree = LexborHTMLParser(text)
        tree.strip_tags(["script", "style", "noscript", "template"])
        text = tree.body.text(separator=" ") if tree.body is not None else ""
    return clean_line(text)[:limit] or None


def _section(tags: Any) -> str | None:
    for tag in tags or []:
        if term := clean_line(str(tag.get("term") or tag.get("label") or "")[:MAX_TITLE]):
            return term
    return None


# --- sitemaps ------------------------------------------------------------------------------
def parse_sitemap(body: bytes, url: str, max_bytes: int = MAX_BYTES) -> Found:
    """The pages of a <urlset>, or the child sitemaps of a <sitemapindex> (in Found.more).
    Raises ExtractError."""
    from xml.etree.ElementTree import ParseError

    if body.startswith(_GZIP):
        body = _gunzip(body, max_bytes)
    if len(body) > max_bytes:
        raise ExtractError(f"sitemap too large ({len(body):,} bytes)", kind="too_large")
    reader = _Sitemap()
    try:
        _read_xml(_utf8(body, "sitemap"), reader, "sitemap")
    except _Stop:  # MAX_ITEMS entries read
        pass
    except ParseError as exc:
        if not reader.entries:  # else keep what came before the break (a cut-off body)
            raise ExtractError(f"not a sitemap: {exc}", kind="not_sitemap") from None
    if reader.root not in _Sitemap.roots:
        raise ExtractError("not a sitemap: no <urlset> or <sitemapindex>", kind="not_sitemap")
    items: list[ListingItem] = []
    for loc, lastmod, news_date, title in reader.entries:
        link = _absolute(loc, url)
        if link is None:
            continue
        # The news publication date is the article's; lastmod may be any later edit or a
        # regeneration of the file, so it is only a fallback.
        items.append(ListingItem(url=link, title=_text(title, None, MAX_TITLE),
                                 published_at=_when(news_date) or _when(lastmod)))
    items = _ordered(items)
    newest = _newest(items)
    if reader.root == "sitemapindex":
        self_url = _absolute(url, url)
        children = [item.url for item in items if item.url != self_url]
        return Found([], children, newest, "sitemapindex")
    return Found(items, [], newest, "news-sitemap" if reader.news else "sitemap")


def _gunzip(body: bytes, max_bytes: int) -> bytes:
    """Decompress gzip data _CHUNK bytes at a time, refusing more than max_bytes of output
    (a bomb is found after max_bytes of work, never expanded whole). Data after a break
    (a cut-off download, corrupt bytes) is left out: the XML parser keeps what came before."""
    out: list[bytes] = []
    size = 0
    data = body
    while data.startswith(_GZIP):  # a gzip file may hold several members, one after another
        inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
        while not inflater.eof:
            try:
                chunk = inflater.decompress(data, _CHUNK)
            except zlib.error:
                return b"".join(out)
            data = inflater.unconsumed_tail
            if not chunk and not data:
                return b"".join(out)  # cut off: nothing more will come
            size += len(chunk)
            if size > max_bytes:
                raise ExtractError(f"sitemap too large: over {max_bytes:,} bytes "
                                   "once decompressed", kind="too_large")
            out.append(chunk)
        data = inflater.unused_data
    return b"".join(out)


class _Sitemap(_Target):
    """A parser target that keeps (loc, lastmod, news date, news title) of each <url> or
    <sitemap>, by local name and position, so that sitemaps without the namespace read the
    same and nested names (<image:loc>, <video:title>) are not taken for the page's."""

    what = "sitemap"
    roots = frozenset({"urlset", "sitemapindex"})
    _ENTRY = frozenset({"url", "sitemap"})

    def __init__(self) -> None:
        super().__init__()
        self.path: list[str] = []
        self.entries: list[tuple[str, str | None, str | None, str | None]] = []
        self.news = False
        self.fields: dict[str, str] = {}
        self.field: str | None = None  # the field whose text is being read
        self.buffer: list[str] = []
        self.room = 0  # characters of it still wanted

    def start(self, tag: str, attrs: list[str]) -> None:
        name = _local(tag)
        depth = len(self.path)
        self.path.append(name)
        if depth == 0:
            self.at_root(name)
            if name not in self.roots:
                raise _Stop
        elif depth == 1:
            self.fields = {}
        elif self.path[1] not in self._ENTRY:
            return
        elif depth == 2:
            if name == "news":
                self.news = True
            elif name in ("loc", "lastmod"):
                self._read(name)
        elif depth == 3 and self.path[2] == "news" and name in ("publication_date", "title"):
            self._read(name)

    def _read(self, name: str) -> None:
        self.field, self.buffer, self.room = name, [], _FIELD_CHARS[name]

    def data(self, text: str) -> None:
        if self.field is not None and self.room > 0:
            self.buffer.append(text[:self.room])
            self.room -= len(text)

    def end(self, tag: str) -> None:
        self.path.pop()
        depth = len(self.path)
        if self.field is not None:
            self.fields.setdefault(self.field, "".join(self.buffer))
            self.field = None
        elif depth == 1 and self.fields.get("loc"):
            f = self.fields
            self.entries.append((f["loc"], f.get("lastmod"), f.get("publication_date"),
                                 f.get("title")))
            if len(self.entries) >= MAX_ITEMS:
                raise _Stop


# --- shared --------------------------------------------------------------------------------
_REFUSED = {
    "entities": "{} refused: it declares entities (XML bomb protection)",
    "external": "{} refused: it refers to an external entity (XXE protection)",
    "dtd": "{} refused: it declares a DTD (XML bomb protection)",
}


def _read_xml(data: bytes, target: _Target, what: str) -> None:
    """Parse data with defusedxml's expat, calling target; entity declarations raise
    ExtractError("bad_xml") the moment expat meets them (before anything is expanded), a
    DOCTYPE once the target has seen the root element."""
    from defusedxml import DefusedXmlException, EntitiesForbidden

    parser = _parser(target)
    try:
        for start in range(0, len(data), _CHUNK):
            parser.feed(data[start:start + _CHUNK])
        parser.close()
    except DefusedXmlException as exc:
        # ExternalReferenceForbidden needs an external entity, whose declaration is
        # refused first; it is caught all the same (this expat never asks for the DTD).
        reason = "entities" if isinstance(exc, EntitiesForbidden) else "external"
        raise ExtractError(_REFUSED[reason].format(what), kind="bad_xml") from None


def _parser(target: _Target) -> DefusedXMLParser:
    from defusedxml.ElementTree import DefusedXMLParser

    # encoding="utf-8" overrides the declaration: _utf8 made the bytes UTF-8. forbid_dtd
    # is done by the target instead, which refuses a DTD once the root shows the document
    # is a feed or sitemap, so that the message names what a bomb declares (its entities).
    parser = DefusedXMLParser(target=target, encoding="utf-8", forbid_dtd=False,
                              forbid_entities=True, forbid_external=True)
    expat = parser.parser  # the pyexpat parser, which carries defusedxml's handlers
    expat.StartDoctypeDeclHandler = target.saw_dtd
    # Elements go to the target directly: ElementTree's layer (names in {ns} form,
    # attribute dicts) took a third of a large sitemap's time, for nothing used here.
    expat.StartElementHandler = target.start
    expat.EndElementHandler = target.end
    return parser


def _utf8(body: bytes, what: str) -> bytes:
    """The document as UTF-8 with leading white space removed (PHP sites print blank lines
    before the XML declaration, which expat refuses), the control characters XML forbids
    removed and bare ampersands escaped (expat stops at the first of either, losing every
    item after it)."""
    from ipnews.decoding import decode_html, sniff_binary, strip_control_chars

    if binary := sniff_binary(body):
        raise ExtractError(f"not a {what}: the body is {binary}", kind=f"not_{what}")
    text = decode_html(body, _declared_charset(body)).text
    return _escape_ampersands(strip_control_chars(text).lstrip().encode("utf-8"))


_LITERAL = {b"<![CDATA[": b"]]>", b"<!--": b"-->"}  # where "&" is only a character
# An "&" that begins no entity or character reference. The lookahead reads at most 66
# bytes after each "&" (its repetitions are bounded), so the scan stays linear.
_BARE_AMPERSAND = re.compile(
    rb"&(?!(?:[A-Za-z_:\x80-\xff][\w.:\x80-\xff-]{0,63}|#[0-9]{1,8}|#[xX][0-9a-fA-F]{1,8});)")


def _escape_ampersands(data: bytes) -> bytes:
    """data with each "&" that begins no reference written "&amp;", outside CDATA sections
    and comments. An unescaped "&" ("Q&A", a query string in <loc>) is the commonest error
    in feeds and sitemaps: expat stops there, and feedparser's lenient parser reads "AT&T"
    as "AT&T;". A well-formed document comes out as it was."""
    if b"&" not in data:
        return data
    pieces: list[bytes] = []
    at = 0
    following = {opening: data.find(opening) for opening in _LITERAL}
    while True:
        for opening, start in following.items():  # searched again only once passed, so
            if 0 <= start < at:  # that each byte is read once for each kind of section
                following[opening] = data.find(opening, at)
        sections = [(start, opening) for opening, start in following.items() if start >= 0]
        if not sections:
            pieces.append(_BARE_AMPERSAND.sub(b"&amp;", data[at:]))
            return b"".join(pieces)
        start, opening = min(sections)
        pieces.append(_BARE_AMPERSAND.sub(b"&amp;", data[at:start]))
        end = data.find(_LITERAL[opening], start + len(opening))
        if end < 0:  # an unclosed section runs to the end
            pieces.append(data[start:])
            return b"".join(pieces)
        at = end + len(_LITERAL[opening])
        pieces.append(data[start:at])


def _declared_charset(body: bytes) -> str | None:
    """The encoding named by the XML declaration, as a Content-Type for decode_html."""
    head = body[:200].lstrip(b"\xef\xbb\xbf \t\r\n")
    if not head.startswith(b"<?xml"):
        return None
    end = head.find(b"?>")
    at = head.find(b"encoding", 0, end)
    if end < 0 or at < 0:
        return None
    value = head[at + 8:end].lstrip(b" \t\r\n=").strip(b" \t\r\n\"'")
    label = value.split(b'"')[0].split(b"'")[0].decode("ascii", "replace")
    return f"application/xml; charset={label}" if label else None


def _local(tag: str) -> str:
    """The local name of "namespace}name" (expat's form) or "prefix:name"."""
    return tag.rpartition("}")[2].rpartition(":")[2].lower()


def _absolute(href: Any, base: str) -> str | None:
    """href resolved against base, if it is an http(s) URL of at most MAX_URL characters."""
    if not href:
        return None
    text = clean_line(str(href)[:MAX_URL + 1])
    if not text or len(text) > MAX_URL:
        return None
    try:
        # Sitemaps hold absolute URLs; urljoin would triple the cost of reading 50,000.
        absolute = text[:8].lower().startswith(("http://", "https://"))
        link = text if absolute else urljoin(base, text)
        scheme, netloc = urlsplit(link)[:2]
    except ValueError:  # "http://[::1" and friends
        return None
    return link if scheme in ("http", "https") and netloc and len(link) <= MAX_URL else None


def _absolute_only(value: Any) -> str | None:
    """An Atom id or RSS guid as the entry's URL when it already is an http(s) URL (a
    relative guid such as "12345" is an identifier, not a link)."""
    text = clean_line(str(value or "")[:MAX_URL + 1])
    return _absolute(text, text) if text.lower().startswith(("http://", "https://")) else None


def _when(value: Any) -> str | None:
    """A feed or sitemap date as ISO 8601 at +08:00; None when unreadable or in the future."""
    text = clean_line(str(value or "")[:100])
    if not text:
        return None
    when = _datetime(text)
    if when is None:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=SHANGHAI)
    try:
        if when > datetime.now(timezone.utc) + _FUTURE:
            return None
        return iso_shanghai(when)
    except OverflowError:  # year 1 at +14:00 has no UTC equivalent
        return None


def _datetime(text: str) -> datetime | None:
    try:  # ISO 8601 / W3C datetime (sitemaps, Atom, dc:date); Python 3.10 refuses "Z"
        return datetime.fromisoformat(text[:-1] + "+00:00" if text[-1] in "Zz" else text)
    except ValueError:
        pass
    try:  # RFC 822 (RSS pubDate), CST meaning China: see the module docstring
        return parsedate_to_datetime(" ".join("+0800" if t == "CST" else t
                                              for t in text.split()))
    except (TypeError, ValueError, IndexError, OverflowError):
        pass
    for fmt in _LOCAL_FORMATS:
        try:
            return datetime.strptime(text, fmt)
        except ValueError:
            continue
    return None


def _ordered(items: list[ListingItem]) -> list[ListingItem]:
    """Each URL once (its first appearance), newest first, undated last, at most MAX_ITEMS.
    Every date is ISO at +08:00, so the strings sort as the times do."""
    unique: dict[str, ListingItem] = {}
    for item in items:
        unique.setdefault(item.url, item)
    ordered = sorted(unique.values(), key=lambda item: item.published_at or "", reverse=True)
    return ordered[:MAX_ITEMS]


def _newest(items: list[ListingItem]) -> str | None:
    return max((item.published_at for item in items if item.published_at), default=None)


# --- detection -----------------------------------------------------------------------------
def looks_like_feed(body: bytes, content_type: str | None) -> bool:
    """Whether body is an RSS or Atom feed: its root element decides (an HTML page served
    as application/rss+xml is not a feed); the Content-Type only for markup whose first
    SNIFF_BYTES show no element (a long comment)."""
    window = body[:SNIFF_BYTES]
    if window.startswith((b"\xff\xfe", b"\xfe\xff")):
        text = window.decode("utf-16", "replace")
    else:
        text = window.decode("latin-1")  # one character per byte: the ASCII markup survives
    if "<" not in text:
        return False  # not markup at all (JSON, plain text, binary)
    root = _root_element(text)
    if root is None:
        mime = (content_type or "").split(";")[0].strip().lower()
        return mime in FEED_TYPES
    local = root.rpartition(":")[2].lower()
    if local == "rdf":  # RSS 0.90 and 1.0; other RDF documents are not feeds
        return "purl.org/rss/1.0" in text or "netscape.com/rdf/simple" in text
    return local in FEED_ROOTS


def _root_element(text: str) -> str | None:
    """The name of the first element, skipping the declaration, processing instructions,
    comments and a DOCTYPE; None when the text ends first. Linear: str.find only."""
    at = 0
    while (at := text.find("<", at)) >= 0:
        if text.startswith("<?", at):
            at = text.find("?>", at + 2)
        elif text.startswith("<!--", at):
            at = text.find("-->", at + 4)
        elif text.startswith("<!", at):
            at = text.find(">", at + 2)  # a DOCTYPE, or a declaration inside its subset
        else:
            end = at + 1
            while end < len(text) and text[end] not in " \t\r\n/>":
                end += 1
            return text[at + 1:end] or None
        if at < 0:
            return None
    return None


def feed_links(html: str, page_url: str) -> list[str]:
    """The RSS and Atom feeds a page links to with rel="alternate", anywhere in the page
    (some sites put them in <body>), resolved against its <base href>, deduplicated."""
    from ipnews.extraction import parse_html

    tree = parse_html(html)
    base = page_url
    if (tag := tree.css_first("base[href]")) is not None:
        base = _absolute(tag.attributes.get("href"), page_url) or page_url
    found: dict[str, None] = {}
    for node in tree.css("link[rel][href][type]"):
        attrs = node.attributes
        rel = str(attrs.get("rel") or "").lower().split()
        mime = str(attrs.get("type") or "").split(";")[0].strip().lower()
        if "alternate" in rel and mime in FEED_TYPES and (
                link := _absolute(attrs.get("href"), base)):
            found[link] = None
    return list(found)


def is_stale(newest: str | None, max_age_days: float, now: datetime | None = None) -> bool:
    """True when newest (ISO 8601; naive is Shanghai time) is more than max_age_days before
    now (default: the current time). None, or a date that cannot be read, is unknown: False."""
    if newest is None:
        return False
    try:
        when = datetime.fromisoformat(newest)
    except ValueError:
        return False
    if when.tzinfo is None:
        when = when.replace(tzinfo=SHANGHAI)
    now = now or datetime.now(timezone.utc)
    if now.tzinfo is None:
        now = now.replace(tzinfo=SHANGHAI)
    return when < now - timedelta(days=max_age_days)
