"""`stepgrad lab`: serve the lab page on 127.0.0.1; answer its requests with the installed engine.

The server answers only the loopback interface, only its own page (``/``), the page's script
and style, and ``POST /api`` (a request for ``viz.lab.handle_json``). Every request body is
untrusted: its size is bounded before it is read into memory, anything wrong comes back as one
line in the page (``{"ok": false, "error": ...}``), and the server keeps running.
"""

from __future__ import annotations

import json
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from viz.lab import MAX_BODY, handle, handle_json, page_html

DRAIN_LIMIT = 64 << 20  # a larger body is not even read to the end: the connection is closed
_ASSETS = {"/lab.js": ("lab.js", "text/javascript"), "/lab.css": ("lab.css", "text/css")}


class LabServer(ThreadingHTTPServer):
    """An HTTP server on 127.0.0.1 for one lesson; ``url`` is the page's address."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, request: dict[str, Any], port: int = 0) -> None:
        response = handle(request)
        if not response["ok"]:
            raise ValueError(response["error"])
        self.page = page_html(response).encode("utf-8")
        # One compute at a time: the engine's grad mode is per thread, but requests are cheap
        # and a lock keeps two large lessons from doubling the memory.
        self.lock = threading.Lock()
        super().__init__(("127.0.0.1", port), _Handler)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/"


class _Handler(BaseHTTPRequestHandler):
    server: LabServer
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - quiet terminal
        return

    def _host_ok(self) -> bool:
        # A page elsewhere could point a name at 127.0.0.1 (DNS rebinding): answer only our names.
        port = self.server.server_address[1]
        return self.headers.get("Host", "") in (f"127.0.0.1:{port}", f"localhost:{port}")

    def _send(self, status: int, body: bytes, kind: str, close: bool = False) -> None:
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header("Referrer-Policy", "no-referrer")
        if close:
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _json_error(self, status: int, message: str, close: bool = False) -> None:
        body = json.dumps({"ok": False, "version": 1, "error": message}).encode("utf-8")
        self._send(status, body, "application/json; charset=utf-8", close)

    def do_GET(self) -> None:  # noqa: N802 - the name http.server calls
        if not self._host_ok():
            self._send(403, b"forbidden", "text/plain; charset=utf-8", close=True)
            return
        path = self.path.split("?", 1)[0].split("#", 1)[0]
        if path in ("/", "/index.html"):
            self._send(200, self.server.page, "text/html; charset=utf-8")
        elif path in _ASSETS:
            from importlib import resources

            name, kind = _ASSETS[path]
            body = resources.files("viz").joinpath(name).read_bytes()
            self._send(200, body, f"{kind}; charset=utf-8")
        else:
            self._send(404, b"not found", "text/plain; charset=utf-8")

    do_HEAD = do_GET  # noqa: N815 - the name http.server calls

    def do_POST(self) -> None:  # noqa: N802
        if not self._host_ok():
            self._send(403, b"forbidden", "text/plain; charset=utf-8", close=True)
            return
        if self.path != "/api":
            self._send(404, b"not found", "text/plain; charset=utf-8", close=True)
            return
        origin = self.headers.get("Origin")
        port = self.server.server_address[1]
        if origin is not None and origin not in (f"http://127.0.0.1:{port}",
                                                 f"http://localhost:{port}"):  # fmt: skip
            self._json_error(403, "request: only the lab page itself may ask", close=True)
            return
        try:
            length = int(self.headers.get("Content-Length", ""))
        except ValueError:
            self._json_error(411, "request: no body length given", close=True)
            return
        if length < 0:
            self._json_error(400, "request: bad body length", close=True)
            return
        if length > MAX_BODY:
            # Read and drop the body (up to a limit) so the page gets the message, not a reset.
            if length <= DRAIN_LIMIT:
                left = length
                while left > 0:
                    chunk = self.rfile.read(min(1 << 16, left))
                    if not chunk:
                        break
                    left -= len(chunk)
            self._json_error(
                413, f"request: {length} bytes, over the limit of {MAX_BODY} bytes", close=True
            )
            return
        body = self.rfile.read(length)
        with self.server.lock:
            answer = handle_json(body)
        self._send(200, answer.encode("utf-8"), "application/json; charset=utf-8")


def run_lab_command(args: object) -> int:
    """Run ``stepgrad lab`` with parsed arguments; returns the exit code (bad input: ValueError)."""
    from viz.lab import lesson_request

    things = list(getattr(args, "lesson", []) or [])
    expr = getattr(args, "expr", None)
    port = getattr(args, "port", 0) or 0
    if expr is not None:
        from nn.expression import parse_bindings

        parse_bindings(things)  # the same strict check as `stepgrad trace`
        pairs = (item.split("=", 1) for item in things)
        request = {"lesson": {"expr": expr, "bindings": {k.strip(): v.strip() for k, v in pairs}}}
    else:
        if len(things) > 1:
            raise ValueError(
                "stepgrad lab takes one lesson (a built-in name or a .toml/.json file); for a "
                'formula use --expr "tanh(x1*w1 + b)" x1=2 ...'
            )
        name = things[0] if things else "2-2-1"
        request = lesson_request(name)
    if not isinstance(port, int) or not 0 <= port <= 65535:
        raise ValueError(f"--port must be from 0 to 65535, got {port!r}")
    try:
        server = LabServer(request, port)
    except OSError as error:
        raise ValueError(f"--port {port}: cannot listen on 127.0.0.1 ({error.strerror})") from None
    print(f"stepgrad lab: serving {server.url} (Ctrl-C stops it)", flush=True)
    if not getattr(args, "no_open", False):
        import webbrowser

        threading.Thread(target=webbrowser.open, args=(server.url,), daemon=True).start()
    try:
        server.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        print("\nstepgrad lab: stopped", file=sys.stderr)
    finally:
        server.server_close()
    return 0
