"""Start the portal's Celery worker: `python -m portal.worker [--concurrency 2] [--beat] …`.

The same worker as `celery -A portal worker`, started without Celery's command line. That command
line imports every `celery` subcommand, and with them click-repl and prompt_toolkit, into the main
process before it forks its pool: about 8 MB resident in each of the worker's processes, for nothing
a worker does. Gossip, mingle and heartbeat are off unless asked for: they serve clusters of workers
that revoke tasks or are watched through events, and this portal does neither (revoking nothing, it
asks its operations table instead); each costs a Redis connection and its traffic.

One pool process is the default (WORKER_CONCURRENCY): tracking is mostly waiting for IES, and one
process followed 200 simultaneous operations at ten times a real IES's pace at under half its
capacity (`benchmarks/tracking.py`, `docs/benchmarks.md`). Raise it, or run more workers, for more.
"""

from __future__ import annotations

import argparse
import os
import sys

from celery.utils.nodenames import default_nodename, host_format


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m portal.worker", description=__doc__.splitlines()[0])
    parser.add_argument("-c", "--concurrency", type=int, default=None,
                        help="pool size (default: WORKER_CONCURRENCY, else 1)")
    parser.add_argument("-P", "--pool", default="prefork", choices=("prefork", "threads", "solo"),
                        help="pool kind (default: prefork, one forked process per slot)")
    parser.add_argument("-l", "--loglevel", default="INFO", help="log level (default: INFO)")
    parser.add_argument("-n", "--hostname", default=None,
                        help="node name, e.g. 'w1@%%h' (expands %%h, %%n, %%d; default: celery@<host>)")
    parser.add_argument("-Q", "--queues", default=None, help="comma-separated queues (default: CELERY_QUEUE)")
    parser.add_argument("-B", "--beat", action="store_true", help="also run the periodic scheduler (tests, one-box)")
    parser.add_argument("-s", "--schedule", default=None, help="beat's schedule file (with --beat)")
    parser.add_argument("--with-cluster-features", action="store_true",
                        help="turn gossip, mingle and heartbeat back on")
    args = parser.parse_args(argv)
    if args.concurrency is None:
        try:
            args.concurrency = int(os.environ.get("WORKER_CONCURRENCY") or 1)
        except ValueError:
            parser.error("WORKER_CONCURRENCY must be a whole number")
    if args.concurrency < 1:
        parser.error("--concurrency must be at least 1")
    if args.schedule and not args.beat:
        parser.error("--schedule only means something with --beat")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    from portal.celery import app  # after parsing: `--help` needs no Django

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
