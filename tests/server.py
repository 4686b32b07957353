"""A real HTTP server on 127.0.0.1 (port 0) serving a fixture site, with switches for
the faults a test needs: a status for every path, a per-path override, a request log."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urlsplit

Handler = Callable[[BaseHTTPRequestHandler], None]


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: object, client_address: object) -> None:
        pass  # a client closing its keep-alive connection at the end of a run is no error


@dataclass
class SiteServer:
    root: Path
    content_type: str = "text/html"
    status: int | None = None  # answer every request with this status
    delay: float = 0.0  # seconds to wait before answering each request
    routes: dict[str, Handler] = field(default_factory=dict)
    requests: list[str] = field(default_factory=list)
    times: list[float] = field(default_factory=list)
    host: str = "127.0.0.1"  # another loopback address makes another host
    etags: bool = False  # send ETags and answer 304 to a matching If-None-Match
    not_modified: list[str] = field(default_factory=list)  # paths answered 304

    def __post_init__(self) -> None:
        site = self

        class _Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # Headers and body go out in two writes: with Nagle on, the body waits ~40 ms
            # for the client's delayed ACK on every response.
            disable_nagle_algorithm = True

            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                import time

                site.requests.append(self.path)
                site.times.append(time.monotonic())
                if site.delay:
                    time.sleep(site.delay)
                path = urlsplit(self.path).path
                if path in site.routes:
                    site.routes[path](self)
                    return
                if site.status is not None:
                    self._send(site.status, b"<html><body>error</body></html>")
                    return
                file = site.resolve(path, urlsplit(self.path).query)
                if file is None:
                    self._send(404, b"<html><body><h1>Not Found</h1></body></html>")
                    return
                # Feeds and sitemaps go out as XML, as sites serve them.
                body = file.read_bytes()
                ctype = {".xml": "application/xml", ".gz": "application/x-gzip",
                         ".json": "application/json"}.get(file.suffix, site.content_type)
                if "?" in file.name and body.lstrip().startswith(b"<?xml"):
                    ctype = "text/xml; charset=utf-8"  # a CMS's data proxy answers XML
                headers = {}
                if site.etags:  # validators, and a 304 when the client's still match
                    import hashlib

                    etag = '"' + hashlib.sha256(body).hexdigest()[:16] + '"'
                    if self.headers.get("If-None-Match") == etag:
                        site.not_modified.append(path)
                        self.send_response(304)
                        self.send_header("ETag", etag)
                        self.end_headers()
                        return
                    headers["ETag"] = etag
                self._send(200, body, ctype, headers)

            def _send(self, status: int, body: bytes, ctype: str = "text/html",
                      headers: dict[str, str] | None = None) -> None:
                self.send_response(status)
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.httpd = _QuietServer((self.host, 0), _Handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.httpd.server_address[1]}"

    def resolve(self, path: str, query: str = "") -> Path | None:
        """The file for a path; with a query, the file named "<name>?<query>" (a "/" in
        the query written %2F), whatever the order of the query's parameters."""
        if query:
            from urllib.parse import parse_qsl

            wanted = sorted(parse_qsl(query, keep_blank_values=True))
            name = unquote(path.rsplit("/", 1)[-1])
            parent = (self.root / unquote(path).lstrip("/")).parent.resolve()
            if self.root.resolve() not in (parent, *parent.parents):
                return None
            for candidate in sorted(parent.glob(name.replace("[", "[[]") + "?*")):
                file_query = candidate.name[len(name) + 1:].replace("%2F", "/")
                if sorted(parse_qsl(file_query, keep_blank_values=True)) == wanted:
                    return candidate
        rel = unquote(path).lstrip("/")
        candidate = (self.root / rel).resolve()
        if self.root.resolve() not in (candidate, *candidate.parents):
            return None
        if candidate.is_dir():
            xml = candidate / "index.xml"  # a feed at /feed/
            candidate = xml if xml.is_file() else candidate / "index.html"
        return candidate if candidate.is_file() else None

    def pages(self) -> list[str]:
        """Requested paths, robots.txt left out."""
        return [p for p in self.requests if p != "/robots.txt"]

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
