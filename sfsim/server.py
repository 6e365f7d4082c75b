"""HTTPS server, top-level routing and the REST call pipeline.

One server = one org. It is at once the OAuth login host (``/services/oauth2/...``, ``/id/``),
the org's instance (``/services/data/...``) and the test control API (``/_sim/...``).

In-process use (tests)::

    from sfsim.server import start
    sim = start(port=0)          # sim.url, sim.ca_path, sim.org, sim.control(), sim.stop()

Every REST call (reference §2.1) goes through ``SimServer.rest``: latency, then under the org
lock: fault ``unavailable`` (503), bearer token (401), ``api_disabled`` (403), the daily
limit / ``request_limit`` (403, not counted), counting, the resource itself, fault
``drop_after_commit``, and on *every* answer the ``Sforce-Limit-Info`` header.
"""

from __future__ import annotations

import os
import shutil
import socket
import ssl
import sys
import tempfile
import threading
import time
import traceback
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Self
from urllib.parse import parse_qs, urlsplit

from . import oauth, realorg, rest
from .certs import ensure_certs
from .errors import ApiError, invalid_session
from .org import Org
from .web import Request, Response, error_response, html_page, json_response

MAX_URI = 16_384  # §2.4: longer URI → 414; URI + headers longer → 431
MAX_BODY = 160 * 1024 * 1024  # Bulk uploads go up to 150 MB (§2.9)


class SimState:
    """The current org of a server; ``reset`` swaps in a fresh org with a new org id."""

    def __init__(self, base_url: str, defaults: dict):
        self.base_url = base_url
        self.defaults = dict(defaults)
        self.org = Org(self.defaults, base_url=base_url)
        self.verbose = False

    def reset(self) -> Org:
        old_pod = self.org.ids.pod
        # Record ids are unique across orgs in Salesforce; the pod is random per org, so draw
        # again in the rare case the new org got the old one's (its ids would then repeat).
        org = Org(self.defaults, base_url=self.base_url)
        while org.ids.pod == old_pod:
            org = Org(self.defaults, base_url=self.base_url)
        self.org = org
        return self.org


class SimServer(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, address, ssl_context: ssl.SSLContext, state: SimState | None = None):
        if ":" in address[0]:
            self.address_family = socket.AF_INET6
        super().__init__(address, Handler)
        self.ssl_context = ssl_context
        self.state = state

    def finish_request(self, request, client_address):
        """TLS handshake in the connection's own thread, so a slow client never blocks accept."""
        request.settimeout(30)
        request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        try:
            tls = self.ssl_context.wrap_socket(request, server_side=True)
        except (ssl.SSLError, OSError):
            request.close()
            return
        try:
            self.RequestHandlerClass(tls, client_address, self)
        finally:
            try:
                tls.close()
            except OSError:
                pass

    def handle_error(self, request, client_address):
        if isinstance(sys.exc_info()[1], (ConnectionError, ssl.SSLError, TimeoutError)):
            return
        super().handle_error(request, client_address)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "sfsim"
    sys_version = ""
    timeout = 120  # idle keep-alive connections
    server: SimServer

    def version_string(self) -> str:
        return "sfsim"

    def log_message(self, format, *args):
        if self.server.state.verbose:
            super().log_message(format, *args)

    def do_GET(self):
        self._serve()

    do_POST = do_PATCH = do_PUT = do_DELETE = do_HEAD = do_GET

    # --- plumbing ---------------------------------------------------------------------

    def _read_body(self) -> bytes:
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            chunks = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY:
            raise ValueError("body too large")
        return self.rfile.read(length) if length else b""

    def _serve(self) -> None:
        raw_uri = self.path
        header_bytes = sum(len(k) + len(v) + 4 for k, v in self.headers.items())
        try:
            body = self._read_body()
        except ValueError:
            self.close_connection = True
            self._send(Response(413, b"Request Entity Too Large", {"Content-Type": "text/plain"}))
            return
        too_long = None
        if len(raw_uri) > MAX_URI:
            too_long = Response(414, b"URI Too Long", {"Content-Type": "text/plain"})
        elif len(self.requestline) + header_bytes > MAX_URI:
            too_long = Response(431, b"Request Header Fields Too Large", {"Content-Type": "text/plain"})
        if too_long is not None:
            # Refused before the API sees it (§2.4): not counted, but still carries the header.
            if raw_uri.startswith("/services/data"):
                org = self.server.state.org
                too_long.headers["Sforce-Limit-Info"] = f"api-usage={org.api_used}/{org.config['daily_api_max']}"
            self._send(too_long)
            return
        parts = urlsplit(raw_uri)
        req = Request(
            self.command,
            parts.path,
            parse_qs(parts.query, keep_blank_values=True),
            {k.lower(): v for k, v in self.headers.items()},
            body,
        )
        try:
            resp = route(self.server.state, req)
        except Exception:
            traceback.print_exc()
            resp = json_response(500, [{"errorCode": "UNKNOWN_EXCEPTION", "message": "An unexpected error occurred in sfsim."}])
        if resp.drop:
            # Fault drop_after_commit: the write is committed, the answer never arrives.
            self.close_connection = True
            try:
                self.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            return
        self._send(resp)

    def _send(self, resp: Response) -> None:
        self.send_response(resp.status)
        for name, value in resp.headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(resp.body)))
        if self.close_connection:
            self.send_header("Connection", "close")
        # Headers and body in one write: two small writes meet Nagle + delayed ACK (40 ms).
        self._headers_buffer.append(b"\r\n")
        if self.command != "HEAD":
            self._headers_buffer.append(resp.body)
        self.flush_headers()


# --- routing ------------------------------------------------------------------------------


def route(state: SimState, req: Request) -> Response:
    path = req.path
    if path.startswith("/services/data"):
        return rest_call(state.org, req)
    if path.startswith("/services/oauth2/"):
        return oauth_call(state.org, req)
    if path.startswith("/id/"):
        org = state.org
        parts = path.strip("/").split("/")
        with org.lock:
            if len(parts) != 3 or req.method != "GET":
                resp = Response(404, b"Bad_Id", {"Content-Type": "text/plain"})
            else:
                resp = oauth.identity(org, req, parts[1], parts[2])
            org.stats.record("identity", req.method, path, resp.status, counted=False)
        return resp
    if path.startswith("/_sim"):
        from . import control

        return control.handle(state, req)
    if path in ("", "/"):
        return _index(state)
    return json_response(404, [{"errorCode": "NOT_FOUND", "message": "The requested resource does not exist"}])


def _index(state: SimState) -> Response:
    org = state.org
    return html_page(200, "sfsim", (
        "<h1>sfsim: local Salesforce simulator</h1>"
        f"<p>Org <code>{org.org_id}</code>, user <code>{org.config['username']}</code>.</p>"
        "<p>OAuth: <code>/services/oauth2/authorize</code>, <code>/token</code>, <code>/revoke</code>; "
        "REST: <code>/services/data/</code>; control API: <code>/_sim/</code>.</p>"
    ))


OAUTH_ROUTES = {
    "/services/oauth2/authorize": (("GET", "POST"), oauth.authorize, "oauth_authorize"),
    "/services/oauth2/token": (("POST",), oauth.token, "oauth_token"),
    "/services/oauth2/revoke": (("GET", "POST"), oauth.revoke, "oauth_revoke"),
}


def oauth_call(org: Org, req: Request) -> Response:
    """OAuth endpoints (§1). They do not count against the org's API requests."""
    entry = OAUTH_ROUTES.get(req.path.rstrip("/"))
    with org.lock:
        if entry is None:
            resp, kind = json_response(404, {"error": "not_found", "error_description": "unknown endpoint"}), "oauth_other"
        elif req.method not in entry[0]:
            resp, kind = json_response(405, {"error": "invalid_request", "error_description": "method not allowed"}), entry[2]
        else:
            resp, kind = entry[1](org, req), entry[2]
        org.stats.record(kind, req.method, req.path, resp.status, counted=False)
    return resp


def rest_call(org: Org, req: Request) -> Response:
    """The pipeline every ``/services/data`` call goes through (see the module docstring)."""
    path = req.path
    with org.lock:
        delay = org.config["latency_ms"]
        fault = org.faults.take("latency", path)
        if fault is not None:
            delay += int(fault.opts.get("ms", 0))
    if delay:
        time.sleep(delay / 1000.0)

    with org.lock:
        version, rest_path = _split_version(path)
        kind = rest.classify(req.method, rest_path) if version else ("versions" if rest_path is None else "other")
        resp, counted = _rest_locked(org, req, version, rest_path, kind)
        if resp.status < 400 and req.method != "GET" and kind in rest.WRITE_KINDS and org.faults.take("drop_after_commit", path):
            resp.drop = True
        # §2.1: every response, success or error, carries the usage header.
        resp.headers["Sforce-Limit-Info"] = f"api-usage={org.api_used}/{org.config['daily_api_max']}"
        org.stats.record(kind, req.method, path, resp.status, counted=counted)
    return resp


def _split_version(path: str) -> tuple[str | None, str | None]:
    """``/services/data/v59.0/sobjects/`` → ("59.0", "sobjects"); the listing → (None, None)."""
    tail = path[len("/services/data"):].strip("/")
    if not tail:
        return None, None
    head, _, rest_path = tail.partition("/")
    if len(head) > 1 and head[0] == "v":
        return head[1:], rest_path.rstrip("/")
    return None, tail


def _rest_locked(org: Org, req: Request, version: str | None, rest_path: str | None, kind: str) -> tuple[Response, bool]:
    path = req.path
    if org.faults.take("unavailable", path):
        return json_response(503, [{"errorCode": "SERVER_UNAVAILABLE", "message": "Server temporarily unavailable. Please try again later."}]), _count(org)
    if version is None and rest_path is None:
        counted = _count(org)
        return json_response(200, rest.versions()), counted  # §2.2: no auth needed
    token = oauth.bearer(req)
    if token is None or token not in org.access_tokens or not realorg.on_instance_host(org, req):
        return error_response(invalid_session()), _count(org)
    if org.faults.take("api_disabled", path):
        return error_response(ApiError(403, "API_DISABLED_FOR_ORG", "The REST API is not enabled for this Organization.")), _count(org)
    if org.faults.take("request_limit", path) or org.api_used >= org.config["daily_api_max"]:
        # §3.2: refused, and not counted.
        return error_response(ApiError(403, "REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded.")), False
    counted = _count(org)
    if version is None:
        return error_response(ApiError(404, "NOT_FOUND", "The requested resource does not exist")), counted
    ctx = rest.CallContext(org, path, version)
    resp, _ = rest.dispatch(org, req, ctx, rest_path or "")
    return resp, counted


def _count(org: Org) -> bool:
    org.api_used += 1
    return True


# --- start / stop -------------------------------------------------------------------------


class SimHandle:
    """A running simulator: ``url``, ``ca_path``, ``org`` (current org), ``stop()``."""

    def __init__(self, server: SimServer, thread: threading.Thread, url: str, ca_path: Path, temp_dir: str | None):
        self._server, self._thread, self._temp_dir = server, thread, temp_dir
        self.url = url
        self.ca_path = str(ca_path)
        self.port = server.server_address[1]

    @property
    def state(self) -> SimState:
        return self._server.state

    @property
    def org(self) -> Org:
        return self._server.state.org

    def control(self):
        from .control import SimControl

        return SimControl(self.url, self.ca_path)

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)
        if self._temp_dir:
            shutil.rmtree(self._temp_dir, ignore_errors=True)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


def start(port: int = 0, latency_ms: int = 0, cert_dir: str | os.PathLike | None = None, host: str = "127.0.0.1",
          verbose: bool = False, **config) -> SimHandle:
    """Start a simulator in a background thread and return its handle.

    ``cert_dir=None`` uses a temporary directory (removed by ``stop``); otherwise the CA in
    ``cert_dir`` is reused or created there. Extra keyword arguments are org config
    (see ``org.DEFAULT_CONFIG``) that survives ``/_sim/reset``.
    """
    temp_dir = tempfile.mkdtemp(prefix="sfsim-") if cert_dir is None else None
    paths = ensure_certs(temp_dir or cert_dir, [host])
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(paths.cert_path, paths.key_path)
    for p in (paths.cert_path, paths.key_path):  # loaded; the per-server files are not needed
        p.unlink(missing_ok=True)
    server = SimServer((host, port), ctx)
    shown = "127.0.0.1" if host in ("", "0.0.0.0") else "::1" if host == "::" else host
    url_host = f"[{shown}]" if ":" in shown else shown
    url = f"https://{url_host}:{server.server_address[1]}"
    server.state = SimState(url, {"latency_ms": latency_ms, **config})
    server.state.verbose = verbose
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.2}, name="sfsim", daemon=True)
    thread.start()
    return SimHandle(server, thread, url, paths.ca_path.resolve(), temp_dir)

