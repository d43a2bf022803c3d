"""Keeping the parsed rows in the session between preview and apply, the secrets encrypted."""

from collections.abc import Iterable
from dataclasses import asdict
from typing import Any

from portal.core import crypto
from portal.staff.importing.columns import SECRET_COLUMNS
from portal.staff.importing.parse import SheetRow


def rows_to_session(rows: Iterable[SheetRow]) -> list[dict[str, Any]]:
    """Plain data for the session, the secrets encrypted with the token key ring (never in clear)."""
    stored = []
    for row in rows:
        data = asdict(row)
        for key in SECRET_COLUMNS:
            data[key] = crypto.encrypt(data[key]) if data[key] else ""
        data["present"] = list(row.present)
        stored.append(data)
    return stored


def rows_from_session(stored: Iterable[dict[str, Any]]) -> list[SheetRow]:
    rows = []
    for data in stored:
        data = dict(data)
        for key in SECRET_COLUMNS:
            data[key] = crypto.decrypt(data[key]) if data[key] else ""
        data["present"] = tuple(data["present"])
        rows.append(SheetRow(**data))
    return rows
