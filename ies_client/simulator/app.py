"""The simulator's parts wired together: one object per process, shared by every request thread."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from . import presets
from .faults import FaultBook
from .load import LoadBook
from .operations import Clockwork
from .service_manager import ServiceManager
from .store import Store
from .tenants import Tenants


@dataclass(frozen=True, slots=True)
class Settings:
    host: str = "127.0.0.1"
    port: int = 17100
    time_scale: float = 1.0
    data: Path = Path(".run/ies-simulator.sqlite3")
    admin_key: str | None = None
    trust_loopback: bool = True


class Simulator:
    def __init__(self, settings: Settings, faults: FaultBook | None = None) -> None:
        self.settings = settings
        self.store = Store(settings.data)
        presets.load(self.store)
        self.faults = faults if faults is not None else FaultBook()
        self.load = LoadBook()
        self.clock = Clockwork(self.store, settings.time_scale)
        self.tenants = Tenants(self.store)
        self.services = ServiceManager(self.store, self.clock, self.faults)
        # Operations that came due while the simulator was stopped end now, at their own moment.
        self.clock.settle()
