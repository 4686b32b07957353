"""IP topics: what a story is about, from bilingual rules kept as data.

Each topic lists English terms (whole words, any case, an "s" or "es" allowed at the end)
and Chinese terms (found as substrings). A story has a topic when its headline or
standfirst names one of the topic's terms, or its text names them at least twice: one
passing mention of "patent" in a trademark story does not make it a patent story. The tags
are stored as a JSON list (`articles.topics`), recomputed whenever ipnews stores or
re-extracts a story, so a change of these rules reaches the archive by `ipnews reextract`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# name -> (label, English terms, Chinese terms)
RULES: dict[str, tuple[str, tuple[str, ...], tuple[str, ...]]] = {
    "trademark": ("Trademarks", (
        "trademark", "trade mark", "brand squatting", "trademark squatting", "well-known mark",
        "registered mark"), ("商标", "驰名商标", "商标抢注")),
    "patent": ("Patents", (
        "patent", "utility model", "design patent", "invention patent", "patentee",
        "prior art", "PCT application"), ("专利", "发明专利", "实用新型", "外观设计")),
    "copyright": ("Copyright", (
        "copyright", "piracy", "pirated", "pirate", "royalty", "royalties"),
        ("版权", "著作权", "盗版", "侵权复制")),
    "counterfeiting": ("Counterfeiting", (
        "counterfeit", "counterfeiting", "fake goods", "fakes", "knock-off", "knockoff"),
        ("假冒", "仿冒", "山寨", "假货", "制假", "售假", "打假")),
    "customs": ("Customs and border", (
        "customs", "border enforcement", "port of entry", "GACC"),
        ("海关", "口岸", "进出口", "边境")),
    "courts": ("Courts and litigation", (
        "court", "lawsuit", "ruling", "judgment", "appeal", "damages", "litigation",
        "plaintiff", "defendant", "tribunal", "injunction"),
        ("法院", "法庭", "判决", "裁定", "二审", "一审", "诉讼", "赔偿", "原告", "被告",
         "上诉")),
    "policy": ("Policy and regulation", (
        "regulation", "guideline", "draft law", "amendment", "policy", "CNIPA", "SAMR",
        "State Council", "five-year plan"),
        ("办法", "条例", "规定", "意见", "通知", "公告", "政策", "征求意见", "印发")),
    "trade-secrets": ("Trade secrets", (
        "trade secret", "confidential information", "non-compete"),
        ("商业秘密", "技术秘密", "保密")),
    "geographical-indications": ("Geographical indications", (
        "geographical indication", "GI products", "appellation of origin"),
        ("地理标志",)),
    "licensing": ("Licensing and deals", (
        "license", "licence", "licensing", "cross-licensing", "royalty", "patent pool",
        "technology transfer", "acquisition"),
        ("许可", "转让", "专利池", "质押", "转化运用")),
    "unfair-competition": ("Unfair competition", (
        "unfair competition", "anti-unfair competition", "passing off"),
        ("不正当竞争",)),
    "plant-varieties": ("Plant varieties", (
        "plant variety", "plant varieties", "breeder's right", "seed"),
        ("植物新品种", "品种权", "种业")),
}


@dataclass(frozen=True)
class _Topic:
    name: str
    english: re.Pattern[str] | None
    chinese: tuple[str, ...]


def _compile() -> tuple[_Topic, ...]:
    out = []
    for name, (_label, english, chinese) in RULES.items():
        # Literal alternatives between word boundaries: nothing to backtrack over. Matched
        # against the lower-cased text: re.I made the twelve scans 2.5 times
        # slower, 1.2 ms a story.
        words = "|".join(re.escape(w.lower()) for w in sorted(english, key=len, reverse=True))
        # Not \b: Python counts Chinese characters as word characters, so \b would miss
        # CNIPA in 据CNIPA统计.
        pattern = re.compile(rf"(?<![a-z0-9])(?:{words})(?:e?s)?(?![a-z0-9])") \
            if english else None
        out.append(_Topic(name, pattern, chinese))
    return tuple(out)


_TOPICS = _compile()


def _count(topic: _Topic, text: str, at_most: int) -> int:
    found = 0
    if topic.english is not None:
        for _ in topic.english.finditer(text):
            found += 1
            if found >= at_most:
                return found
    for term in topic.chinese:
        found += text.count(term)
        if found >= at_most:
            return found
    return found


def topics_of(title: str, summary: str | None, body: str) -> list[str]:
    """The topics of a story, in the order of RULES."""
    head, body = f"{title}\n{summary or ''}".lower(), body.lower()
    return [t.name for t in _TOPICS
            if _count(t, head, 1) >= 1 or _count(t, body, 2) >= 2]


def names() -> list[str]:
    return list(RULES)
