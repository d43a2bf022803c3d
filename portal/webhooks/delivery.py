"""One HTTP attempt of a webhook: POST the body to the checked address, and what came back.

The connection goes to `Target.address`, the address `ssrf.resolve` checked, never to a name resolved
again; https still verifies the certificate against the host name entered (sent as SNI), and the
Host header carries that name. Redirects are not followed, nothing is retried here (the services
schedule the next attempt), and only the first bytes of the answer are read.
"""

import time
from dataclasses import dataclass

import certifi
import urllib3
from urllib3.exceptions import HTTPError

from portal.webhooks.models import EXCERPT_CHARS
from portal.webhooks.ssrf import Target

CONNECT_TIMEOUT_S = 3.0
READ_TIMEOUT_S = 5.0
USER_AGENT = "CloudVPN-Portal-Webhooks/1"
READ_AT_MOST = 4096  # bytes of the answer kept for its excerpt; the rest is never read


@dataclass(frozen=True)
class Result:
    status: int | None  # None: no answer (the error says why)
    latency_ms: int
    excerpt: str = ""
    error: str = ""  # also set on a 2xx a robot's JSON refused (formats.answer_refused)

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300 and not self.error


def _pool(target: Target) -> urllib3.HTTPConnectionPool:
    timeout = urllib3.Timeout(connect=CONNECT_TIMEOUT_S, read=READ_TIMEOUT_S)
    if target.scheme == "https":
        return urllib3.HTTPSConnectionPool(
            target.address, target.port, timeout=timeout, maxsize=1, retries=False,
            server_hostname=target.host, assert_hostname=target.host,
            cert_reqs="CERT_REQUIRED", ca_certs=certifi.where(),
        )
    return urllib3.HTTPConnectionPool(target.address, target.port, timeout=timeout, maxsize=1, retries=False)


def with_query(path: str, query: str) -> str:
    """``path`` (which may have a query of its own: a robot's access token) with ``query`` added."""
    if not query:
        return path
    if "?" not in path:
        return f"{path}?{query}"
    return f"{path}{query}" if path.endswith(("?", "&")) else f"{path}&{query}"


def post(target: Target, body: bytes, headers: dict[str, str], query: str = "") -> Result:
    """POST ``body`` to the target's path, ``query`` (already encoded) added to its query string."""
    sent_headers = {**headers, "Host": target.host_header, "Content-Type": "application/json",
                    "User-Agent": USER_AGENT}
    pool = _pool(target)
    started = time.monotonic()
    try:
        response = pool.urlopen("POST", with_query(target.path, query), body=body, headers=sent_headers,
                                redirect=False, retries=False, preload_content=False, assert_same_host=False)
        latency_ms = int((time.monotonic() - started) * 1000)
        try:
            head = response.read(READ_AT_MOST, decode_content=False)
        except (HTTPError, OSError):
            head = b""
        finally:
            response.release_conn()
        excerpt = head.decode("utf-8", "replace")[:EXCERPT_CHARS]
        return Result(status=response.status, latency_ms=latency_ms, excerpt=excerpt)
    except (HTTPError, OSError) as exc:
        latency_ms = int((time.monotonic() - started) * 1000)
        return Result(status=None, latency_ms=latency_ms, error=f"{type(exc).__name__}: {exc}"[:1000])
    finally:
        pool.close()
