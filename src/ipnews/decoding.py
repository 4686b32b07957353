"""Bytes to HTML text: the decode chain BOM -> UTF-8 -> declared labels -> CJK detection.

Bytes that are valid UTF-8 are read as UTF-8, whatever the labels say: other encodings
almost never produce valid UTF-8 by accident, while "utf-8 bytes labelled iso-8859-1" is
common. Otherwise the labels (HTTP header, then <meta>) are tried strictly, and so are the
multi-byte CJK codecs. Several of those often decode the same bytes (GB18030 decodes nearly
anything), so each strict success is scored for plausibility: how much of its non-ASCII
text is common characters of its language, rather than rare, compatibility or private-use
code points. A single-byte code page decodes any bytes, so it is used (a declared
iso-8859-1, or cp1252 as the last guess) only when no CJK reading is plausible and the bytes
are not UTF-8 with a few broken ones. Only the last resort replaces undecodable bytes, and
the number of replacements is reported so the row can be flagged.

Untrusted input: every detection step reads at most _WINDOW bytes and at most _SAMPLE
characters of them, with linear scans only; the chosen codec then decodes the whole body once.
"""

from __future__ import annotations

import codecs
import functools
import re
import unicodedata
from collections import Counter
from dataclasses import dataclass

from ipnews import cjk_chars
from ipnews.errors import ExtractError

# Bumped whenever the chain may choose a different encoding for the same bytes. The archive
# stores it with every story skipped as "not about IP": a story judged on mojibake (a GBK
# page read as cp1252 has no IP term in it) is re-checked after the decoder changes.
# 1: header/meta/charset_normalizer. 2: UTF-8 first, strict CJK decodes chosen by plausibility.
DECODER_VERSION = 2

# WHATWG maps these labels to GBK; GB18030 is a strict superset and also decodes the
# characters (喆, €, 𠮷) that pages labelled gb2312 use in practice.
_ALIASES = {"gb2312": "gb18030", "gbk": "gb18030", "x-gbk": "gb18030", "gb_2312-80": "gb18030",
            "csgb2312": "gb18030", "chinese": "gb18030", "iso-8859-1": "cp1252",
            "latin1": "cp1252", "us-ascii": "cp1252", "ascii": "cp1252"}
# The multi-byte codecs tried on every page that is not UTF-8, in order of preference when
# their plausibility ties: Chinese first, this is a tool for Chinese news.
_CJK = ("gb18030", "big5", "shift_jis", "euc_jp", "euc_kr")
_NOT_FOR_PAGES = frozenset({"unicode-escape", "raw-unicode-escape", "utf-7", "idna", "punycode",
                            "charmap", "undefined"})
_BOMS = ((codecs.BOM_UTF8, "utf-8"), (codecs.BOM_UTF16_LE, "utf-16-le"),
         (codecs.BOM_UTF16_BE, "utf-16-be"))
# <meta ...> tags, then a charset inside one: two simple patterns, each linear in its input
# (one pattern spanning both backtracks quadratically on "<meta<meta<meta...").
_META_TAG = re.compile(rb"<meta[^>]*", re.I)
_CHARSET = re.compile(rb"""charset\s*=\s*["']?\s*([a-zA-Z0-9_.:-]+)""", re.I)
_HEADER = re.compile(r"charset\s*=\s*[\"']?([a-zA-Z0-9_.:-]+)", re.I)
_HIGH_BYTE = re.compile(rb"[\x80-\xff]")
_ASCII_RUN = re.compile(r"[\x00-\x7f]+")
_ACCIDENTAL_UTF8 = re.compile("[\x80-\x9f\u0250-\u036f]")
_BINARY_MAGIC = {b"\x1f\x8b": "gzip data", b"\x28\xb5\x2f\xfd": "zstd data", b"%PDF": "a PDF",
                 b"PK\x03\x04": "a ZIP archive", b"\x89PNG": "a PNG image",
                 b"\xff\xd8\xff": "a JPEG image", b"GIF8": "a GIF image", b"BZh": "bzip2 data",
                 b"\xfd7zXZ": "xz data", b"RIFF": "a RIFF file"}

_WINDOW = 256 * 1024  # bytes read by detection, from the first non-ASCII byte on
_SAMPLE = 4096  # non-ASCII characters of each candidate decode that are scored
_PLAUSIBLE = 0.5  # real CJK text scores 0.65-1.0, a wrong codec's reading mostly < 0.4
_WEAK = 0.25  # the least a CJK reading must score to beat lossy UTF-8 as the last resort
_MARGIN = 0.3  # a declared CJK label loses only to a codec this much more plausible
_UTF8_RATIO = 2  # damaged UTF-8: at least this many good multi-byte characters per bad one

# C0 controls other than tab/newline/CR, and numeric character references to them or to
# the non-characters U+FFFE/U+FFFF: one such entity makes trafilatura drop a whole article.
_RAW_CONTROLS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_CONTROL_REFS = re.compile(
    r"&#(?:0*(?:[0-8]|1[1-2]|1[4-9]|2\d|3[01]|127)(?!\d)"
    r"|[xX]0*(?:[0-8]|[bBcC]|[eEfF]|1[0-9a-fA-F]|7[fF]|[fF]{3}[eEfF])(?![0-9a-fA-F]));?"
)



@dataclass(frozen=True)
class Decoded:
    text: str
    encoding: str
    replacements: int = 0


def _codec(label: str | None) -> str | None:
    if not label:
        return None
    label = label.strip().lower()
    label = _ALIASES.get(label, label)
    try:
        info = codecs.lookup(label)
    except (LookupError, ValueError):
        return None
    # rot13, base64, zlib... are codecs too, but not text encodings; the escape codecs and
    # utf-7 decode "\ud800" or "+2AA-" to a lone surrogate, which SQLite refuses.
    if not getattr(info, "_is_text_encoding", True) or info.name in _NOT_FOR_PAGES:
        return None
    return info.name


def sniff_binary(body: bytes) -> str | None:
    """What a body is if it is obviously not text (compressed or a document), else None."""
    for magic, what in _BINARY_MAGIC.items():
        if body.startswith(magic):
            return what
    return None


def _declared(body: bytes, content_type: str | None) -> list[str]:
    """The codecs the HTTP header and the first <meta> charset name, in that order."""
    labels: list[str] = []
    if content_type and (m := _HEADER.search(content_type)):
        labels.append(m.group(1))
    for tag in _META_TAG.finditer(body[:4096]):
        if m := _CHARSET.search(tag.group()):
            labels.append(m.group(1).decode("ascii", "replace"))
            break
    found = (_codec(label) for label in labels)
    return list(dict.fromkeys(c for c in found if c and not c.startswith("utf-16")))


def _strict(data: bytes, codec: str, final: bool = True) -> tuple[str, int] | None:
    """data decoded strictly and the number of replacements, or None if it does not decode.

    A character cut off at the very end is tolerated (bodies are cut at the size cap); when
    final, it becomes one U+FFFD, else it is left out (a window of a longer body).
    """
    try:
        decoder = codecs.getincrementaldecoder(codec)("strict")
        text = decoder.decode(data, False)
        pending = decoder.getstate()[0]
    except (ValueError, LookupError, TypeError):  # UnicodeError is a ValueError
        return None
    if not pending:
        return text, 0
    if not isinstance(pending, bytes) or len(pending) > 3:
        return None
    return (text + "\ufffd", 1) if final else (text, 0)


@functools.cache
def _single_byte(codec: str) -> bool:
    """True for code pages that map every byte to one character (cp1252, koi8-r...)."""
    if codec == "utf-8":
        return False  # each invalid byte is one U+FFFD too, but UTF-8 is anything but
    try:
        return len(bytes(range(0x80, 0x100)).decode(codec, "replace")) == 128
    except Exception:  # an exotic codec: whatever it is, not a code page
        return False


@functools.cache
def _ascii_compatible(codec: str) -> bool:
    """True when codec reads printable ASCII as ASCII (not utf-32, cp037, hz...)."""
    probe = bytes(range(0x20, 0x7F)) + b"\t\n\r"
    try:
        return probe.decode(codec) == probe.decode("ascii")
    except Exception:  # punycode and friends raise all sorts of things
        return False


def _runs(text: str) -> list[str]:
    """The runs of non-ASCII characters that hold the first _SAMPLE of them: slices of
    doubling size, each split at ASCII in one linear pass, until there are enough."""
    runs: list[str] = []
    found = start = 0
    size = 4 * _SAMPLE
    while start < len(text) and found < _SAMPLE:
        runs.extend(run for run in _ASCII_RUN.split(text[start:start + size]) if run)
        found = sum(map(len, runs))
        start += size
        size *= 2
    return runs


def _sample(text: str) -> str:
    """The first _SAMPLE non-ASCII characters of text."""
    return "".join(_runs(text))[:_SAMPLE]


def _first_high_byte(body: bytes) -> int | None:
    """Where the first non-ASCII byte is, None for pure ASCII (isascii is far faster than
    a regex: it is asked first of each 64 KB)."""
    for start in range(0, len(body), 65536):
        if not body[start:start + 65536].isascii():
            found = _HIGH_BYTE.search(body, start)
            return found.start() if found else None  # always found
    return None


def _pairs(codec: str, leads: range, trails: range = range(0xA1, 0xFF)) -> list[str]:
    """The characters of a double-byte codec's rows, in code order: the pairs are decoded
    in one call, a newline between each two so that an unassigned pair cannot shift the
    next ones."""
    data = b"\n".join(bytes((lead, trail)) for lead in leads for trail in trails)
    return [ch for ch in data.decode(codec, "replace").split("\n")
            if len(ch) == 1 and ch != "\ufffd"]


def _by_rank(weights: dict[str, float], frequent: str) -> None:
    for rank, ch in enumerate(frequent):
        weights[ch] = 1.0 if rank < 500 else 0.6 if rank < 1000 else 0.3


@functools.cache
def _weights(family: str) -> dict[str, float]:
    """Weight of each character in a decode for one language: 1 for its most frequent
    characters and punctuation, a little for the rest of its standard repertoire, negative
    for what real text in it (almost) never holds. Built on first use (about 20 ms)."""
    w: dict[str, float] = {}
    kana = [chr(c) for c in range(0x3041, 0x3097)] + [chr(c) for c in range(0x30A1, 0x30FB)]
    if family == "zh":
        w.update(dict.fromkeys(_pairs("gb2312", range(0xA1, 0xA4)), 0.25))  # symbols
        w.update(dict.fromkeys(_pairs("gb2312", range(0xB0, 0xF8)), 0.05))  # all hanzi
        w.update(dict.fromkeys(kana, -0.5))
        w.update(dict.fromkeys(map(chr, range(0x3105, 0x312A)), -0.5))  # bopomofo
        w.update(dict.fromkeys(map(chr, range(0x2500, 0x2580)), -0.5))  # box drawing
        w.update(dict.fromkeys(cjk_chars.ZH_HANT, 0.25))  # traditional forms are in GB18030 too
        _by_rank(w, cjk_chars.ZH)
        w.update(dict.fromkeys(cjk_chars.ZH_PUNCT, 1.0))
        w.update(dict.fromkeys(map(chr, range(0xFF01, 0xFF5F)), 1.0))  # fullwidth ASCII
    elif family == "zh-hant":
        big5 = range(0x40, 0x7F), range(0xA1, 0xFF)
        w.update(dict.fromkeys(_pairs("big5", range(0xA1, 0xA4), big5[0]), 0.25))
        w.update(dict.fromkeys(_pairs("big5", range(0xA1, 0xA4), big5[1]), 0.25))
        for trails in big5:
            w.update(dict.fromkeys(_pairs("big5", range(0xC9, 0xFA), trails), 0.05))
            w.update(dict.fromkeys(_pairs("big5", range(0xA4, 0xC7), trails), 0.1))
        w.update(dict.fromkeys(kana, -0.5))
        w.update(dict.fromkeys(map(chr, range(0x2500, 0x2580)), -0.5))
        _by_rank(w, "".join(ch for ch in cjk_chars.ZH if ch in w))  # forms shared with simplified
        w.update(dict.fromkeys(cjk_chars.ZH_HANT, 0.6))
        w.update(dict.fromkeys(cjk_chars.ZH_HANT[:150], 1.0))
        w.update(dict.fromkeys(cjk_chars.ZH_PUNCT, 1.0))
        w.update(dict.fromkeys(map(chr, range(0xFF01, 0xFF5F)), 1.0))
    elif family == "ja":
        w.update(dict.fromkeys(_pairs("euc_jp", range(0xA1, 0xA4)), 0.25))  # symbols
        w.update(dict.fromkeys(_pairs("euc_jp", range(0xD0, 0xF5)), 0.05))  # JIS level 2
        w.update(dict.fromkeys(_pairs("euc_jp", range(0xB0, 0xD0)), 0.2))  # JIS level 1
        w.update(dict.fromkeys(cjk_chars.JA, 1.0))
        w.update(dict.fromkeys(kana, 1.0))
        w.update(dict.fromkeys(cjk_chars.JA_PUNCT, 1.0))
        w.update(dict.fromkeys(map(chr, range(0xFF01, 0xFF5F)), 0.5))
    else:  # "ko"
        w.update(dict.fromkeys(_pairs("euc_kr", range(0xA1, 0xA3)), 0.25))  # symbols
        w.update(dict.fromkeys(_pairs("euc_kr", range(0xCA, 0xFE)), 0.05))  # hanja
        w.update(dict.fromkeys(kana, -0.5))
        w.update(dict.fromkeys(map(chr, range(0x3131, 0x318F)), -0.5))  # lone jamo
        w.update(dict.fromkeys(_pairs("euc_kr", range(0xB0, 0xC9)), 0.2))  # KS X 1001 hangul
        w.update(dict.fromkeys(cjk_chars.KO, 1.0))
    return w


_FAMILY = {"gb18030": "zh", "gbk": "zh", "gb2312": "zh", "big5": "zh-hant",
           "big5hkscs": "zh-hant", "cp950": "zh-hant", "shift_jis": "ja", "cp932": "ja",
           "euc_jp": "ja", "euc_jis_2004": "ja", "euc_jisx0213": "ja", "shift_jis_2004": "ja",
           "shift_jisx0213": "ja", "euc_kr": "ko", "cp949": "ko", "johab": "ko"}


def _default_weight(ch: str, family: str) -> float:
    cp = ord(ch)
    if (cp < 0xA0 or 0xE000 <= cp <= 0xFAFF or 0xFF61 <= cp <= 0xFF9F or cp >= 0xFFFD
            or 0x3400 <= cp <= 0x4DBF):
        return -1.0  # C1 controls, private use, compatibility ideographs, halfwidth kana,
        # U+FFFD, rare ideographs (extension A, planes 2+): a wrong codec's output
    if 0xAC00 <= cp <= 0xD7A3:
        return 0.1 if family == "ko" else -1.0
    return 0.0


def _plausibility(text: str, family: str) -> float | None:
    """Mean weight of the first non-ASCII characters of text, None when there are none.

    Lowered when most characters stand alone between ASCII: a wrong CJK codec reads a
    Western accented letter and the ASCII letter after it as one ideograph (cp1252 Ángel is
    Big5 聲gel), while CJK text comes in runs of characters."""
    runs = _runs(text)
    sample = "".join(runs)[:_SAMPLE]
    if not sample:
        return None
    weights = _weights(family)
    total = kana = 0.0
    for ch, count in Counter(sample).items():
        weight = weights.get(ch)
        total += count * (_default_weight(ch, family) if weight is None else weight)
        if "\u3041" <= ch <= "\u30fa":
            kana += count
    score = total / len(sample)
    alone = sum(len(run) == 1 for run in runs)
    if score > 0 and 2 * alone > len(sample):
        score *= 2 * (1 - alone / len(sample))  # all alone: 0
    if family == "ja" and kana < 0.05 * len(sample) and score > 0:
        score /= 2  # Japanese prose is full of kana; kanji alone are Chinese read wrong
    return score


def _odd_utf8(text: str) -> bool:
    """True when valid UTF-8 decodes to scattered marks and modifiers (GBK 知识 is valid
    UTF-8: U+05AA U+02B6) rather than to text anyone wrote."""
    sample = _sample(text)
    if not sample or max(sample) >= "\u0800":
        return False
    odd = sum(unicodedata.category(ch) in ("Mn", "Me", "Lm", "Sk", "Cc", "Cf", "Co", "Cn")
              for ch in sample)
    return 2 * odd >= len(sample)


def _mostly_utf8(window: bytes, final: bool) -> bool:
    """True when bytes that fail strict UTF-8 are still UTF-8 with a few broken bytes: their
    well-formed multi-byte characters outnumber the broken ones. Text in another encoding
    breaks on nearly every non-ASCII character instead (GBK: about 5 in 6). Characters that
    two cp1252 letters make by accident (NESTLÉ® is valid UTF-8 for NESTLɮ: IPA, modifier
    letters, combining marks, C1 controls) do not count."""
    text = codecs.utf_8_decode(window, "replace", final)[0]
    damaged = text.count("\ufffd")
    good = len(text) - len(text.encode("ascii", "ignore")) - damaged
    if good < _UTF8_RATIO * damaged:
        return False
    return good - len(_ACCIDENTAL_UTF8.findall(text)) >= _UTF8_RATIO * damaged


def _ranked(window: bytes, final: bool, declared: list[str]) -> list[tuple[str, float | None]]:
    """The declared multi-byte codecs and the CJK ones that decode the window strictly, with
    their plausibility (None for a codec of no known language), most plausible first; ties
    keep the order declared labels, then _CJK."""
    scores: list[tuple[str, float | None]] = []
    for codec in dict.fromkeys((*declared, *_CJK)):
        if codec == "utf-8" or _single_byte(codec):
            continue
        if (decoded := _strict(window, codec, final)) is not None:
            family = _FAMILY.get(codec)
            scores.append((codec, _plausibility(decoded[0], family) if family else None))
    return sorted(scores, key=lambda item: -(item[1] or 0.0))


def _most_plausible(body: bytes, ranked: list[tuple[str, float | None]],
                    at_least: float) -> Decoded | None:
    """The whole body decoded strictly by the best candidate scoring at_least."""
    for codec, score in ranked:
        if score is not None and score >= at_least and (decoded := _decode(body, codec)):
            return decoded
    return None


def _damaged_cjk(body: bytes, window: bytes, final: bool, declared: list[str]) -> Decoded | None:
    """A CJK page with a few broken bytes (a CMS that cuts titles inside a character, a bad
    byte past the window): its most plausible CJK reading, with replacements, when they are
    at most 1 in 100 non-ASCII characters (or 2)."""
    def few_damaged(text: str) -> bool:
        non_ascii = len(text) - len(text.encode("ascii", "ignore"))
        return text.count("\ufffd") <= max(2, non_ascii // 100)

    best: tuple[float, str] | None = None
    for codec in dict.fromkeys((*(c for c in declared if c in _FAMILY), *_CJK)):
        decoder = codecs.getincrementaldecoder(codec)("replace")
        text = decoder.decode(window[:16384], final and len(window) <= 16384)
        if not few_damaged(text):  # most pages that are not CJK at all stop here
            continue
        text += decoder.decode(window[16384:], final)
        if not few_damaged(text):
            continue
        score = _plausibility(text, _FAMILY[codec])
        if score is not None and score >= _PLAUSIBLE and (best is None or score > best[0]):
            best = score, codec
    if best is None:
        return None
    text = body.decode(best[1], "replace")
    return Decoded(text, best[1], text.count("\ufffd"))


def _decode(body: bytes, codec: str) -> Decoded | None:
    decoded = _strict(body, codec)
    return None if decoded is None else Decoded(decoded[0], codec, decoded[1])


def decode_html(body: bytes, content_type: str | None = None) -> Decoded:
    """Decode a page to str. Raises ExtractError for bodies that are not text at all."""
    what = sniff_binary(body)
    if what:
        raise ExtractError(f"not html: the body is {what}", kind="not_html")
    for bom, name in _BOMS:
        if body.startswith(bom):
            if (decoded := _strict(body[len(bom):], name)) is not None:
                return Decoded(decoded[0], f"{name}-bom", decoded[1])
            break
    declared = _declared(body, content_type)
    start = _first_high_byte(body)
    if start is None:  # pure ASCII: the label (iso-2022-jp is ASCII bytes too) or utf-8
        for codec in declared:
            if _ascii_compatible(codec) and (decoded := _decode(body, codec)):
                return decoded
        return Decoded(body.decode("ascii"), "utf-8")
    # Detection reads a window from the first non-ASCII byte (always the first byte of a
    # character), so that a long ASCII head does not hide the text from it.
    window = body[start:start + _WINDOW]
    final = start + _WINDOW >= len(body)

    # 1. Valid UTF-8 beats any label. Only a few GBK characters in a row can be valid UTF-8
    # by accident: with that few, a reading as plain Chinese wins over a UTF-8 one that is
    # gibberish, or that contradicts a CJK label.
    if (utf8 := _strict(body, "utf-8")) is not None:
        few = len(body) - len(utf8[0]) <= 32  # each multi-byte character shortens the text
        doubtful = few and (_odd_utf8(utf8[0]) or any(codec in _FAMILY for codec in declared))
        if doubtful and (decoded := _most_plausible(body, _ranked(window, final, declared),
                                                    0.8)):
            return decoded
        return Decoded(utf8[0], "utf-8", utf8[1])
    ranked = _ranked(window, final, declared)
    mostly_utf8 = _mostly_utf8(window, final)

    # 2. A declared multi-byte label that decodes strictly, unless another CJK codec is far
    # more plausible (GBK bytes labelled big5), or it reads as gibberish while the bytes are
    # UTF-8 with a few broken ones.
    scores = dict(ranked)
    best = max((score for score in scores.values() if score is not None), default=0.0)
    for codec in declared:
        if codec not in scores:
            continue
        score = scores[codec]
        trusted = score is None or (score >= best - _MARGIN
                                    and (score >= _PLAUSIBLE or not mostly_utf8))
        if trusted and (decoded := _decode(body, codec)):
            return decoded
    # 3. UTF-8 with a few broken bytes is still UTF-8 (a bad byte here and there is common).
    if mostly_utf8:
        return _lossy_utf8(body)
    # 4. The most plausible strict CJK decode: it beats any single-byte code page; so does
    # a plausible CJK decode with a few broken bytes.
    if decoded := (_most_plausible(body, ranked, _PLAUSIBLE)
                   or _damaged_cjk(body, window, final, declared)):
        return decoded
    # 5. A declared single-byte label, then cp1252 (the usual unlabelled Western page); then
    # a CJK reading that is at least not gibberish, then UTF-8 with replacements.
    for codec in (*declared, "cp1252"):
        if _single_byte(codec) and (decoded := _decode(body, codec)):
            return decoded
    return _most_plausible(body, ranked, _WEAK) or _lossy_utf8(body)


def _lossy_utf8(body: bytes) -> Decoded:
    text = body.decode("utf-8", errors="replace")
    return Decoded(text, "utf-8", text.count("\ufffd"))


def strip_control_chars(html: str) -> str:
    """Remove raw C0 controls and numeric references to them, keeping the text around."""
    return _CONTROL_REFS.sub("", _RAW_CONTROLS.sub("", html))
