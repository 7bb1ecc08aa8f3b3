"""The editor's local web server: the page and its JSON API, on 127.0.0.1 only.

The standard library's :class:`http.server.ThreadingHTTPServer` (a handful
of routes on one machine need no framework). Every request must carry the
session's random token (``?token=`` or the ``X-Gridkit-Token`` header) and a
``Host`` of ``127.0.0.1`` or ``localhost`` (a page on another site that
rebinds its name to 127.0.0.1 sends its own host name and is refused);
otherwise 403. A request the plan refuses by its rules gets 409 with the
reason, a malformed one 400.

Routes: ``GET /`` (the page), ``GET /api/state``, ``/api/units`` (GeoJSON),
``/api/context`` (village boundaries, roads, buildings), ``/api/assignment``,
``/api/outlines`` (every grid's outline);
``POST /api/move``, ``/api/lock``, ``/api/rebalance``, ``/api/undo``,
``/api/redo``, ``/api/save``.
"""

from __future__ import annotations

import hmac
import json
import logging
import secrets
import threading
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

from gridkit.editor.page import page_html
from gridkit.editor.session import Session
from gridkit.errors import GridkitError, InvalidValueError, PartitionError

__all__ = ["EditServer", "HOST"]

log = logging.getLogger(__name__)

HOST = "127.0.0.1"
ALLOWED_HOSTS = ("127.0.0.1", "localhost")
MAX_BODY = 10_000_000  # bytes: a move of every unit of a big county fits
PAGE_CSP = ("default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; "
            "img-src data:; connect-src 'self'; base-uri 'none'; form-action 'none'")


class EditServer:
    """Serve a :class:`Session` on ``127.0.0.1:port`` (0: any free port) in a thread."""

    def __init__(self, session: Session, *, port: int = 0) -> None:
        self.session = session
        self.token = secrets.token_urlsafe(24)
        handler = type("Handler", (_Handler,), {"server_state": self})
        try:
            self.httpd = ThreadingHTTPServer((HOST, port), handler)
        except OSError as exc:
            raise OSError(exc.errno, f"cannot serve on {HOST}:{port} ({exc.strerror}): give "
                          "another port, or 0 (the default) for any free one") from None
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self.base_url = f"http://{HOST}:{self.port}/"
        self.url = f"{self.base_url}?token={self.token}"
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Serve in a background thread (the notebook's way)."""
        self._thread = threading.Thread(target=self.httpd.serve_forever, daemon=True,
                                        name=f"gridkit-edit-{self.port}")
        self._thread.start()

    def serve_forever(self) -> None:
        """Serve in this thread until interrupted (the command's way)."""
        try:
            self.httpd.serve_forever()
        finally:
            self.httpd.server_close()

    def wait(self) -> None:
        """Block until the server stops (an interrupt still reaches this thread)."""
        while self._thread is not None and self._thread.is_alive():
            self._thread.join(timeout=0.5)

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)


class _Handler(BaseHTTPRequestHandler):
    server_state: EditServer
    server_version = "gridkit-edit"
    sys_version = ""
    disable_nagle_algorithm = True  # headers and body go out at once, no 40 ms delayed-ACK wait

    def log_message(self, format, *args) -> None:  # noqa: A002  (the base class's name)
        log.debug("%s %s", self.address_string(), format % args)

    # --- checks ---------------------------------------------------------------

    def _allowed(self) -> bool:
        host = (self.headers.get("Host") or "").strip().lower()
        name = host.rsplit(":", 1)[0] if not host.startswith("[") else host
        if name not in ALLOWED_HOSTS:
            self._send_json(HTTPStatus.FORBIDDEN, {"error": "forbidden host"})
            return False
        query = parse_qs(urlsplit(self.path).query)
        token = self.headers.get("X-Gridkit-Token") or (query.get("token") or [""])[0]
        if not hmac.compare_digest(token.encode(), self.server_state.token.encode()):
            self._send_json(HTTPStatus.FORBIDDEN, {"error": "missing or wrong token"})
            return False
        return True

    # --- answers --------------------------------------------------------------

    def _send(self, status: int, body: bytes, kind: str, extra: dict | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header("Referrer-Policy", "no-referrer")
        for key, value in (extra or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(body)

    def _send_json(self, status: int, payload) -> None:
        body = json.dumps(payload, ensure_ascii=False, allow_nan=False, default=str)
        self._send(status, body.encode("utf-8"), "application/json; charset=utf-8")

    def _body(self) -> dict:
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY:
            raise InvalidValueError(f"request body over {MAX_BODY} bytes")
        raw = self.rfile.read(length) if length else b"{}"
        try:
            data = json.loads(raw or b"{}")
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise InvalidValueError(f"the body is not JSON: {exc}") from None
        if not isinstance(data, dict):
            raise InvalidValueError("the body must be a JSON object")
        return data

    def _answer(self, call) -> None:
        try:
            self._send_json(HTTPStatus.OK, call())
        except PartitionError as exc:
            self._send_json(HTTPStatus.CONFLICT, {"error": str(exc), "reason": str(exc)})
        except (GridkitError, KeyError, TypeError) as exc:
            self._send_json(HTTPStatus.BAD_REQUEST, {"error": str(exc)})
        except Exception as exc:  # a bug must reach the page, not only the console
            log.exception("edit server: %s failed", self.path)
            self._send_json(HTTPStatus.INTERNAL_SERVER_ERROR, {"error": repr(exc)})

    # --- routes ---------------------------------------------------------------

    def do_GET(self) -> None:  # noqa: N802  (the base class's name)
        if not self._allowed():
            return
        session = self.server_state.session
        path = urlsplit(self.path).path
        if path in ("/", "/index.html"):
            self._send(HTTPStatus.OK, page_html().encode("utf-8"), "text/html; charset=utf-8",
                       {"Content-Security-Policy": PAGE_CSP})
            return
        routes = {"/api/state": session.state, "/api/units": session.units,
                  "/api/context": session.context, "/api/assignment": session.assignment,
                  "/api/outlines": session.outlines}
        if path not in routes:
            self._send_json(HTTPStatus.NOT_FOUND, {"error": f"no such resource {path}"})
            return
        self._answer(routes[path])

    def do_POST(self) -> None:  # noqa: N802
        if not self._allowed():
            return
        session = self.server_state.session
        path = urlsplit(self.path).path
        routes = {
            "/api/move": lambda b: session.move(_field(b, "units"), _field(b, "grid_id"),
                                                force=_flag(b, "force", False)),
            "/api/lock": lambda b: session.lock(_field(b, "grid_id"), _flag(b, "locked", True)),
            "/api/rebalance": lambda b: session.rebalance(),
            "/api/undo": lambda b: session.undo(),
            "/api/redo": lambda b: session.redo(),
            "/api/save": lambda b: session.save(),
        }
        if path not in routes:
            self._send_json(HTTPStatus.NOT_FOUND, {"error": f"no such action {path}"})
            return
        self._answer(lambda: routes[path](self._body()))


def _field(body: dict, name: str):
    if name not in body:
        raise InvalidValueError(f"the body needs {name!r}")
    return body[name]


def _flag(body: dict, name: str, default: bool) -> bool:
    value = body.get(name, default)
    if not isinstance(value, bool):
        raise InvalidValueError(f"{name!r} must be true or false, got {value!r}")
    return value
