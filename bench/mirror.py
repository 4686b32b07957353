"""A synthetic SHINE mirror: N article pages behind SHINE-shaped listings, on disk, served
by a stdlib HTTP server on 127.0.0.1 that counts the requests it answers.

The pages are the real fixture pages with the article-specific parts swapped out, so the
real shine parser does the real amount of work: same template, same ~60 KB of boilerplate,
scripts and hidden blocks per page, same BOM and <meta charset>. SHINE paginates a section
over at most 30 listing pages of 10 cards (the site's own scheme; later pages move to
/model.aspx, which a mirror cannot imitate), so the articles are spread over sections of
at most 300, and the fetch is configured with `sections = [...]`.
"""

from __future__ import annotations

import html
import re
import shutil
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import corpus
from measure import CACHE, FIXTURES, ROOT

sys.path.insert(0, str(ROOT / "tests"))  # the fixture server is shared with the tests
from server import SiteServer

SHINE = FIXTURES / "shine" / "site"
ARTICLE_TEMPLATE = SHINE / "news" / "nation" / "2411159985" / "index.html"
LISTING_TEMPLATE = SHINE / "news" / "nation" / "index.html"
FRAGMENT_TEMPLATE = SHINE / "news" / "nation" / "list_2.shtml"
PER_PAGE = 10
PAGES_PER_SECTION = 30  # list_30.shtml is the last page SHINE serves as a static file
PER_SECTION = PER_PAGE * PAGES_PER_SECTION
MIRROR_VERSION = 1  # bump when the page templates or their filling change


# --- templates ------------------------------------------------------------------------
class Template:
    """A page with named holes. Holes are marked with NUL characters (never in HTML), so
    filling one is a join, and the JavaScript braces and dollars need no escaping."""

    def __init__(self, text: str) -> None:
        self.parts = text.split("\0")

    def fill(self, values: dict[str, str]) -> str:
        return "".join(values[p] if i % 2 else p for i, p in enumerate(self.parts))


def _hole(name: str) -> str:
    return f"\0{name}\0"


def _replace(text: str, old: str, name: str) -> str:
    if old not in text:
        raise ValueError(f"template no longer contains {old[:40]!r}: update bench/mirror.py")
    return text.replace(old, _hole(name))


def _sub(text: str, pattern: str, name: str) -> str:
    """Replace group 2 of pattern (group 1 and 3 are kept) with a hole."""
    new, count = re.subn(pattern, lambda m: m.group(1) + _hole(name) + m.group(3), text,
                         count=1, flags=re.S)
    if count != 1:
        raise ValueError(f"template no longer matches {pattern[:40]!r}: update bench/mirror.py")
    return new


def article_template(fallback: bool = False) -> Template:
    """fallback=True renames the body's container, so the shine parser's selector finds
    nothing and the page goes down the trafilatura path: the fetch rate of that path."""
    text = ARTICLE_TEMPLATE.read_text(encoding="utf-8-sig")
    text = _sub(text, r'(<div class="content">)(.*?)(\s*</div>)', "content")
    if fallback:
        text = _replace(text, '<div class="content">', "content_open")
    text = _sub(text, r'(<div class="q"><div style="padding:1rem 0;">)(.*?)(</div>)', "summary")
    text = _replace(text, "Customs officers at Pudong airport seize 3,200 pairs of fake sneakers",
                    "title")
    text = _replace(text, "Shanghai customs officers have intercepted more than 3,200 pairs of "
                          "counterfeit sneakers hidden in a", "description")
    text = _replace(text, "news/nation/2411159985", "path")
    text = _replace(text, "209985", "article_id")
    text = _replace(text, "2024-11-15 09:05", "published")
    text = _replace(text, "09:05 UTC+8, 2024-11-15", "visible_time")
    text = _replace(text, "Wang Yiming", "author")
    return Template("\ufeff" + text)


def _card_text() -> str:
    """The first card of the page-2 fragment: one `div.story` block."""
    text = FRAGMENT_TEMPLATE.read_text(encoding="utf-8-sig")
    starts = [m.start() for m in re.finditer(r'<div class="col-xs-12 story story-', text)]
    return text[starts[0]:starts[1]]


def card_template() -> Template:
    text = _card_text()
    text = _replace(text, "Suzhou court orders furniture maker to pay Danish designer over "
                          "copied chairs", "title")
    text = _sub(text, r'(<div class="summary">)(.*?)(</div>)', "summary")
    text = _replace(text, "news/nation/2411088733", "path")
    text = _replace(text, "208733", "article_id")
    text = _replace(text, "2024/11/8 15:27:16", "data_date")
    return Template(text)


def listing_template() -> Template:
    text = LISTING_TEMPLATE.read_text(encoding="utf-8-sig")
    text = _sub(text, r'(<div class="news_list">)(.*?)(\s*</div>\s*<!--列表 end-->)', "cards")
    text = _sub(text, r"(RecordCount:)(\d+)(\s)", "records")
    text = _sub(text, r"(,Id:)(\d+)(\s)", "sid")
    return Template("\ufeff" + text)


FRAGMENT_HEAD = ("\ufeff<!-- ipnews benchmark mirror: synthetic text in the structure of "
                 "www.shine.cn pages (2020 template). -->\n")


# --- the mirror -----------------------------------------------------------------------
@dataclass
class Mirror:
    root: Path
    sections: list[str]
    articles: int
    html_bytes: int = 0
    fallback: bool = False  # pages whose body container the shine selector cannot find


def section_names(n: int) -> list[str]:
    return [f"news/s{k:03d}" for k in range((n + PER_SECTION - 1) // PER_SECTION)]


def _article_values(a: corpus.Article, path: str) -> dict[str, str]:
    esc = html.escape
    return {
        "title": esc(a.title), "description": esc(a.summary[:100]), "path": path,
        "article_id": f"{a.index:06d}", "published": f"{a.published:%Y-%m-%d %H:%M}",
        "visible_time": f"{a.published:%H:%M} UTC+8, {a.published:%Y-%m-%d}",
        "author": esc(a.author), "summary": esc(a.summary),
        "content": "\n" + "".join(f"<p>{esc(p)}</p>" for p in a.paragraphs),
        "content_open": '<div class="story-text">',
    }


def _card_values(a: corpus.Article, path: str) -> dict[str, str]:
    p = a.published
    return {"title": html.escape(a.title), "summary": html.escape(a.summary), "path": path,
            "article_id": f"{a.index:06d}",
            "data_date": f"{p.year}/{p.month}/{p.day} {p.hour}:{p.minute:02d}:00"}


def _sections(c: corpus.Corpus, n: int) -> Iterator[tuple[str, list[tuple[corpus.Article, str]]]]:
    """(section, [(article, path)] newest first), PER_SECTION articles per section."""
    for k, section in enumerate(section_names(n)):
        items = []
        for i in range(k * PER_SECTION, min(n, (k + 1) * PER_SECTION)):
            a = c.make(i)
            # SHINE ids are YYMMDD + 4 digits; i % 10000 keeps them unique within a section.
            items.append((a, f"{section}/{a.published:%y%m%d}{i % 10_000:04d}"))
        items.sort(key=lambda item: item[0].published, reverse=True)
        yield section, items


def generate(n: int, root: Path, seed: int = corpus.DEFAULT_SEED,
             fallback: bool = False) -> Mirror:
    """Write the mirror of n articles under root (replacing what was there)."""
    shutil.rmtree(root, ignore_errors=True)
    c = corpus.Corpus(seed)
    page, card, listing = article_template(fallback), card_template(), listing_template()
    mirror = Mirror(root, [], n, fallback=fallback)
    for sid, (section, items) in enumerate(_sections(c, n), start=100):
        mirror.sections.append(section)
        for a, path in items:
            data = page.fill(_article_values(a, path)).encode("utf-8")
            target = root / path / "index.html"
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
            mirror.html_bytes += len(data)
        for number, start in enumerate(range(0, len(items), PER_PAGE), start=1):
            cards = "".join(card.fill(_card_values(a, path))
                            for a, path in items[start:start + PER_PAGE])
            if number == 1:
                text = listing.fill({"cards": cards, "records": str(len(items)),
                                     "sid": str(sid)})
                (root / section / "index.html").write_text(text, encoding="utf-8")
            else:
                (root / section / f"list_{number}.shtml").write_text(FRAGMENT_HEAD + cards,
                                                                     encoding="utf-8")
    (root / "DONE").write_text(str(mirror.html_bytes))
    return mirror


def cached(n: int, seed: int = corpus.DEFAULT_SEED, fallback: bool = False,
           log=print) -> Mirror:
    """The mirror of n articles under bench/.cache/, generated on first use."""
    variant = "-fallback" if fallback else ""
    root = CACHE / f"mirror-{n}-g{corpus.GENERATOR_VERSION}-m{MIRROR_VERSION}-s{seed}{variant}"
    done = root / "DONE"
    if done.exists():
        return Mirror(root, section_names(n), n, int(done.read_text()), fallback)
    log(f"generating a synthetic SHINE mirror of {n:,} articles{variant} in {root} ...")
    return generate(n, root, seed, fallback)


# --- the server -----------------------------------------------------------------------
class Server(SiteServer):
    """The tests' fixture server (tests/server.py) on the mirror: SHINE's Content-Type
    text/html with no charset, keep-alive, 404 for anything missing (robots.txt included:
    no rules), every request logged."""

    def __init__(self, root: Path) -> None:
        super().__init__(root, content_type="text/html")

    def article_requests(self) -> int:
        return sum(1 for p in self.requests if re.search(r"/\d{10}/$", urlsplit(p).path))
