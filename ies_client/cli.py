"""``python -m ies_client``: look at an IES (or the simulator) from a terminal.

    python -m ies_client --sim-tenant nbitest_11 services
    python -m ies_client --token "$IES_TOKEN" --bearer "$IES_BEARER" service 8hiqoNgCSZmrlD1MyROJbg
    python -m ies_client --sim-tenant nbitest_11 traffic VPNS2S201705061433 --start -1h --json

Read-only on purpose: changes go through the portal, which records and tracks them. Credentials come
from options or ``IES_TOKEN``/``IES_BEARER``; ``--sim-tenant`` fetches them from the simulator's
``/_sim/tenants``. Nothing here prints a token or a bearer.
"""

from __future__ import annotations

import argparse
import dataclasses
import enum
import json
import os
import re
import sys
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any, TextIO

import requests

from ies_client.client import IESClient
from ies_client.errors import IESError, IESValidationError
from ies_client.models import (
    Direction,
    IESCredentials,
    Metric,
    Operation,
    Service,
    ServiceDefinition,
    ServiceDefinitionDetail,
)
from ies_client.redact import register_secret

DEFAULT_BASE_URL = "http://127.0.0.1:17100/rest"


# -- arguments ----------------------------------------------------------------------------------


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m ies_client", description="Read services, definitions, operations and traffic from IES."
    )
    p.add_argument("--base-url", default=os.environ.get("IES_BASE_URL") or DEFAULT_BASE_URL,
                   help="IES base URL ending in /rest (env IES_BASE_URL; default %(default)s)")
    p.add_argument("--token", default=os.environ.get("IES_TOKEN"), help="X-Auth-Token (env IES_TOKEN)")
    p.add_argument("--bearer", default=os.environ.get("IES_BEARER"), help="bearer uuid (env IES_BEARER)")
    p.add_argument("--tenant-id", default=os.environ.get("IES_TENANT_ID"), help="X-Tenant-Id, when known")
    p.add_argument("--sim-tenant", metavar="NAME",
                   help="take the credentials of this simulator tenant from <base-url>/_sim/tenants")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.add_argument("--timeout", type=float, default=10.0, help="read timeout, seconds (default %(default)s)")
    p.add_argument("--insecure", action="store_true",
                   help="do not verify IES's TLS certificate (also IES_VERIFY_TLS=0)")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")
    sub.add_parser("defs", help="list the service definitions")
    sub.add_parser("def", help="show one service definition and its fields").add_argument("id")
    sub.add_parser("services", help="list the tenant's services")
    sub.add_parser("service", help="show one service").add_argument("id")
    sub.add_parser("operations", help="list a service's operations").add_argument("service_id")
    t = sub.add_parser("traffic", help="show a connection's traffic")
    t.add_argument("name", help="the connection's CloudVpnName")
    t.add_argument("--metric", default=Metric.TRAFFIC_RATE.value, choices=[m.value for m in Metric])
    t.add_argument("--start", default="-1h",
                   help="Unix seconds, ISO 8601 (UTC if no zone), 'now' or relative like -2h, -30m, -7d")
    t.add_argument("--end", default="now", help="same forms as --start (default now)")
    t.add_argument("--timedim", default="minute", choices=("minute", "hour", "day"))
    t.add_argument("--direction", default=Direction.OUTBOUND.value, choices=[d.value for d in Direction])
    t.add_argument("--indicator", default="max", choices=("max", "avg", "min"))
    return p


_RELATIVE = re.compile(r"^-(\d+)([smhd])$")
_UNIT_S = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_time(value: str, now: int | None = None) -> int:
    """``1493367320``, ``2017-05-01T12:00``, ``now``, ``-2h`` → Unix seconds."""
    now = int(time.time()) if now is None else now
    v = value.strip()
    if v == "now":
        return now
    if m := _RELATIVE.match(v):
        return now - int(m.group(1)) * _UNIT_S[m.group(2)]
    if v.lstrip("-").isdigit():
        return int(v)
    try:
        dt = datetime.fromisoformat(v.replace("Z", "+00:00"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a time: {value!r}") from None
    return int((dt if dt.tzinfo else dt.replace(tzinfo=UTC)).timestamp())


def _verify_tls(args: argparse.Namespace) -> bool:
    env = os.environ.get("IES_VERIFY_TLS", "1").strip().lower()
    return not args.insecure and env not in ("0", "false", "no", "off")


def sim_credentials(base_url: str, tenant: str, *, verify: bool = True) -> IESCredentials:
    """A simulator tenant's credentials, from ``/_sim/tenants`` (loopback only, by design)."""
    url = base_url.rstrip("/") + "/_sim/tenants"
    response = requests.get(url, timeout=(3.05, 10), verify=verify)
    response.raise_for_status()
    for t in response.json().get("tenants", []):
        if t.get("name") == tenant:
            register_secret(t["token"])
            register_secret(t["bearer"])
            return IESCredentials(t["token"], t["bearer"], t.get("tenant_id"))
    raise LookupError(f"the simulator has no tenant {tenant!r}")


# -- output -------------------------------------------------------------------------------------


def _jsonable(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        out = {f.name: _jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
        if isinstance(value, ServiceDefinition):
            out["orderable"] = value.orderable
        return out
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    return value


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, enum.Enum):
        return str(value.value)
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]], out: TextIO) -> None:
    """A plain text table: columns as wide as their widest cell, numbers right-aligned."""
    cells = [[_cell(c) for c in row] for row in rows]
    widths = [max([len(h), *(len(r[i]) for r in cells)]) for i, h in enumerate(headers)]
    numeric = [all(isinstance(r[i], int | float) and not isinstance(r[i], bool) for r in rows) and bool(rows)
               for i in range(len(headers))]

    def line(values: Sequence[str]) -> str:
        parts = [v.rjust(w) if n else v.ljust(w) for v, w, n in zip(values, widths, numeric, strict=True)]
        return "  ".join(parts).rstrip()

    out.write(line(headers) + "\n")
    out.write(line(["-" * w for w in widths]) + "\n")
    for r in cells:
        out.write(line(r) + "\n")
    if not rows:
        out.write("(none)\n")


def _pairs(pairs: Sequence[tuple[str, Any]], out: TextIO) -> None:
    width = max(len(k) for k, _ in pairs)
    for k, v in pairs:
        out.write(f"{k.ljust(width)}  {_cell(v)}\n")


def _show_defs(defs: list[ServiceDefinition], out: TextIO) -> None:
    table(["ID", "NAME", "KIND", "STATUS", "VERSION", "ORDERABLE"],
          [[d.id, d.name, d.kind, d.status, d.version, d.orderable] for d in defs], out)


def _show_def(d: ServiceDefinitionDetail, out: TextIO) -> None:
    _pairs([("id", d.id), ("name", d.definition.name), ("kind", d.kind), ("status", d.definition.status),
            ("template", d.template_id), ("list key", d.list_key),
            ("schema", "from IES" if d.schema_from_ies else "built-in (IES sent none)")], out)
    out.write("\n")

    def limits(f: Any) -> str:
        parts = []
        if f.min is not None or f.max is not None:
            parts.append(f"{_cell(f.min)}..{_cell(f.max)}")
        if f.step:
            parts.append(f"step {f.step}")
        if f.choices:
            parts.append("|".join(f.choices))
        if f.pattern and not f.choices:
            parts.append(f.pattern)
        return " ".join(parts)

    table(["FIELD", "TYPE", "REQUIRED", "DEFAULT", "UNIT", "CONSTRAINTS"],
          [[f.name, f.type, f.required, f.default, f.unit, limits(f)] for f in d.fields], out)


def _show_services(services: list[Service], out: TextIO) -> None:
    table(["SERVICE ID", "NAME", "KIND", "CLOUDVPN NAME", "KBIT/S", "STATUS", "ACTIVE", "CREATED"],
          [[s.service_id, s.name, s.kind, s.cloud_vpn_name, s.bandwidth_kbps, s.status, s.active_status,
            s.created_at] for s in services], out)


def _show_service(s: Service, out: TextIO) -> None:
    _pairs([("service id", s.service_id), ("name", s.name), ("description", s.description), ("kind", s.kind),
            ("CloudVpnName", s.cloud_vpn_name), ("bandwidth kbit/s", s.bandwidth_kbps), ("status", s.status),
            ("active status", s.active_status), ("definition", s.service_definition_id),
            ("template", s.template_id), ("created", s.created_at)], out)
    if s.parameters:
        out.write("\n")
        table(["PARAMETER", "VALUE"], sorted(s.parameters.items()), out)


def _show_operations(ops: list[Operation], out: TextIO) -> None:
    table(["OPERATION ID", "KIND", "DONE", "RESULT", "STARTED", "FINISHED", "CONTENT / REASON"],
          [[o.operation_id, o.kind, o.done, o.result, o.started_at, o.finished_at, o.reason or o.content]
           for o in ops], out)


# -- main ---------------------------------------------------------------------------------------


def run(argv: Sequence[str] | None = None, out: TextIO | None = None, err: TextIO | None = None) -> int:
    out = out or sys.stdout
    err = err or sys.stderr
    args = _parser().parse_args(argv)
    verify = _verify_tls(args)
    try:
        if args.sim_tenant:
            credentials = sim_credentials(args.base_url, args.sim_tenant, verify=verify)
        elif args.token and args.bearer:
            credentials = IESCredentials(args.token, args.bearer, args.tenant_id)
        else:
            err.write("error: give --token and --bearer (or IES_TOKEN/IES_BEARER), or --sim-tenant NAME\n")
            return 2
        client = IESClient(args.base_url, credentials, read_timeout=args.timeout, verify_tls=verify)
        with client:
            return _command(client, args, out)
    except IESValidationError as e:
        err.write(f"error: {e.message}\n")
        for field, reasons in e.field_errors.items():
            err.write(f"  {field or '(request)'}: {'; '.join(reasons)}\n")
        return 1
    except IESError as e:
        status = f" (HTTP {e.status})" if e.status else ""
        err.write(f"error: {e.message}{status}\n")
        return 1
    except (requests.RequestException, LookupError, ValueError, argparse.ArgumentTypeError) as e:
        err.write(f"error: {e}\n")
        return 1


def _command(client: IESClient, args: argparse.Namespace, out: TextIO) -> int:
    cmd = args.command
    if cmd == "defs":
        result: Any = client.list_service_definitions()
        show: Any = _show_defs
    elif cmd == "def":
        result, show = client.get_service_definition(args.id), _show_def
    elif cmd == "services":
        result, show = client.list_services(), _show_services
    elif cmd == "service":
        result, show = client.get_service(args.id), _show_service
    elif cmd == "operations":
        result, show = client.list_operations(args.service_id), _show_operations
    elif cmd == "traffic":
        now = int(time.time())
        series = client.get_traffic(
            args.name, metric=args.metric, start=parse_time(args.start, now), end=parse_time(args.end, now),
            timedim=args.timedim, direction=args.direction, indicator=args.indicator,
        )
        result = series

        def show(s: Any, o: TextIO) -> None:
            _pairs([("connection", s.connection), ("metric", s.metric), ("unit", s.unit),
                    ("direction", s.direction), ("timedim", s.timedim), ("indicator", s.indicator),
                    ("points", len(s.points))], o)
            o.write("\n")
            table(["TIME (UTC)", f"VALUE ({s.unit})"],
                  [[datetime.fromtimestamp(t, UTC), round(v, 2)] for t, v in s.points], o)
    else:  # pragma: no cover - argparse refuses unknown commands
        raise AssertionError(cmd)
    if args.json:
        json.dump(_jsonable(result), out, indent=2, ensure_ascii=False)
        out.write("\n")
    else:
        show(result, out)
    return 0


def main() -> None:
    sys.exit(run())
