"""WARC (ISO 28500) out and in, with warcio: the container every web archive tool reads.

Out: each stored capture becomes a response record (the HTTP status, the headers as received
and the body ipnews kept), a request record and a metadata record naming the article it
became. Digests are sha256, the hash the archive already keeps for every capture, so a
WARC-Payload-Digest can be checked against the archive and the archive against the file.

In: response records are read one at a time (constant memory, whatever the file's size),
with their digests checked. A record that cannot be read (a corrupt gzip member, a cut
file, a bad header) is reported with its offset and skipped: reading resumes at the next
gzip member, or at the next "WARC/1." line of an uncompressed file.

ipnews stores a page's body after undoing its Content-Encoding (gzip, br): that body is what
its sha256 covers. A response record therefore carries the decoded body, with Content-Length
set to its length and the encoding the server used kept as X-Archive-Orig-Content-Encoding
(the prefix replay tools use for headers they rewrote), never a gzip header over plain bytes.
"""

from __future__ import annotations

import base64
import gzip
import io
import json
import os
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from types import SimpleNamespace
from typing import IO, Any
from urllib.parse import urlsplit

from warcio import archiveiterator, bufferedreaders
from warcio.archiveiterator import ArchiveIterator
from warcio.exceptions import ArchiveLoadFailed
from warcio.statusandheaders import StatusAndHeaders
from warcio.utils import Digester
from warcio.warcwriter import WARCWriter

from ipnews import __version__
from ipnews.files import open_regular


class _Sink:
    def write(self, _text: str) -> int:
        return 0

    def flush(self) -> None:
        pass


# warcio writes notices (a record longer than its length, a payload it cannot decode) to
# sys.stderr itself. stderr is ipnews's, one clean line per problem, which we write; and
# redirecting sys.stderr around a generator that yields would leak the redirect into the
# rest of the program. So its two modules get a stderr of their own.
for _module in (archiveiterator, bufferedreaders):
    _module.sys = SimpleNamespace(stderr=_Sink())  # type: ignore[attr-defined]

WARC_VERSION = "WARC/1.1"
# Headers that describe the bytes on the wire, not the body kept: renamed, never repeated.
_WIRE_HEADERS = ("content-encoding", "transfer-encoding", "content-length")
_RESYNC_CHUNK = 1 << 20
_GZIP_MAGIC = b"\x1f\x8b\x08"
_WARC_LINE = b"WARC/1."
# What an ipnews client sent, for captures made before requests were recorded.
DEFAULT_REQUEST = {"accept": "text/html,application/xhtml+xml;q=0.9,*/*;q=0.5",
                   "accept-encoding": "gzip, deflate, br", "accept-language": "en,zh;q=0.8"}
REASONS = {200: "OK", 203: "Non-Authoritative Information", 301: "Moved Permanently",
           302: "Found", 304: "Not Modified", 404: "Not Found", 410: "Gone"}


class _Sha256Writer(WARCWriter):
    """warcio's writer with sha256 digests instead of its default sha1."""

    @staticmethod
    def _create_digester() -> Digester:
        return Digester("sha256")


def payload_digest(sha256_hex: str) -> str:
    """A hex sha256 as a WARC digest (base32, the form warcio and wget write)."""
    return "sha256:" + base64.b32encode(bytes.fromhex(sha256_hex)).decode("ascii")


def warc_date(iso: str) -> str:
    """An ISO 8601 timestamp as WARC-Date wants it: UTC, ending in Z."""
    when = datetime.fromisoformat(iso.replace("Z", "+00:00"))
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return when.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def iso_date(warc: str | None) -> str | None:
    """A WARC-Date as ipnews writes its timestamps (ISO 8601 to the second, +00:00)."""
    if not warc:
        return None
    try:
        when = datetime.fromisoformat(warc.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return when.astimezone(timezone.utc).isoformat(timespec="seconds")


# --- out ----------------------------------------------------------------------------------
@dataclass
class OutRecord:
    """One stored capture and what it is to the archive."""

    url: str  # the address the body came from (after redirects)
    status: int
    headers: dict[str, str]
    body: bytes
    sha256: str
    fetched_at: str
    exchange: dict[str, Any] | None = None  # what the client sent, when it was recorded
    meta: dict[str, Any] = field(default_factory=dict)  # ipnews-* fields of the metadata


class WarcOut:
    """Writes records to a binary file, gzip per record."""

    def __init__(self, out: IO[bytes], filename: str, description: str) -> None:
        self.writer = _Sha256Writer(out, gzip=True, warc_version=WARC_VERSION)
        self.records = 0
        info = {"software": f"ipnews/{__version__} (warcio)",
                "format": "WARC File Format 1.1",
                "conformsTo": "https://iipc.github.io/warc-specifications/specifications/"
                              "warc-format/warc-1.1/",
                "description": description}
        self._write(self.writer.create_warcinfo_record(filename, info))

    def _write(self, record: Any) -> None:
        self.writer.write_record(record)
        self.records += 1

    def add(self, item: OutRecord) -> None:
        date = warc_date(item.fetched_at)
        headers, orig = [], []
        for name, value in item.headers.items():
            low = name.lower()
            if low == "content-length" and value.strip() == str(len(item.body)):
                continue  # true of the body kept too: given once, below
            if low in _WIRE_HEADERS:
                orig.append((f"X-Archive-Orig-{name.title()}", value))
            else:
                headers.append((name, value))
        headers += [*orig, ("Content-Length", str(len(item.body)))]
        exchange = item.exchange or {}
        version = exchange.get("http_version") or "HTTP/1.1"
        reason = exchange.get("reason") or REASONS.get(item.status, "")
        http = StatusAndHeaders(f"{item.status} {reason}".strip(), headers, protocol=version)
        response = self.writer.create_warc_record(
            item.url, "response", payload=io.BytesIO(item.body), length=len(item.body),
            http_headers=http, warc_headers_dict={"WARC-Date": date})
        # The body's sha256 is the one the archive recorded: say so, do not recompute it.
        response.rec_headers.replace_header("WARC-Payload-Digest", payload_digest(item.sha256))
        response_id = response.rec_headers.get_header("WARC-Record-ID")
        self._write(response)

        parts = urlsplit(item.url)
        sent = exchange.get("request_headers") or {**DEFAULT_REQUEST}
        request_headers = [("Host", parts.netloc), *((k, v) for k, v in sent.items()
                                                     if k.lower() != "host")]
        target = parts.path or "/"
        if parts.query:
            target += "?" + parts.query
        request = self.writer.create_warc_record(
            item.url, "request", http_headers=StatusAndHeaders(
                f"GET {target} {version}", request_headers, protocol="", is_http_request=True),
            warc_headers_dict={"WARC-Date": date, "WARC-Concurrent-To": response_id})
        self._write(request)

        fields = {"ipnews-version": __version__, **item.meta,
                  "ipnews-request": "recorded" if item.exchange else "reconstructed"}
        lines = "".join(f"{k}: {_field(v)}\r\n" for k, v in fields.items() if v is not None)
        body = lines.encode("utf-8")
        metadata = self.writer.create_warc_record(
            item.url, "metadata", payload=io.BytesIO(body), length=len(body),
            warc_content_type="application/warc-fields",
            warc_headers_dict={"WARC-Date": date, "WARC-Concurrent-To": response_id})
        self._write(metadata)


def _field(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    return " ".join(text.split())  # one line: a field value never holds a CR or LF


# --- in -----------------------------------------------------------------------------------
@dataclass
class Response:
    """One HTTP response record, its body decoded as ipnews would have received it."""

    url: str
    status: int
    headers: dict[str, str]
    body: bytes
    fetched_at: str
    record_id: str
    offset: int
    http_version: str = "HTTP/1.1"
    reason: str = ""
    too_large: bool = False
    read: bool = True  # False: a URL the reader did not want; its body was not decoded
    meta: dict[str, str] = field(default_factory=dict)  # a concurrent ipnews metadata record
    request_headers: dict[str, str] | None = None


@dataclass
class Tally:
    """What a file held, for the summary."""

    records: int = 0
    warc_records: int = 0  # records that are WARC's (or ARC's with a URL), not text read as one
    responses: int = 0
    problems: list[str] = field(default_factory=list)
    bytes_read: int = 0


def open_input(path: Path) -> IO[bytes]:
    """A WARC to read: a regular file (not a FIFO that would block, not a directory).
    A file gzipped as one stream (`gzip crawl.warc`) is read through GzipFile, so that
    the offsets a reader records are offsets it can seek to again."""
    raw = os.fdopen(open_regular(path, os.O_RDONLY, follow=True), "rb", buffering=1 << 16)
    try:
        whole = _one_gzip_stream(raw)
        raw.seek(0)
    except OSError:
        raw.close()
        raise
    if not whole:
        return raw
    stream = gzip.GzipFile(fileobj=raw)
    stream.myfileobj = raw  # closed with it, as when GzipFile opens a file by name
    return stream  # type: ignore[return-value]


def _one_gzip_stream(fh: IO[bytes], probe: int = 1 << 22) -> bool:
    """Whether the first gzip member holds more than one record: a record gzipped alone
    ends within a few MB; one stream around the whole file holds a second "WARC/" line."""
    if fh.read(3) != _GZIP_MAGIC:
        return False
    fh.seek(0)
    inflate = zlib.decompressobj(wbits=31)
    out = b""
    try:
        while len(out) < probe and not inflate.eof:
            chunk = fh.read(1 << 16)
            if not chunk:
                break
            out += inflate.decompress(chunk, probe - len(out))
    except zlib.error:
        return False  # a corrupt first member: the reader reports it
    return _warc_line(out[8:]) >= 0


def responses(fh: IO[bytes], tally: Tally, cap: int, name: str = "",
              stop: Callable[[], bool] | None = None,
              wanted: Callable[[str], bool] | None = None) -> Iterator[Response]:
    """The response records of a WARC (gzip per record, whole-file gzip or plain), each
    with the request and ipnews metadata records that refer to it. Bodies over cap bytes
    are not read (too_large), nor those of URLs wanted() refuses (read False: a CC-NEWS
    file is nearly all other sites). Problems go to tally.problems, one line each."""
    pending: Response | None = None
    start = fh.tell()
    where = (lambda at: f"{name} at byte {at:,}") if name else (lambda at: f"byte {at:,}")
    while True:
        iterator = ArchiveIterator(fh, check_digests=True)
        offset, last = start, None
        try:
            for record in iterator:
                _check_whole(last, tally, where, offset)
                offset, last = iterator.offset, record  # where this record starts
                tally.records += 1
                uri = record.rec_headers.get_header("WARC-Target-URI") or ""
                tally.warc_records += record.format == "warc" or uri.startswith(
                    ("http://", "https://", "filedesc:"))
                if record.format == "warc" and \
                        record.rec_headers.get_header("Content-Length") is None:
                    # Every WARC record states its length: this one's headers were cut.
                    tally.problems.append(f"{where(offset)}: a WARC record without a "
                                          "Content-Length (cut inside its headers?); skipped")
                    continue
                concurrent = record.rec_headers.get_header("WARC-Concurrent-To")
                if pending is not None and concurrent == pending.record_id:
                    _attach(pending, record)
                    continue
                if pending is not None:
                    yield pending
                    pending = None
                    if stop is not None and stop():
                        return
                if record.rec_type == "response":
                    pending = _response(record, iterator, offset, cap, tally, name,
                                        wanted)
                tally.bytes_read = fh.tell()
            _check_whole(last, tally, where, offset)
            if pending is not None:
                yield pending
            if tally.records and not tally.warc_records:
                tally.problems.append(f"{where(start)}: not a WARC file (no WARC record in it)")
                return
            end = fh.seek(0, os.SEEK_END)
            if iterator.offset < end:  # warcio ends quietly inside a cut gzip member
                tally.problems.append(f"{where(iterator.offset)}: the file ends inside a "
                                      f"record (truncated); its last "
                                      f"{end - iterator.offset:,} bytes were skipped")
            return
        # warcio's parser meets what a cut or hostile file holds with these, and with
        # AttributeError and TypeError when a header it needs is missing (a record cut
        # inside its WARC headers has no WARC-Target-URI).
        except (ArchiveLoadFailed, EOFError, OSError, ValueError, IndexError, KeyError,
                AttributeError, TypeError, UnicodeDecodeError, zlib.error) as exc:
            if pending is not None:  # complete: only the records after it are in doubt
                yield pending
                pending = None
            if "non-chunked gzip" in str(exc) and start == 0 and offset == 0 \
                    and not isinstance(fh, gzip.GzipFile):
                # One gzip stream around the whole file (`gzip file.warc`), met on its first
                # record (open_input sends most such files through GzipFile already).
                fh.seek(0)
                tally.records = 0
                yield from responses(gzip.GzipFile(fileobj=fh), tally, cap, name, stop,
                                     wanted)
                return
            failed_at = _failed_offset(iterator, offset)
            resume = _resync(fh, failed_at + 1)
            if resume is None:
                tally.problems.append(f"{where(failed_at)}: {_reason(exc)}; the rest of "
                                      "the file holds no readable record")
                return
            tally.problems.append(f"{where(failed_at)}: {_reason(exc)}; skipped "
                                  f"{resume - failed_at:,} bytes to the next record")
            fh.seek(resume)
            start = resume


def _check_whole(record: Any, tally: Tally, where: Callable[[int], str], offset: int) -> None:
    """A record whose block ended before its Content-Length: the file was cut inside it.
    (A response's own check, in _response, has said so already.)"""
    if record is not None and record.rec_type != "response" \
            and getattr(record.raw_stream, "limit", 0) > 0:
        tally.problems.append(f"{where(offset)}: the file ends inside a record (truncated); "
                              "it was skipped")


def _failed_offset(iterator: ArchiveIterator, offset: int) -> int:
    try:
        return max(offset, int(iterator.offset))
    except (TypeError, ValueError):
        return offset


def _reason(exc: BaseException) -> str:
    if isinstance(exc, EOFError):
        return "the file ends inside a record (truncated)"
    if isinstance(exc, ArchiveLoadFailed | zlib.error):
        return "not a readable WARC record (a corrupt gzip member or header)"
    if isinstance(exc, AttributeError | TypeError | KeyError):
        return "a WARC record without a header it needs (cut inside its headers?)"
    # Messages may quote the file's bytes: printable ASCII only, bounded.
    text = "".join(c if c.isascii() and c.isprintable() else "?" for c in str(exc))[:120]
    return f"unreadable record ({type(exc).__name__}: {text or 'no detail'})"


def _resync(fh: IO[bytes], at: int) -> int | None:
    """The offset of the next record start after a bad one: a gzip member's magic, or a
    WARC version line at the start of a line. Read in chunks: linear, bounded memory."""
    tail = b""
    base = at
    while True:
        try:
            if base == at:
                fh.seek(at)
            chunk = fh.read(_RESYNC_CHUNK)
        except (EOFError, OSError, zlib.error):  # a cut or corrupt gzip stream: no more
            return None
        if not chunk:
            return None
        data = tail + chunk
        hits = [i for i in (data.find(_GZIP_MAGIC), _warc_line(data)) if i >= 0]
        if hits:
            return base - len(tail) + min(hits)
        tail = data[-16:]
        base += len(chunk)


def _warc_line(data: bytes) -> int:
    i = data.find(b"\n" + _WARC_LINE)
    return i + 1 if i >= 0 else -1


def _response(record: Any, iterator: ArchiveIterator, offset: int, cap: int, tally: Tally,
              name: str, wanted: Callable[[str], bool] | None = None) -> Response | None:
    http = record.http_headers
    url = record.rec_headers.get_header("WARC-Target-URI") or ""
    if http is None or not url.startswith(("http://", "https://")):
        return None
    tally.responses += 1
    try:
        status = int(http.get_statuscode() or 0)
    except ValueError:
        status = 0
    headers: dict[str, str] = {}
    for key, value in http.headers:
        headers[key.lower()] = value
    truncated = record.rec_headers.get_header("WARC-Truncated")
    fetched_at = iso_date(record.rec_headers.get_header("WARC-Date"))
    read = wanted is None or wanted(url)
    body = record.content_stream().read(cap + 1) if read else b""
    too_large = len(body) > cap
    iterator.read_to_end()  # the digests are checked once the whole block is read
    checker = record.digest_checker
    label = f"{name}: " if name else ""
    if getattr(record.raw_stream, "limit", 0) > 0:  # its block ended before its length
        tally.problems.append(f"{label}{url}: the file ends inside this record (truncated); "
                              "skipped")
        return None
    if checker is not None and checker.passed is False:
        tally.problems.append(f"{label}{url}: {'; '.join(checker.problems)} (record skipped)")
        return None
    if not fetched_at:
        tally.problems.append(f"{label}{url}: no valid WARC-Date (when was it fetched?); "
                              "skipped")
        return None
    if truncated:
        tally.problems.append(f"{label}{url}: the crawler cut this record short "
                              f"(WARC-Truncated: {truncated}); skipped")
        return None
    protocol = http.protocol or "HTTP/1.1"
    reason = (http.statusline or "").partition(" ")[2]
    return Response(url=url, status=status, headers=headers,
                    body=b"" if too_large else body,
                    fetched_at=fetched_at,
                    record_id=record.rec_headers.get_header("WARC-Record-ID") or "",
                    offset=offset, http_version=protocol, reason=reason, too_large=too_large,
                    read=read)


def _attach(response: Response | None, record: Any) -> None:
    """A request or ipnews metadata record about the pending response."""
    if response is None:
        return
    if record.rec_type == "request" and record.http_headers is not None:
        response.request_headers = {k.lower(): v for k, v in record.http_headers.headers}
    elif record.rec_type == "metadata":
        body = record.content_stream().read(1 << 16).decode("utf-8", "replace")
        for line in body.splitlines():
            key, sep, value = line.partition(":")
            if sep and key.startswith("ipnews-"):
                response.meta[key.strip()] = value.strip()


def read_record(fh: IO[bytes], offset: int, cap: int) -> Response | None:
    """The response record at offset (replay from a WARC's index)."""
    fh.seek(offset)
    tally = Tally()
    for response in responses(fh, tally, cap):
        return response
    return None
