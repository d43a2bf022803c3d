"""gunicorn's settings for the portal's web process (Procfile, Dockerfile and docker-compose.yml).

Why gthread workers. With ``sync`` workers a process serves one request at a time: a page that waits
for a slow IES holds its whole worker, and with two workers two such pages queue every other request,
even a page that needs no IES (the issue measured 7.9 s for a bystander's page). ``gthread`` gives
each process a pool of threads: a thread waiting on IES, Redis or the database releases the GIL, and
the other threads go on serving. Not ``gevent``: it monkey-patches sockets and threads under
psycopg, redis-py, Celery's publisher and the traffic pages' thread pool (numpy work would also
stall its one event loop), and the portal would need a green-aware driver for each; gthread needs
nothing patched, and Django, requests and redis-py are thread-safe. What bounds the time a thread
can spend on IES is the client's timeouts and its circuit breakers (ies_client/breaker.py), not the
worker class: after a few failures every page answers at once.

Each setting can be changed by the environment (WEB_WORKERS, WEB_THREADS, …) without editing this.
"""

import os
import shutil
import tempfile
from typing import Any


def _int(name: str, default: int) -> int:
    return int(os.environ.get(name) or default)


bind = os.environ.get("GUNICORN_BIND") or f"0.0.0.0:{os.environ.get('PORT') or 8000}"
worker_class = "gthread"
workers = _int("WEB_WORKERS", 2)
# Threads per worker: requests served at once per process. Each holds a database connection while
# it works (PostgreSQL: workers × threads connections at most), so keep it modest.
threads = _int("WEB_THREADS", 8)
# A worker that sends no heartbeat for this long is killed. With gthread the heartbeat comes from the
# main thread, so one request waiting on IES does not trip it: it catches a stuck process.
timeout = _int("WEB_TIMEOUT", 30)
# On SIGTERM (a deploy), requests in flight get this long to finish.
graceful_timeout = _int("WEB_GRACEFUL_TIMEOUT", 30)
# Seconds an idle keep-alive connection (from the TLS proxy) is kept open.
keepalive = _int("WEB_KEEPALIVE", 5)
# A fresh process now and then bounds any slow growth of memory; the jitter keeps workers from
# restarting together.
max_requests = _int("WEB_MAX_REQUESTS", 2000)
max_requests_jitter = _int("WEB_MAX_REQUESTS_JITTER", 200)
# The access log on stdout, with the time each request took (microseconds, %(D)s): never a query
# string's secrets (the portal sends none in URLs) nor a header.
accesslog = os.environ.get("WEB_ACCESS_LOG", "-")
access_log_format = '%(h)s %(t)s "%(r)s" %(s)s %(b)s %(D)sus "%(a)s"'
errorlog = "-"
loglevel = os.environ.get("WEB_LOG_LEVEL", "info")
# The TLS proxy in front sets X-Forwarded-*: trust it from these addresses only.
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")


# Several workers count in several processes: prometheus_client's multiprocess mode adds them up at
# a scrape, through files in PROMETHEUS_MULTIPROC_DIR (docker-compose.yml sets a tmpfs). Wherever it
# is unset (the Procfile, the bare image), a directory of this master's own, made before the workers
# fork so that they inherit it; otherwise each scrape would read whichever worker answered it.
# (A reload re-reads this file with the variable set: the marker says whose directory it is.)
_OWN_METRICS_DIR = "PORTAL_OWN_PROMETHEUS_MULTIPROC_DIR"
if workers > 1 and not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = os.environ[_OWN_METRICS_DIR] = tempfile.mkdtemp(
        prefix="portal-prometheus-")


def child_exit(server: Any, worker: Any) -> None:
    """A worker that ended (a restart after max_requests, a crash): its live gauges stop counting."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)


def on_exit(server: Any) -> None:
    own = os.environ.get(_OWN_METRICS_DIR)
    if own and os.environ.get("PROMETHEUS_MULTIPROC_DIR") == own:
        shutil.rmtree(own, ignore_errors=True)
