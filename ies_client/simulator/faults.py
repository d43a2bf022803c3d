"""Fault switches: rules that make the simulator slow, wrong, silent or forgetful on purpose.

Rules live in memory only (a restart keeps the environment's rules, drops the API's), are scoped by
path prefix and methods, may fire only the next ``count`` times and only with probability ``rate``.
The HTTP layer asks ``for_request`` before answering; the service manager asks
``operation_failure`` when it starts an operation; the auth check asks ``token_expired``.
"""

from __future__ import annotations

import os
import random
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

from . import errors
from .errors import IesError
from .rulebook import RuleBook

KINDS = ("latency", "error", "hang", "drop", "fail_operations", "expire_token", "no_operations_endpoint")
REQUEST_KINDS = ("latency", "error", "hang", "drop")
DEFAULT_FAIL_REASON = "simulated failure: the CPE did not answer the controller in time"


@dataclass(slots=True)
class Rule:
    id: str
    kind: str
    prefix: str = "/rest"
    methods: tuple[str, ...] | None = None
    count: int | None = None
    rate: float = 1.0
    ms: int = 0
    status: int = 503
    seconds: float = 0.0
    reason: str = DEFAULT_FAIL_REASON
    tenant: str | None = None
    exception_id: str | None = None
    source: str = "api"

    def matches(self, method: str, path: str) -> bool:
        return path.startswith(self.prefix) and (self.methods is None or method in self.methods)

    def as_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "id": self.id,
            "kind": self.kind,
            "prefix": self.prefix,
            "methods": list(self.methods) if self.methods else None,
            "count": self.count,
            "rate": self.rate,
            "source": self.source,
        }
        extra: dict[str, dict[str, object]] = {
            "latency": {"ms": self.ms},
            "error": {"status": self.status, "exceptionId": self.exception_id},
            "hang": {"seconds": self.seconds},
            "fail_operations": {"reason": self.reason},
            "expire_token": {"tenant": self.tenant},
        }
        return {**data, **extra.get(self.kind, {})}


@dataclass(slots=True)
class RequestFaults:
    """What the HTTP layer must do to one request, in this order: wait, then drop or answer an error."""

    delay: float = 0.0
    drop: bool = False
    error: Rule | None = None


def _bad(field_name: str, reason: str, value: Any = "") -> IesError:
    return errors.fail(400, errors.BAD_PARAM, field_name, reason, value)


def _number(data: Mapping[str, Any], key: str, low: float, high: float, *, integer: bool) -> Any:
    value = data[key]
    if isinstance(value, bool) or not isinstance(value, int | float) or (integer and not isinstance(value, int)):
        raise _bad(key, "must be " + ("an integer" if integer else "a number"), value)
    if not low <= value <= high:
        raise _bad(key, f"must be between {low:g} and {high:g}", value)
    return value


def parse_rule(data: Any, rule_id: str, source: str = "api") -> Rule:
    """A rule from its JSON form; 400 naming the field when it does not make sense."""
    if not isinstance(data, dict):
        raise _bad("body", "must be a JSON object", data)
    kind = data.get("kind")
    if kind not in KINDS:
        raise _bad("kind", f"must be one of {', '.join(KINDS)}", kind)
    rule = Rule(id=rule_id, kind=kind, source=source)
    prefix = data.get("prefix", "/rest")
    if not isinstance(prefix, str) or not prefix.startswith("/"):
        raise _bad("prefix", "must be a path starting with /", prefix)
    rule.prefix = prefix
    methods = data.get("methods")
    if methods is not None:
        if not isinstance(methods, list) or not methods or not all(isinstance(m, str) and m for m in methods):
            raise _bad("methods", "must be a non-empty list of HTTP methods", methods)
        rule.methods = tuple(m.upper() for m in methods)
    if data.get("count") is not None:
        rule.count = _number(data, "count", 1, 1_000_000, integer=True)
    if "rate" in data:
        rule.rate = float(_number(data, "rate", 0, 1, integer=False))
    if kind == "latency":
        rule.ms = _number(data, "ms", 0, 600_000, integer=True) if "ms" in data else 1000
    elif kind == "error":
        rule.status = _number(data, "status", 400, 599, integer=True) if "status" in data else 503
        exception_id = data.get("exceptionId")
        if exception_id is not None and not isinstance(exception_id, str):
            raise _bad("exceptionId", "must be a string", exception_id)
        rule.exception_id = exception_id
    elif kind == "hang":
        rule.seconds = float(_number(data, "seconds", 0, 3600, integer=False)) if "seconds" in data else 30.0
    elif kind == "fail_operations":
        reason = data.get("reason", DEFAULT_FAIL_REASON)
        if not isinstance(reason, str) or not reason:
            raise _bad("reason", "must be a non-empty string", reason)
        rule.reason = reason
    elif kind == "expire_token":
        tenant = data.get("tenant")
        if not isinstance(tenant, str) or not tenant:
            raise _bad("tenant", "is required: the name of the tenant whose token expires", tenant)
        rule.tenant = tenant
    return rule


@dataclass
class FaultBook(RuleBook[Rule]):
    """The active fault rules."""

    prefix: ClassVar[str] = "f"
    rng: random.Random = field(default_factory=random.Random)

    def add(self, data: Any, source: str = "api") -> Rule:
        return self._keep(lambda rule_id: parse_rule(data, rule_id, source))

    def _fire(self, kinds: tuple[str, ...], method: str, path: str, tenant: str | None = None) -> list[Rule]:
        """Rules of these kinds that fire for this request; consumes one of each one's count."""
        if not self._rules:  # the common case: no lock, no work
            return []
        fired: list[Rule] = []
        with self._lock:
            for rule in list(self._rules):
                if rule.kind not in kinds or not rule.matches(method, path):
                    continue
                if tenant is not None and rule.tenant != tenant:
                    continue
                if rule.rate < 1 and self.rng.random() >= rule.rate:
                    continue
                fired.append(rule)
                if rule.count is not None:
                    rule.count -= 1
                    if rule.count <= 0:
                        self._rules.remove(rule)
        return fired

    def for_request(self, method: str, path: str) -> RequestFaults:
        result = RequestFaults()
        for rule in self._fire(REQUEST_KINDS, method, path):
            if rule.kind == "latency":
                result.delay += rule.ms / 1000
            elif rule.kind == "hang":
                result.delay += rule.seconds
            elif rule.kind == "drop":
                result.drop = True
            elif result.error is None:
                result.error = rule
        return result

    def operation_failure(self, method: str, path: str) -> str | None:
        """The failure reason if the operation being started must fail, else None."""
        fired = self._fire(("fail_operations",), method, path)
        return fired[0].reason if fired else None

    def token_expired(self, tenant_name: str, method: str, path: str) -> bool:
        return bool(self._fire(("expire_token",), method, path, tenant=tenant_name))

    def operations_endpoint_missing(self, method: str, path: str) -> bool:
        return bool(self._fire(("no_operations_endpoint",), method, path))

    def load_env(self, environ: Mapping[str, str] | None = None) -> None:
        """The same switches from the environment, so a whole run can be started faulty."""
        env = os.environ if environ is None else environ
        if float(env.get("IES_SIM_LATENCY_MS") or 0) > 0:
            self.add({"kind": "latency", "ms": int(float(env["IES_SIM_LATENCY_MS"]))}, source="env")
        if float(env.get("IES_SIM_ERROR_RATE") or 0) > 0:
            self.add({"kind": "error", "status": 503, "rate": float(env["IES_SIM_ERROR_RATE"])}, source="env")
        if float(env.get("IES_SIM_FAIL_RATE") or 0) > 0:
            self.add({"kind": "fail_operations", "rate": float(env["IES_SIM_FAIL_RATE"])}, source="env")
        if env.get("IES_SIM_NO_OPERATIONS_ENDPOINT", "").strip().lower() in ("1", "true", "yes", "on"):
            self.add({"kind": "no_operations_endpoint"}, source="env")
