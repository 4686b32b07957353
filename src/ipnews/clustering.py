"""One story, many copies: near-duplicate articles, found by MinHash over shingles and kept
apart by their facts.

The same Xinhua story reaches the archive through SHINE, China Daily, Global Times and
People's Daily with small edits: a dateline, "U.S." for "US", a trimmed paragraph, a new
headline. Each copy stays an article of its source; the copies share a story id.

- Text -> shingles: word 3-grams of the English text, character 4-grams of the Chinese,
  lower-cased, "U.S." read as "US", digits without their thousands separators, the
  dateline left out (a copy keeps, drops or rewrites it). Only the body: outlets rewrite
  headlines, and a headline alone is not a story.
- Shingles -> a 128-value MinHash signature (rensa, a Rust MinHash measured at 0.26 ms an
  article against datasketch's 2 ms and trafilatura's simhash 22-25 ms; it has no
  dependencies and states its algorithm's version, which the archive records), cut into
  32 bands of 4 values. Articles that share a band are candidates (pairs at Jaccard 0.5
  are found 87% of the time, at 0.6 99%); the store keeps the band keys in an index, so a
  new article costs a few index lookups whatever the size of the archive.
- A candidate is the same story when the estimated containment of the shorter text in
  the longer is at least SAME (a trimmed copy is contained in the whole one) and the
  guard finds no fact that differs.
- The guard (facts()): runs of numbers and capitalised words, each keyed by the word just
  before it and the word just after it (for Chinese, the character); Chinese names in
  quotes and places before 市, 海关, 法院...; the case, patent and trademark numbers,
  customs districts and courts that entities.py finds. For a key both texts have, one
  text's values must include the other's (a trimmed copy has fewer, an added sentence
  more); otherwise a number that differs there, or a name each text has and the other
  never states at all, is a clash: "seized 1,200 pairs" against "seized 12,000 pairs",
  Shanghai customs against Ningbo customs, Nov 20 against Nov 27.
"""

from __future__ import annotations

import functools
import hashlib
import json
import operator
import re
import struct
import unicodedata
import zlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

NUM_PERM = 128
BANDS = 32
ROWS = NUM_PERM // BANDS
SEED = 20241116
WORD_SHINGLE = 3
CJK_SHINGLE = 4
MIN_SHINGLES = 12  # fewer: a caption or a notice, too little to call two texts one story
SAME = 0.75  # estimated containment of the shorter text in the longer
MAX_TEXT = 100_000  # characters of a body read: a longer one is not a wire story's copy

# The token stream: words, numbers (with their separators), single CJK characters and
# punctuation. One alternation of simple classes: linear on any input.
_TOKEN = re.compile(
    r"[A-Za-z\u00c0-\u024f]+(?:['’][A-Za-z]+)?|\d+(?:[.,]\d+)*|"
    r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\u3040-\u30ff\uac00-\ud7af]|[^\sA-Za-z0-9]")
_INITIAL_DOT = re.compile(r"\b([A-Za-z])\.(?=[A-Za-z]\b)")  # U.S. -> US, U.K. -> UK
_ABBREVIATION = re.compile(r"\b(Jan|Feb|Aug|Sept|Sep|Oct|Nov|Dec|No|Nos|Co|Corp|Inc|Ltd|Mr|"
                           r"Mrs|Ms|Dr|St|Gen|Prof|Vol|Art|vs|etc)\.")
# A wire story's dateline, at the start of its text: bounded repetitions, anchored.
_DATELINE = re.compile(
    r"^\s*(?:[A-Z][A-Za-z.'’ -]{1,40}?, )?(?:[A-Z][a-z]{2,4}\.? \d{1,2}(?:, \d{4})? )?"
    r"\((?:Xinhua|Reuters|AP|AFP|CNS|China Daily|Global Times|SHINE)\)\s*(?:--|—|–|-)\s*"
    r"|^\s*[A-Z][A-Z .'’-]{1,40}(?:, [A-Z][a-z]{2,4}\.? \d{1,2})?\s*(?:--|—|–)\s*"
    r"|^\s*(?:新华社|中新社|人民网|本报|央视网|中新网)[^\s，。]{0,12}?(?:\d{1,2}月\d{1,2}日)?电"
    r"(?:（[^）]{0,20}）|\([^)]{0,20}\))?\s*"
    r"|^\s*据新华社电\s*")
_QUOTED_ZH = re.compile(r"[“「『\"]([\u3400-\u9fff]{1,12})[”」』\"]")
_PLACE_ZH = re.compile(r"([\u4e00-\u9fff]{2})(市|省|县|海关|法院|公安)")
# Capitalised words that say nothing about who or where.
_COMMON = frozenset((
    "a", "an", "the", "in", "on", "at", "of", "for", "to", "by", "and", "but", "or", "as",
    "it", "its", "this", "that", "these", "those", "he", "she", "they", "we", "i", "his",
    "her", "their", "our", "from", "with", "after", "before", "when", "while", "since",
    "during", "under", "over", "about", "according", "also", "meanwhile", "however", "mr",
    "ms", "mrs", "dr", "no", "not"))
# Entity kinds whose values are facts: two stories about different cases, patents, marks,
# customs districts or courts are two stories.
_ENTITY_FACTS = ("case", "patent", "trademark")
_ENTITY_PREFIXES = ("customs-", "court-")


def scheme() -> str:
    """What a stored signature was made with: a different scheme means a rebuild."""
    from rensa import RMinHash

    return (f"rensa-a{RMinHash.ALGORITHM_VERSION}-p{NUM_PERM}-b{BANDS}-w{WORD_SHINGLE}"
            f"-c{CJK_SHINGLE}-s{SEED}-v3")


@dataclass(frozen=True)
class Fingerprint:
    signature: tuple[int, ...]
    size: int  # shingles
    bands: tuple[int, ...]  # one key per band, the band's number folded in
    facts: dict[str, list[str]] = field(default_factory=dict)

    def packed_facts(self) -> bytes:
        """The facts as stored: compact JSON, zlib-compressed (their keys repeat; a third
        of the size)."""
        return zlib.compress(json.dumps(self.facts, ensure_ascii=False, sort_keys=True,
                                        separators=(",", ":")).encode("utf-8"), 6)


def unpack_facts(blob: bytes) -> dict[str, list[str]]:
    return json.loads(zlib.decompress(blob))


def _is_cjk(token: str) -> bool:
    # The tokens are Latin words, numbers, single CJK characters or punctuation: the first
    # CJK block starts above all of the others (a regex per token was the rebuild's
    # hottest line).
    return token[0] >= "\u3040"


def _text(body: str | None) -> str:
    """The text compared: NFKC, without the dateline (a copy keeps, drops or rewrites
    it), "U.S." as "US", "Nov." as "Nov" (not a sentence's end)."""
    text = unicodedata.normalize("NFKC", (body or "")[:MAX_TEXT])
    text = _DATELINE.sub("", text, count=1)
    text = _INITIAL_DOT.sub(r"\1", text)
    return _ABBREVIATION.sub(r"\1", text)


def _number(token: str) -> str | None:
    """A number token as a value: thousands separators gone, a decimal point kept."""
    if not token[0].isdigit():
        return None
    if "," in token:
        head, *groups = token.split(",")
        if all(len(g) == 3 for g in groups):
            token = head + "".join(groups)
    return token


def shingles(tokens: list[str]) -> set[str]:
    words = [t.lower() if not t[0].isdigit() else (_number(t) or t)
             for t in tokens if not _is_cjk(t) and (t[0].isalnum())]
    chars = [t for t in tokens if _is_cjk(t)]
    out = {" ".join(words[i:i + WORD_SHINGLE])
           for i in range(len(words) - WORD_SHINGLE + 1)}
    out.update("".join(chars[i:i + CJK_SHINGLE]) for i in range(len(chars) - CJK_SHINGLE + 1))
    return out


def _kind(token: str) -> str:
    first = token[0]
    if first >= "\u3040":
        return "cjk"
    if first.isdigit():
        return "value"
    if first.isalpha():
        return "value" if first.isupper() and token.lower() not in _COMMON else "word"
    return "stop"


def facts(tokens: list[str], text: str = "", entities: Sequence[Any] = ()
          ) -> dict[str, list[str]]:
    """The guard's material. A run of numbers and capitalised words ("Jinan Intermediate
    People's Court", "Nov 20", "1,200") is one value, keyed by the word just before it
    ("<seized") and the word just after it (">pairs"); punctuation is no context, so a
    sentence's first word is not keyed by the last word of the one before. Chinese names
    in quotes (“索尼”) keyed by the characters around them; the two characters before 市,
    省, 县, 海关, 法院 or 公安 (the place); and the identifiers entities.py finds."""
    out: dict[str, set[str]] = {}
    kinds = [_kind(t) for t in tokens]
    i, n = 0, len(tokens)
    while i < n:
        if kinds[i] != "value":
            i += 1
            continue
        j = i + 1
        while j < n and kinds[j] == "value":
            j += 1
        value = " ".join(_number(t) or t.lower() for t in tokens[i:j])
        for side, at in (("<", i - 1), (">", j)):
            if 0 <= at < n and kinds[at] in ("word", "cjk"):
                out.setdefault(side + tokens[at].lower(), set()).add(value)
        i = j
    for m in _QUOTED_ZH.finditer(text):
        for side, at in (("<", m.start() - 1), (">", m.end())):
            if 0 <= at < len(text) and text[at] >= "\u3040":
                out.setdefault(side + text[at], set()).add(m.group(1))
    for m in _PLACE_ZH.finditer(text):
        out.setdefault("=" + m.group(2), set()).add(m.group(1))
    for entity in entities:
        if entity.kind in _ENTITY_FACTS or entity.key.startswith(_ENTITY_PREFIXES):
            out.setdefault("=" + entity.kind, set()).add(entity.key)
    return {k: sorted(v) for k, v in out.items()}


def fingerprint(body: str | None, entities: Sequence[Any] | None = None) -> Fingerprint | None:
    """The fingerprint of a story's text, or None when it is too short to compare.
    entities: what entities.extract found in the article, when the caller has it already."""
    from rensa import RMinHash

    text = _text(body)
    tokens = _TOKEN.findall(text)
    found = shingles(tokens)
    if len(found) < MIN_SHINGLES:
        return None
    minhash = RMinHash(num_perm=NUM_PERM, seed=SEED)
    minhash.update(sorted(found))
    signature = tuple(minhash.digest())
    if entities is None:
        from ipnews.entities import extract

        entities = extract((body or "")[:MAX_TEXT])
    return Fingerprint(signature, len(found), band_keys(signature),
                       facts(tokens, text, entities))


@dataclass(frozen=True)
class Analysis:
    """What an article's text gives the archive besides itself: its entities and its
    fingerprint. Made in the extraction process during a fetch (the parent only stores
    it), and made again by the store if the text changed since (key)."""

    key: str
    entities: list[Any]
    fingerprint: Fingerprint | None


def text_key(title: str | None, summary: str | None, body: str | None) -> str:
    return hashlib.blake2b("\x00".join((title or "", summary or "", body or "")).encode(
        "utf-8", "surrogatepass"), digest_size=16).hexdigest()


def analyse(title: str | None, summary: str | None, body: str | None) -> Analysis:
    from ipnews.entities import extract

    found = extract(title, summary, body)
    return Analysis(text_key(title, summary, body), found, fingerprint(body, found))


def band_keys(signature: tuple[int, ...]) -> tuple[int, ...]:
    """One signed 64-bit key per band (SQLite's INTEGER): blake2b of the band's number and
    values, stable across processes and Python versions, unlike hash()."""
    keys = []
    for band in range(BANDS):
        values = signature[band * ROWS:(band + 1) * ROWS]
        raw = band.to_bytes(1, "big") + b"".join(v.to_bytes(4, "big") for v in values)
        keys.append(int.from_bytes(hashlib.blake2b(raw, digest_size=8).digest(), "big",
                                   signed=True))
    return tuple(keys)


def pack(signature: tuple[int, ...]) -> bytes:
    """rensa's values are 32-bit: four bytes each."""
    return struct.pack(f">{len(signature)}I", *signature)


def unpack(blob: bytes) -> tuple[int, ...]:
    return struct.unpack(f">{len(blob) // 4}I", blob)


def jaccard(a: tuple[int, ...], b: tuple[int, ...]) -> float:
    """Estimated Jaccard similarity of two texts' shingles."""
    return sum(map(operator.eq, a, b)) / len(a)


def containment(a: tuple[int, ...], size_a: int, b: tuple[int, ...], size_b: int) -> float:
    """Estimated share of the shorter text's shingles found in the longer one's."""
    j = jaccard(a, b)
    shared = j * (size_a + size_b) / (1 + j)
    return min(1.0, shared / min(size_a, size_b))


def conflicts(a: dict[str, Any], b: dict[str, Any]) -> list[str]:
    """The keys where the two texts state different facts (see the module's docstring).
    Where neither text's values include the other's, a name is a clash only if each text
    has one the other never states anywhere (a substitution, not a name moved to another
    sentence); a number is a clash where it stands (a day or a count recurs by chance)."""
    out = []
    everything_a: set[str] | None = None
    everything_b: set[str] = set()
    for key in a.keys() & b.keys():
        va, vb = set(a[key]), set(b[key])
        if va <= vb or vb <= va:
            continue
        if everything_a is None:
            everything_a = {v for values in a.values() for v in values}
            everything_b = {v for values in b.values() for v in values}
        if (va - everything_b and vb - everything_a) or any(
                v[0].isdigit() for v in va ^ vb):
            out.append(key)
    return out


@dataclass
class Candidate:
    article_id: int
    story_id: int
    signature: tuple[int, ...]
    size: int
    packed: bytes  # the facts as stored, read only if the guard needs them

    @functools.cached_property
    def facts(self) -> dict[str, list[str]]:
        return unpack_facts(self.packed)


def choose_story(new: Fingerprint, candidates: list[Candidate]) -> tuple[int, float] | None:
    """The story the new text is a copy of, and how much of it matched: the most similar
    story whose every candidate member is alike enough and at odds with it on no fact.
    None: a story of its own."""
    by_story: dict[int, list[tuple[float, Candidate]]] = {}
    for c in candidates:
        score = containment(new.signature, new.size, c.signature, c.size)
        by_story.setdefault(c.story_id, []).append((score, c))
    ranked = sorted(by_story.items(), key=lambda item: (-max(s for s, _ in item[1]), item[0]))
    for story_id, members in ranked:
        best = max(s for s, _ in members)
        if best < SAME:
            break
        if all(not conflicts(new.facts, c.facts) for _, c in members):
            return story_id, best
    return None
