"""Start the portal's Celery worker: `python -m portal.worker [--pool threads] [--concurrency 4] …`.

The same worker as `celery -A portal worker`, started without Celery's command line. That command
line imports every `celery` subcommand, and with them click-repl and prompt_toolkit, into the worker
before it starts: about 8 MB resident per process, for nothing a worker does. Gossip, mingle and
heartbeat are off unless asked for: they serve clusters of workers that revoke tasks or are watched
through events, and this portal does neither (it revokes nothing; its operations table is the
truth); each costs a Redis connection and its traffic.

By default the pool is 4 threads in one process (WORKER_POOL, WORKER_CONCURRENCY). A task here
mostly waits: on IES, the database and Redis. Threads overlap those waits in one process, while a
forked pool keeps a whole copy of Django and Celery (about 75 MB) in each process. Measured with
200 operations at once (`benchmarks/tracking.py`, `docs/benchmarks.md`): 4 threads kept every poll
on time in 93-99 MB, on SQLite and PostgreSQL; a prefork worker of 2 forked processes took 233-251 MB.
"""

from __future__ import annotations

import argparse
import os
import sys

from celery.utils.nodenames import default_nodename, host_format

from portal.celery import app

POOLS = ("threads", "prefork", "solo")
DEFAULT_POOL = "threads"
DEFAULT_CONCURRENCY = 4


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m portal.worker", description=__doc__.splitlines()[0])
    parser.add_argument("-c", "--concurrency", type=int, default=None,
                        help=f"pool size (default: WORKER_CONCURRENCY, else {DEFAULT_CONCURRENCY})")
    parser.add_argument("-P", "--pool", default=None, choices=POOLS,
                        help=f"pool kind (default: WORKER_POOL, else {DEFAULT_POOL}; prefork forks a process per slot)")
    parser.add_argument("-l", "--loglevel", default="INFO", help="log level (default: INFO)")
    parser.add_argument("-n", "--hostname", default=None,
                        help="node name, e.g. 'w1@%%h' (expands %%h, %%n, %%d; default: celery@<host>)")
    parser.add_argument("-Q", "--queues", default=None, help="comma-separated queues (default: CELERY_QUEUE)")
    parser.add_argument("-B", "--beat", action="store_true", help="also run the periodic scheduler (tests, one-box)")
    parser.add_argument("-s", "--schedule", default=None, help="beat's schedule file (with --beat)")
    parser.add_argument("--with-cluster-features", action="store_true",
                        help="turn gossip, mingle and heartbeat back on")
    args = parser.parse_args(argv)
    if args.pool is None:
        args.pool = os.environ.get("WORKER_POOL") or DEFAULT_POOL
        if args.pool not in POOLS:
            parser.error(f"WORKER_POOL must be one of {', '.join(POOLS)}")
    if args.concurrency is None:
        try:
            args.concurrency = int(os.environ.get("WORKER_CONCURRENCY") or DEFAULT_CONCURRENCY)
        except ValueError:
            parser.error("WORKER_CONCURRENCY must be a whole number")
    if args.concurrency < 1:
        parser.error("--concurrency must be at least 1")
    if args.schedule and not args.beat:
        parser.error("--schedule only means something with --beat")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    # A task may wait for the database longer than a person at a page (portal/settings.py): set
    # before the worker first reads the settings, unless the environment says otherwise.
    os.environ.setdefault("PORTAL_DB_LOCK_WAIT_SECONDS", "20")
    os.environ.setdefault("PORTAL_DB_STATEMENT_SECONDS", "0")

    options: dict[str, object] = {}
    if args.schedule:
        options["schedule_filename"] = args.schedule
    worker = app.Worker(
        hostname=host_format(default_nodename(args.hostname)),
        pool_cls=args.pool,
        concurrency=args.concurrency,
        loglevel=args.loglevel,
        queues=args.queues,
        beat=args.beat,
        without_gossip=not args.with_cluster_features,
        without_mingle=not args.with_cluster_features,
        without_heartbeat=not args.with_cluster_features,
        **options,
    )
    worker.start()
    return worker.exitcode or 0


if __name__ == "__main__":
    sys.exit(main())
