"""Sources a user declares in the config file, without code:

    [sources.chinalawtranslate]
    feed = "https://www.chinalawtranslate.com/feed/"
    language = "en"
    body = "div.entry-content"

A `[sources.NAME]` table whose NAME is not a built-in source becomes a Source class built
from the table: the same description a built-in source gives in Python. Every key is
checked here, so a mistake is one usage error naming it.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

from ipnews.errors import UsageError
from ipnews.sources.base import Cards, Fields, Source

# key -> (kind, what it means); "places" is a string or a list of strings.
KEYS: dict[str, tuple[str, str]] = {
    "title": ("str", "the source's name for people"),
    "home": ("url", "the site's address (default: the origin of the first URL given)"),
    "hosts": ("list", "host names the site's articles live on (default: those of the URLs)"),
    "feed": ("urls", "RSS or Atom feeds"),
    "sitemap": ("urls", "XML sitemaps or sitemap indexes (Google News sitemaps too)"),
    "listing": ("urls", "first listing pages"),
    "article_pattern": ("regex", "regular expression an article URL's path matches"),
    "language": ("str", "language of the articles (en, zh, ...)"),
    "ip_only": ("bool", "keep only stories about intellectual property"),
    "timezone": ("str", "time zone of dates given without an offset"),
    "card": ("str", "CSS of one card on a listing page"),
    "card_link": ("places", "CSS of the card's link"),
    "card_title": ("places", "where a card gives the headline"),
    "card_date": ("places", "where a card gives the date"),
    "next": ("str", "CSS of the link to the next listing page"),
    "headline": ("places", "where an article page gives its headline"),
    "date": ("places", "where an article page gives its date"),
    "date_format": ("places", "strptime formats of those dates (ISO 8601 always works)"),
    "authors": ("places", "where the authors are (each element one author)"),
    "section": ("places", "where the section is"),
    "summary": ("places", "where the standfirst is"),
    "body": ("places", "CSS of the element holding the text"),
    "boilerplate": ("str", "CSS of blocks inside the body that are not its text"),
    "cms": ("str", "the site's CMS, read by ipnews's adapter: jcms (CNIPA's, and many "
                   "provincial offices')"),
    "columns": ("list", "with cms = \"jcms\": the column numbers to read (/col/col<N>/)"),
}
CMS_ADAPTERS = ("jcms",)
# Keys every source takes, handled by the CLI before a source is built.
COMMON = frozenset({"enabled", "base_url", "delay"})


def is_declaration(table: dict[str, Any]) -> bool:
    return any(k in table for k in ("feed", "sitemap", "listing", "cms"))


def declared_class(name: str, table: dict[str, Any]) -> type[Source]:
    """A Source class for [sources.NAME]; UsageError naming the first bad key."""
    if not re.fullmatch(r"[a-z0-9][a-z0-9_-]{0,39}", name):
        raise UsageError(f"[sources.{name}]: a source name is lower-case letters, digits, "
                         "- and _ (at most 40)")
    values = {k: _check(name, k, v) for k, v in table.items() if k not in COMMON}
    if not is_declaration(values):
        from ipnews.sources import source_names

        raise UsageError(f"unknown source [sources.{name}]: the built-in ones are "
                         f"{', '.join(source_names())}; give it a feed, sitemap or listing "
                         "URL (or a cms and its columns) to declare a new one")
    if "cms" in values:
        return _cms_class(name, values)
    urls = [*values.get("feed", ()), *values.get("sitemap", ()), *values.get("listing", ())]
    first = urlsplit(urls[0])
    home = values.get("home") or f"{first.scheme}://{first.netloc}"
    hosts = values.get("hosts") or sorted({h for u in [home, *urls]
                                           for h in _host_forms(urlsplit(u).hostname or "")})
    pattern = values.get("article_pattern")
    discovery = {urlsplit(u).path for u in urls}
    attrs: dict[str, Any] = {
        "name": name, "title": values.get("title", name), "home": home.rstrip("/"),
        "hosts": frozenset(hosts),
        # Without a pattern any page of the site may be an article, but not the pages that
        # lead to articles (its own listings, feeds and sitemaps).
        "article_path": re.compile(pattern) if pattern else re.compile(
            "(?!(?:" + "|".join(re.escape(p) for p in sorted(discovery)) + ")$)/.+"),
        "language": values.get("language", "en"), "ip_only": values.get("ip_only", False),
        "timezone": values.get("timezone", "Asia/Shanghai"),
        "listings": tuple(values.get("listing", ())), "feeds": tuple(values.get("feed", ())),
        "sitemaps": tuple(values.get("sitemap", ())),
        "cards": Cards(card=values.get("card"), link=values.get("card_link", ("a[href]",)),
                       title=values.get("card_title", ()),
                       published=values.get("card_date", ()),
                       date_formats=values.get("date_format", ()), next=values.get("next")),
        "fields": Fields(title=values.get("headline", ("h1", "meta:og:title")),
                         published=values.get("date", ()),
                         date_formats=values.get("date_format", ()),
                         authors=values.get("authors", ()), section=values.get("section", ()),
                         summary=values.get("summary", ()), body=values.get("body", ()),
                         boilerplate=values.get("boilerplate")),
        # The declaration travels with the source's settings to the extractor process.
        "options": {"declaration": {}},
        "__doc__": f"{name}: declared in the config file.",
    }
    return type(f"Declared_{name}", (Source,), attrs)


def _cms_class(name: str, values: dict[str, Any]) -> type[Source]:
    """A site of a CMS ipnews has an adapter for: its address and columns are enough."""
    from ipnews.sources.jcms import JcmsSource

    if values["cms"] not in CMS_ADAPTERS:
        raise UsageError(f"sources.{name}.cms must be one of: {', '.join(CMS_ADAPTERS)}")
    for key in ("home", "columns"):
        if key not in values:
            raise UsageError(f"[sources.{name}] with cms = \"jcms\" needs {key}")
    columns = [c.removeprefix("col") for c in values["columns"]]
    if not all(c.isdigit() and len(c) < 12 for c in columns):
        raise UsageError(f"sources.{name}.columns must be column numbers, like [\"53\"]")
    other = set(values) - {"cms", "columns", "home", "hosts", "title", "language", "ip_only",
                           "timezone"}
    if other:
        raise UsageError(f"sources.{name}.{sorted(other)[0]} does not apply to a cms source")
    home = values["home"].rstrip("/")
    attrs: dict[str, Any] = {
        "name": name, "title": values.get("title", name), "home": home,
        "hosts": frozenset(values.get("hosts") or _host_forms(urlsplit(home).hostname or "")),
        "language": values.get("language", "zh"), "ip_only": values.get("ip_only", False),
        "timezone": values.get("timezone", "Asia/Shanghai"),
        # The declaration travels with the settings to the extractor process.
        "options": {"declaration": {}, "columns": columns},
        "__doc__": f"{name}: a {values['cms']} site declared in the config file.",
    }
    return type(f"Declared_{name}", (JcmsSource,), attrs)


def _host_forms(host: str) -> set[str]:
    bare = host.removeprefix("www.")
    return {bare, f"www.{bare}"} if bare else set()


def _check(name: str, key: str, value: Any) -> Any:
    where = f"sources.{name}.{key}"
    if key not in KEYS:
        raise UsageError(f"unknown key {where} (known: {', '.join(sorted(KEYS))})")
    kind = KEYS[key][0]
    if kind == "bool":
        if not isinstance(value, bool):
            raise UsageError(f"{where} must be true or false")
        return value
    if kind in ("urls", "places", "list"):
        items = [value] if isinstance(value, str) else value
        if not isinstance(items, list) or not items or not all(
                isinstance(v, str) and v.strip() for v in items):
            raise UsageError(f"{where} must be a string or a list of strings")
        if kind == "urls":
            for url in items:
                _check_url(where, url)
        return tuple(v.strip() for v in items)
    if not isinstance(value, str) or not value.strip():
        raise UsageError(f"{where} must be a string")
    if kind == "url":
        _check_url(where, value)
    if kind == "regex":
        try:
            re.compile(value)
        except re.error as exc:
            raise UsageError(f"{where} is not a regular expression: {exc}") from None
    if key in ("card", "next", "boilerplate"):
        _check_css(where, value)
    return value.strip()


def _check_url(where: str, url: str) -> None:
    try:
        parts = urlsplit(url)
    except ValueError as exc:
        raise UsageError(f"{where}: bad URL {url!r}: {exc}") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UsageError(f"{where} must be an http(s) URL, not {url!r}")


def _check_css(where: str, selector: str) -> None:
    from selectolax.lexbor import LexborHTMLParser

    try:
        LexborHTMLParser("<p></p>").css(selector)
    except Exception as exc:  # lexbor raises ValueError or its own SelectorSyntaxError
        raise UsageError(f"{where} is not a CSS selector: {selector!r} ({exc})") from None
