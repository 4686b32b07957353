"""A stdlib-only HTTP/1.1 server on loopback that misbehaves on purpose.

Raw sockets, because the faults a client must survive live below what http.server can
produce: a reset (SO_LINGER 0), a body cut short, a garbage status line, headers that never
come or come one byte at a time, a body that is a decompression bomb. A route is a function
of an Exchange. The server counts connections, requests and bytes sent per route and records
arrival times and request headers, so a test can assert "never contacted", "aborted early",
"waited between requests", "no credentials arrived".

    with HostileServer() as srv:
        srv.routes["/slow"] = drip_body(every=0.5)
        ... client.get(srv.url + "/slow") ...
        assert srv.stat("/slow").requests == 1

A route key ending in "*" matches every path with that prefix. Paths without a route are
served from ``site`` (a fixture directory, as tests/server.py does) or answered 404. Bombs
are built from zeros when a test asks for them; none is stored.
"""

from __future__ import annotations

import contextlib
import gzip
import itertools
import select
import socket
import ssl
import struct
import threading
import time
import zlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from http import HTTPStatus
from pathlib import Path
from urllib.parse import parse_qsl, unquote, urlsplit

Handler = Callable[["Exchange"], None]
Headers = Iterable[tuple[str, str]]
MiB = 1024 * 1024


class Closed(Exception):
    """The peer went away (or the server is stopping): the handler ends quietly."""


@dataclass
class RouteStats:
    connections: int = 0  # connections whose first request was for this path
    requests: int = 0
    bytes_sent: int = 0
    times: list[float] = field(default_factory=list)  # time.monotonic() at each arrival
    headers: list[dict[str, str]] = field(default_factory=list)
    targets: list[str] = field(default_factory=list)  # path and query, as requested

    def gaps(self) -> list[float]:
        return [b - a for a, b in itertools.pairwise(self.times)]


class Exchange:
    """One request on one connection, and the means to answer it badly."""

    def __init__(self, server: HostileServer, conn: socket.socket, method: str, target: str,
                 headers: dict[str, str], stats: RouteStats, number: int) -> None:
        self.server, self.conn, self.method, self.target = server, conn, method, target
        self.headers, self.stats = headers, stats
        self.number = number  # 0 for the first request to this path, 1 for the next...
        parts = urlsplit(target)
        self.path = unquote(parts.path)
        self.query = dict(parse_qsl(parts.query))
        self.keep_alive = headers.get("connection", "").lower() != "close"
        self.gone = False  # the socket was reset or closed by the handler

    # -- sending --
    def send(self, data: bytes) -> None:
        if self.server.stopping:
            raise Closed
        try:
            self.conn.sendall(data)
        except OSError as exc:  # the client gave up: that is what many tests are about
            raise Closed from exc
        with self.server.lock:
            self.stats.bytes_sent += len(data)
            self.server.bytes_sent += len(data)

    def head(self, status: int, headers: Headers = (), reason: str | None = None) -> None:
        phrase = reason if reason is not None else _reason(status)
        lines = [f"HTTP/1.1 {status} {phrase}"] + [f"{k}: {v}" for k, v in headers]
        self.send(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))

    def respond(self, status: int = 200, body: bytes = b"", *,
                content_type: str | None = "text/html; charset=utf-8",
                headers: Headers = ()) -> None:
        fields = [("Content-Type", content_type)] if content_type else []
        fields += [("Content-Length", str(len(body))), *headers]
        if not self.keep_alive:
            fields.append(("Connection", "close"))
        self.head(status, fields)
        self.send(body)

    def sleep(self, seconds: float) -> None:
        if self.server.wait(seconds):
            raise Closed

    def hang(self) -> None:
        """Never answer: hold the connection until the client or the server gives up."""
        self.keep_alive = False
        while not self.server.wait(0.05):
            try:
                readable, _, _ = select.select([self.conn], [], [], 0)
                if readable and self.conn.recv(1) == b"":
                    return  # the client closed its end
            except OSError:
                return

    def close(self) -> None:
        """Close the connection cleanly (FIN) once the handler returns."""
        self.keep_alive = False

    def rst(self) -> None:
        """Abort the connection with a TCP reset: SO_LINGER on, zero seconds, close."""
        self.conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.server.forget(self.conn)
        self.conn.close()
        self.keep_alive, self.gone = False, True


class HostileServer:
    """Serves ``routes`` on host:0, one thread per connection; close() stops everything.
    ``tls`` (a server SSLContext) makes it HTTPS; it then also counts handshakes."""

    def __init__(self, host: str = "127.0.0.1", *, tls: ssl.SSLContext | None = None,
                 site: Path | None = None,
                 site_type: str = "text/html; charset=utf-8") -> None:
        self.routes: dict[str, Handler] = {}
        self.stats: dict[str, RouteStats] = {}
        self.site, self.site_type, self.tls = site, site_type, tls
        self.connections = 0  # TCP connections accepted
        self.handshakes = 0  # TLS handshakes completed
        self.tls_failures = 0  # TLS handshakes the client (or we) broke off
        self.bytes_sent = 0
        self.arrivals: list[tuple[float, str]] = []  # every request, in order
        self.in_flight = 0
        self.max_in_flight = 0
        self.errors: list[BaseException] = []  # handler bugs, raised again by close()
        self.lock = threading.Lock()
        self._stop = threading.Event()
        self._conns: set[socket.socket] = set()
        self._threads: list[threading.Thread] = []
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self._listener = socket.socket(family, socket.SOCK_STREAM)
        try:
            self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            self._listener.bind((host, 0))
            self._listener.listen(64)
            self._listener.settimeout(0.05)
        except OSError:
            self._listener.close()
            raise
        self.host, self.port = host, self._listener.getsockname()[1]
        self._acceptor = threading.Thread(target=self._accept_loop, daemon=True)
        self._acceptor.start()

    # -- what tests read --
    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{'https' if self.tls else 'http'}://{host}:{self.port}"

    @property
    def netloc(self) -> str:
        """host:port as Settings.allow_private spells it."""
        return f"{self.host}:{self.port}"

    def stat(self, path: str) -> RouteStats:
        with self.lock:
            return self.stats.setdefault(path, RouteStats())

    @property
    def requests(self) -> int:
        return len(self.arrivals)

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()

    def idle(self, timeout: float = 5.0) -> bool:
        """Wait until no request is being answered, e.g. until a handler that was still
        sending has noticed that the client went away. False if that took too long."""
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            with self.lock:
                if self.in_flight == 0:
                    return True
            time.sleep(0.01)
        return False

    def wait(self, seconds: float) -> bool:
        """Sleep; True if the server is stopping meanwhile."""
        return self._stop.wait(seconds)

    # -- lifecycle --
    def __enter__(self) -> HostileServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._stop.set()
        self._acceptor.join(5)
        self._listener.close()
        with self.lock:
            conns = list(self._conns)
        for conn in conns:
            with contextlib.suppress(OSError):
                # The plain socket's shutdown, also for TLS sockets: it wakes a thread
                # blocked in recv without touching the TLS state that thread is using.
                socket.socket.shutdown(conn, socket.SHUT_RDWR)
        for thread in list(self._threads):
            thread.join(5)
        with self.lock:
            for conn in self._conns:
                conn.close()
            self._conns.clear()
        if self.errors:
            raise self.errors[0]

    def forget(self, conn: socket.socket) -> None:
        with self.lock:
            self._conns.discard(conn)

    # -- serving --
    def _accept_loop(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _addr = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            with self.lock:
                self.connections += 1
                self._conns.add(conn)
            thread = threading.Thread(target=self._serve, args=(conn,), daemon=True)
            self._threads.append(thread)
            thread.start()

    def _serve(self, conn: socket.socket) -> None:
        try:
            conn.settimeout(30)  # a safety net only: close() wakes every blocked call
            if self.tls is not None:
                wrapped = self._handshake(conn)
                if wrapped is None:
                    return
                conn = wrapped
            self._requests(conn)
        except Exception as exc:  # a bug in a handler or here: close() raises it
            self.errors.append(exc)
        finally:
            self.forget(conn)
            conn.close()

    def _handshake(self, conn: socket.socket) -> socket.socket | None:
        assert self.tls is not None
        self.forget(conn)
        try:
            wrapped = self.tls.wrap_socket(conn, server_side=True)
        except (ssl.SSLError, OSError):
            with self.lock:
                self.tls_failures += 1
            conn.close()
            return None
        with self.lock:
            self.handshakes += 1
            self._conns.add(wrapped)
        return wrapped

    def _requests(self, conn: socket.socket) -> None:
        buf = b""
        first = True
        while not self._stop.is_set():
            while b"\r\n\r\n" not in buf:
                try:
                    data = conn.recv(65536)
                except OSError:
                    return
                if not data or len(buf) > 65536:
                    return
                buf += data
            head, _, buf = buf.partition(b"\r\n\r\n")
            lines = head.decode("latin-1").split("\r\n")
            try:
                method, target, _version = lines[0].split(" ", 2)
            except ValueError:
                return
            headers = {}
            for line in lines[1:]:
                name, _, value = line.partition(":")
                headers[name.strip().lower()] = value.strip()
            path = unquote(urlsplit(target).path)
            now = time.monotonic()
            with self.lock:
                stats = self.stats.setdefault(path, RouteStats())
                number = stats.requests
                stats.connections += first
                stats.requests += 1
                stats.times.append(now)
                stats.headers.append(headers)
                stats.targets.append(target)
                self.arrivals.append((now, target))
                self.in_flight += 1
                self.max_in_flight = max(self.max_in_flight, self.in_flight)
            first = False
            exchange = Exchange(self, conn, method, target, headers, stats, number)
            try:
                self.handler_for(path)(exchange)
            except Closed:
                exchange.keep_alive = False
            finally:
                with self.lock:
                    self.in_flight -= 1
            if exchange.gone or not exchange.keep_alive:
                return

    def handler_for(self, path: str) -> Handler:
        """The exact route, else the longest "prefix*" route, else the site or 404."""
        if path in self.routes:
            return self.routes[path]
        prefixes = [k for k in self.routes if k.endswith("*") and path.startswith(k[:-1])]
        return self.routes[max(prefixes, key=len)] if prefixes else self.serve_site

    def serve_site(self, ex: Exchange) -> None:
        """What an unrouted path gets: the file from ``site``, or a 404."""
        file = self._resolve(ex.path)
        if file is None:
            ex.respond(404, b"<html><body><h1>Not Found</h1></body></html>")
        else:
            ex.respond(200, file.read_bytes(), content_type=self.site_type)

    def _resolve(self, path: str) -> Path | None:
        if self.site is None:
            return None
        root = self.site.resolve()
        candidate = (root / path.lstrip("/")).resolve()
        if root not in (candidate, *candidate.parents):
            return None
        if candidate.is_dir():
            candidate = candidate / "index.html"
        return candidate if candidate.is_file() else None


# --- routes -------------------------------------------------------------------------------
OK_PAGE = b"<html><head><title>ok</title></head><body><p>ok</p></body></html>"


def ok(body: bytes = OK_PAGE, content_type: str = "text/html; charset=utf-8",
       headers: Headers = ()) -> Handler:
    return lambda ex: ex.respond(200, body, content_type=content_type, headers=headers)


def status(code: int, body: bytes = b"<html><body>error</body></html>",
           headers: Headers = ()) -> Handler:
    return lambda ex: ex.respond(code, body, headers=headers)


def sequence(*handlers: Handler) -> Handler:
    """The n-th request to the path gets handlers[n]; the last one repeats."""
    return lambda ex: handlers[min(ex.number, len(handlers) - 1)](ex)


def redirect(location: str, code: int = 302, body: bytes = b"",
             headers: Headers = (), content_type: str | None = "text/html") -> Handler:
    return lambda ex: ex.respond(code, body, content_type=content_type,
                                 headers=[("Location", location), *headers])


def hang() -> Handler:
    """Accept and read the request, then never send a byte."""
    return lambda ex: ex.hang()


def drip_body(every: float = 0.5, declared: int = 10_000, framed: bool = True) -> Handler:
    """Headers at once, then the body one byte every ``every`` seconds. Unframed: no
    Content-Length, the body ends when the connection closes (so a client that cuts the
    connection sees a clean end of body, not an error)."""
    def handler(ex: Exchange) -> None:
        framing = ("Content-Length", str(declared)) if framed else ("Connection", "close")
        ex.head(200, [("Content-Type", "text/html"), framing])
        for _ in range(declared):
            ex.send(b"a")
            ex.sleep(every)
    return handler


def drip_headers(every: float = 0.5, count: int | None = None) -> Handler:
    """A status line, then a header one byte every ``every`` seconds: endless, or after
    ``count`` bytes the rest of a valid response."""
    def handler(ex: Exchange) -> None:
        ex.send(b"HTTP/1.1 200 OK\r\nX-Drip: ")
        sent = 0
        while count is None or sent < count:
            ex.send(b"a")
            sent += 1
            ex.sleep(every)
        ex.send(b"\r\nContent-Type: text/html\r\nContent-Length: %d\r\n\r\n%s"
                % (len(OK_PAGE), OK_PAGE))
    return handler


def reset_mid_body(declared: int = 100_000, sent: int = 5_000) -> Handler:
    def handler(ex: Exchange) -> None:
        ex.head(200, [("Content-Type", "text/html"), ("Content-Length", str(declared))])
        ex.send(b"<html><body>" + b"a" * (sent - 12))
        ex.sleep(0.05)  # let the client start on the body before the reset
        ex.rst()
    return handler


def short_body(declared: int = 1_000, body: bytes = b"<html>" + b"a" * 494) -> Handler:
    """Content-Length promises more than is sent, then a clean close (FIN)."""
    def handler(ex: Exchange) -> None:
        ex.head(200, [("Content-Type", "text/html"), ("Content-Length", str(declared))])
        ex.send(body)
        ex.close()
    return handler


def chunked_truncated() -> Handler:
    """One chunk, then a close without the terminating zero-length chunk."""
    def handler(ex: Exchange) -> None:
        ex.head(200, [("Content-Type", "text/html"), ("Transfer-Encoding", "chunked")])
        data = b"<html><body>" + b"a" * 500
        ex.send(b"%x\r\n%s\r\n" % (len(data), data))
        ex.close()
    return handler


def garbage(data: bytes = b"SSH-2.0-OpenSSH_9.6\r\nnot http at all\r\n\r\n") -> Handler:
    def handler(ex: Exchange) -> None:
        ex.send(data)
        ex.close()
    return handler


def declared_huge(declared: int = 50_000_000, piece: int = 16_384, every: float = 0.01,
                  content_type: str = "text/html") -> Handler:
    """Content-Length says ``declared``; the body follows slowly, so an early abort shows."""
    def handler(ex: Exchange) -> None:
        ex.head(200, [("Content-Type", content_type), ("Content-Length", str(declared))])
        sent = 0
        while sent < declared:
            ex.send(b"a" * min(piece, declared - sent))
            sent += piece
            ex.sleep(every)
    return handler


def undeclared_huge(total: int = 50_000_000, chunked: bool = True,
                    piece: int = 65_536) -> Handler:
    """A big body with no Content-Length: chunked, or read-until-close."""
    def handler(ex: Exchange) -> None:
        framing = ("Transfer-Encoding", "chunked") if chunked else ("Connection", "close")
        ex.head(200, [("Content-Type", "text/html"), framing])
        block = b"a" * piece
        frame = b"%x\r\n%s\r\n" % (piece, block) if chunked else block
        for _ in range(total // piece):
            ex.send(frame)
        if chunked:
            ex.send(b"0\r\n\r\n")
        ex.close()
    return handler


def encoded(body: bytes, encoding: str | None, *, code: int = 200,
            content_type: str = "text/html; charset=utf-8", headers: Headers = ()) -> Handler:
    """``body`` as is, labelled with a Content-Encoding (or none: compressed bytes as html)."""
    fields = [("Content-Encoding", encoding)] if encoding else []
    return lambda ex: ex.respond(code, body, content_type=content_type,
                                 headers=[*fields, *headers])


def text(body: str, content_type: str = "text/plain; charset=utf-8") -> Handler:
    return ok(body.encode("utf-8"), content_type=content_type)


def raw(status_line: bytes, headers: Iterable[bytes] = (), body: bytes = OK_PAGE) -> Handler:
    """A response whose status line and header lines go out as the bytes given (C0 and C1
    controls, latin-1, UTF-8: what a str API would refuse or re-encode), then a
    Content-Length for ``body``."""
    def handler(ex: Exchange) -> None:
        head = b"\r\n".join([status_line, *headers, b"Content-Length: %d" % len(body)])
        ex.send(head + b"\r\n\r\n" + body)
    return handler


@contextlib.contextmanager
def unanswered_port(host: str = "127.0.0.1") -> Iterator[int]:
    """A port whose TCP handshakes never complete, as behind a firewall that drops SYNs: a
    listener that never accepts, its backlog (one on Linux) filled by a first connection,
    so the kernel ignores the next SYNs. Skip the test where that does not hold."""
    with socket.socket() as listener, socket.socket() as filler:
        listener.bind((host, 0))
        listener.listen(0)
        port = listener.getsockname()[1]
        filler.connect((host, port))
        with socket.socket() as probe:
            probe.settimeout(0.3)
            try:
                probe.connect((host, port))
            except TimeoutError:
                yield port
                return
        raise OSError("this kernel completes handshakes beyond the backlog")


# --- bombs, built from zeros when asked for ------------------------------------------------
def _zeros(mib: int) -> Iterable[bytes]:
    block = bytes(MiB)
    return (block for _ in range(mib))


def zlib_bomb(mib: int, wbits: int) -> bytes:
    """mib MiB of zeros compressed: wbits 31 gzip, 15 zlib ("deflate"), -15 raw deflate."""
    comp = zlib.compressobj(6, zlib.DEFLATED, wbits)
    return b"".join(comp.compress(block) for block in _zeros(mib)) + comp.flush()


def brotli_bomb(mib: int) -> bytes:
    import brotli

    comp = brotli.Compressor(quality=5)
    return b"".join(comp.process(block) for block in _zeros(mib)) + comp.finish()


def stacked_gzip(inner: bytes, layers: int) -> bytes:
    """``inner`` (already one gzip layer) wrapped in layers-1 more: gzip, gzip, gzip."""
    for _ in range(layers - 1):
        inner = gzip.compress(inner, 9)
    return inner


# --- helpers ------------------------------------------------------------------------------
def _reason(code: int) -> str:
    try:
        return HTTPStatus(code).phrase
    except ValueError:
        return "Unknown"

