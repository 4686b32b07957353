"""The only module that talks to the network.

httpx does the HTTP; this module does everything httpx does not promise (see README,
"Guarantees"): a deadline for each attempt at a request, redirects and body included, that
holds in every phase (httpx's timeouts are per read, so a server dripping a byte a second
never trips them); caps on bytes received and on bytes after decompression, enforced while
streaming (we read ``iter_raw()`` and decompress ourselves, in 64 KiB steps, because httpx
decompresses a bomb in one chunk); redirects followed hop by hop without decoding their
bodies and without carrying credentials to another origin; every resolved address checked
before we connect to it; robots.txt; one request at a time per host with a delay (redirect
hops included); retries that honour Retry-After; and a per-host circuit breaker.

Two limits come from the caller: ``Client.stop`` (set by a signal handler) cuts the request in
flight within STOP_POLL, and ``get(cutoff=...)`` (a run's time budget) starts no request, retry,
hop or wait after the cutoff and ends each attempt at it. Every message of a FetchError leaving
``get()`` is one clean, bounded line, whatever a server put in its headers.
"""

from __future__ import annotations

import contextlib
import hashlib
import ipaddress
import os
import random
import socket
import ssl
import threading
import time
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import timezone
from email.utils import parsedate_to_datetime
from http.cookiejar import CookieJar, DefaultCookiePolicy
from typing import Any
from urllib.parse import SplitResult, quote, urljoin, urlsplit, urlunsplit

import httpx

from ipnews import __version__
from ipnews.article import CONTROLS, clean_line, utcnow
from ipnews.errors import FetchError, PermanentError, TransientError, UsageError
from ipnews.urls import looks_like_trap

USER_AGENT = (f"ipnews/{__version__} (+https://github.com/ipnews/ipnews; personal news "
              "archive; one request at a time)")
CHUNK = 65_536
# An error or redirect body at most this long is read (raw, never decoded) before the
# response is closed, so the connection can be reused; a longer one is cut off unread.
DRAIN_LIMIT = 16_384
ROBOTS_MAX_BYTES = 512 * 1024  # RFC 9309: parse at least 500 KiB, and no more than we must
RETRY_STATUSES = frozenset({408, 429, 500, 502, 503, 504, 522, 524})
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
HTML_TYPES = ("text/html", "application/xhtml+xml", "text/plain", "")
# Failures that say nothing about the host's health, so they never open its circuit: the
# page's own faults (an answer that came whole but is of no use), our refusals, and the
# run's own limits. (A body that is corrupt within its framing is a _BodyFault, and a 4xx
# other than _HOST_STATUSES is about the page too: see _counts_against_host.)
_PAGE_FAULTS = frozenset({"not_found", "gone", "not_html", "too_large", "bad_encoding",
                          "robots", "bad_url", "interrupted", "time_budget", "ssrf_refused",
                          "offsite_redirect", "bad_redirect", "redirect_loop"})
# The 4xx answers that are about us rather than the page: a host that forbids us (a WAF
# answers 403 to every page), times us out or rate-limits us.
_HOST_STATUSES = frozenset({403, 408, 412, 429, 521})
# What government sites' firewalls mean by the answers they give some clients instead of
# the page (seen in others' issue trackers): not the page's fault, and not for good.
_REFUSALS = {
    412: "refused by the site's firewall, which turns away some clients; tried again next run",
    521: "the site's anti-bot wall answered instead of the page; tried again next run",
}
# A server that timed out or spoke garbage once is unlikely to do better at once: one retry.
_ONE_RETRY = frozenset({"protocol_error", "timeout"})
_LOCATION = "x-ipnews-location"  # where _hide_location puts a response's Location
_CREDENTIALS = frozenset({"authorization", "proxy-authorization", "cookie"})
# How soon a stop (a signal) is noticed while a request is in flight: the watchdog cannot
# wait on the caller's Event and on its own request's end at once, so it looks this often.
STOP_POLL = 0.1
QUOTE_MAX = 200  # characters of one piece of server text (a Location...) in a message
MESSAGE_MAX = 500  # characters of a whole FetchError message
# What a refused private address is told: the one setting that exempts a host (cli.py adds
# each source's base_url to Settings.allow_private, and the URL a user types to `extract`).
_PRIVATE_HINT = "only a [sources.NAME] base_url may point at one"
NAT64 = ipaddress.ip_network("64:ff9b::/96")
NAT64_LOCAL = ipaddress.ip_network("64:ff9b:1::/48")  # RFC 8215: local use, never global
IPV4_COMPATIBLE = ipaddress.ip_network("::/96")
GLOBAL_UNICAST_V6 = ipaddress.ip_network("2000::/3")
# Ranges Python's is_global (3.10/3.11 tables) still calls global. (6to4 and Teredo are
# judged by the IPv4 address they carry.)
_NOT_PUBLIC = tuple(ipaddress.ip_network(n) for n in (
    "2001:db8::/32", "3fff::/20", "192.88.99.0/24"))

Address = ipaddress.IPv4Address | ipaddress.IPv6Address


@dataclass
class Settings:
    """Everything a user may tune; defaults are polite and safe for cron."""

    user_agent: str = USER_AGENT
    delay: float = 1.0  # seconds between two requests to one host
    timeout: float = 20.0  # connect / read / write, each
    deadline: float = 60.0  # one attempt at the request, redirects and body included
    max_bytes: int = 10 * 1024 * 1024  # received, and again after decompression
    attempts: int = 3
    backoff: float = 2.0  # first retry after ~2 s, then ~4 s, with jitter
    max_retry_after: float = 120.0  # a longer Retry-After defers the host for this run
    max_redirects: int = 5
    max_crawl_delay: float = 30.0
    obey_robots: bool = True
    breaker: int = 3  # URLs in a row failing on one host open its circuit for the run
    allow_private: frozenset[str] = frozenset()  # "host" or "host:port" that may be non-public
    ca_bundle: str | None = None  # a CA trusted in addition to the usual ones
    # Ports a public host may be reached on without being listed in allow_private.
    allowed_ports: frozenset[int] = frozenset({80, 443})
    # A source's own delay ([sources.NAME] delay), by host name: a slow site asks for more.
    host_delays: dict[str, float] = field(default_factory=dict)


@dataclass
class Page:
    url: str
    final_url: str
    status: int
    headers: dict[str, str]
    body: bytes
    fetched_at: str
    redirects: list[str] = field(default_factory=list)
    truncated: bool = False  # only when the caller asked for a prefix (robots.txt)
    # What was sent and the status line, for evidence and WARC request records.
    exchange: dict[str, Any] | None = None
    origin: dict[str, Any] | None = None  # a replayed page: the WARC record it came from

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.body).hexdigest()

    @property
    def content_type(self) -> str:
        return self.headers.get("content-type", "")


@dataclass
class _Host:
    next_allowed: float = 0.0  # set by backoff and Retry-After
    last: float = float("-inf")  # when the last request to the host ended
    delay: float = 0.0
    failures: int = 0
    deferred_until: float = 0.0
    reason: str = ""
    robots: Any = None
    robots_error: tuple[str, str] | None = None  # (message, kind)


class _DeadlineExceeded(TransientError):
    """The attempt used its whole deadline: a server that slow will be as slow on a retry."""

    def __init__(self, message: str, url: str | None = None) -> None:
        super().__init__(message, "timeout", url=url)


class _BodyFault(TransientError):
    """A body that arrived whole by its framing but whose compressed stream is corrupt or
    cut short: that page's fault, so it is retried but never opens the host's circuit (a
    connection that broke off is a plain TransientError, and says the host is unwell)."""


def _interrupted() -> FetchError:
    return FetchError("interrupted", "interrupted")


def _quote(text: str, limit: int = QUOTE_MAX) -> str:
    """Server-supplied text as a message may show it: one line, without the control and
    bidi characters that would rewrite a terminal or reorder what is read, and bounded."""
    text = clean_line(text)
    return text if len(text) <= limit else text[:limit - 3] + "..."


def _counts_against_host(exc: FetchError) -> bool:
    """Whether a failure says the host is unwell, so that it counts toward its breaker."""
    if exc.kind in _PAGE_FAULTS or isinstance(exc, _BodyFault):
        return False
    return exc.status is None or not 400 <= exc.status < 500 or exc.status in _HOST_STATUSES


# --- decompression with caps -------------------------------------------------------------
class _Decoder:
    """Content-Encoding decoder whose output is produced in bounded steps and counted.

    With ``truncate`` the output stops at ``cap`` (``full`` is set) instead of failing."""

    def __init__(self, encoding: str, cap: int, truncate: bool = False) -> None:
        self.encoding, self.cap, self.truncate = encoding, cap, truncate
        self.total, self.full = 0, False
        self._zlib: Any = None
        self._brotli: Any = None
        self._head = b""
        self._fed = 0
        if encoding in ("gzip", "x-gzip"):
            self._zlib = zlib.decompressobj(16 + zlib.MAX_WBITS)
        elif encoding == "br":
            import brotli

            self._brotli = brotli.Decompressor()

    def _count(self, out: bytes) -> bytes:
        if self.total + len(out) > self.cap:
            if not self.truncate:
                raise PermanentError(f"decoded size exceeds cap ({self.cap:,} bytes)",
                                     "too_large")
            out, self.full = out[:self.cap - self.total], True
        self.total += len(out)
        return out

    def feed(self, data: bytes) -> list[bytes]:
        out: list[bytes] = []
        self._fed += len(data)
        if self.encoding == "deflate" and self._zlib is None:
            # "deflate" is zlib-wrapped by the RFC, raw in some servers: the first two bytes
            # tell, and a slow server may send them one at a time.
            self._head += data
            if len(self._head) < 2:
                return out
            data, head = self._head, self._head
            wrapped = (head[0] & 0x0F) == 8 and (head[0] << 8 | head[1]) % 31 == 0
            self._zlib = zlib.decompressobj(zlib.MAX_WBITS if wrapped else -zlib.MAX_WBITS)
        if self._zlib is not None:
            buf = data
            while buf and not self.full:
                out.append(self._count(self._zlib.decompress(buf, CHUNK)))
                buf = self._zlib.unconsumed_tail
            return out
        if self._brotli is not None:
            import brotli

            try:
                out.append(self._count(self._brotli.process(data, output_buffer_limit=CHUNK)))
                while not self.full and not self._brotli.can_accept_more_data():
                    out.append(self._count(self._brotli.process(b"", output_buffer_limit=CHUNK)))
            except brotli.error as exc:
                raise _BodyFault(f"corrupt brotli body: {exc}", "protocol_error") from exc
            return out
        return [self._count(data)]

    def finish(self) -> bytes:
        """The last bytes, once the body has ended; a compressed stream that stops before
        its end marker is a truncated body, even when Content-Length matched."""
        out = b""
        if self.encoding == "deflate" and self._zlib is None:
            if not self._head:
                return b""  # an empty body is not a truncated one
            head, self._head = self._head, b""
            self._zlib = zlib.decompressobj(-zlib.MAX_WBITS)
            out = b"".join(self.feed(head))
        if self._zlib is not None:
            out += self._count(self._zlib.flush(CHUNK))
            if self._fed and not self._zlib.eof and not self.full:
                raise _BodyFault("truncated compressed body (no end of stream)",
                                 "truncated")
        elif self._brotli is not None and self._fed and not self._brotli.is_finished() \
                and not self.full:
            raise _BodyFault("truncated brotli body (no end of stream)", "truncated")
        return out


# --- address checks ----------------------------------------------------------------------
def _unwrap(ip: Address) -> Address:
    """The IPv4 address an IPv6 address carries (mapped, NAT64, 6to4, Teredo), else ip."""
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return ip.ipv4_mapped
        if ip in NAT64:
            return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
        if ip.sixtofour is not None:
            return ip.sixtofour
        if ip.teredo is not None:
            return ip.teredo[1]
    return ip


def is_public_address(address: str) -> bool:
    """True only for globally routable unicast addresses, whatever the spelling."""
    try:
        ip = _unwrap(ipaddress.ip_address(address.split("%")[0]))
    except ValueError:
        return False
    if ip.is_multicast or ip.is_reserved or ip.is_link_local or not ip.is_global:
        return False
    # Only 2000::/3 is global unicast; site-local fec0::/10, NAT64 local-use and
    # IPv4-compatible ::a.b.c.d pass is_global on some Python versions.
    if isinstance(ip, ipaddress.IPv6Address) and (
            ip not in GLOBAL_UNICAST_V6 or ip in NAT64_LOCAL or ip in IPV4_COMPATIBLE):
        return False
    return not any(ip in net for net in _NOT_PUBLIC if net.version == ip.version)


def resolve_public(host: str, port: int) -> str:
    """Resolve host and return one vetted address; refuse if ANY address is not public
    (a name that resolves to both a public and a private address is a rebinding attempt)."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise TransientError(f"DNS lookup failed for {host}: {exc.strerror}", "dns_error") from exc
    except UnicodeError as exc:
        raise PermanentError(f"bad host name {host!r}", "bad_url") from exc
    addresses = [str(info[4][0]) for info in infos]
    bad = [a for a in addresses if not is_public_address(a)]
    if not addresses or bad:
        raise PermanentError(f"refused: {host} resolves to non-public address "
                             f"{(bad or ['none'])[0]}; {_PRIVATE_HINT}", "ssrf_refused")
    return addresses[0]


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or HTTP-date); None when
    absent or unusable, so the caller falls back to its own backoff."""
    if not value:
        return None
    value = value.strip()
    if value.isascii() and value.isdigit():  # "²".isdigit() is True too
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when is None:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    now = time.time() if now is None else now
    return max(0.0, when.timestamp() - now)


# --- URLs --------------------------------------------------------------------------------
def _port(parts: SplitResult) -> int:
    return parts.port or (443 if parts.scheme == "https" else 80)


def _origin(url: str) -> tuple[str, str, int]:
    parts = urlsplit(url)
    return parts.scheme, (parts.hostname or "").lower(), _port(parts)


def _netloc(host: str, port: int | None) -> str:
    """host[:port] with IPv6 brackets and never a user:password@ part."""
    bracketed = f"[{host}]" if ":" in host else host
    return bracketed if port is None else f"{bracketed}:{port}"


def _without_credentials(headers: dict[str, str]) -> dict[str, str]:
    return {k: v for k, v in headers.items() if k.lower() not in _CREDENTIALS}


# --- the deadline --------------------------------------------------------------------------
class _Deadline:
    """When one attempt at a request must end: its own deadline, capped at the caller's
    cutoff. Which of the two it is decides what running out means."""

    def __init__(self, seconds: float, cutoff: float | None) -> None:
        self.seconds, self.cutoff = seconds, cutoff
        self.at = self._capped(time.monotonic() + seconds)

    def _capped(self, at: float) -> float:
        return at if self.cutoff is None else min(at, self.cutoff)

    def extend(self, seconds: float) -> None:
        self.at = self._capped(self.at + seconds)

    def remaining(self) -> float:
        return self.at - time.monotonic()

    def error(self, when: str, url: str) -> FetchError:
        if self.cutoff is not None and self.at >= self.cutoff:
            # The run's budget ran out, not the server's time: neither the URL's failure
            # nor the host's, and not retried.
            return FetchError(f"time budget reached {when}", "time_budget", url=url)
        return _DeadlineExceeded(f"deadline exceeded ({self.seconds:g} s) {when}", url=url)


class _Watchdog:
    """Shuts a request's connection down when its deadline passes or the caller's stop is
    set, in whatever phase the request is (TLS handshake, headers, body): httpx's timeouts
    are per read, and a signal handler that sets stop does not interrupt a blocking read.

    One thread per request, ended by cancel() at once: it waits on its own event, looking
    at stop every STOP_POLL seconds, rather than on stop, which cancel() could not wake."""

    def __init__(self, deadline: float, stop: threading.Event,
                 socket_of: Callable[[], tuple[int, int] | None]) -> None:
        self._deadline, self._stop, self._socket_of = deadline, stop, socket_of
        self._fired = False
        self._done = threading.Event()
        threading.Thread(target=self._watch, name="ipnews-watchdog", daemon=True).start()

    def _watch(self) -> None:
        while True:
            left = self._deadline - time.monotonic()
            if left <= 0 or self._stop.is_set():
                self._fired = True
                self._shoot()
                return
            if self._done.wait(min(left, STOP_POLL)):
                return

    def connected(self) -> None:
        """A connection was just made. If we fired while it was being made (a stop during
        the TCP handshake, before its socket was known), it is shut down now."""
        if self._fired:
            self._shoot()

    def _shoot(self) -> None:
        found = self._socket_of()
        if found is None:
            return
        fd, inode = found
        # Work on our own duplicate of the descriptor, and only if it is still the socket
        # we saw connect (the number may have been closed and reused since).
        try:
            dup = os.dup(fd)
        except OSError:
            return
        try:
            if os.fstat(dup).st_ino != inode:
                return
            with socket.socket(fileno=dup) as sock:
                dup = -1
                sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        finally:
            if dup != -1:
                os.close(dup)

    def cancel(self) -> None:
        self._done.set()


# --- the client --------------------------------------------------------------------------
class Client:
    """One per run: keeps connections alive and per-host state (delay, robots, breaker)."""

    def __init__(self, settings: Settings | None = None, *,
                 transport: httpx.BaseTransport | None = None,
                 stop: threading.Event | None = None,
                 on_request: Callable[[str], None] | None = None) -> None:
        self.settings = settings or Settings()
        self.stop = stop or threading.Event()
        self.on_request = on_request
        self.requests = 0
        self.hosts: dict[str, _Host] = {}
        # origin -> (fd, inode) of the socket last connected to it, for the watchdog
        self._sockets: dict[str, tuple[int, int]] = {}
        verify: ssl.SSLContext | bool = True
        if self.settings.ca_bundle:
            verify = httpx.create_ssl_context()
            try:
                verify.load_verify_locations(cafile=self.settings.ca_bundle)
            except (OSError, ssl.SSLError) as exc:
                raise UsageError(f"cannot use ca_bundle {self.settings.ca_bundle}: "
                                 f"{exc}") from exc
        timeout = httpx.Timeout(self.settings.timeout)
        self._http = httpx.Client(
            follow_redirects=False, timeout=timeout, verify=verify, transport=transport,
            trust_env=False,  # a proxy is configured per source as base_url, not by env
            event_hooks={"response": [_hide_location]},
            # Cookies are credentials: a jar that keeps none, so a cookie set by one origin
            # (or port: cookies ignore ports) is never sent to another.
            cookies=CookieJar(policy=DefaultCookiePolicy(allowed_domains=[])),
            headers={"User-Agent": self.settings.user_agent,
                     "Accept": "text/html,application/xhtml+xml;q=0.9,*/*;q=0.5",
                     "Accept-Encoding": "gzip, deflate, br",
                     "Accept-Language": "en,zh;q=0.8"},
        )

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- politeness --
    def _host(self, url: str) -> tuple[str, _Host]:
        parts = urlsplit(url)
        key = f"{parts.scheme}://{parts.netloc.lower()}"
        if key not in self.hosts:
            delay = self.settings.host_delays.get((parts.hostname or "").lower(),
                                                  self.settings.delay)
            self.hosts[key] = _Host(delay=delay)
        return key, self.hosts[key]

    def _sleep(self, seconds: float) -> None:
        if seconds > 0 and self.stop.wait(seconds):
            raise _interrupted()

    def _wait_turn(self, host: _Host, cutoff: float | None) -> float:
        """Wait until the host may be asked again; return how long that took. A turn that
        would come at or after the cutoff is not waited for."""
        until = max(host.next_allowed, host.last + host.delay)
        if cutoff is not None and max(until, time.monotonic()) >= cutoff:
            raise FetchError("time budget reached before the request", "time_budget")
        wait = until - time.monotonic()
        self._sleep(wait)
        return max(0.0, wait)

    def _allowed_private(self, host: str, port: int) -> bool:
        allow = self.settings.allow_private
        return host in allow or f"{host}:{port}" in allow

    def _vetted_address(self, host: str, port: int) -> str:
        """The address to connect to for a host that may not be private. Each refusal names
        the setting that would allow the request; a private IP literal is told so before
        its port is, because allowed_ports would not help it."""
        if _is_ip_literal(host) and not is_public_address(host):
            raise PermanentError(f"refused: {host} is a non-public address; {_PRIVATE_HINT}",
                                 "ssrf_refused")
        if port not in self.settings.allowed_ports:
            raise PermanentError(f"refused: port {port} is not in [fetch] allowed_ports "
                                 f"{sorted(self.settings.allowed_ports)}", "ssrf_refused")
        return resolve_public(host, port)

    # -- public API --
    def get(self, url: str, *, headers: dict[str, str] | None = None,
            allowed_hosts: frozenset[str] | None = None,
            accept: tuple[str, ...] | None = HTML_TYPES, cutoff: float | None = None) -> Page:
        """GET url under every guarantee of this module; raises FetchError subclasses.

        ``cutoff`` is a time.monotonic() instant, the end of the caller's time budget: no
        request, retry, redirect hop or wait starts at or after it, and each attempt is cut
        there, raising FetchError(kind="time_budget"), which is no failure of the URL or of
        its host. A parameter rather than client state: one client serves several sources,
        each with its own budget, and nothing is left set for the next caller.

        The error's ``url`` is always the URL asked (a mirror's, when one is configured);
        its message names any other address that failed (a redirect hop, a robots.txt)."""
        try:
            return self._get(url, headers or {}, allowed_hosts, accept, cutoff)
        except FetchError as exc:
            exc.url = url
            # Messages quote servers (headers, Location, httpx's exception text) and reach
            # stderr, logs and the archive: one clean line, bounded, whatever they sent.
            exc.args = (_quote(str(exc), MESSAGE_MAX),)
            raise

    def _get(self, url: str, headers: dict[str, str], allowed_hosts: frozenset[str] | None,
             accept: tuple[str, ...] | None, cutoff: float | None) -> Page:
        try:
            reason = looks_like_trap(url)
            urlsplit(url).port  # noqa: B018 - raises on a port that is not a port
        except ValueError as exc:  # "http://[::1/", "http://host:99999/"
            reason = str(exc)
        if reason:
            raise PermanentError(f"refused URL: {reason}", "bad_url", url=url)
        key, host = self._host(url)
        now = time.monotonic()
        if host.deferred_until > now:
            raise PermanentError(f"host {key} deferred for this run: {host.reason}",
                                 "deferred", url=url)
        if self.settings.breaker and host.failures >= self.settings.breaker:
            raise PermanentError(f"host {key} skipped for this run after {host.failures} "
                                 f"failures in a row: {host.reason}", "circuit_open", url=url)
        if self.settings.obey_robots:
            self._check_robots(url, key, host, cutoff)
        try:
            page = self._get_with_retries(url, host, headers, allowed_hosts, accept, cutoff)
        except FetchError as exc:
            if _counts_against_host(exc):
                host.failures += 1
                host.reason = str(exc)
            raise
        host.failures = 0
        return page

    def _get_with_retries(self, url: str, host: _Host, headers: dict[str, str],
                          allowed_hosts: frozenset[str] | None,
                          accept: tuple[str, ...] | None, cutoff: float | None, *,
                          cap: int | None = None, truncate: bool = False,
                          robots: bool = True) -> Page:
        attempts = self.settings.attempts
        tries: dict[str, int] = {}
        for attempt in range(1, attempts + 1):
            self._wait_turn(host, cutoff)
            try:
                return self._fetch(url, headers, allowed_hosts, accept,
                                   cap or self.settings.max_bytes, truncate, robots, cutoff)
            except TransientError as exc:
                tries[exc.kind] = tries.get(exc.kind, 0) + 1
                last = (attempt == attempts or isinstance(exc, _DeadlineExceeded)
                        or (exc.kind in _ONE_RETRY and tries[exc.kind] > 1))
                wait = exc.retry_after
                if wait is not None and wait > self.settings.max_retry_after:
                    host.deferred_until = float("inf")
                    host.reason = f"Retry-After {wait:.0f} s"
                    raise PermanentError(f"{exc} (Retry-After {wait:.0f} s > cap "
                                         f"{self.settings.max_retry_after:.0f} s: host "
                                         "deferred)", "deferred", url=url,
                                         status=exc.status) from exc
                if wait is None and not last:
                    base = self.settings.backoff * 2 ** (attempt - 1)
                    wait = base * random.uniform(0.5, 1.5)
                if wait is not None:
                    # The host asked for a pause (or we back off): every request to it
                    # waits, not only this URL's retry, and the wait never shrinks.
                    host.next_allowed = max(host.next_allowed, time.monotonic() + wait)
                if last:
                    raise
        raise AssertionError("unreachable")  # pragma: no cover

    def _fetch(self, url: str, headers: dict[str, str], allowed_hosts: frozenset[str] | None,
               accept: tuple[str, ...] | None, cap: int, truncate: bool, robots: bool,
               cutoff: float | None) -> Page:
        """One attempt: follow redirects hop by hop, then stream the body under the caps."""
        deadline = _Deadline(self.settings.deadline, cutoff)
        seen: set[str] = set()
        redirects: list[str] = []
        first = _origin(url)
        current = url
        while True:
            if current in seen:
                raise PermanentError(f"redirect loop at {current}", "redirect_loop", url=url)
            seen.add(current)
            key, host = self._host(current)
            if redirects:
                # A hop is a request like any other: it waits its host's turn, and that
                # wait is ours, so it does not count against the server's deadline.
                deadline.extend(self._wait_turn(host, cutoff))
            hop_headers = headers if _origin(current) == first else _without_credentials(headers)
            try:
                response, watchdog = self._send(current, hop_headers, deadline)
            except FetchError as exc:
                host.last = time.monotonic()  # an error answer is a request too
                _name_hop(exc, current, url)
                raise
            try:
                status = response.status_code
                if 300 <= status < 400 and status != 304:
                    location = response.headers.get(_LOCATION) or response.headers.get("location")
                    if status not in REDIRECT_STATUSES or not location:
                        raise PermanentError(f"HTTP {status} without a usable Location",
                                             "bad_redirect", url=url, status=status)
                    target = self._redirect_target(current, location, allowed_hosts)
                else:
                    return self._read(url, current, response, deadline, accept, redirects,
                                      cap, truncate)
            except FetchError as exc:
                _name_hop(exc, current, url)
                raise
            finally:
                # A redirect's body is never decoded: it may be a bomb (httpx's own
                # redirect handling decodes it in full).
                self._release(response)
                watchdog.cancel()
                host.last = time.monotonic()
            redirects.append(current)
            if len(redirects) > self.settings.max_redirects:
                raise PermanentError(f"too many redirects (> {self.settings.max_redirects})",
                                     "redirect_loop", url=url)
            target_key, target_host = self._host(target)
            if robots and self.settings.obey_robots and target_key != key:
                self._check_robots(target, target_key, target_host, cutoff)
            current = target

    def _redirect_target(self, current: str, location: str,
                         allowed_hosts: frozenset[str] | None) -> str:
        try:
            parts = urlsplit(urljoin(current, location.strip()))
            if parts.scheme not in ("http", "https"):
                raise PermanentError(f"refusing redirect to non-http scheme: {parts.scheme}:",
                                     "bad_redirect")
            port = parts.port
            httpx.URL(urlunsplit(parts))  # what httpx would refuse to send, we refuse here
        except (ValueError, httpx.InvalidURL) as exc:
            raise PermanentError(f"refusing malformed redirect {_quote(location)!r}: "
                                 f"{_quote(str(exc))}", "bad_redirect") from exc
        host = (parts.hostname or "").lower()
        if not host:
            raise PermanentError("refusing redirect without a host", "bad_redirect")
        if allowed_hosts is not None and host not in allowed_hosts and \
                host.removeprefix("www.") not in allowed_hosts:
            raise PermanentError(f"offsite redirect to {host}", "offsite_redirect")
        # user:password@ in a Location would make httpx send Basic credentials to it. A
        # control or bidi character in the path or query is written as httpx sends it
        # (percent-encoded), so the URLs a Page records hold none.
        target = CONTROLS.sub(lambda m: quote(m.group(), safe=""),
                              urlunsplit(parts._replace(netloc=_netloc(host, port), fragment="")))
        if reason := looks_like_trap(target):
            raise PermanentError(f"refusing redirect to {_quote(target)}: {reason}",
                                 "bad_redirect")
        return target

    def _send(self, url: str, headers: dict[str, str],
              deadline: _Deadline) -> tuple[httpx.Response, _Watchdog]:
        if self.stop.is_set():  # a stop between two requests, with no wait to notice it
            raise _interrupted()
        try:
            parts = urlsplit(url)
            port = _port(parts)
        except ValueError as exc:
            raise PermanentError(f"bad URL: {exc}", "bad_url", url=url) from exc
        host = (parts.hostname or "").lower()
        if not host:
            raise PermanentError("bad URL: no host", "bad_url", url=url)
        # Credentials never come from a URL's user:password@ part.
        request_url = urlunsplit(parts._replace(netloc=_netloc(host, parts.port)))
        extra: dict[str, str] = {}
        extensions: dict[str, Any] = {}
        if not self._allowed_private(host, port):
            address = self._vetted_address(host, port)
            # Connect to the address we checked, not to a second lookup's answer (DNS
            # rebinding); Host and TLS SNI still name the site, so certificates verify.
            request_url = urlunsplit(parts._replace(netloc=_netloc(address, parts.port)))
            extra = {"Host": _netloc(host, parts.port)}
            if parts.scheme == "https":
                extensions["sni_hostname"] = host
        remaining = deadline.remaining()
        if remaining <= 0:
            raise deadline.error("before the request", url)
        origin = "{}://{}".format(*urlsplit(request_url)[:2])
        try:
            request = self._http.build_request(
                "GET", request_url, headers={**headers, **extra},
                timeout=httpx.Timeout(min(self.settings.timeout, remaining)),
                extensions=extensions)
        except (httpx.InvalidURL, ValueError) as exc:
            raise PermanentError(f"bad URL: {exc}", "bad_url", url=url) from exc
        watchdog = _Watchdog(deadline.at, self.stop, lambda: self._sockets.get(origin))
        request.extensions["trace"] = self._tracer(origin, watchdog)
        try:
            self.requests += 1
            if self.on_request:
                self.on_request(url)
            response = self._http.send(request, stream=True)
        except httpx.HTTPError as exc:
            watchdog.cancel()
            raise (self._cut_short(deadline, "before the response headers", url)
                   or _network_error(exc, url)) from exc
        except BaseException:
            # Left running, it would shoot whatever connection its origin has by then:
            # perhaps a later request's.
            watchdog.cancel()
            raise
        status = response.status_code
        if status in RETRY_STATUSES or status >= 400:
            retry_after = parse_retry_after(response.headers.get("retry-after")) \
                if status in (429, 503) else None
            self._release(response)
            watchdog.cancel()
            if status in RETRY_STATUSES:
                raise TransientError(f"HTTP {status}", f"http_{status}", url=url,
                                     status=status, retry_after=retry_after)
            kind = {404: "not_found", 410: "gone", 403: "forbidden"}.get(status, f"http_{status}")
            reason = _REFUSALS.get(status)
            raise PermanentError(f"HTTP {status}" + (f" ({reason})" if reason else ""), kind,
                                 url=url, status=status)
        return response, watchdog

    def _cut_short(self, deadline: _Deadline, when: str, url: str) -> FetchError | None:
        """The error to report if the request was cut short by a stop or by its deadline
        (the watchdog's doing, or httpx's own timeout, capped at the deadline), else None."""
        if self.stop.is_set():
            return _interrupted()
        if deadline.remaining() <= 0:
            return deadline.error(when, url)
        return None

    def _tracer(self, origin: str,
                watchdog: _Watchdog) -> Callable[[str, dict[str, Any]], None]:
        def trace(event: str, info: dict[str, Any]) -> None:
            if event == "connection.connect_tcp.complete":
                stream = info.get("return_value")
                sock = stream.get_extra_info("socket") if stream is not None else None
                if sock is not None:
                    with contextlib.suppress(OSError):
                        self._sockets[origin] = (sock.fileno(), os.fstat(sock.fileno()).st_ino)
                    watchdog.connected()
        return trace

    @staticmethod
    def _release(response: httpx.Response) -> None:
        """Close a response we will not read. A short body is read raw (never decoded)
        first, so the connection stays usable instead of being reset."""
        if not response.is_closed and not response.is_stream_consumed:
            length = response.headers.get("content-length", "")
            if length.isdigit() and int(length) <= DRAIN_LIMIT:
                try:
                    for _ in response.iter_raw():
                        pass
                except httpx.HTTPError:
                    pass
        response.close()

    def _read(self, url: str, final: str, response: httpx.Response, deadline: _Deadline,
              accept: tuple[str, ...] | None, redirects: list[str], cap: int,
              truncate: bool) -> Page:
        headers = {k.lower(): v for k, v in response.headers.items()}
        if response.status_code == 304:
            return Page(url, final, 304, headers, b"", utcnow(), redirects,
                        exchange=_exchange(response, redirects))
        mime = headers.get("content-type", "").split(";")[0].strip().lower()
        if accept is not None and mime not in accept:
            raise PermanentError(f"unsupported type {_quote(mime)}", "not_html", url=url)
        declared = headers.get("content-length", "").strip()
        if declared.isdigit() and int(declared) > cap and not truncate:
            raise PermanentError(f"too large ({int(declared) / 2**20:.1f} MiB > "
                                 f"{cap / 2**20:.0f} MiB)", "too_large", url=url)
        codings = [c.strip().lower() for c in headers.get("content-encoding", "").split(",")
                   if c.strip() and c.strip().lower() != "identity"]
        if len(codings) > 1:
            raise PermanentError("unsupported content-encoding chain: "
                                 + _quote(", ".join(codings)), "bad_encoding", url=url)
        if codings and codings[0] not in ("gzip", "x-gzip", "deflate", "br"):
            raise PermanentError(f"unsupported content-encoding {_quote(codings[0])}",
                                 "bad_encoding", url=url)
        decoder = _Decoder(codings[0] if codings else "identity", cap, truncate)
        received = 0
        cut = False
        parts: list[bytes] = []
        try:
            # No chunk size: each network read comes out as it arrives, so the deadline and
            # stop are checked between reads (a chunk size would buffer a slow drip to 64 KiB).
            for chunk in response.iter_raw():
                received += len(chunk)
                if received > cap:
                    if not truncate:
                        raise PermanentError(f"too large (more than {cap / 2**20:.0f} MiB "
                                             "received)", "too_large", url=url)
                    chunk, received, cut = chunk[:len(chunk) - (received - cap)], cap, True
                parts.extend(decoder.feed(chunk))
                if cut or decoder.full:
                    break
                if failure := self._cut_short(deadline, f"after {received:,} bytes", url):
                    raise failure
            else:
                # A body framed by the connection's end also ends when the watchdog shuts
                # the connection down: that end is the cut, not the page's.
                if failure := self._cut_short(deadline, f"after {received:,} bytes", url):
                    raise failure
                parts.append(decoder.finish())
        except httpx.HTTPError as exc:
            raise (self._cut_short(deadline, f"after {received:,} bytes", url)
                   or _network_error(exc, url)) from exc
        except zlib.error as exc:
            raise _BodyFault(f"corrupt compressed body: {exc}", "protocol_error",
                             url=url) from exc
        return Page(url, final, response.status_code, headers, b"".join(parts), utcnow(),
                    redirects, truncated=cut or decoder.full,
                    exchange=_exchange(response, redirects))

    # -- robots.txt (RFC 9309) --
    def _check_robots(self, url: str, key: str, host: _Host, cutoff: float | None) -> None:
        if host.robots is None and host.robots_error is None:
            self._load_robots(key, host, cutoff)
        if host.robots_error:
            message, kind = host.robots_error
            raise PermanentError(message, kind, url=url)
        if not host.robots.can_fetch(url, self.settings.user_agent):
            raise PermanentError(f"disallowed by {key}/robots.txt", "robots", url=url)

    def _load_robots(self, key: str, host: _Host, cutoff: float | None) -> None:
        from protego import Protego

        try:
            # Any Content-Type: a robots.txt served as octet-stream still holds rules.
            page = self._get_with_retries(key + "/robots.txt", host, {}, None, None, cutoff,
                                          cap=ROBOTS_MAX_BYTES, truncate=True, robots=False)
            text = page.body.decode("utf-8", errors="replace")
            if page.truncated:
                text = text[:text.rfind("\n") + 1]  # a rule cut in half is not a rule
        except FetchError as exc:
            if exc.kind in ("interrupted", "time_budget"):
                raise  # about this run, not the host: nothing to remember
            if exc.status is not None and 400 <= exc.status < 500 and exc.status != 429:
                text = ""  # RFC 9309: a 4xx means there are no rules
            elif exc.kind == "ssrf_refused":
                # Our own refusal of the host (its address or port) holds for its pages
                # too: said as itself, not as rules that could not be read.
                host.robots_error = (str(exc), exc.kind)
                return
            else:
                # RFC 9309: unreachable or 5xx means complete disallow for now. The kind
                # is the cause (unreachable, http_503...), so a run's log says why.
                host.robots_error = (f"{key}/robots.txt unavailable: {exc}", exc.kind)
                return
        robots = Protego.parse(text)
        host.robots = robots
        crawl_delay = robots.crawl_delay(self.settings.user_agent)
        if crawl_delay:
            host.delay = max(host.delay, min(float(crawl_delay), self.settings.max_crawl_delay))


def _exchange(response: httpx.Response, redirects: list[str]) -> dict[str, Any]:
    """The request as sent (without credentials), the HTTP version and reason phrase."""
    sent = _without_credentials({k.lower(): v for k, v in response.request.headers.items()})
    return {"request_headers": sent, "http_version": response.http_version,
            "reason": response.reason_phrase, "redirects": list(redirects)}


def _hide_location(response: httpx.Response) -> None:
    """Move Location out of httpx's sight. Even with follow_redirects=False httpx parses
    the Location of every redirect, and a malformed one (data:..., http://[::1) makes
    send() raise, InvalidURL not even being an HTTPError; we parse it ourselves."""
    if response.status_code in REDIRECT_STATUSES and "location" in response.headers:
        response.headers[_LOCATION] = response.headers["location"]
        del response.headers["location"]


def _name_hop(exc: FetchError, current: str, url: str) -> None:
    """Say where a failure happened when that is not the URL asked (a redirect's target,
    perhaps another host than the mirror or site the caller named)."""
    if current != url:
        exc.args = (f"redirected to {_quote(current)}: {exc}",)


def _is_ip_literal(host: str) -> bool:
    try:
        ipaddress.ip_address(host.split("%")[0])
    except ValueError:
        return False
    return True


def _chain(exc: BaseException) -> Iterator[BaseException]:
    seen: BaseException | None = exc
    while seen is not None:
        yield seen
        seen = seen.__cause__ or seen.__context__


def _network_error(exc: httpx.HTTPError, url: str) -> FetchError:
    text = str(exc) or type(exc).__name__
    causes = list(_chain(exc))
    if isinstance(exc, httpx.ConnectError):
        host = urlsplit(url).hostname
        if any(isinstance(c, ssl.SSLCertVerificationError) for c in causes):
            return PermanentError(f"TLS verification failed for {host}: {text}", "tls", url=url)
        if any(isinstance(c, ssl.SSLError) for c in causes):
            return PermanentError(f"TLS handshake failed with {host}: {text}", "tls", url=url)
        if any(isinstance(c, socket.gaierror) for c in causes):
            return TransientError(f"DNS lookup failed for {host}: {text}", "dns_error", url=url)
        return TransientError(f"unreachable: {text}", "unreachable", url=url)
    if isinstance(exc, httpx.TimeoutException):
        return TransientError(f"timeout: {type(exc).__name__}", "timeout", url=url)
    if isinstance(exc, httpx.RemoteProtocolError):
        if "without sending a response" in text:
            return TransientError(f"connection closed before a response: {text}", "reset",
                                  url=url)
        if "incomplete" in text or "peer closed" in text:
            return TransientError(f"truncated body: {text}", "truncated", url=url)
        return TransientError(f"protocol error: {text}", "protocol_error", url=url)
    if isinstance(exc, httpx.ReadError | httpx.WriteError | httpx.NetworkError):
        return TransientError(f"connection reset: {text}", "reset", url=url)
    if isinstance(exc, httpx.UnsupportedProtocol):
        return PermanentError(f"unsupported protocol: {text}", "bad_url", url=url)
    return TransientError(f"{type(exc).__name__}: {text}", "network", url=url)
