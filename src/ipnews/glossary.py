"""The bilingual glossary of IP terms that `ipnews search` expands a query with: a lawyer
who asks for "customs" wants the stories that say 海关 too, and the other way round.

Each group holds terms that mean the same thing, English first. A query term that is one of
them (a word or a "quoted phrase", in any case; English in any of its forms, as the index
stems them) is searched as any of the group. `--exact` turns this off; users add groups in
the config file ([search] glossary = [["brand protection", "品牌保护"], ...]).
"""

from __future__ import annotations

import re

GLOSSARY: tuple[tuple[str, ...], ...] = (
    ("intellectual property", "IP rights", "IPR", "知识产权"),
    ("customs", "海关"),
    ("trademark", "商标"),
    ("patent", "专利"),
    ("invention patent", "发明专利"),
    ("utility model", "实用新型"),
    ("design patent", "外观设计"),
    ("copyright", "版权", "著作权"),
    ("counterfeit", "fake goods", "假冒", "仿冒"),
    ("piracy", "盗版"),
    ("infringement", "侵权"),
    ("trade secret", "商业秘密"),
    ("unfair competition", "不正当竞争"),
    ("geographical indication", "地理标志"),
    ("trademark squatting", "商标抢注"),
    ("punitive damages", "惩罚性赔偿"),
    ("injunction", "禁令"),
    ("licensing", "许可"),
    ("seizure", "查获"),
    ("administrative penalty", "行政处罚"),
    ("CNIPA", "国家知识产权局"),
    ("SAMR", "市场监管总局"),
    ("GACC", "海关总署"),
    ("Supreme People's Court", "最高人民法院"),
    ("IP court", "知识产权法院"),
    ("plant variety", "植物新品种"),
    ("integrated circuit layout design", "集成电路布图设计"),
    ("domain name", "域名"),
)

_FOLD = re.compile(r"\s+")


def fold(term: str) -> str:
    """A term as the glossary compares it: lower-case, one space, an English plural's
    "s" dropped (the index stems the rest: trademarks, trademarked)."""
    term = _FOLD.sub(" ", term.strip().casefold())
    if term.isascii() and len(term) > 3 and term.endswith("s") and not term.endswith("ss"):
        term = term[:-1]
    return term


def expansions(groups: tuple[tuple[str, ...], ...] = GLOSSARY) -> dict[str, tuple[str, ...]]:
    """Each folded term -> the other terms of its group (the first group that names a
    term wins, so a user's groups, given first, come before the built-in ones)."""
    out: dict[str, tuple[str, ...]] = {}
    for group in groups:
        for term in group:
            out.setdefault(fold(term), tuple(t for t in group if fold(t) != fold(term)))
    return out
