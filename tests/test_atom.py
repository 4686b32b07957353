"""The Atom feed writer: what feedparser (the readers' parser) and a strict XML parser make
of its output, whatever the records hold."""

from __future__ import annotations

import calendar
import io
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from datetime import datetime, timezone
from typing import Any

import feedparser
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ipnews.atom import ATOM_NS, render_atom, tag_uri

A = f"{{{ATOM_NS}}}"
FEED_ID = tag_uri("watch", "customs")

# RFC 3339 date-time: full date, time, and a zone (Z or ±hh:mm).
RFC3339 = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})")
# RFC 4151 tag URI with ipnews's authority; the specific part is pchar / "/" / "?".
TAG = re.compile(r"tag:ipnews,2024:(?:[A-Za-z0-9\-._~!$&'()*+,;=:@/?]|%[0-9A-F]{2})*")
# What XML 1.0 does not allow in a document (§2.2).
NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")

ENGLISH: dict[str, Any] = {
    "id": 1, "source": "shine", "url": "https://www.shine.cn/news/nation/2411159985/",
    "title": "Customs seize fake Huawei phones", "published_at": "2024-11-16",
    "authors": ["Li Wei", "Ma Yan"], "summary": "Shanghai customs seized 3,000 phones.",
    "language": "en", "topics": ["customs", "trademark"], "version": 1,
    "first_seen": "2024-11-16T03:00:00+00:00", "updated_at": None,
}
CHINESE: dict[str, Any] = {
    "id": 2, "source": "cnipa", "url": "https://www.cnipa.gov.cn/art/2024/11/15/art_53_1.html",
    "title": "海关总署：2024年知识产权保护成效显著", "published_at": "2024-11-15T10:30:00+08:00",
    "authors": [], "snippet": "今年**海关**查扣侵权货物…", "language": "zh",
    "topics": ["海关"], "version": 2, "first_seen": "2024-11-15T03:00:00+00:00",
    "updated_at": "2024-11-17T05:00:00+00:00",
}
ENTITY: dict[str, Any] = {"kind": "company", "key": "华为", "label": "Huawei", "count": 3,
                          "first_seen": "2024-01-02T00:00:00+00:00",
                          "last_seen": "2024-11-01T08:00:00+00:00"}
RUN: dict[str, Any] = {"id": 12, "source": "customs", "started_at": "2024-11-16T03:00:00+00:00",
                       "finished_at": None, "status": "ok", "new": 3, "errors": None}


def atom(records: Any, **kwargs: Any) -> str:
    out = io.StringIO()
    kwargs.setdefault("title", "ipnews: customs")
    kwargs.setdefault("feed_id", FEED_ID)
    render_atom(records, out, **kwargs)
    return out.getvalue()


def parsed(text: str) -> feedparser.FeedParserDict:
    feed = feedparser.parse(text.encode("utf-8"))
    assert feed.bozo == 0, feed.get("bozo_exception")
    assert feed.version == "atom10"
    return feed


def strict(text: str) -> ET.Element:
    """The document as a strict (expat) parser reads it, with RFC 4287's required elements
    checked: the feed's id, title, updated and an author for every entry; each entry's
    single id, title, updated, and an alternate link or content."""
    assert not NOT_XML.search(text)
    root = ET.fromstring(text.encode("utf-8"))
    assert root.tag == f"{A}feed"
    for name in ("id", "title", "updated"):
        assert len(root.findall(f"{A}{name}")) == 1, name
    assert RFC3339.fullmatch(root.findtext(f"{A}updated") or "")
    feed_author = root.find(f"{A}author/{A}name") is not None
    for entry in root.findall(f"{A}entry"):
        for name in ("id", "title", "updated"):
            assert len(entry.findall(f"{A}{name}")) == 1, name
        assert TAG.fullmatch(entry.findtext(f"{A}id") or "")
        assert RFC3339.fullmatch(entry.findtext(f"{A}updated") or "")
        for published in entry.findall(f"{A}published"):
            assert RFC3339.fullmatch(published.text or "")
        assert feed_author or entry.find(f"{A}author/{A}name") is not None
        alternate = [ln for ln in entry.findall(f"{A}link") if ln.get("rel") == "alternate"]
        assert len(alternate) <= 1
        assert alternate or entry.find(f"{A}content") is not None
    return root


def test_articles_in_english_and_chinese() -> None:
    text = atom([ENGLISH, CHINESE], generator_version="0.1.0")
    feed = parsed(text)
    assert feed.feed.title == "ipnews: customs"
    assert feed.feed.id == FEED_ID
    assert feed.feed.generator == "ipnews"
    assert feed.feed.generator_detail.version == "0.1.0"
    assert [e.title for e in feed.entries] == [ENGLISH["title"], CHINESE["title"]]
    assert [e.link for e in feed.entries] == [ENGLISH["url"], CHINESE["url"]]
    assert feed.entries[0].id == tag_uri("article", ENGLISH["url"])
    assert feed.entries[0].authors == [{"name": "Li Wei"}, {"name": "Ma Yan"}]
    assert feed.entries[0].summary == "Shanghai customs seized 3,000 phones."
    # The search snippet's ** marks are for a terminal, not for a reader.
    assert feed.entries[1].summary == "今年海关查扣侵权货物…"
    terms = [(t.term, t.scheme) for t in feed.entries[0].tags]
    assert terms == [("shine", tag_uri("source")), ("customs", tag_uri("topic")),
                     ("trademark", tag_uri("topic"))]
    assert feed.entries[1].tags[1].term == "海关"

    root = strict(text)
    entries = root.findall(f"{A}entry")
    lang = "{http://www.w3.org/XML/1998/namespace}lang"
    assert [e.get(lang) for e in entries] == ["en", "zh"]
    assert entries[1].findtext(f"{A}title") == CHINESE["title"]
    assert entries[0].find(f"{A}content") is None  # entries stay small: a summary only
    # The newest change in the feed dates the feed.
    assert root.findtext(f"{A}updated") == "2024-11-17T05:00:00Z"


def test_dates_in_every_shape() -> None:
    base = {"source": "shine", "title": "t", "first_seen": "2024-11-16T03:00:00+00:00"}
    records = [
        {**base, "url": "https://e.example/bare", "published_at": "2024-11-16"},
        {**base, "url": "https://e.example/offset", "published_at": "2024-11-16T09:15:00+08:00"},
        {**base, "url": "https://e.example/z", "published_at": "2024-11-16T01:15:00Z"},
        {**base, "url": "https://e.example/none", "published_at": None},
        {**base, "url": "https://e.example/junk", "published_at": "last Tuesday",
         "authors": "Wang Fang", "topics": "customs", "also_in": {"source": "ipr",
                                                                  "url": "https://i.example/"}},
        {"url": "https://e.example/nothing", "title": "no dates at all"},
    ]
    text = atom(records)
    root = strict(text)
    published = [e.findtext(f"{A}published") for e in root.findall(f"{A}entry")]
    # A bare date is that day in China, where the sources publish; the stated offset is
    # kept; a missing or unreadable date falls back on when the story was archived.
    assert published == ["2024-11-16T00:00:00+08:00", "2024-11-16T09:15:00+08:00",
                         "2024-11-16T01:15:00Z", "2024-11-16T03:00:00Z",
                         "2024-11-16T03:00:00Z", None]
    feed = parsed(text)
    utc = [calendar.timegm(e.published_parsed) if "published_parsed" in e else None
           for e in feed.entries]
    assert utc == [calendar.timegm((2024, 11, 15, 16, 0, 0)),
                   calendar.timegm((2024, 11, 16, 1, 15, 0)),
                   calendar.timegm((2024, 11, 16, 1, 15, 0)),
                   calendar.timegm((2024, 11, 16, 3, 0, 0)),
                   calendar.timegm((2024, 11, 16, 3, 0, 0)), None]
    updated = [e.updated for e in feed.entries]
    # Updated is never before published (the archive saw the bare-dated story at 03:00Z,
    # after China's midnight); the undated entry takes the feed's date.
    assert updated[:5] == ["2024-11-16T03:00:00Z"] * 5
    assert updated[5] == feed.feed.updated == "2024-11-16T03:00:00Z"
    # Lone values where lists were expected still count.
    junk = feed.entries[4]
    assert junk.author == "Wang Fang"
    assert [t.term for t in junk.tags] == ["shine", "customs"]
    assert junk.links[1].href == "https://i.example/"


def test_published_after_capture_moves_updated() -> None:
    record = {"url": "https://e.example/a", "title": "t",
              "published_at": "2024-11-17T12:00:00+08:00",
              "first_seen": "2024-11-16T00:00:00+00:00"}
    root = strict(atom([record]))
    assert root.find(f"{A}entry").findtext(f"{A}updated") == "2024-11-17T12:00:00+08:00"


def test_offsets_rfc3339_cannot_write() -> None:
    # A local mean time (+05:53:28) is written in UTC; one with no UTC equivalent is no date.
    records = [{"url": "https://e.example/lmt", "title": "t",
                "published_at": "2024-11-16T12:00:00+05:53:28"},
               {"url": "https://e.example/year1", "title": "t",
                "published_at": "0001-01-01T00:00:00+05:53:28",
                "first_seen": "2024-11-16T03:00:00Z"}]
    root = strict(atom(records))
    published = [e.findtext(f"{A}published") for e in root.findall(f"{A}entry")]
    assert published == ["2024-11-16T06:06:32Z", "2024-11-16T03:00:00Z"]


def test_updated_argument_and_empty_feed() -> None:
    empty = atom([], updated="2024-11-18T00:00:00+00:00")
    root = strict(empty)
    assert root.findall(f"{A}entry") == []
    assert root.findtext(f"{A}updated") == "2024-11-18T00:00:00Z"
    assert parsed(empty).entries == []

    before = datetime.now(timezone.utc).replace(microsecond=0)
    now = strict(atom([])).findtext(f"{A}updated") or ""
    stamp = datetime.fromisoformat(now.replace("Z", "+00:00"))
    assert before <= stamp <= datetime.now(timezone.utc)

    # The argument wins over the entries' own dates.
    given_ = strict(atom([CHINESE], updated="2030-01-01T00:00:00Z"))
    assert given_.findtext(f"{A}updated") == "2030-01-01T00:00:00Z"
    with pytest.raises(ValueError):
        atom([], updated="soon")


def test_streams_entries_when_updated_is_given() -> None:
    out = io.StringIO()

    def records() -> Iterator[dict[str, Any]]:
        yield ENGLISH
        # The first entry is out before the second record is even read.
        assert out.getvalue().count("<entry") == 1
        yield CHINESE

    render_atom(records(), out, title="t", feed_id=FEED_ID, updated="2024-11-18T00:00:00Z")
    assert len(parsed(out.getvalue()).entries) == 2
    # Without updated, a one-shot iterator still works: it is read into a list first.
    assert len(parsed(atom(iter([ENGLISH, CHINESE]))).entries) == 2


HOSTILE = "a\x00b\x07c\x1b[31m\x0c\ud800\ufffe\uffff]]><script>alert(1)</script>&amp; & \"q\" 'q'"


def test_hostile_characters() -> None:
    record = {
        "id": 9, "url": "https://e.example/x?a=1&b=\"2\"<", "title": HOSTILE,
        "source": HOSTILE, "authors": [HOSTILE, None, 3], "summary": HOSTILE,
        "language": "en\"><x", "topics": [HOSTILE, None, ["nested"]],
        "published_at": "2024-11-16\x00", "first_seen": None,
        "also_in": [{"id": 1, "source": HOSTILE, "url": "https://e.example/y?<&>"},
                    {"source": "x", "url": "javascript:alert(1)"}, "junk", None],
    }
    text = atom([record], title=HOSTILE, feed_id=FEED_ID + HOSTILE)
    assert "<script>" not in text
    assert "]]>" not in text
    root = strict(text)
    entry = root.find(f"{A}entry")
    clean = "abc[31m]]><script>alert(1)</script>&amp; & \"q\" 'q'"
    assert root.findtext(f"{A}title") == clean
    assert entry.findtext(f"{A}title") == clean
    assert entry.findtext(f"{A}summary") == clean
    assert entry.findtext(f"{A}author/{A}name") == clean
    assert entry.get("{http://www.w3.org/XML/1998/namespace}lang") is None
    links = [(ln.get("rel"), ln.get("href"), ln.get("title"))
             for ln in entry.findall(f"{A}link")]
    assert links == [("alternate", record["url"], None),
                     ("related", "https://e.example/y?<&>", clean)]
    feed = parsed(text)
    assert feed.entries[0].title == clean
    assert feed.entries[0].link == record["url"]
    assert feed.entries[0].published == "2024-11-16T00:00:00+08:00"


def test_only_web_links_are_followed() -> None:
    record = {"url": "javascript:alert(1)", "title": "t", "first_seen": "2024-11-16T03:00:00Z"}
    entry = strict(atom([record])).find(f"{A}entry")
    assert entry.find(f"{A}link") is None
    # With no link to follow, the entry carries its fields as content (RFC 4287 §4.1.2).
    assert "javascript:alert(1)" in (entry.findtext(f"{A}content") or "")


def test_non_article_records() -> None:
    odd = {"weird key": object(), "nested": {"a": [1, None]}, "none": None, "when": 17,
           "topics": 5, "also_in": 3, "authors": {"name": "x"}, "language": None}
    text = atom([ENTITY, RUN, odd, {}])
    root = strict(text)
    entity, run, other, empty = root.findall(f"{A}entry")
    assert entity.findtext(f"{A}title") == "Huawei"
    assert entity.findtext(f"{A}id") == "tag:ipnews,2024:entity/company/%E5%8D%8E%E4%B8%BA"
    assert entity.findtext(f"{A}published") == "2024-01-02T00:00:00Z"
    assert entity.findtext(f"{A}updated") == "2024-11-01T08:00:00Z"
    content = entity.findtext(f"{A}content") or ""
    assert "key: 华为" in content and "count: 3" in content
    assert run.findtext(f"{A}title") == "customs · ok · 12"
    assert "errors" not in (run.findtext(f"{A}content") or "")  # None is left out
    assert run.findtext(f"{A}id") != other.findtext(f"{A}id")
    assert other.findtext(f"{A}title") == "(untitled)"
    assert empty.findtext(f"{A}title") == "(untitled)"
    assert '"a": [1, null]' in (other.findtext(f"{A}content") or "")
    assert other.find(f"{A}category") is None and other.find(f"{A}author") is None
    feed = parsed(text)
    assert [e.title for e in feed.entries] == ["Huawei", "customs · ok · 12", "(untitled)",
                                               "(untitled)"]
    assert feed.feed.updated == "2024-11-16T03:00:00Z"  # the run's start, the latest date


def test_also_in_links() -> None:
    record = {**ENGLISH, "also_in": [
        {"id": 7, "source": "ctplo", "url": "http://www.ctplo.com/blog/customs-phones",
         "published_at": "2024-11-16"},
        {"id": 8, "source": "ipr", "url": "https://ipr.example/customs", "published_at": None},
        {"id": 1, "source": "shine", "url": ENGLISH["url"], "published_at": None},  # itself
    ]}
    feed = parsed(atom([record]))
    links = [(ln.rel, ln.href, ln.get("title")) for ln in feed.entries[0].links]
    assert links == [("alternate", ENGLISH["url"], None),
                     ("related", "http://www.ctplo.com/blog/customs-phones", "ctplo"),
                     ("related", "https://ipr.example/customs", "ipr")]


def test_entry_ids_are_stable() -> None:
    first = parsed(atom([ENGLISH, CHINESE, ENTITY, RUN]))
    # A later run: new text, a new version, other row ids, another order.
    changed = {**CHINESE, "id": 99, "version": 3, "title": "改了标题",
               "updated_at": "2024-12-01T00:00:00Z"}
    again = parsed(atom([{**ENTITY, "count": 4}, changed, {**RUN}, {**ENGLISH, "id": 42}]))
    ids = {e.title: e.id for e in first.entries}
    assert again.entries[0].id == ids["Huawei"]
    assert again.entries[1].id == ids[CHINESE["title"]]
    assert again.entries[2].id == ids["customs · ok · 12"]
    assert again.entries[3].id == ids[ENGLISH["title"]]
    assert len(set(ids.values())) == 4


def test_tag_uri() -> None:
    assert tag_uri("watch", "customs") == "tag:ipnews,2024:watch/customs"
    assert tag_uri("search", "海关 ip") == "tag:ipnews,2024:search/%E6%B5%B7%E5%85%B3%20ip"
    # A URL keeps its own escapes and its slashes; # and a stray % are encoded.
    assert (tag_uri("article", "https://e.example/a%2Fb?q=1#top%")
            == "tag:ipnews,2024:article/https://e.example/a%2Fb?q=1%23top%25")
    assert TAG.fullmatch(tag_uri("x", HOSTILE))


printable = st.text(st.characters(blacklist_categories=()), max_size=40)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(title=printable, summary=printable, source=printable, url=printable,
       published=st.one_of(st.none(), printable,
                           st.dates().map(str),
                           st.datetimes(timezones=st.timezones()).map(lambda d: d.isoformat())))
def test_any_text_gives_a_valid_feed(title: str, summary: str, source: str, url: str,
                                     published: str | None) -> None:
    record = {"id": 1, "url": "https://e.example/" + url, "title": title, "summary": summary,
              "source": source, "authors": [title], "topics": [summary],
              "published_at": published, "first_seen": "2024-11-16T03:00:00+00:00",
              "also_in": [{"source": source, "url": "http://e.example/" + url}]}
    text = atom([record, {"label": title, "key": url, "kind": source}],
                title=title, feed_id=tag_uri("search", title))
    strict(text)
    assert len(parsed(text).entries) == 2
