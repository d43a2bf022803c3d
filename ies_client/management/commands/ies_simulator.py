"""``manage.py ies_simulator``: the IES simulator, with the same options as ``python -m ies_client.simulator``.

A thin wrapper: the simulator itself imports no Django and keeps its own SQLite file, so this
command needs neither the portal's database nor its system checks.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from ies_client.simulator.cli import add_arguments, run, settings_from


class Command(BaseCommand):
    help = "Run the IES simulator on http://HOST:PORT/rest (see docs/ies-simulator.md)."
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: CommandParser) -> None:
        add_arguments(parser)

    def handle(self, *args: Any, **options: Any) -> None:
        run(settings_from(options))
