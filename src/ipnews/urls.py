"""Canonical URLs: one identity per story, whatever spelling of its address we met."""

from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass, field
from urllib.parse import parse_qsl, quote, unquote, urlencode, urljoin, urlsplit, urlunsplit

MAX_URL_LENGTH = 2083  # what browsers and Scrapy accept; longer is a trap or garbage

_TRACKING = re.compile(r"^(utm_\w+|fbclid|gclid|yclid|mc_cid|mc_eid|spm|from|share\w*|_)$", re.I)
_SESSION = re.compile(r"^(phpsessid|jsessionid|sid|sessionid|session_id|aspsessionid\w*)$", re.I)


@dataclass(frozen=True)
class UrlRules:
    """How one site spells its addresses. ``origin`` is scheme://host of the canonical form."""

    origin: str
    hosts: frozenset[str] = field(default_factory=frozenset)
    trailing_slash: bool | None = None  # True: add, False: strip, None: keep as found
    keep_query: frozenset[str] = field(default_factory=frozenset)

    def owns(self, host: str) -> bool:
        host = host.lower().rstrip(".")
        return host in self.hosts or host.removeprefix("www.") in self.hosts


def _clean_path(path: str) -> str:
    # Re-quote so that %7E and ~ (and other equivalent spellings) compare equal.
    path = quote(unquote(path), safe="/:@!$&'()*+,;=-._~")
    if not path:
        return "/"
    normalized = posixpath.normpath(path)
    if path.endswith("/") and normalized != "/":
        normalized += "/"
    return normalized.replace("//", "/")


def canonical_url(url: str, rules: UrlRules | None = None, base: str | None = None) -> str:
    """See _canonical_url; a link too broken to parse (a port of 99999, a lone "[") or too
    long to be an address comes back as it was, and looks_like_trap then refuses it."""
    if len(url) > MAX_URL_LENGTH:
        # Not parsed: every link of a page comes through here, and a megabyte of query
        # string costs two seconds to split, unquote and sort.
        return url
    try:
        return _canonical_url(url, rules, base)
    except ValueError:
        return url


def _canonical_url(url: str, rules: UrlRules | None = None, base: str | None = None) -> str:
    """The identity of a URL: scheme and host folded, fragments and tracking dropped.

    With ``rules``, a URL on one of the site's hosts is moved onto its canonical origin (so
    http://ctplo.com/blog/x and https://www.ctplo.com/blog/x/ are the same story) and only
    the query parameters the site needs survive.
    """
    if base:
        url = urljoin(base, url)
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower().rstrip(".")
    port = parts.port
    if (scheme, port) in (("http", 80), ("https", 443)):
        port = None
    path = _clean_path(parts.path)
    query = parse_qsl(parts.query, keep_blank_values=True)
    if rules is not None and rules.owns(host):
        origin = urlsplit(rules.origin)
        scheme, host, port = origin.scheme, origin.hostname or host, origin.port
        # Only the parameters the site needs: a session id or a cache-buster must never
        # make one story look like many (the site's own "sid" may well be a section id).
        query = [(k, v) for k, v in query if k in rules.keep_query]
        last = path.rsplit("/", 1)[-1]
        if rules.trailing_slash is True and not path.endswith("/") and "." not in last:
            path += "/"
        elif rules.trailing_slash is False and path != "/":
            path = path.rstrip("/")
    else:
        query = [(k, v) for k, v in query if not _TRACKING.match(k) and not _SESSION.match(k)]
        scheme = "https" if scheme in ("http", "https") else scheme
        host = host.removeprefix("www.")
    if port is not None and (scheme, port) not in (("http", 80), ("https", 443)):
        host = f"{host}:{port}"
    return urlunsplit((scheme, host, path, urlencode(sorted(query)), ""))


def looks_like_trap(url: str) -> str | None:
    """Why a URL is not worth requesting (crawler trap or garbage), or None if it is fine."""
    if len(url) > MAX_URL_LENGTH:
        return "url too long"
    try:
        parts = urlsplit(url)
        _ = parts.port  # raises ValueError for a port out of range or not a number
    except ValueError:
        return "malformed URL"
    if parts.scheme not in ("http", "https"):
        return f"not http(s): {parts.scheme or 'no scheme'}"
    segments = [s for s in parts.path.split("/") if s]
    if len(segments) > 20:
        return "too many path segments"
    counts: dict[str, int] = {}
    for s in segments:
        counts[s] = counts.get(s, 0) + 1
        if counts[s] >= 3:
            return f"path segment repeated: {s!r}"
    return None


def mirror_url(canonical: str, base_url: str, rules: UrlRules) -> str:
    """The address to request for a canonical URL when the source is served from base_url
    (a local mirror or a proxy): same path and query, base_url's scheme, host and prefix."""
    parts = urlsplit(canonical)
    if not rules.owns(parts.hostname or ""):
        return canonical
    base = urlsplit(base_url)
    prefix = base.path.rstrip("/")
    return urlunsplit((base.scheme, base.netloc, prefix + parts.path, parts.query, ""))
