"""Pytest plugin: a live IES simulator in its own process, for any test that talks to IES.

Use it with ``pytest_plugins = ["tests.fixtures_simulator"]`` in a conftest. It provides:

- ``simulator`` (session): one simulator subprocess at ``--time-scale 600`` (a create takes about
  one second) on a free port with its own data file; killed at the end of the session;
- ``sim`` (function): the same handle after clearing every fault rule (and restarting the process
  if a test left it stopped);
- ``start_simulator(tmp_path, time_scale=600, env=None)``: a factory for tests needing a process of
  their own (slow time scale, faults from environment variables); stop it, or use it as a context
  manager.

The handle (``SimulatorHandle``) knows the base URL, the tenants and their credentials, and wraps
the ``/rest/_sim`` endpoints. It imports no Django and needs only ``requests``.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, Self

import pytest
import requests

REPO = Path(__file__).resolve().parent.parent
PRESET_TENANTS = ("nbitest_11", "nbitest_12", "nbitest_13", "nbitest_14", "nbitest_15", "nbitest_16")
READY_TIMEOUT = 20.0


def _die_with_parent() -> None:
    """In the child, before exec: on Linux, get SIGTERM when the test process dies, so that a
    killed pytest leaves no simulator behind (elsewhere a no-op)."""
    if sys.platform.startswith("linux"):
        import ctypes
        import signal

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # 1 = PR_SET_PDEATHSIG


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class ServerProcess:
    """What the handles of the tests' server processes share (this simulator, the OpenID Connect
    provider of tests/fixtures_oidc.py): stopping, restarting, the log, ``with``. A subclass sets
    ``process`` and ``log_path`` and defines ``start()``."""

    process: subprocess.Popen[bytes] | None
    log_path: Path

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def start(self) -> Self:
        raise NotImplementedError

    def stop(self) -> None:
        """SIGTERM, then SIGKILL; what the process keeps on disk stays for a restart."""
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)
        self.process = None

    def restart(self) -> Self:
        self.stop()
        return self.start()

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


class SimulatorHandle(ServerProcess):
    """A simulator subprocess on 127.0.0.1 and the credentials of its tenants.

    Attributes: ``port``, ``data`` (its SQLite file), ``log_path`` (its stdout+stderr),
    ``time_scale``, ``env`` (extra environment), ``base_url`` ("http://127.0.0.1:PORT/rest"),
    ``root`` ("http://127.0.0.1:PORT"), ``tenants`` (name -> {"token", "bearer", "tenant_id"}).
    """

    def __init__(
        self,
        data: Path,
        *,
        port: int | None = None,
        time_scale: float = 600,
        env: Mapping[str, str] | None = None,
        log_path: Path | None = None,
    ) -> None:
        self.data = Path(data)
        self.port = port or free_port()
        self.time_scale = time_scale
        self.env = dict(env or {})
        self.log_path = log_path or self.data.with_suffix(".log")
        self.root = f"http://127.0.0.1:{self.port}"
        self.base_url = f"{self.root}/rest"
        self.tenants: dict[str, dict[str, str]] = {}
        self.process: subprocess.Popen[bytes] | None = None
        self.http = self._session()

    def _session(self) -> requests.Session:
        """The session for /_sim calls; it carries X-Sim-Key when the process was given an admin key."""
        session = requests.Session()
        if self.env.get("IES_SIM_ADMIN_KEY"):
            session.headers["X-Sim-Key"] = self.env["IES_SIM_ADMIN_KEY"]
        return session

    # -- process ----------------------------------------------------------------------------------


    def start(self) -> SimulatorHandle:
        """Start (or restart) the process on the same port and data file; wait until it answers."""
        if self.running:
            return self
        env = {k: v for k, v in os.environ.items() if not k.startswith("IES_SIM_")}
        env.update(self.env)
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
        env.setdefault("PYTHONUNBUFFERED", "1")
        command = [sys.executable, "-m", "ies_client.simulator", "--host", "127.0.0.1", "--port", str(self.port),
                   "--data", str(self.data), "--time-scale", str(self.time_scale)]
        with open(self.log_path, "ab") as log:  # the child keeps its own copy of the descriptor
            self.process = subprocess.Popen(command, cwd=REPO, env=env, stdout=log, stderr=log,
                                            preexec_fn=_die_with_parent)
        self._wait_ready()
        self.refresh_tenants()
        return self

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + READY_TIMEOUT
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                raise RuntimeError(f"simulator exited with {self.process.returncode}:\n{self.log()}")
            try:
                if requests.get(f"{self.base_url}/openapi.json", timeout=1).status_code == 200:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"simulator did not answer within {READY_TIMEOUT} s:\n{self.log()}")

    def stop(self) -> None:
        """Stop the process; the data file stays for a restart."""
        self.http.close()
        self.http = self._session()
        super().stop()

    # -- tenants and requests -----------------------------------------------------------------------

    def refresh_tenants(self) -> dict[str, dict[str, str]]:
        answer = self.http.get(f"{self.base_url}/_sim/tenants", timeout=10)
        answer.raise_for_status()
        self.tenants = {
            t["name"]: {"token": t["token"], "bearer": t["bearer"], "tenant_id": t["tenant_id"]}
            for t in answer.json()["tenants"]
        }
        return self.tenants

    @property
    def preset_tenants(self) -> dict[str, dict[str, str]]:
        """Only the deck's six tenants: ``tenants`` also holds every tenant made during the session."""
        return {name: creds for name, creds in self.tenants.items() if name in PRESET_TENANTS}

    def headers(self, tenant_name: str) -> dict[str, str]:
        """The headers every IES call of that tenant carries."""
        tenant = self.tenants[tenant_name]
        return {
            "X-Auth-Token": tenant["token"],
            "Authorization": f"Bearer {tenant['bearer']}",
            "Content-Type": "application/json",
        }

    def url(self, path: str) -> str:
        """``path`` relative to /rest ("/servicemanager/v1/services") as an absolute URL."""
        return self.base_url + path

    def call(self, method: str, path: str, tenant: str | None = None, **kwargs: Any) -> requests.Response:
        """One request to ``/rest{path}`` as ``tenant`` (no auth headers when None)."""
        headers = {**(self.headers(tenant) if tenant else {}), **kwargs.pop("headers", {})}
        kwargs.setdefault("timeout", 30)
        return self.http.request(method, self.url(path), headers=headers, **kwargs)

    def new_tenant(self, name: str) -> dict[str, str]:
        """A new empty tenant (idempotent by name): {"token", "bearer", "tenant_id"}."""
        answer = self.http.post(f"{self.base_url}/_sim/tenants", json={"name": name}, timeout=10)
        answer.raise_for_status()
        data = answer.json()
        self.tenants[name] = {"token": data["token"], "bearer": data["bearer"], "tenant_id": data["tenant_id"]}
        return self.tenants[name]

    def bulk_services(self, tenant: str, count: int, kind: str = "Site2DC", age_days: int = 0) -> int:
        answer = self.http.post(f"{self.base_url}/_sim/services/bulk",
                                json={"tenant": tenant, "count": count, "kind": kind, "age_days": age_days},
                                timeout=60)
        answer.raise_for_status()
        return int(answer.json()["created"])

    # -- faults -----------------------------------------------------------------------------------

    def add_fault(self, **rule: Any) -> str:
        """Add one fault rule (see docs/ies-simulator.md), e.g. ``add_fault(kind="latency", ms=500)``."""
        answer = self.http.post(f"{self.base_url}/_sim/faults", json=rule, timeout=10)
        answer.raise_for_status()
        return str(answer.json()["id"])

    def faults(self) -> list[dict[str, Any]]:
        answer = self.http.get(f"{self.base_url}/_sim/faults", timeout=10)
        answer.raise_for_status()
        return list(answer.json()["faults"])

    def remove_fault(self, fault_id: str) -> None:
        self.http.delete(f"{self.base_url}/_sim/faults/{fault_id}", timeout=10).raise_for_status()

    def clear_faults(self) -> None:
        self.http.delete(f"{self.base_url}/_sim/faults", timeout=10).raise_for_status()

    # -- load (docs/ies-simulator.md: a connection's traffic demand over a span) -------------------

    def add_load(self, **rule: Any) -> str:
        answer = self.http.post(f"{self.base_url}/_sim/traffic/load", json=rule, timeout=10)
        assert answer.status_code == 201, answer.text
        return str(answer.json()["id"])

    def clear_load(self) -> None:
        self.http.delete(f"{self.base_url}/_sim/traffic/load", timeout=10).raise_for_status()


def start_simulator(
    tmp_path: Path, time_scale: float = 600, env: Mapping[str, str] | None = None, *, port: int | None = None
) -> SimulatorHandle:
    """A started simulator of its own, data in ``tmp_path``; the caller stops it (or uses ``with``)."""
    tmp_path.mkdir(parents=True, exist_ok=True)
    data = tmp_path / f"ies-sim-{free_port()}.sqlite3"
    return SimulatorHandle(data, port=port, time_scale=time_scale, env=env).start()


@pytest.fixture(scope="session")
def simulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SimulatorHandle]:
    handle = SimulatorHandle(tmp_path_factory.mktemp("ies-simulator") / "ies-sim.sqlite3", time_scale=600)
    handle.start()
    try:
        yield handle
    finally:
        handle.stop()


@pytest.fixture
def sim(simulator: SimulatorHandle) -> SimulatorHandle:
    if not simulator.running:
        simulator.start()
    simulator.clear_faults()
    return simulator
