"""Bytes to HTML text: the decode chain BOM -> HTTP header -> <meta> -> detection.

Each step is tried strictly and the next one is tried when it fails, so a page whose header
says utf-8 but whose bytes are GBK is still read right. Only the last resort replaces
undecodable bytes, and the number of replacements is reported so the row can be flagged.
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass

from ipnews.errors import ExtractError

# WHATWG maps these labels to GBK; GB18030 is a strict superset and also decodes the
# characters (喆, €, 𠮷) that pages labelled gb2312 use in practice.
_ALIASES = {"gb2312": "gb18030", "gbk": "gb18030", "x-gbk": "gb18030", "gb_2312-80": "gb18030",
            "csgb2312": "gb18030", "chinese": "gb18030", "iso-8859-1": "cp1252",
            "latin1": "cp1252", "us-ascii": "cp1252", "ascii": "cp1252"}
DETECTABLE = ("utf_8", "gb18030", "big5", "cp1252", "iso8859_15", "shift_jis", "euc_jp",
              "euc_kr")
_BOMS = ((codecs.BOM_UTF8, "utf-8"), (codecs.BOM_UTF16_LE, "utf-16-le"),
         (codecs.BOM_UTF16_BE, "utf-16-be"))
_META = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([a-zA-Z0-9_.:-]+)""", re.I)
_HEADER = re.compile(r"charset\s*=\s*[\"']?([a-zA-Z0-9_.:-]+)", re.I)
_BINARY_MAGIC = {b"\x1f\x8b": "gzip data", b"\x28\xb5\x2f\xfd": "zstd data", b"%PDF": "a PDF",
                 b"PK\x03\x04": "a ZIP archive", b"\x89PNG": "a PNG image",
                 b"\xff\xd8\xff": "a JPEG image", b"GIF8": "a GIF image", b"BZh": "bzip2 data",
                 b"\xfd7zXZ": "xz data", b"RIFF": "a RIFF file"}

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
    # rot13, base64, zlib... are codecs too, but not text encodings.
    return info.name if getattr(info, "_is_text_encoding", True) else None


def sniff_binary(body: bytes) -> str | None:
    """What a body is if it is obviously not text (compressed or a document), else None."""
    for magic, what in _BINARY_MAGIC.items():
        if body.startswith(magic):
            return what
    return None


def decode_html(body: bytes, content_type: str | None = None) -> Decoded:
    """Decode a page to str. Raises ExtractError for bodies that are not text at all."""
    what = sniff_binary(body)
    if what:
        raise ExtractError(f"not html: the body is {what}", kind="not_html")
    for bom, name in _BOMS:
        if body.startswith(bom):
            try:
                return Decoded(body[len(bom):].decode(name), f"{name}-bom")
            except UnicodeDecodeError:
                break
    candidates: list[str] = []
    if content_type and (m := _HEADER.search(content_type)):
        candidates.append(m.group(1))
    if m := _META.search(body[:4096]):
        candidates.append(m.group(1).decode("ascii", "replace"))
    for label in candidates:
        codec = _codec(label)
        if codec is None or codec.startswith("utf-16"):
            continue
        try:
            return Decoded(body.decode(codec), codec)
        except (UnicodeError, LookupError):
            continue
    try:
        return Decoded(body.decode("utf-8"), "utf-8")
    except UnicodeDecodeError:
        pass
    # UTF-8 with a few broken bytes is still UTF-8 (a bad byte here and there is common);
    # a page in another encoding breaks on nearly every non-ASCII character instead.
    lossy = body.decode("utf-8", errors="replace")
    damaged = lossy.count("\ufffd")
    non_ascii = sum(1 for ch in lossy if ord(ch) > 127)
    if damaged <= max(8, non_ascii // 50):
        return Decoded(lossy, "utf-8", damaged)
    from charset_normalizer import from_bytes  # only pages that defeat the cheap steps pay

    # Only encodings a news page in English or Chinese plausibly uses: left free, the
    # detector calls short damaged pages Cyrillic code pages.
    best = from_bytes(body[:200_000], cp_isolation=list(DETECTABLE)).best()
    if best is not None:
        codec = _codec(best.encoding)
        if codec:
            try:
                return Decoded(body.decode(codec), codec)
            except (UnicodeError, LookupError):
                pass
    return Decoded(lossy, "utf-8", damaged)


def strip_control_chars(html: str) -> str:
    """Remove raw C0 controls and numeric references to them, keeping the text around."""
    return _CONTROL_REFS.sub("", _RAW_CONTROLS.sub("", html))
