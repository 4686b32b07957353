"""Is a general-news story about intellectual property? The documented bilingual term list.

A story is kept when its headline, standfirst, tags or body contain at least one of these
terms (English matched as whole words, case-insensitively, with common inflections;
Chinese matched as substrings). The list prefers precise phrases: "fake" alone would keep
every story about fake news, so only "fake goods", "fakes" and the like count.
"""

from __future__ import annotations

import re
import zlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ipnews.article import Article

ENGLISH_TERMS: tuple[str, ...] = (
    r"trademarks?", r"trade marks?", r"trademarked", r"patent(?:s|ed|ing|ee|ees)?",
    r"copyrights?", r"copyrighted", r"counterfeit(?:s|ed|ing|ers?)?", r"anti-counterfeit(?:ing)?",
    r"fakes", r"fake (?:goods|products|brands?|items|luxury|sneakers|shoes|bags|handbags|"
    r"watches|medicines?|drugs|cosmetics|designer \w+)", r"knock-?offs?",
    r"infring(?:e|es|ed|ing|ement|ements)", r"pira(?:cy|ted|tes?)", r"bootleg(?:ged|s)?",
    r"intellectual[- ]property", r"IPRs?", r"IP-related",
    r"IP (?:rights|protection|court|courts|tribunal|"
    r"infringement|cases?|disputes?|enforcement|owners?|holders?|office|law)",
    r"CNIPA", r"SIPO", r"WIPO", r"USPTO", r"trade secrets?", r"geographical indications?",
    r"brand protection", r"customs (?:seizures?|seized|recordals?|interceptions?)",
    r"seized (?:by|at) customs", r"design rights?", r"utility models?",
)
CHINESE_TERMS: tuple[str, ...] = (
    "知识产权", "商标", "专利", "版权", "著作权", "侵权", "假冒", "盗版", "仿冒", "山寨",
    "商业秘密", "地理标志", "海关查获", "打假",
)

# Changes whenever a term is added or removed: a story judged "not about IP" under another
# list is judged again (the archive stores this with each skip).
TERMS_VERSION = f"{zlib.crc32(chr(10).join((*ENGLISH_TERMS, *CHINESE_TERMS)).encode()):08x}"

_PATTERN = re.compile(
    r"(?<!\w)(?:" + "|".join(ENGLISH_TERMS) + r")(?!\w)|" + "|".join(CHINESE_TERMS),
    re.IGNORECASE,
)


def ip_terms(text: str) -> list[str]:
    """The distinct IP terms found in text, in order of first appearance, lower-cased."""
    found: dict[str, None] = {}
    for match in _PATTERN.finditer(text):
        found.setdefault(match.group(0).lower(), None)
    return list(found)


def story_texts(article: Article) -> tuple[str, ...]:
    """What a story is judged by: its headline, standfirst, tags and text (never the
    page around them, whose footer says "Copyright")."""
    return (article.title, article.summary or "", " ".join(article.tags), article.body)


def is_ip_related(*texts: str) -> bool:
    """True as soon as one term is found: stops at the first hit, usually the headline."""
    return any(_PATTERN.search(t) for t in texts if t)
