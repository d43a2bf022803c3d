"""HTTP plumbing: a threading HTTP/1.1 server, fault injection at the door, one log line per call.

Each answer is written with a single ``write`` and TCP_NODELAY is set: with keep-alive, a header
and a body written separately meet Nagle's algorithm and delayed ACKs, and every request then
waits ~40 ms for nothing.
"""

from __future__ import annotations

import socket
import sys
import time
import traceback
from email.utils import formatdate
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs

from . import errors
from .api import Api, Request, Response, error_response, json_response
from .errors import IesError

MAX_BODY = 2 * 1024 * 1024


class SimulatorServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, address: tuple[str, int], api: Api) -> None:
        self.api = api
        super().__init__(address, RequestHandler)

    @property
    def address(self) -> tuple[str, int]:
        """The host and port it listens on (port 0 asks the OS to pick one)."""
        host, port = self.server_address[:2]
        # An IPv4 socket names its host as text; typeshed also allows bytes for other families.
        return host if isinstance(host, str) else host.decode(), port

    def handle_error(self, request: socket.socket | tuple[bytes, socket.socket], client_address: Any) -> None:
        """A client that hangs up mid-request is routine (timeouts, drop tests): no traceback."""
        if isinstance(sys.exc_info()[1], ConnectionError | TimeoutError):
            return
        super().handle_error(request, client_address)


class RequestHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "IES-Simulator/1.0"
    sys_version = ""
    server: SimulatorServer

    def setup(self) -> None:
        super().setup()
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, format: str, *args: object) -> None:
        """Silence http.server's own access log: ``_log`` writes ours, without the query string."""

    def _log(self, status: int | str, started: float) -> None:
        path = self.path.partition("?")[0]
        elapsed = (time.perf_counter() - started) * 1000
        sys.stderr.write(f"{self.command} {path} {status} {elapsed:.1f}ms\n")

    def _read_body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks = []
            total = 0
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    break
                total += size
                if total > MAX_BODY:
                    raise ValueError("body too large")
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
            return b"".join(chunks)
        length = int(self.headers.get("Content-Length") or 0)
        if length < 0 or length > MAX_BODY:
            raise ValueError("bad Content-Length")
        return self.rfile.read(length) if length else b""

    def _serve(self) -> None:
        started = time.perf_counter()
        api = self.server.api
        path, _, query = self.path.partition("?")
        try:
            body = self._read_body()
        except ValueError:
            self.close_connection = True
            self._log(400, started)
            self._send(json_response(400, errors.error_body(errors.BAD_PARAM, [errors.Problem(
                "body", "unreadable body or Content-Length", "", "")])))
            return
        faults = None
        # Faults hit the IES API only: never the switchboard (/_sim) nor the document that the
        # readiness probes fetch, or a fault could lock itself in.
        if path.startswith("/rest") and not path.startswith(("/rest/_sim", "/rest/openapi.json")):
            faults = api.sim.faults.for_request(self.command, path)
            if faults.delay:
                time.sleep(faults.delay)
            if faults.drop:
                # Close without a single byte of answer, as a crashed or cut-off IES would.
                self.close_connection = True
                self._log("drop", started)
                return
        if faults is not None and faults.error is not None:
            rule = faults.error
            exception_id = rule.exception_id or (
                errors.SERVICE_UNAVAILABLE if rule.status == 503 else errors.INTERNAL_ERROR)
            response = error_response(IesError(rule.status, exception_id, [errors.Problem(
                "fault", f"injected by simulator fault {rule.id}", "", "remove the fault or retry")]))
        else:
            request = Request(
                method=self.command,
                path=path,
                query=parse_qs(query, keep_blank_values=True) if query else {},
                headers=self.headers,
                body=body,
                client=self.client_address[0],
            )
            try:
                response = api.dispatch(request)
            except Exception:  # a bug: answer like IES would, and keep serving
                traceback.print_exc(file=sys.stderr)
                response = error_response(IesError(500, errors.INTERNAL_ERROR, [errors.Problem(
                    "server", "internal error of the simulator", "", "see the simulator's log")]))
        # Logged before the answer goes out: a client holding the answer finds its line in the log
        # (tests and benchmarks count requests there), never a moment later.
        self._log(response.status, started)
        self._send(response)

    def _send(self, response: Response) -> None:
        try:
            reason = HTTPStatus(response.status).phrase
        except ValueError:
            reason = "Unknown"
        lines = [
            f"HTTP/1.1 {response.status} {reason}",
            f"Server: {self.server_version}",
            f"Date: {formatdate(usegmt=True)}",
        ]
        if response.content_type:
            lines.append(f"Content-Type: {response.content_type}")
        lines.append(f"Content-Length: {len(response.body)}")
        lines.extend(f"{name}: {value}" for name, value in response.headers)
        if self.close_connection:
            lines.append("Connection: close")
        head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
        body = b"" if self.command == "HEAD" else response.body
        try:
            self.wfile.write(head + body)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True

    def __getattr__(self, name: str) -> object:
        # http.server looks up do_<METHOD> and answers 501 when it is missing; every method, even
        # an unheard-of one (QUERY, …), is ours to route: 405 with Allow on a known path.
        if name.startswith("do_"):
            return self._serve
        raise AttributeError(name)
