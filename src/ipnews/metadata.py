"""Article metadata from any page, read in a documented order of trust, each field with the
route it came from.

Order of trust (first that gives a usable value wins, unless noted):

- title: JSON-LD headline, og:title, twitter:title, the publisher's ArticleTitle meta,
  the first <h1> that is not the site's logo or name, <title> without the site's suffix.
  A candidate that is a strict prefix of a longer <h1> or JSON-LD headline (og:title cut at
  an unescaped quote) gives way to the longer one. A candidate equal to the site's name
  (og:site_name, application-name, SiteName, JSON-LD publisher, <title>'s suffix) or to a
  logo's alt text is never the title.
- published: JSON-LD datePublished (then dateCreated, then dateModified), OpenGraph /
  article:published_time, Dublin Core, the publishers' own meta names (publishdate, PubDate,
  ArticlePublishDate, sailthru.date, parsely-pub-date, ...), <time datetime> (one marked
  published before an unmarked one, an "updated"/"modified" one last), a visible date near
  the headline (English and Chinese formats), then the URL's date. When the URL holds a date
  and the chosen date is more than 3 days from it (a Buddhist-era 2567 for 2024), the first
  lower-ranked candidate that agrees with the URL wins, else the URL's date itself.
- authors: JSON-LD author (strings, objects, lists), the author / article:author / byl /
  dc.creator / parsely-author / sailthru.author meta, a visible byline near the headline
  ("By A and B", "记者 张三", "作者：李四"). URLs and e-mail addresses are dropped, "By" is
  cut, names split on and / und / & / 、 / ，/ , / ; and deduplicated; the site's name and
  the wire source are not authors.
- wire_source: a "source" meta, a visible credit line ("Source: Xinhua", "来源：新华社");
  the site's own name is not a wire source.
- editor: a visible credit line ("责任编辑：王五", "Editor: Li Si", "（编辑：…）"), the
  editor meta.
- section, summary, tags: JSON-LD, then OpenGraph / article:*, then plain meta names.

Dates are ISO 8601 in Shanghai time (naive times are Shanghai time); a date without a time is
"YYYY-MM-DD". Everything is bounded: at most MAX_LD_SCRIPTS JSON-LD scripts of at most
MAX_LD_CHARS each, at most MAX_LD_NODES objects walked, visible text read from at most
MAX_BLOCKS lines near the headline, each line cut to MAX_LINE characters before any regex runs,
and no regex here can backtrack more than linearly.
"""

from __future__ import annotations

import itertools
import json
import re
from datetime import date, datetime
from typing import Any

from selectolax.lexbor import LexborHTMLParser

from ipnews.article import clean_line, iso_stated

MAX_LD_SCRIPTS = 20
MAX_LD_CHARS = 1_000_000
MAX_LD_NODES = 5_000
MAX_LD_DEPTH = 30
MAX_BLOCKS = 600  # visible lines read, from just before the headline
NEAR_HEADLINE = 40  # lines after the headline searched for a byline or a date
MAX_LINE = 300  # characters of a line that the regexes see
MAX_TIME_NODES = 50
MAX_FIELD = 2_000  # characters kept of a meta value before it is parsed
URL_AGREES_DAYS = 3
DATELINE_CHARS = 80  # an unlabelled line longer than this is prose, not a dateline ...
DATELINE_OPENS = 40  # ... unless a date opens it

ARTICLE_TYPES = frozenset({
    "article", "newsarticle", "blogposting", "reportagenews", "analysisnewsarticle",
    "opinionnewsarticle", "backgroundnewsarticle", "reviewnewsarticle", "askpublicnewsarticle",
    "scholarlyarticle", "techarticle", "report", "liveblogposting", "socialmediaposting",
    "posting", "webpage", "medicalwebpage",
})
_PRIMARY_TYPES = ARTICLE_TYPES - {"webpage", "medicalwebpage"}

OG_DATES = ("article:published_time", "og:published_time", "og:article:published_time",
            "article:published", "datepublished")
DC_DATES = ("dc.date.issued", "dcterms.issued", "dc.date", "dcterms.date", "dcterms.created",
            "dc.date.created")
PUBLISHER_DATES = ("publishdate", "pubdate", "articlepublishdate", "publish-date",
                   "publish_date", "publication_date", "sailthru.date", "parsely-pub-date",
                   "article.published", "originalpublicationdate", "displaydate",
                   "release_date", "firstpublishedtime")
# Names that CMSs also fill with the time a page was last changed: trusted after the visible
# date under the headline, not before it.
WEAK_DATES = ("date", "created")
AUTHOR_METAS = (("author", "meta:author"), ("article:author", "og"), ("byl", "meta:byl"),
                ("dc.creator", "dc"), ("dcterms.creator", "dc"),
                ("parsely-author", "meta:parsely-author"),
                ("sailthru.author", "meta:sailthru.author"))
SITE_NAME_METAS = ("og:site_name", "application-name", "sitename", "twitter:site",
                   "apple-mobile-web-app-title")

# Month names as pages print them, in the languages the generic path meets most (English,
# German, French, Spanish, Italian, Dutch, Portuguese): a word is looked up, not matched by
# an alternation, so adding a language costs nothing per line.
_MONTHS = {m: i for i, names in enumerate((
    "jan january januar janvier enero ene gennaio januari janeiro jänner",
    "feb february februar février fevrier febrero febbraio februari fevereiro",
    "mar march märz maerz mars marzo maart março marco mär",
    "apr april avril abril aprile",
    "may mai mayo maggio mei maio",
    "jun june juni juin junio giugno junho",
    "jul july juli juillet julio luglio julho",
    "aug august août aout agosto augustus ago",
    "sep sept september septembre septiembre settembre setembro set",
    "oct october oktober octobre octubre ottobre outubro okt",
    "nov november novembre noviembre novembro",
    "dec december dezember décembre decembre diciembre dicembre dezembro dez dic"),
    start=1) for m in names.split()}
_MONTH = r"([^\W\d_]{3,10})\.?"
_TIME = r"(?:[T\s,]{0,3}(\d{1,2})[:：](\d{2})(?:[:：](\d{2}))?(?:\s?([ap])\.?m\b\.?)?)?"
_DATE_PATTERNS = (
    # 2019年12月10日 10:20
    ("ymd", re.compile(r"(?<!\d)(\d{4})\s?年\s?(\d{1,2})\s?月\s?(\d{1,2})\s?日" + _TIME)),
    # 2019-09-09 19:32, 2019/9/9, 2019.09.09, and Xinhua's "2023 11/ 17 20:52:15"
    ("ymd", re.compile(r"(?<!\d)(\d{4})(?:[-/.]|\s(?=\d{1,2}\s?/))\s?(\d{1,2})\s?[-/.]\s?"
                       r"(\d{1,2})(?!\d)" + _TIME)),
    # Sep 9, 2019 / September 9 2019 10:20 am
    ("mdy", re.compile(r"(?<![^\W\d_])" + _MONTH + r"\s(\d{1,2})(?:st|nd|rd|th)?,?\s(\d{4})(?!\d)"
                       + _TIME, re.I)),
    # 9 September 2019, 29. Juni 2017, 4 de mayo de 2022, 1er mars 2020
    ("dmy", re.compile(r"(?<!\d)(\d{1,2})(?:st|nd|rd|th|er|\.)?\s(?:de\s)?" + _MONTH
                       + r",?\s(?:de\s)?(\d{4})(?!\d)" + _TIME, re.I)),
    # 26.01.2022: day first wherever dots separate a date that ends with its year
    ("dmy.", re.compile(r"(?<![\d.])(\d{1,2})\.\s?(\d{1,2})\.\s?(\d{4})(?!\d)" + _TIME)),
    # 09/09/2019: used only when it can be read one way
    ("num", re.compile(r"(?<!\d)(\d{1,2})/(\d{1,2})/(\d{4})(?!\d)" + _TIME)),
)
_URL_DATES = (
    re.compile(r"(?<!\d)(\d{4})[/_-](\d{1,2})[/_-](\d{1,2})(?!\d)"),
    re.compile(r"(?<!\d)(\d{4})(\d{2})/(\d{2})(?!\d)"),
    re.compile(r"(?<!\d)(\d{4})/(\d{2})(\d{2})(?!\d)"),
    re.compile(r"(?<!\d)(\d{4})(\d{2})(\d{2})(?!\d)"),
)
_UPDATED = re.compile(r"updated|modified|更新|修改|最后编辑", re.I)
# Dates of something else than the story: a forum member's joining, an event's.
_NOT_PUBLISHED = re.compile(r"registriert|registered|joined|member since|mitglied seit|注册", re.I)
_PUBLISHED_LABEL = re.compile(r"publish|posted|发布|发表|时间", re.I)

# "By", and the same word in the languages of _MONTHS, at the start of a line.
_BY = (r"(?:(?:written|posted|published|geschrieben|verfasst|publicado|publié|pubblicato)\s)?"
       r"(?:by|von|vom|par|por|door|av|af|di)")
_BYLINE = re.compile(r"^" + _BY + r"[\s:]\s*(\S.*)$", re.I)
# The same inside a byline element whose text also holds a date or a label.
_BYLINE_IN = re.compile(r"(?:^|\s)(?:" + _BY + r"|autor|autorin|author|auteur|autore)\s?:?\s"
                        r"([^\s|·•–—,]+(?:\s[^\s|·•–—,]+){0,4})", re.I)
# The credit that closes a Chinese story's last paragraph.
_END_CREDIT_ZH = re.compile(
    r"[（(](?:本报|新华社|特约)?(?:记者|评论员|通讯员)\s?([^（）()]{2,40})[）)]$")
# A line that only labels the next one as the author's.
_AUTHOR_LABEL = re.compile(
    r"^(?:autor|autorin|autoren|author|authors|auteur|autore|作者)\s?[:：]?$", re.I)
_DATELINE_PARTS = re.compile(r"\s[|·•–—-]\s")
# Where a byline element's names end: a date, a separator, "at"/"am"/"on" before a time.
# ("Loïc Le Clerc" keeps his "Le": the word must come before a number.)
_BYLINE_END = re.compile(r"\s(?:at|on|am|um|le|el|il|in|the)\s(?=\D{0,15}\d).*$|"
                         r"\s?[|·•–—]\s?.*$|\s(?:updated|aktualisiert|actualizado|mis à jour)\b.*$|"
                         r"\s(?:staff writer|senior writer|reporter|correspondent|contributor|"
                         r"redakteur|redakteurin|journalist|journalistin)\b.*$", re.I)
# Accounts and desks that CMSs put where an author goes: not people.
_NOT_PERSON = re.compile(
    r"^(?:admin|administrator|publisher|super user|webmaster|editor|editors|staff|team|"
    r"guest|anonymous|unknown|contributors to wikimedia projects)$|"
    r"\b(?:redaktion|redacci[oó]n|r[ée]daction|redazione|redakcja|newsroom|staff writers?|"
    r"e\.\s?v|gmbh|inc|ltd|llc|ministerium|ministry|stiftung|foundation|verlag|agency|"
    r"reuters|associated press|bloomberg|xinhua)\b|新华社|中新社|"
    r"^(?:source|editor)\s?[:：]|来源|稿源|出处|编辑",  # credit lines: the wire, the editor
    re.I)
# Markup that names a story's author, most specific first; the first that yields a name wins.
AUTHOR_MARKUP = (
    '[itemprop="author"] [itemprop="name"]', '[itemprop="author"]', '[rel="author"]',
    ".author .fn", ".byline .author", ".author-name", ".entry-author-name", ".post-author",
    ".author", ".byline", ".by-author", ".meta-author", ".post-byline", '[class$="__author"]',
    '[class*="author__name"]', '[class*="author-link"]', '[class*="authorname"]',
    '[class*="authorName"]', '[class$="--author"]', 'a[href*="/author/"]',
    'a[href*="/authors/"]', 'a[href*="/autor/"]', 'a[href*="/autore/"]',
    'a[href*="/auteur/"]', '[class*="contributor"]',
)
# An author element inside these is a commenter's, a photographer's or another story's
# (matched at the start of a class or id, so that "content-sidebar-wrap" is not a sidebar).
_NOT_BYLINE = re.compile(r"^(?:comments?|respond|reply|form|licen[cs]e|image|photo|credits?|bio|"
                         r"about|widget|avatar|sidebar|related|teaser|footer|share|social)"
                         r"(?:$|[-_])", re.I)
# The box that holds the story, as the common blog and CMS templates name it.
_STORY_BOX = re.compile(r"^(?:post|hentry|entry|article|story)(?:-(?:outer|inner|body|content))?$")
# "Photograph by ...": the picture's author, not the story's.
_CREDIT_LINE = re.compile(r"(?:photo(?:graph)?s?|fotos?|image|bild|credit|illustration)\b", re.I)
_NOT_BYLINE_ID = re.compile(r"comment|respond|reply|footer", re.I)
_NOT_BYLINE_TAGS = frozenset({"input", "link", "meta", "body", "html", "head", "img", "h1",
                              "script", "style", "form", "textarea", "label", "button"})
# "记者", after an outlet's name or not ("半月谈记者", "本报记者").
_BYLINE_ZH = re.compile(r"(?:^|[\s|｜(（【\[])(?:[\u4e00-\u9fff]{0,6}记者|作者|撰稿|撰文|文)"
                        r"\s?[:：/]?\s?"
                        r"([^\s\d:：|｜)）】\]，。][^|｜)）】\]，。\d]{0,40})(?:$|[\s|｜)）】\]])")
_SOURCE_EN = re.compile(r"^(?:source|via|credit)\s?[:：]\s*(\S.{0,59})$", re.I)
_CREDIT_CUT = re.compile(r"\s(?:editors?\s?[:：]|edited by\s|责任编辑|责编|编辑\s?[:：]).*$", re.I)
_SOURCE_ZH = re.compile(r"(?:来源|稿源|消息来源|出处)\s?[:：]\s*([^\s|｜)）】\]]{1,30})")
_EDITOR_EN = re.compile(r"(?:^|\s)(?:editors?\s?[:：]|edited by\s)\s*(\S.{0,59})$", re.I)
_EDITOR_ZH = re.compile(r"(责任编辑|责编|编辑)\s?[:：]\s*([^|｜)）】\]]{1,30})")

_AUTHOR_SPLIT = re.compile(r"\s(?:and|und|&|y|et)\s|&|、|，|,|;|；|\|")
_AUTHOR_PREFIX = re.compile(r"^(?:" + _BY + r"\s|本报记者|记者|作者|撰稿|撰文|文\s?/|文\s?[:：])"
                            r"[\s:：/]*", re.I)
_HONORIFIC = re.compile(r"^(?:dr|prof|mr|mrs|ms|mme|m|herr|frau dr)\.\s+", re.I)
_NOT_A_NAME = re.compile(r"\d{4}|\d\W+\d|^\d|\d\s")
_PARTICLES = frozenset({"von", "van", "der", "den", "de", "del", "della", "di", "da", "du",
                        "le", "la", "dos", "das", "bin", "al", "y"})
_INITIAL_END = re.compile(r"\s[A-Z]\.$")
_DESK = re.compile(r"^[A-Z]{2,5}$")
_URLISH = re.compile(r"https?:|www\.|\.(?:com|net|org|cn)\b|/", re.I)
_SEPARATORS = re.compile(r"\s[-|–—_·]\s|\s?(?:--|\||｜|_)\s?")
_CJK_TAIL = re.compile(r"-([^\s-]{2,12})$")
_LETTER = re.compile(r"[^\W\d_]")


def read_metadata(tree: LexborHTMLParser, metas: dict[str, str], url: str) -> dict[str, Any]:
    """title, published, authors, section, summary, tags, wire_source, editor of a page, and
    `sources`, the route each found field came from; a field not found is None (a list, [])."""
    found: dict[str, Any] = {"title": None, "published": None, "authors": [], "section": None,
                             "summary": None, "tags": [], "wire_source": None, "editor": None}
    sources: dict[str, str] = {}
    metas = {k: v[:MAX_FIELD] for k, v in metas.items()}
    ld = _json_ld(tree)
    article = ld["article"]
    lines, head = _visible_lines(tree)
    site_names = _site_names(tree, metas, ld)

    def put(field: str, value: Any, route: str) -> None:
        if value and not found[field]:
            found[field] = value
            sources[field] = route

    # title
    title, route = _title(tree, metas, article, site_names)
    put("title", title, route)

    # published
    url_day = url_date(url)
    candidates = _date_candidates(tree, metas, article, lines, head, url_day)
    if candidates:
        value, route = _local(candidates)
        if url_day and abs((_day(value) - url_day).days) > URL_AGREES_DAYS:
            value, route = next(((v, r) for v, r in candidates[1:]
                                 if abs((_day(v) - url_day).days) <= URL_AGREES_DAYS),
                                (url_day.isoformat(), "url"))
        if len(value) == 10:  # a day without a time: a later route may give that day's time
            value, route = next(((v, r) for v, r in candidates
                                 if len(v) > 10 and v[:10] == value), (value, route))
        put("published", value, route)
    elif found_day := _htmldate(tree, url):
        put("published", found_day, "htmldate")
    elif url_day:
        put("published", url_day.isoformat(), "url")

    # wire source and editor
    site_folded = {s.casefold() for s in site_names}
    source_meta = _strip_label(metas.get("source") or metas.get("contentsource") or "")
    for value, route in ((source_meta, "meta:source"), (_credit(lines, head, "source"), "visible")):
        if value and value.casefold() not in site_folded:
            put("wire_source", value, route)
            break
    put("editor", _credit(lines, head, "editor"), "visible")
    put("editor", _clean_person(metas.get("editor") or ""), "meta:editor")

    # authors
    not_authors = site_folded | {(found["wire_source"] or "").casefold()}
    for raw, route in _author_candidates(tree, ld, metas, lines, head):
        names = clean_authors(raw)
        if route in ("json-ld", "og", "dc") or route.startswith("meta:"):
            # Where a CMS fills in the site or the desk; a byline naming the site's owner
            # (a personal blog) is still its author.
            names = [n for n in names if n.casefold() not in not_authors]
        else:
            # Text that follows "von" or "par" on a page is not always a name.
            names = [n for n in names if _name_shaped(n)]
        if route.startswith("meta:") and found["editor"] and names == [found["editor"]]:
            continue  # China Daily's CMS puts the editor in meta author
        if names:
            put("authors", names, route)
            break

    # section, summary, tags
    if article:
        put("section", _ld_text(article.get("articleSection")), "json-ld")
        put("summary", _ld_text(article.get("description")), "json-ld")
        keywords = article.get("keywords")
        if isinstance(keywords, list):
            put("tags", _dedupe([t for k in keywords[:100] if (t := _ld_text(k))]), "json-ld")
        elif isinstance(keywords, str):
            put("tags", _split_tags(keywords), "json-ld")
    for name, route in (("article:section", "og"), ("section", "meta:section"),
                        ("columnname", "meta:columnname"), ("columnid", "meta:columnid")):
        put("section", metas.get(name), route)
    for name, route in (("og:description", "og"), ("description", "meta:description"),
                        ("dc.description", "dc"), ("twitter:description", "twitter")):
        put("summary", metas.get(name), route)
    put("tags", _dedupe([t for n in tree.css('meta[property="article:tag"]')[:100]
                         if (t := clean_line(n.attributes.get("content")))]), "og")
    for name in ("news_keywords", "keywords"):
        put("tags", _split_tags(metas.get(name) or ""), f"meta:{name}")

    found["sources"] = sources
    return found


# ---- JSON-LD ------------------------------------------------------------------------------

def _json_ld(tree: LexborHTMLParser) -> dict[str, Any]:
    """The first article-like JSON-LD object (a NewsArticle before a WebPage), the names
    of the organisations and web sites the scripts name, and the named nodes by @id (an
    @graph names an article's author by reference: {"author": {"@id": "#/person/1"}})."""
    primary: dict[str, Any] | None = None
    fallback: dict[str, Any] | None = None
    names: list[str] = []
    by_id: dict[str, dict[str, Any]] = {}
    walked = 0
    for script in tree.css('script[type="application/ld+json" i]')[:MAX_LD_SCRIPTS]:
        text = script.text(deep=True) or ""
        if len(text) > MAX_LD_CHARS:
            continue
        try:
            data = json.loads(text.strip().rstrip(";"))
        except (ValueError, RecursionError):
            continue
        stack: list[tuple[Any, int]] = [(data, 0)]
        while stack and walked < MAX_LD_NODES:
            node, depth = stack.pop()
            walked += 1
            if depth > MAX_LD_DEPTH:
                continue
            if isinstance(node, list):
                stack.extend((n, depth + 1) for n in reversed(node[:200]))
                continue
            if not isinstance(node, dict):
                continue
            types = node.get("@type")
            types = {t.lower() for t in (types if isinstance(types, list) else [types])
                     if isinstance(t, str)}
            if types & _PRIMARY_TYPES and primary is None:
                primary = node
            elif types & ARTICLE_TYPES and fallback is None:
                fallback = node
            if isinstance(node_id := node.get("@id"), str) and "name" in node:
                by_id.setdefault(node_id, node)
            if types & {"organization", "newsmediaorganization", "website"} and (
                    name := _ld_text(node.get("name"))):
                names.append(name)
            publisher = node.get("publisher")
            if isinstance(publisher, dict) and (name := _ld_text(publisher.get("name"))):
                names.append(name)
            for key in ("@graph", "mainEntity", "mainEntityOfPage", "itemListElement"):
                if isinstance(child := node.get(key), (dict, list)):
                    stack.append((child, depth + 1))
    return {"article": primary or fallback, "site_names": names, "by_id": by_id}


def _ld_text(value: Any) -> str | None:
    if isinstance(value, list):
        value = next((v for v in value if isinstance(v, (str, dict))), None)
    if isinstance(value, dict):
        value = value.get("name") or value.get("@value")
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        value = str(value)
    return (clean_line(value[:MAX_FIELD]) or None) if isinstance(value, str) else None


def _ld_people(value: Any, by_id: dict[str, dict[str, Any]]) -> list[str]:
    out: list[str] = []
    for item in (value if isinstance(value, list) else [value])[:50]:
        if isinstance(item, dict) and "name" not in item and isinstance(item.get("@id"), str):
            item = by_id.get(item["@id"], item)
        if isinstance(item, dict) and "organization" in str(item.get("@type")).lower():
            continue  # the publisher or a desk named as author: not a person
        if isinstance(item, dict):
            item = item.get("name") or (
                " ".join(p for p in (item.get("givenName"), item.get("familyName"))
                         if isinstance(p, str)))
        if isinstance(item, list):  # {"name": ["A", "B"]}
            out.extend(i[:MAX_FIELD] for i in item[:50] if isinstance(i, str))
        elif isinstance(item, str):
            out.append(item[:MAX_FIELD])
    return out


# ---- visible text -------------------------------------------------------------------------

def _visible_lines(tree: LexborHTMLParser) -> tuple[list[str], int]:
    """The page's visible lines from a few before the headline (the first <h1>) on, each cut
    to MAX_LINE characters, and the headline's index among them."""
    from ipnews.extraction import blocks  # here: extraction imports this module

    found = blocks(tree.body)
    head = next((i for i, b in enumerate(found) if b.tag == "h1"), None)
    start = max(0, head - 10) if head is not None else 0
    lines = [b.text[:MAX_LINE] for b in found[start:start + MAX_BLOCKS]]
    return lines, (head - start if head is not None else 0)


def _near(lines: list[str], head: int) -> list[str]:
    """Lines around the headline: where bylines and dates are."""
    return lines[max(0, head - 10):head + NEAR_HEADLINE]


def _credit(lines: list[str], head: int, kind: str) -> str | None:
    """The wire source or the editor named by a credit line ("来源：新华社", "Editor: Li")."""
    if kind == "source":
        for line in lines:
            m = _SOURCE_EN.match(line) or _SOURCE_ZH.search(line)
            if m:
                value = clean_line(_CREDIT_CUT.sub("", m.group(1))).rstrip(".。")
                if value and _LETTER.search(value):
                    return value
        return None
    best: tuple[int, str] | None = None
    for line in lines:
        if m := _EDITOR_EN.search(line):
            return _clean_person(m.group(1))
        for m in _EDITOR_ZH.finditer(line):
            value = _clean_person(m.group(2))
            rank = 0 if m.group(1) != "编辑" else 1
            if value and (best is None or rank < best[0]):
                best = (rank, value)
        if best and best[0] == 0:
            break
    return best[1] if best else None


def _clean_person(value: str) -> str | None:
    value = clean_line(value).strip(" .。:：【】[]()（）")
    if not value or len(value) > 40 or not _LETTER.search(value) or _URLISH.search(value):
        return None
    return value


def _strip_label(value: str) -> str:
    return re.sub(r"^(?:来源|source)\s?[:：]\s*", "", clean_line(value), flags=re.I)


# ---- title --------------------------------------------------------------------------------

def _site_names(tree: LexborHTMLParser, metas: dict[str, str], ld: dict[str, Any]
                ) -> list[str]:
    names = [v for n in SITE_NAME_METAS if (v := metas.get(n))]
    names += ld["site_names"]
    node = tree.css_first("title")
    title = clean_line(node.text()) if node is not None else ""
    parts = _SEPARATORS.split(title)
    if len(parts) > 1 and len(parts[-1]) <= 30:
        names.append(parts[-1])
    elif m := _CJK_TAIL.search(title):
        names.append(m.group(1))
    names = [n.lstrip("@") for n in names if n]
    return _dedupe(names)


def _logo_texts(tree: LexborHTMLParser) -> set[str]:
    out: set[str] = set()
    for node in tree.css('[class*="logo" i] img[alt], [id*="logo" i] img[alt], '
                         'img[alt][src*="logo" i], img[alt][class*="logo" i]')[:20]:
        if alt := clean_line(node.attributes.get("alt")):
            out.add(alt.casefold())
    for node in tree.css('[class*="logo" i], [id*="logo" i]')[:20]:
        if (text := clean_line(node.text())) and len(text) <= 40:
            out.add(text.casefold())
    return out


def strip_site_suffix(title: str, site_names: list[str], generous: bool = False) -> str:
    """title without a trailing " - Site", " | Site", "_新华网", "-新华网"; with generous (for
    <title>), without any short tail either ("headline--时政--人民网")."""
    title = clean_line(title)[:MAX_FIELD]
    folded = {s.casefold() for s in site_names if s}
    for _ in range(5):
        last = None
        for last in _SEPARATORS.finditer(title):  # noqa: B007 - the last one is wanted
            pass
        if last is None:
            break
        head, tail = title[:last.start()].strip(), title[last.end():].strip()
        low = tail.casefold()
        if not head:
            break
        if low in folded or (len(tail) <= 16 and any(s in low for s in folded)) or (
                generous and len(tail) <= 20 and len(head) > len(tail)):
            title = head
            continue
        break
    if m := _CJK_TAIL.search(title):
        tail = m.group(1)
        if tail.casefold() in folded or (generous and not tail.isascii()
                                         and len(title) > 3 * len(tail)):
            title = title[:m.start()].rstrip()
    return title


def _title(tree: LexborHTMLParser, metas: dict[str, str], article: dict[str, Any] | None,
           site_names: list[str]) -> tuple[str | None, str]:
    bad = {s.casefold() for s in site_names} | _logo_texts(tree)
    candidates: list[tuple[str, str]] = []
    if article and (headline := _ld_text(article.get("headline"))
                    or _ld_text(article.get("name"))):
        candidates.append((headline, "json-ld"))
    for name, route in (("og:title", "og"), ("twitter:title", "twitter"),
                        ("articletitle", "meta:articletitle"), ("dc.title", "dc")):
        if value := metas.get(name):
            candidates.append((value, route))
    h1 = None
    for node in tree.css("h1")[:10]:
        cls = (node.attributes.get("class") or "") + (node.attributes.get("id") or "")
        text = clean_line(node.text(separator=" "))[:MAX_FIELD]
        if text and "logo" not in cls.lower() and text.casefold() not in bad:
            h1 = text
            break
    if h1:
        candidates.append((h1, "h1"))
    node = tree.css_first("title")
    if node is not None and (text := clean_line(node.text())[:MAX_FIELD]):
        candidates.append((text, "title"))
    cleaned = [(t, r) for v, r in candidates
               if (t := v if r in ("h1", "json-ld") else
                   strip_site_suffix(v, site_names, generous=r == "title"))
               and t.casefold() not in bad]
    if not cleaned:
        return None, ""
    title, route = cleaned[0]
    for longer, longer_route in cleaned:  # og:title cut at an unescaped quote
        if longer_route in ("h1", "json-ld") and len(longer) > len(title) \
                and longer.startswith(title.rstrip(" \"'“‘")):
            return longer, longer_route
    return title, route


# ---- dates --------------------------------------------------------------------------------

def parse_any_date(value: str | None, url_day: date | None = None) -> str | None:
    """A date as pages give it, as ISO 8601 in Shanghai time, or "YYYY-MM-DD" when it has no
    time; None when it is not a date or is ambiguous (09/10/2019 with no URL to settle it)."""
    text = clean_line((value or "")[:MAX_LINE])
    if not text:
        return None
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
        return _valid(int(text[:4]), int(text[5:7]), int(text[8:10]))
    if re.fullmatch(r"\d{8}", text):
        return _valid(int(text[:4]), int(text[4:6]), int(text[6:]))
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00").replace(" UTC", "+00:00"))
        return _stated(parsed)
    except ValueError:
        pass
    if re.fullmatch(r"\d{10}(?:\d{3})?", text):  # a Unix timestamp, seconds or milliseconds
        seconds = int(text[:10])
        from datetime import timezone
        return _stated(datetime.fromtimestamp(seconds, timezone.utc)) \
            if 946684800 <= seconds <= 4102444800 else None
    if re.match(r"^[A-Za-z]{3},\s", text):  # RFC 2822
        from email.utils import parsedate_to_datetime
        try:
            return _stated(parsedate_to_datetime(text))
        except (TypeError, ValueError, IndexError, OverflowError):
            pass
    return find_date(text, url_day)


def find_date(line: str, url_day: date | None = None) -> str | None:
    """The first date in a line of text, in any format of _DATE_PATTERNS."""
    line = line[:MAX_LINE]
    for kind, pattern in _DATE_PATTERNS:
        for m in itertools.islice(pattern.finditer(line), 4):
            if (found := _read_date(kind, m, url_day)) is not None:
                return found
    return None


def _read_date(kind: str, m: re.Match[str], url_day: date | None) -> str | None:
    g = m.groups()
    if kind == "ymd":
        y, mo, d = int(g[0]), int(g[1]), int(g[2])
    elif kind == "mdy":
        y, mo, d = int(g[2]), _MONTHS.get(g[0].lower(), 0), int(g[1])
    elif kind == "dmy":
        y, mo, d = int(g[2]), _MONTHS.get(g[1].lower(), 0), int(g[0])
    elif kind == "dmy.":
        y, mo, d = int(g[2]), int(g[1]), int(g[0])
    else:
        a, b, y = int(g[0]), int(g[1]), int(g[2])
        if a > 12 >= b or a == b:
            mo, d = b, a
        elif b > 12 >= a:
            mo, d = a, b
        elif url_day and (url_day.month, url_day.day) in ((a, b), (b, a)):
            mo, d = url_day.month, url_day.day
        else:
            return None  # 09/10/2019: September or October, nothing says which
    day = _valid(y, mo, d)
    if day is None:
        return None
    hour, minute, second, ampm = g[-4:]
    if hour is None:
        return day
    h, mi, s = int(hour), int(minute), int(second or 0)
    if ampm:
        h = h % 12 + (12 if ampm.lower() == "p" else 0)
    if h > 23 or mi > 59 or s > 59:
        return day
    return _stated(datetime(y, mo, d, h, mi, s))


def _local(candidates: list[tuple[str, str]]) -> tuple[str, str]:
    """The most trusted date, on the publisher's day. A time given in UTC names the instant
    but not the day the publisher printed (a Belize evening is the next day in UTC): when a
    later route states the same moment with a local offset, or prints a day within one of
    it, that route's reading wins."""
    value, route = candidates[0]
    if not value.endswith("+00:00"):
        return value, route
    moment = datetime.fromisoformat(value)
    for other, other_route in candidates[1:]:
        if other.endswith("+00:00"):
            continue  # the same statement again, or another UTC one
        if len(other) > 10 and other_route != "visible":
            if abs((datetime.fromisoformat(other) - moment).total_seconds()) <= 300:
                return other, other_route
        elif len(other) == 10 and abs((_day(other) - moment.date()).days) <= 1:
            return other, other_route
    return value, route


def _htmldate(tree: LexborHTMLParser, url: str) -> str | None:
    """htmldate's reading of a page where no route of ours found a date: it knows the date
    markup of many CMSs and languages that our routes do not name. It runs only here, on
    the few pages that need it (it parses the page again)."""
    from htmldate import find_date as htmldate_find

    try:
        value = htmldate_find(tree.html or "", url=url, original_date=True,
                              extensive_search=False, outputformat="%Y-%m-%d")
    except Exception:
        return None
    return _valid(int(value[:4]), int(value[5:7]), int(value[8:10])) if value else None


def _valid(y: int, m: int, d: int) -> str | None:
    if not 1990 <= y <= 2200:  # 2200: a Buddhist-era year is caught by the URL check
        return None
    try:
        return date(y, m, d).isoformat()
    except ValueError:
        return None


def _stated(value: datetime) -> str | None:
    """iso_stated, for the years a news page can carry."""
    return iso_stated(value) if 1990 <= value.year <= 2600 else None


def _day(value: str) -> date:
    return date.fromisoformat(value[:10])


def url_date(url: str) -> date | None:
    """The date a URL's path holds (/2024/05/09/, /20240509/, /202405/09/, /2024-05/09/)."""
    path = re.sub(r"^[a-z]+://[^/]*", "", (url or "")[:2000], flags=re.I)
    for pattern in _URL_DATES:
        for m in pattern.finditer(path):
            if day := _valid(*map(int, m.groups())):
                return date.fromisoformat(day)
    return None


def _date_candidates(tree: LexborHTMLParser, metas: dict[str, str],
                     article: dict[str, Any] | None, lines: list[str], head: int,
                     url_day: date | None) -> list[tuple[str, str]]:
    """Every publication date the page gives, most trusted first, with its route."""
    out: list[tuple[str, str]] = []

    def add(value: Any, route: str) -> None:
        if isinstance(value, str) and (parsed := parse_any_date(value, url_day)):
            out.append((parsed, route))

    if article:
        for key in ("datePublished", "dateCreated"):
            add(article.get(key), "json-ld")
    for name in OG_DATES:
        add(metas.get(name), "og" if ":" in name else f"meta:{name}")
    for name in DC_DATES:
        add(metas.get(name), "dc")
    for name in PUBLISHER_DATES:
        add(metas.get(name), f"meta:{name}")
    marked, plain, updated = [], [], []
    for node in tree.css("time[datetime]")[:MAX_TIME_NODES]:
        attrs = node.attributes
        value = attrs.get("datetime") or ""
        label = " ".join(attrs.get(a) or "" for a in ("itemprop", "class", "id"))
        parent = node.parent
        if parent is not None:
            label += " " + (parent.attributes.get("class") or "")
        label += " " + clean_line(node.text())[:40]
        if "pubdate" in attrs or re.search(r"datepublished|publish|posted", label, re.I):
            marked.append(value)
        elif _UPDATED.search(label):
            updated.append(value)
        else:
            plain.append(value)
    for value in marked:
        add(value, "time")
    labelled, unlabelled = [], []
    for line in _near(lines, head):
        published = _PUBLISHED_LABEL.search(line)
        if (_UPDATED.search(line) or _NOT_PUBLISHED.search(line)) and not published:
            continue
        if not published and len(line) > DATELINE_CHARS:
            # A date inside a sentence is a caption's, a teaser's, a quoted tweet's; a
            # dateline opens its line ("Pressemitteilung vom 25. Januar 2022 | Berlin - ...").
            line = line[:DATELINE_OPENS]
        if parsed := find_date(line, url_day):
            (labelled if published else unlabelled).append(parsed)
    out.extend((v, "visible") for v in labelled + unlabelled)
    # A <time> that says nothing of what it dates may be a sidebar's or a comment's: the
    # date printed by the headline is better evidence.
    for value in plain:
        add(value, "time")
    for name in WEAK_DATES:
        add(metas.get(name), f"meta:{name}")
    if article:
        add(article.get("dateModified"), "json-ld")
    add(metas.get("article:modified_time") or metas.get("og:updated_time"), "og")
    for value in updated:
        add(value, "time")
    return out


# ---- authors ------------------------------------------------------------------------------

def _author_candidates(tree: LexborHTMLParser, ld: dict[str, Any], metas: dict[str, str],
                       lines: list[str], head: int) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    if article := ld["article"]:
        names = (_ld_people(article.get("author"), ld["by_id"])
                 or _ld_people(article.get("creator"), ld["by_id"]))
        if names:
            out.append((";".join(names), "json-ld"))
    if marked := _marked_author(tree):
        out.append((marked, "markup"))
    near = _near(lines, head)
    for i, line in enumerate(near):
        if len(line) > 120:
            continue
        if m := _BYLINE.match(line) or _BYLINE_ZH.search(line):
            out.append((_BYLINE_END.sub("", m.group(1)), "byline"))
        elif _AUTHOR_LABEL.match(line) and i + 1 < len(near):
            out.append((_BYLINE_END.sub("", near[i + 1]), "byline"))  # "Autor" over the name
        elif find_date(line):
            # A dateline that names the author: "06.11.2023 13:30 von Olga",
            # "11.12.2019 - Amelie Loevenich", "04.02.2022 | 13:10 Uhr | Uta Helkenberg".
            if m := _BYLINE_IN.search(line):
                out.append((_BYLINE_END.sub("", m.group(1)), "byline"))
            elif len(parts := _DATELINE_PARTS.split(line)) > 1 and clean_authors(parts[-1]):
                out.append((parts[-1], "byline"))
    # Chinese stories credit their reporters at the end: "（记者宋晨、田中全）".
    for line in reversed(lines[head:]):
        if m := _END_CREDIT_ZH.search(line):
            out.append((m.group(1), "credit"))
            break
    # Last: CMSs fill meta author with the account that posted, the site or the desk.
    for name, route in AUTHOR_METAS:
        if value := metas.get(name):
            out.append((value, route))
    return out


def _marked_author(tree: LexborHTMLParser) -> str | None:
    """The byline that the page's markup marks as the author's (itemprop, rel, classes)."""
    for selector in AUTHOR_MARKUP:
        for node in tree.css(selector)[:20]:
            if node.tag in _NOT_BYLINE_TAGS or _in_furniture(node):
                continue
            text = clean_line(node.text(separator=" "))
            if not text or len(text) > 100 or _CREDIT_LINE.match(text):
                continue
            m = _BYLINE_IN.search(text)
            name = _BYLINE_END.sub("", m.group(1) if m else text)
            if clean_authors(name):
                return name
    return None


def _in_furniture(node: Any) -> bool:
    """Whether node sits in a comment, a form, a photo credit or another story's teaser."""
    for _ in range(12):
        if node is None or node.tag in ("article", "main", "body"):
            return False
        attrs = node.attributes
        classes = (attrs.get("class") or "").split()
        if any(_NOT_BYLINE.match(w) for w in classes):
            return True
        if _NOT_BYLINE_ID.match(attrs.get("id") or ""):
            return True
        if any(_STORY_BOX.match(w) for w in classes):
            return False  # the story's own box (Blogger's sits in a "widget")
        node = node.parent
    return False


def _name_shaped(name: str) -> bool:
    """A handle (one word), or words that each start with a capital, bar the particles of
    names (von, de, van...): "Barzahler-Rabatt profitieren" is not a name."""
    tokens = name.split()
    return len(tokens) == 1 or (len(tokens) <= 5 and all(
        not t[0].islower() or t in _PARTICLES for t in tokens))


def clean_authors(raw: str) -> list[str]:
    """Names from a byline or an author field: no URL, no e-mail address, no "By", split on
    and / und / & / 、 / ，/ , / ;, deduplicated in order."""
    out: list[str] = []
    for part in _AUTHOR_SPLIT.split(clean_line(raw[:MAX_FIELD]))[:20]:
        name = re.sub(r"\s?[(（][^()（）]{0,40}[)）]?$", "", part.strip())  # "Jane Doe (Reuters)"
        name = _AUTHOR_PREFIX.sub("", name).strip(" 。:：|·-–—()（）[]【】\"'")
        name = name if _INITIAL_END.search(name) else name.rstrip(". ")  # "Muñoz C." keeps it
        name = _HONORIFIC.sub("", name)
        if _DESK.match(name):  # "NDR", "LN": a broadcaster's or a paper's initials
            continue
        if (not name or "@" in name or "\ufffd" in name or _URLISH.search(name)
                or not _LETTER.search(name)
                or _NOT_PERSON.search(name)):
            continue
        # A handle may hold a digit or two ("r23", "Marianne1"); a date or a phone may not.
        if len(name) > 60 or len(name.split()) > 6 or _NOT_A_NAME.search(name):
            continue
        tokens = name.split()
        if len(tokens) > 1 and all(2 <= len(t) <= 4 and not t.isascii() for t in tokens):
            out.extend(tokens)  # "张三 李四": Chinese bylines separate names by spaces
        else:
            out.append(name)
    return _dedupe(out)


# ---- small helpers ------------------------------------------------------------------------

def _split_tags(value: str) -> list[str]:
    return _dedupe([t for p in re.split(r"[,;，；、]", value[:MAX_FIELD])[:100]
                    if (t := clean_line(p))])


def _dedupe(values: list[str]) -> list[str]:
    seen: set[str] = set()
    out = []
    for v in values:
        if v.casefold() not in seen:
            seen.add(v.casefold())
            out.append(v)
    return out


__all__ = [
    "clean_authors",
    "find_date",
    "parse_any_date",
    "read_metadata",
    "strip_site_suffix",
    "url_date",
]
