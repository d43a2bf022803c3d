"""Switch rules kept in memory (faults, load): added with an id, listed, removed, cleared.

Thread-safe: every request of every thread consults them. A restart drops what the API added.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import ClassVar, Protocol


class HasId(Protocol):
    @property
    def id(self) -> str: ...


@dataclass
class RuleBook[R: HasId]:
    """The active rules, oldest first; ids are ``prefix`` and a counter ("f1", "l2")."""

    prefix: ClassVar[str] = "r"
    _rules: list[R] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _next_id: int = 1

    def _keep(self, make: Callable[[str], R]) -> R:
        """The rule ``make`` builds for the next id, kept."""
        with self._lock:
            rule = make(f"{self.prefix}{self._next_id}")
            self._next_id += 1
            self._rules.append(rule)
            return rule

    def remove(self, rule_id: str) -> bool:
        with self._lock:
            before = len(self._rules)
            self._rules = [r for r in self._rules if r.id != rule_id]
            return len(self._rules) != before

    def clear(self) -> None:
        with self._lock:
            self._rules.clear()

    def rules(self) -> list[R]:
        with self._lock:
            return list(self._rules)
