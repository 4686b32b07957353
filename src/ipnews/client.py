"""The only module that talks to the network.

httpx does the HTTP; this module does everything httpx does not promise (see README,
"Guarantees"): a deadline for the whole request, caps on bytes received and on bytes after
decompression enforced while streaming (we read ``iter_raw()`` and decompress ourselves,
in 64 KiB steps, because httpx decompresses a bomb in one chunk), redirects followed hop by
hop without reading their bodies, every resolved address checked before we connect to it,
robots.txt, one request at a time per host with a delay, retries that honour Retry-After,
and a per-host circuit breaker.
"""

from __future__ import annotations

import hashlib
import ipaddress
import random
import socket
import ssl
import threading
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from urllib.parse import urljoin, urlsplit, urlunsplit

import httpx

from ipnews import __version__
from ipnews.errors import FetchError, PermanentError, TransientError
from ipnews.urls import looks_like_trap

USER_AGENT = (f"ipnews/{__version__} (+https://github.com/ipnews/ipnews; personal news "
              "archive; one request at a time)")
CHUNK = 65_536
RETRY_STATUSES = frozenset({408, 429, 500, 502, 503, 504, 522, 524})
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
HTML_TYPES = ("text/html", "application/xhtml+xml", "text/plain", "")
NAT64 = ipaddress.ip_network("64:ff9b::/96")


@dataclass
class Settings:
    """Everything a user may tune; defaults are polite and safe for cron."""

    user_agent: str = USER_AGENT
    delay: float = 1.0  # seconds between two requests to one host
    timeout: float = 20.0  # connect / read / write, each
    deadline: float = 60.0  # the whole request, redirects and body included
    max_bytes: int = 10 * 1024 * 1024  # received, and again after decompression
    attempts: int = 3
    backoff: float = 2.0  # first retry after ~2 s, then ~4 s, with jitter
    max_retry_after: float = 120.0  # a longer Retry-After defers the host for this run
    max_redirects: int = 5
    max_crawl_delay: float = 30.0
    obey_robots: bool = True
    breaker: int = 3  # URLs in a row failing on one host open its circuit for the run
    allow_private: frozenset[str] = frozenset()  # "host" or "host:port" that may be non-public
    ca_bundle: str | None = None


@dataclass
class Page:
    url: str
    final_url: str
    status: int
    headers: dict[str, str]
    body: bytes
    fetched_at: str
    redirects: list[str] = field(default_factory=list)

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.body).hexdigest()

    @property
    def content_type(self) -> str:
        return self.headers.get("content-type", "")


@dataclass
class _Host:
    next_allowed: float = 0.0
    delay: float = 0.0
    failures: int = 0
    deferred_until: float = 0.0
    reason: str = ""
    robots: object | None = None
    robots_error: str | None = None


# --- decompression with caps -------------------------------------------------------------
class _Decoder:
    """Content-Encoding decoder whose output is produced in bounded steps and counted."""

    def __init__(self, encoding: str, cap: int) -> None:
        self.encoding, self.cap, self.total = encoding, cap, 0
        self._zlib: zlib._Decompress | None = None
        self._brotli = None
        if encoding in ("gzip", "x-gzip"):
            self._zlib = zlib.decompressobj(16 + zlib.MAX_WBITS)
        elif encoding == "br":
            import brotli

            self._brotli = brotli.Decompressor()

    def _count(self, out: bytes) -> bytes:
        self.total += len(out)
        if self.total > self.cap:
            raise PermanentError(f"decoded size exceeds cap ({self.cap:,} bytes)", "too_large")
        return out

    def feed(self, data: bytes) -> list[bytes]:
        out: list[bytes] = []
        if self.encoding == "deflate" and self._zlib is None:
            # "deflate" is zlib-wrapped by the RFC, raw in some servers: look at the header.
            wrapped = (len(data) >= 2 and (data[0] & 0x0F) == 8
                       and (data[0] << 8 | data[1]) % 31 == 0)
            self._zlib = zlib.decompressobj(zlib.MAX_WBITS if wrapped else -zlib.MAX_WBITS)
        if self._zlib is not None:
            buf = data
            while buf:
                out.append(self._count(self._zlib.decompress(buf, CHUNK)))
                buf = self._zlib.unconsumed_tail
            return out
        if self._brotli is not None:
            import brotli

            try:
                out.append(self._count(self._brotli.process(data, output_buffer_limit=CHUNK)))
                while not self._brotli.can_accept_more_data():
                    out.append(self._count(self._brotli.process(b"", output_buffer_limit=CHUNK)))
            except brotli.error as exc:
                raise TransientError(f"corrupt brotli body: {exc}", "protocol_error") from exc
            return out
        return [self._count(data)]

    def flush(self) -> bytes:
        if self._zlib is not None:
            return self._count(self._zlib.flush(CHUNK))
        return b""


# --- address checks ----------------------------------------------------------------------
def _unwrap(ip: ipaddress.IPv4Address | ipaddress.IPv6Address):
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
    return ip.is_global and not ip.is_multicast and not ip.is_reserved


def resolve_public(host: str, port: int) -> str:
    """Resolve host and return one vetted address; refuse if ANY address is not public
    (a name that resolves to both a public and a private address is a rebinding attempt)."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise TransientError(f"DNS lookup failed for {host}: {exc.strerror}", "dns_error") from exc
    except UnicodeError as exc:
        raise PermanentError(f"bad host name {host!r}", "bad_url") from exc
    addresses = [info[4][0] for info in infos]
    bad = [a for a in addresses if not is_public_address(a)]
    if not addresses or bad:
        raise PermanentError(f"refused: {host} resolves to non-public address "
                             f"{(bad or ['none'])[0]}", "ssrf_refused")
    return addresses[0]


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or HTTP-date); None when
    absent or unusable, so the caller falls back to its own backoff."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
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
        verify: ssl.SSLContext | bool = True
        if self.settings.ca_bundle:
            verify = ssl.create_default_context(cafile=self.settings.ca_bundle)
        timeout = httpx.Timeout(self.settings.timeout)
        self._http = httpx.Client(
            follow_redirects=False, timeout=timeout, verify=verify, transport=transport,
            trust_env=False,  # a proxy is configured per source as base_url, not by env
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
        return key, self.hosts.setdefault(key, _Host(delay=self.settings.delay))

    def _sleep(self, seconds: float) -> None:
        if seconds > 0 and self.stop.wait(seconds):
            raise FetchError("interrupted", "interrupted")

    def _wait_turn(self, host: _Host) -> None:
        self._sleep(host.next_allowed - time.monotonic())

    def _allowed_private(self, host: str, port: int) -> bool:
        allow = self.settings.allow_private
        return host in allow or f"{host}:{port}" in allow

    # -- public API --
    def get(self, url: str, *, headers: dict[str, str] | None = None,
            allowed_hosts: frozenset[str] | None = None,
            accept: tuple[str, ...] = HTML_TYPES) -> Page:
        """GET url under every guarantee of this module; raises FetchError subclasses."""
        if reason := looks_like_trap(url):
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
            self._check_robots(url, key, host)
        try:
            page = self._get_with_retries(url, host, headers or {}, allowed_hosts, accept)
        except FetchError as exc:
            exc.url = exc.url or url
            if exc.kind not in ("not_found", "gone", "not_html", "too_large", "robots",
                                "bad_url", "interrupted"):
                host.failures += 1
                host.reason = str(exc)
            raise
        host.failures = 0
        return page

    def _get_with_retries(self, url: str, host: _Host, headers: dict[str, str],
                          allowed_hosts: frozenset[str] | None,
                          accept: tuple[str, ...]) -> Page:
        attempts = self.settings.attempts
        protocol_errors = 0
        for attempt in range(1, attempts + 1):
            self._wait_turn(host)
            try:
                return self._fetch(url, headers, allowed_hosts, accept)
            except TransientError as exc:
                if exc.kind == "protocol_error":
                    protocol_errors += 1
                last = attempt == attempts or protocol_errors > 1
                wait = exc.retry_after
                if wait is not None and wait > self.settings.max_retry_after:
                    host.deferred_until = float("inf")
                    host.reason = f"Retry-After {wait:.0f} s"
                    raise PermanentError(f"{exc} (Retry-After {wait:.0f} s > cap "
                                         f"{self.settings.max_retry_after:.0f} s: host "
                                         "deferred)", "deferred", url=url,
                                         status=exc.status) from exc
                if last:
                    raise
                if wait is None:
                    base = self.settings.backoff * 2 ** (attempt - 1)
                    wait = base * random.uniform(0.5, 1.5)
                # The next request to this host waits at least this long: never shrink it.
                host.next_allowed = max(host.next_allowed, time.monotonic() + wait)
            finally:
                host.next_allowed = max(host.next_allowed, time.monotonic() + host.delay)
        raise AssertionError("unreachable")  # pragma: no cover

    def _fetch(self, url: str, headers: dict[str, str], allowed_hosts: frozenset[str] | None,
               accept: tuple[str, ...]) -> Page:
        """One attempt: follow redirects hop by hop, then stream the body under the caps."""
        start = time.monotonic()
        deadline = start + self.settings.deadline
        seen: set[str] = set()
        redirects: list[str] = []
        current = url
        while True:
            if current in seen:
                raise PermanentError(f"redirect loop at {current}", "redirect_loop", url=url)
            seen.add(current)
            response = self._send(current, headers, deadline)
            try:
                if response.status_code in REDIRECT_STATUSES and "location" in response.headers:
                    target = self._redirect_target(current, response.headers["location"],
                                                   allowed_hosts)
                    redirects.append(current)
                    if len(redirects) > self.settings.max_redirects:
                        raise PermanentError(f"too many redirects (> "
                                             f"{self.settings.max_redirects})",
                                             "redirect_loop", url=url)
                    current = target
                    continue
                return self._read(url, current, response, deadline, accept, redirects)
            finally:
                response.close()  # a redirect's body is never read: it may be a bomb

    def _redirect_target(self, current: str, location: str,
                         allowed_hosts: frozenset[str] | None) -> str:
        target = urljoin(current, location.strip())
        parts = urlsplit(target)
        if parts.scheme not in ("http", "https"):
            raise PermanentError(f"refusing redirect to non-http scheme: {parts.scheme}:",
                                 "bad_redirect")
        host = (parts.hostname or "").lower()
        if allowed_hosts is not None and host not in allowed_hosts and \
                host.removeprefix("www.") not in allowed_hosts:
            raise PermanentError(f"offsite redirect to {host}", "offsite_redirect")
        return urlunsplit(parts._replace(fragment=""))

    def _send(self, url: str, headers: dict[str, str], deadline: float) -> httpx.Response:
        parts = urlsplit(url)
        host = (parts.hostname or "").lower()
        port = parts.port or (443 if parts.scheme == "https" else 80)
        request_url, extra, extensions = url, {}, {}
        if not self._allowed_private(host, port):
            if port not in (80, 443):
                raise PermanentError(f"refused: port {port} is not 80 or 443 (configure the "
                                     "host to allow it)", "ssrf_refused")
            address = resolve_public(host, port)
            # Connect to the address we checked, not to a second lookup's answer (DNS
            # rebinding); Host and TLS SNI still name the site, so certificates verify.
            ip_host = f"[{address}]" if ":" in address else address
            netloc = ip_host if parts.port is None else f"{ip_host}:{parts.port}"
            request_url = urlunsplit(parts._replace(netloc=netloc))
            extra = {"Host": parts.netloc}
            if parts.scheme == "https":
                extensions = {"sni_hostname": host}
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TransientError("deadline exceeded before the request", "timeout")
        timeout = httpx.Timeout(min(self.settings.timeout, remaining))
        request = self._http.build_request("GET", request_url, headers={**headers, **extra},
                                           timeout=timeout, extensions=extensions)
        self.requests += 1
        if self.on_request:
            self.on_request(url)
        try:
            response = self._http.send(request, stream=True)
        except httpx.HTTPError as exc:
            raise _network_error(exc, url) from exc
        status = response.status_code
        if status in RETRY_STATUSES:
            retry_after = parse_retry_after(response.headers.get("retry-after")) \
                if status in (429, 503) else None
            response.close()
            raise TransientError(f"HTTP {status}", f"http_{status}", url=url, status=status,
                                 retry_after=retry_after)
        if status >= 400:
            response.close()
            kind = {404: "not_found", 410: "gone", 403: "forbidden"}.get(status, f"http_{status}")
            raise PermanentError(f"HTTP {status}", kind, url=url, status=status)
        return response

    def _read(self, url: str, final: str, response: httpx.Response, deadline: float,
              accept: tuple[str, ...], redirects: list[str]) -> Page:
        cap = self.settings.max_bytes
        headers = {k.lower(): v for k, v in response.headers.items()}
        if response.status_code == 304:
            return Page(url, final, 304, headers, b"", _now(), redirects)
        mime = headers.get("content-type", "").split(";")[0].strip().lower()
        if mime not in accept:
            raise PermanentError(f"unsupported type {mime}", "not_html", url=url)
        declared = headers.get("content-length", "")
        if declared.isdigit() and int(declared) > cap:
            raise PermanentError(f"too large ({int(declared) / 2**20:.1f} MiB > "
                                 f"{cap / 2**20:.0f} MiB)", "too_large", url=url)
        codings = [c.strip().lower() for c in headers.get("content-encoding", "").split(",")
                   if c.strip() and c.strip().lower() != "identity"]
        if len(codings) > 1:
            raise PermanentError("unsupported content-encoding chain: " + ", ".join(codings),
                                 "bad_encoding", url=url)
        if codings and codings[0] not in ("gzip", "x-gzip", "deflate", "br"):
            raise PermanentError(f"unsupported content-encoding {codings[0]}", "bad_encoding",
                                 url=url)
        decoder = _Decoder(codings[0] if codings else "identity", cap)
        received = 0
        parts: list[bytes] = []
        try:
            for chunk in response.iter_raw(CHUNK):
                received += len(chunk)
                if received > cap:
                    raise PermanentError(f"too large (more than {cap / 2**20:.0f} MiB "
                                         "received)", "too_large", url=url)
                parts.extend(decoder.feed(chunk))
                if time.monotonic() > deadline:
                    raise TransientError(f"deadline exceeded after {received:,} bytes",
                                         "timeout", url=url)
            parts.append(decoder.flush())
        except httpx.HTTPError as exc:
            raise _network_error(exc, url) from exc
        except zlib.error as exc:
            raise TransientError(f"corrupt compressed body: {exc}", "protocol_error",
                                 url=url) from exc
        return Page(url, final, response.status_code, headers, b"".join(parts), _now(),
                    redirects)

    # -- robots.txt (RFC 9309) --
    def _check_robots(self, url: str, key: str, host: _Host) -> None:
        if host.robots is None and host.robots_error is None:
            self._load_robots(key, host)
        if host.robots_error:
            raise PermanentError(host.robots_error, "robots", url=url)
        if not host.robots.can_fetch(url, self.settings.user_agent):  # type: ignore[attr-defined]
            raise PermanentError("disallowed by robots.txt", "robots", url=url)

    def _load_robots(self, key: str, host: _Host) -> None:
        from protego import Protego

        robots_url = key + "/robots.txt"
        saved = self.settings.max_bytes
        try:
            self.settings.max_bytes = min(saved, 512 * 1024)
            page = self._get_with_retries(robots_url, host, {}, None,
                                          ("text/plain", "text/html", ""))
            text = page.body.decode("utf-8", errors="replace")
        except PermanentError as exc:
            if exc.status is not None and 400 <= exc.status < 500:
                text = ""  # RFC 9309: a 4xx means there are no rules
            elif exc.kind == "too_large":
                text = ""  # parse what is allowed... nothing kept: treat as no rules
            else:
                host.robots_error = f"robots.txt unavailable ({exc})"
                return
        except TransientError as exc:
            # RFC 9309: unreachable or 5xx means complete disallow for now.
            host.robots_error = f"robots.txt unavailable ({exc})"
            return
        finally:
            self.settings.max_bytes = saved
        robots = Protego.parse(text)
        host.robots = robots
        crawl_delay = robots.crawl_delay(self.settings.user_agent)
        if crawl_delay:
            host.delay = max(host.delay, min(float(crawl_delay), self.settings.max_crawl_delay))


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def _network_error(exc: httpx.HTTPError, url: str) -> FetchError:
    cause = exc.__cause__ or exc.__context__
    text = str(exc) or type(exc).__name__
    if isinstance(exc, httpx.ConnectError):
        if isinstance(cause, ssl.SSLError) or "CERTIFICATE" in text.upper() or "SSL" in text:
            return PermanentError(f"TLS verification failed: {text}", "tls", url=url)
        if isinstance(cause, socket.gaierror) or "Name or service" in text:
            return TransientError(f"DNS lookup failed: {text}", "dns_error", url=url)
        return TransientError(f"unreachable: {text}", "unreachable", url=url)
    if isinstance(exc, httpx.TimeoutException):
        return TransientError(f"timeout: {type(exc).__name__}", "timeout", url=url)
    if isinstance(exc, httpx.RemoteProtocolError):
        if "incomplete" in text or "peer closed" in text or "without sending" in text:
            return TransientError(f"truncated body: {text}", "truncated", url=url)
        return TransientError(f"protocol error: {text}", "protocol_error", url=url)
    if isinstance(exc, httpx.ReadError | httpx.WriteError | httpx.NetworkError):
        return TransientError(f"connection reset: {text}", "reset", url=url)
    if isinstance(exc, httpx.UnsupportedProtocol):
        return PermanentError(f"unsupported protocol: {text}", "bad_url", url=url)
    return TransientError(f"{type(exc).__name__}: {text}", "network", url=url)
