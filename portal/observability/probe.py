"""Health probes for docker-compose (and any supervisor): exit 0 when healthy, 1 when not.

    python -m portal.observability.probe http /healthz [--port 8000]
    python -m portal.observability.probe heartbeat worker|beat

`http` asks the web process on loopback the way the proxy would: with a Host the portal accepts
(the first of ALLOWED_HOSTS; a probe's "127.0.0.1" would be refused with 400 in production).
`heartbeat` reads the worker's or beat's last heartbeat from Redis (what /readyz reports), for
the containers that serve no HTTP.
"""

from __future__ import annotations

import argparse
import http.client
import os
import sys


def _host() -> str:
    first = next((h.strip() for h in os.environ.get("ALLOWED_HOSTS", "").split(",") if h.strip()), "localhost")
    first = first.lstrip(".")  # ".example.com" allows example.com
    return "localhost" if first in {"*", ""} else first


def probe_http(path: str, port: int, timeout: float) -> bool:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        connection.request("GET", path, headers={"Host": _host()})
        return connection.getresponse().status == 200
    except OSError:
        return False
    finally:
        connection.close()


def probe_heartbeat(role: str) -> bool:
    import redis

    from portal.observability import heartbeats

    try:
        age = heartbeats.ages()[role]
    except (redis.RedisError, OSError):
        return False
    return age is not None and age <= heartbeats.stale_after()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m portal.observability.probe", description=__doc__.splitlines()[0])
    kinds = parser.add_subparsers(dest="kind", required=True)
    web = kinds.add_parser("http", help="GET a path of the web process on loopback")
    web.add_argument("path")
    web.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
    web.add_argument("--timeout", type=float, default=3.0)
    beat = kinds.add_parser("heartbeat", help="is the worker's or beat's heartbeat fresh?")
    beat.add_argument("role", choices=("worker", "beat"))
    args = parser.parse_args(argv)
    if args.kind == "http":
        healthy = probe_http(args.path, args.port, args.timeout)
    else:
        healthy = probe_heartbeat(args.role)
    print("healthy" if healthy else "unhealthy")
    return 0 if healthy else 1


if __name__ == "__main__":
    sys.exit(main())
