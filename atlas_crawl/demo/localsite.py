"""Pages served from 127.0.0.1: for the offline demo, the replay benchmark and tests.

Routes can be changed between crawls; a route may serve a fixed body, bodies in turn
(a flapping page), or a body made afresh for each request (new page noise each time).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import unquote


@dataclass
class Route:
    body: bytes = b""
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    cycle: list[bytes] = field(default_factory=list)  # bodies served in turn, if any
    render: Callable[[], bytes] | None = None  # a body made for each request, if set
    served: int = 0

    def next_body(self) -> bytes:
        self.served += 1
        if self.render is not None:
            return self.render()
        return self.cycle[(self.served - 1) % len(self.cycle)] if self.cycle else self.body


class LocalSite:
    def __init__(self, host: str = "127.0.0.1") -> None:
        """Serve on ``host``, a loopback address (127.0.0.2 etc. stand for other sites)."""
        self.routes: dict[str, Route] = {}
        self.hits: list[str] = []
        site = self

        class Handler(BaseHTTPRequestHandler):
            # Persistent connections, as real web servers keep them.
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                site.hits.append(self.path)
                route = site.routes.get(unquote(self.path.split("?", 1)[0]))
                if route is None:
                    self.send_error(404)
                    return
                if route.delay:
                    threading.Event().wait(route.delay)
                etag = route.headers.get("ETag")
                if etag is not None and self.headers.get("If-None-Match") == etag:
                    self.send_response(304)  # as a server honouring validators does
                    self.send_header("ETag", etag)
                    self.end_headers()
                    return
                body = route.next_body()
                self.send_response(route.status)
                headers = {"Content-Type": "text/html; charset=utf-8", **route.headers}
                for key, value in headers.items():
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer((host, 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def base(self) -> str:
        host, port = str(self.server.server_address[0]), self.server.server_address[1]
        return f"http://{host}:{port}"

    def url(self, path: str) -> str:
        return self.base + path

    def serve(self, path: str, body: bytes | str, status: int = 200, **headers: str) -> str:
        """Serve ``body`` at ``path``; header names are given with ``_`` for ``-``."""
        data = body.encode("utf-8") if isinstance(body, str) else body
        self.routes[path] = Route(
            data, status, {k.replace("_", "-"): v for k, v in headers.items()}
        )
        return self.url(path)

    def alternate(self, path: str, *bodies: str) -> str:
        """Serve ``bodies`` in turn, one per request (a flapping page)."""
        self.routes[path] = Route(cycle=[b.encode("utf-8") for b in bodies])
        return self.url(path)

    def render(self, path: str, make: Callable[[], str]) -> str:
        """Serve a page made afresh for every request."""
        self.routes[path] = Route(render=lambda: make().encode("utf-8"))
        return self.url(path)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
