"""Command line: ``python -m ies_client.simulator`` and ``manage.py ies_simulator`` share this."""

from __future__ import annotations

import argparse
import os
import signal
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .api import Api
from .app import Settings, Simulator
from .faults import FaultBook
from .openapi import document_bytes
from .server import SimulatorServer


def add_arguments(parser: argparse.ArgumentParser) -> None:
    env = os.environ
    parser.add_argument("--host", default=env.get("IES_SIM_HOST", "127.0.0.1"), help="address to listen on")
    parser.add_argument("--port", type=int, default=int(env.get("IES_SIM_PORT", "17100")), help="port (0: any)")
    parser.add_argument("--time-scale", type=float, default=float(env.get("IES_SIM_TIME_SCALE", "1")),
                        help="operations run N times faster than on a real IES (1 = about 10 minutes a create)")
    parser.add_argument("--data", default=env.get("IES_SIM_DATA", ".run/ies-simulator.sqlite3"),
                        help="the simulator's SQLite file (created with the preset data if missing)")


def settings_from(options: dict[str, Any]) -> Settings:
    if not options["time_scale"] > 0:
        raise SystemExit("--time-scale must be greater than 0")
    return Settings(
        host=options["host"],
        port=options["port"],
        time_scale=options["time_scale"],
        data=Path(options["data"]),
        admin_key=os.environ.get("IES_SIM_ADMIN_KEY") or None,
        trust_loopback=os.environ.get("IES_SIM_TRUST_LOOPBACK", "1").strip().lower() not in ("0", "false", "no", "off"),
    )


def run(settings: Settings) -> None:
    faults = FaultBook()
    faults.load_env()
    sim = Simulator(settings, faults)
    server = SimulatorServer((settings.host, settings.port), Api(sim, document_bytes()))

    def stop(signum: int, frame: object) -> None:
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, stop)
    host, port = server.address
    print(f"IES simulator listening on http://{host}:{port}/rest", flush=True)
    try:
        server.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m ies_client.simulator", description=__doc__)
    add_arguments(parser)
    options = vars(parser.parse_args(argv))
    run(settings_from(options))


if __name__ == "__main__":  # pragma: no cover
    main(sys.argv[1:])
