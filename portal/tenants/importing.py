"""Import and export of the deck's preset table: which users belong to which IES tenant.

The sheet has one row per tenant (or per tenant and role): users, tenant, token, kind, service id,
service name, CloudVpnName, recommended scenarios; optionally bearer and role. Header names may be
English or Chinese (用户/租户/Token/类型/业务ID/业务名称/CloudVpnName/推荐场景); a cell such as
"User 2~User 4" stands for user2, user3 and user4.

The steps are separate so that a person sees what will happen before it does:

1. `read_upload` turns the file into rows of text (or a `SheetError` saying why it cannot);
2. `parse_table` validates every cell and gives `SheetRow`s plus `CellError`s (row and column);
3. `build_plan` compares the rows with the database: create, update or unchanged, per row;
4. `apply_rows` does it, all in one transaction, recording each change in the audit trail.

Between preview and apply the rows wait in the session with the secrets encrypted
(`rows_to_session`); neither the file nor a token is ever sent back to the browser.

Spreadsheet safety: a cell that starts with = + - @ (a formula to Excel) is refused on import, except
that opaque ids and tokens may start with + or -; the export neutralises such cells with a leading
apostrophe, which the import removes again, so that a round trip is lossless.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
import unicodedata
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field, replace
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.validators import UnicodeUsernameValidator
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import HttpRequest
from django.utils.translation import gettext as _

from ies_client.redact import register_secret
from portal.audit.exporting import spreadsheet_safe
from portal.audit.models import Outcome
from portal.audit.services import audit_record
from portal.core import crypto
from portal.core.natural import natural_sorted
from portal.tenants import services
from portal.tenants.models import Membership, Role, Scenario, Tenant

MAX_UPLOAD_BYTES = 5 * 1024 * 1024
# An xlsx is a zip: refuse one that would unpack to far more than any preset table needs.
MAX_UNPACKED_BYTES = 50 * 1024 * 1024
MAX_ROWS = 2000
MAX_COLUMNS = 30
MAX_CELL_CHARS = 8192
MAX_USERS_PER_CELL = 500
MAX_SECRET_CHARS = 8192

# Column keys, in the order of the deck's table (bearer and role are the portal's additions).
COLUMNS = ("users", "tenant", "token", "bearer", "kind", "service_id", "service_name", "cloud_vpn_name",
           "scenarios", "role")
REQUIRED_COLUMNS = ("users", "tenant")
# Values that are opaque (base64-ish): they may legitimately start with + or -.
OPAQUE_COLUMNS = ("token", "bearer", "service_id")
SECRET_COLUMNS = ("token", "bearer")
TENANT_COLUMNS = ("kind", "service_id", "service_name", "cloud_vpn_name", "scenarios")

HEADER_ALIASES: dict[str, tuple[str, ...]] = {
    "users": ("user", "users", "username", "usernames", "用户", "用户名", "测试用户", "账号", "帐号"),
    # The deck prints "IES Tenant name" and "IES Tenant Token".
    "tenant": ("tenant", "iestenant", "tenantname", "iestenantname", "租户", "ies租户", "租户名", "租户名称",
               "ies租户名", "ies租户名称"),
    "token": ("token", "xauthtoken", "authtoken", "iestoken", "tenanttoken", "iestenanttoken", "令牌",
              "租户令牌", "ies令牌", "ies租户令牌", "租户token", "ies租户token"),
    "bearer": ("bearer", "bearertoken"),
    # The deck's "CloudVPN" column holds the kind (Site2Site / Site2DC); its CloudVpnName has a column of its own.
    "kind": ("kind", "type", "servicekind", "servicetype", "cloudvpn", "cloudvpntype", "cloudvpn类型", "类型",
             "业务类型"),
    "service_id": ("serviceid", "业务id", "服务id"),
    "service_name": ("servicename", "业务名称", "服务名称", "业务名"),
    "cloud_vpn_name": ("cloudvpnname", "vpnname", "cloudvpn名称"),
    "scenarios": ("scenarios", "scenario", "recommendedscenarios", "recommendedscenario", "推荐场景", "场景",
                  "适用场景", "推荐使用场景"),
    "role": ("role", "角色"),
}
IGNORED_HEADERS = ("notes", "note", "comment", "comments", "备注", "说明")

EXPORT_HEADERS = {
    "en": {"users": "Users", "tenant": "Tenant", "token": "Token", "kind": "Kind", "service_id": "Service ID",
           "service_name": "Service name", "cloud_vpn_name": "CloudVpnName", "scenarios": "Recommended scenarios",
           "role": "Role"},
    "zh": {"users": "用户", "tenant": "租户", "token": "Token", "kind": "类型", "service_id": "业务ID",
           "service_name": "业务名称", "cloud_vpn_name": "CloudVpnName", "scenarios": "推荐场景", "role": "角色"},
}
EXPORT_COLUMNS = ("users", "tenant", "token", "kind", "service_id", "service_name", "cloud_vpn_name", "scenarios",
                  "role")
SCENARIO_WORDS = {
    Scenario.CREATE: ("create & activate", "create&activate", "create and activate", "create", "创建&激活",
                      "创建并激活", "创建和激活", "创建", "create_activate"),
    Scenario.SCALE: ("scale", "elastic scaling", "scaling", "elastic scale", "弹性扩展", "弹性伸缩", "扩展", "扩容"),
}
SCENARIO_EXPORT = {"en": {Scenario.CREATE: "create & activate", Scenario.SCALE: "scale"},
                   "zh": {Scenario.CREATE: "创建&激活", Scenario.SCALE: "弹性扩展"}}
ROLE_WORDS = {
    Role.MEMBER: ("member", "成员", "tenant member", "order and manage"),
    Role.VIEWER: ("viewer", "read-only", "readonly", "read only", "只读", "查看者", "观察者"),
}
KINDS = {"site2dc": "Site2DC", "site2site": "Site2Site"}

_HEADER_NOISE = re.compile(r"[\s_()（）\[\]【】/:：\-.·,，'\"“”‘’*#?？!！]+")
_LIST_SPLIT = re.compile(r"[,，、;；\n]+")
_RANGE_SPLIT = re.compile(r"\s*[~～–—]\s*")
_NUMBERED = re.compile(r"^(.*?)(\d+)$")
_PRESET_USER = re.compile(r"^(?:user|用户)\s*(\d+)$", re.IGNORECASE)
_TENANT_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,63}$")
_NO_SPACE = re.compile(r"^\S+$")
_FORMULA_START = ("=", "+", "-", "@")
QUOTE_CHARS = 40
# A single word longer than this is not quoted at all (it would fill the message), only described.
QUOTE_WORD_MAX = 80
# Columns whose value is one word: a line break inside is where a slide or a narrow cell wrapped it.
ONE_LINE_COLUMNS = ("tenant", "token", "bearer", "kind", "service_id", "service_name", "cloud_vpn_name", "role")
_QUOTE_CHARS = "\"“”„«»「」『』"
_QUOTES = re.compile(rf"[{_QUOTE_CHARS}]([^{_QUOTE_CHARS}]+)[{_QUOTE_CHARS}]")
_WRAPPED_RANGE = re.compile(r"(?i)(user|用户)[ \t]*[\r\n\x0b]+[ \t]*(?=\d)|(?<=[~～])[ \t]*[\r\n\x0b]+[ \t]*")


def quote_value(value: str, limit: int = QUOTE_CHARS) -> str:
    """`value` for a message, between “ ”: whole, or cut at a word boundary with "…", never mid-word."""
    text = " ".join(value.split())
    if len(text) <= limit:
        return f"“{text}”"
    cut = text.rfind(" ", 0, limit + 1)
    if cut > 0:
        return f"“{text[:cut].rstrip(' ,;&')}…”"
    first = text.split(" ", 1)[0]
    if len(first) <= QUOTE_WORD_MAX:
        return f"“{first}”" + ("" if first == text else "…")
    return _("a value of %(count)s characters") % {"count": len(text)}


class SheetError(Exception):
    """The file as a whole cannot be used (not a spreadsheet, too big, wrong columns, empty)."""


@dataclass(frozen=True)
class CellError:
    row: int
    column: str  # spreadsheet letter, e.g. "C"; empty for a whole-row error
    header: str
    message: str

    def __str__(self) -> str:
        if self.column:
            return _("Row %(row)s, column %(column)s (%(header)s): %(message)s") % {
                "row": self.row, "column": self.column, "header": self.header, "message": self.message}
        return _("Row %(row)s: %(message)s") % {"row": self.row, "message": self.message}


@dataclass
class SheetRow:
    """One validated row. `present` names the columns the sheet has: an absent column changes nothing."""

    number: int
    tenant: str
    users: list[str] = field(default_factory=list)
    token: str = ""
    bearer: str = ""
    kind: str = ""
    service_id: str = ""
    service_name: str = ""
    cloud_vpn_name: str = ""
    scenarios: list[str] = field(default_factory=list)
    role: str = ""
    present: tuple[str, ...] = ()


@dataclass
class ParsedSheet:
    rows: list[SheetRow]
    errors: list[CellError]
    columns: tuple[str, ...]


# -- reading files ---------------------------------------------------------------------------------


def column_letter(index: int) -> str:
    """0 → A, 25 → Z, 26 → AA."""
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)


def _xlsx_rows(data: bytes) -> Iterator[list[str]]:
    from openpyxl import load_workbook
    from openpyxl.utils.exceptions import InvalidFileException

    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            if sum(info.file_size for info in archive.infolist()) > MAX_UNPACKED_BYTES:
                raise SheetError(_("The spreadsheet unpacks to more than %(mb)s MB: too large to import.")
                                 % {"mb": MAX_UNPACKED_BYTES // (1024 * 1024)})
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=False)
    except SheetError:
        raise
    except (zipfile.BadZipFile, InvalidFileException, KeyError, OSError, ValueError, TypeError) as exc:
        raise SheetError(_("This file is not a readable .xlsx spreadsheet.")) from exc
    except Exception as exc:  # openpyxl raises many kinds of errors on a damaged file
        raise SheetError(_("This file is not a readable .xlsx spreadsheet.")) from exc
    try:
        sheet = workbook.worksheets[0] if workbook.worksheets else None
        if sheet is None:
            return
        try:
            for row in sheet.iter_rows(max_col=MAX_COLUMNS, values_only=True):
                yield [_text(value) for value in row]
        except SheetError:
            raise
        except Exception as exc:
            raise SheetError(_("This file is not a readable .xlsx spreadsheet.")) from exc
    finally:
        workbook.close()


def _csv_rows(data: bytes) -> Iterator[list[str]]:
    if b"\x00" in data[:4096]:
        raise SheetError(_("This file is not a CSV text file."))
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            text = data.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:  # pragma: no cover - gb18030 decodes almost anything
        raise SheetError(_("This CSV file is neither UTF-8 nor GB18030 text."))
    return _text_rows(text)


def _text_rows(text: str) -> Iterator[list[str]]:
    # The delimiter is read off the header line alone: column names hold no comma, while cells
    # (scenarios "create & activate; scale", user lists) may hold any of them.
    first_line = text.lstrip("\r\n").split("\n", 1)[0]
    delimiter = max(",;\t", key=first_line.count) if any(c in first_line for c in ",;\t") else ","
    try:
        for row in csv.reader(io.StringIO(text, newline=""), delimiter=delimiter):
            yield row[:MAX_COLUMNS]
    except csv.Error as exc:
        raise SheetError(_("This CSV file cannot be read: %(reason)s") % {"reason": exc}) from exc


def _unwrapped(rows: Iterator[list[str]]) -> Iterator[list[str]]:
    """Rows of pasted text with a cell's line breaks put back inside the cell.

    A table copied out of a presentation arrives as tab-separated lines where a cell of several
    lines (a wrapped token, the scenario sentence) is not quoted: its next line shows up as a short
    row. A row with fewer cells than the header continues on the next line."""
    width = 0
    pending: list[str] | None = None
    for row in rows:
        if not width:
            width = len(row)
            yield row
            continue
        if not any(cell.strip() for cell in row):
            continue  # a blank line between rows or inside a wrapped cell
        if pending is None:
            pending = row
        else:
            pending = [*pending[:-1], pending[-1] + "\n" + (row[0] if row else ""), *row[1:]]
        if len(pending) >= width:
            yield pending
            pending = None
    if pending is not None:
        yield pending


def read_pasted(text: str) -> list[tuple[int, list[str]]]:
    """Rows of a table pasted as text (from a slide, a spreadsheet or a CSV file), as `read_upload`."""
    if len(text.encode()) > MAX_UPLOAD_BYTES:
        raise SheetError(_("The pasted text is larger than %(mb)s MB: too large to import.")
                         % {"mb": MAX_UPLOAD_BYTES // (1024 * 1024)})
    if not text.strip():
        raise SheetError(_("The pasted text is empty."))
    text = text.replace("\x0b", "\n")  # PowerPoint's line break inside a cell
    first_line = text.lstrip("\r\n").split("\n", 1)[0]
    rows = _text_rows(text)
    if "\t" in first_line:
        rows = _unwrapped(rows)
    return _collect(rows)


def read_upload(*, name: str, data: bytes) -> list[tuple[int, list[str]]]:
    """The file's non-blank rows as (row number in the sheet, cells as text), header first.

    Stops reading as soon as a limit is passed, so a huge file costs no more than a big one."""
    if len(data) > MAX_UPLOAD_BYTES:
        raise SheetError(_("The file is larger than %(mb)s MB: too large to import.")
                         % {"mb": MAX_UPLOAD_BYTES // (1024 * 1024)})
    if not data.strip():
        raise SheetError(_("The file is empty."))
    lowered = name.lower()
    if lowered.endswith(".xlsx"):
        source = _xlsx_rows(data)
    elif lowered.endswith(".csv"):
        source = _csv_rows(data)
    else:
        raise SheetError(_("Upload an .xlsx or a .csv file."))
    return _collect(source)


def _collect(source: Iterable[list[str]]) -> list[tuple[int, list[str]]]:
    rows: list[tuple[int, list[str]]] = []
    seen = 0
    for row in source:
        seen += 1
        if seen > MAX_ROWS * 10:  # even blank rows cost time: bound the loop itself
            raise _too_many_rows()
        if any(cell.strip() for cell in row):
            rows.append((seen, row))
            if len(rows) > MAX_ROWS + 1:  # + the header
                raise _too_many_rows()
    if not rows:
        raise SheetError(_("The file is empty."))
    return rows


def _too_many_rows() -> SheetError:
    return SheetError(_("The file has more than %(max)s rows: import at most %(max)s rows at a time.")
                      % {"max": f"{MAX_ROWS:,}"})


# -- parsing and validating ------------------------------------------------------------------------


def _header_key(header: str) -> str | None:
    # NFKC folds full-width letters (Ｔｏｋｅｎ) typed with a Chinese input method into plain ones.
    normal = _HEADER_NOISE.sub("", unicodedata.normalize("NFKC", header).strip().casefold())
    for key, aliases in HEADER_ALIASES.items():
        if normal in aliases:
            return key
    if normal in IGNORED_HEADERS or not normal:
        return ""
    return None


# A column title is a few words; a long single word in the first row is data (a token, when the
# header row is missing), and a message (shown, and kept in the audit log) must never repeat it.
TITLE_WORD_MAX = 16


def _quote_title(title: str) -> str:
    words = title.split()
    if len(words) == 1 and len(words[0]) > TITLE_WORD_MAX:
        return _("(a value of %(count)s characters: is the row naming the columns missing?)") % {
            "count": len(words[0])}
    return quote_value(title)


def map_headers(header: list[str]) -> dict[int, str]:
    """Column index → column key; SheetError naming unknown, duplicate or missing columns."""
    mapping: dict[int, str] = {}
    problems: list[str] = []
    for index, title in enumerate(header):
        key = _header_key(title)
        if key is None:
            problems.append(_("unknown column %(column)s %(title)s")
                            % {"column": column_letter(index), "title": _quote_title(title)})
        elif key:
            if key in mapping.values():
                problems.append(_("column %(column)s repeats %(title)s")
                                % {"column": column_letter(index), "title": _quote_title(title)})
            mapping[index] = key
    missing = [key for key in REQUIRED_COLUMNS if key not in mapping.values()]
    if missing:
        problems.append(_("missing column(s): %(columns)s")
                        % {"columns": ", ".join(EXPORT_HEADERS["en"][k] + " / " + EXPORT_HEADERS["zh"][k]
                                                for k in missing)})
    if problems:
        raise SheetError(_("The first row must name the columns. %(problems)s.")
                         % {"problems": "; ".join(problems)})
    return mapping


def unneutralise(value: str) -> str:
    """Undo the export's protection: "'=x" back to "=x" (which validation then judges)."""
    if len(value) > 1 and value[0] == "'" and value[1] in _FORMULA_START:
        return value[1:]
    return value


def normalise_username(raw: str) -> str:
    value = raw.strip()
    match = _PRESET_USER.match(value)
    return f"user{int(match.group(1))}" if match else value


def expand_users(cell: str) -> list[str]:
    """ "User 1" → [user1]; "User 2~User 4" → [user2, user3, user4]; "a, b、c" → [a, b, c].

    Raises ValueError with a readable reason.
    """
    names: list[str] = []
    # "User 2~User ⏎ 4" as a slide wraps it is still one range.
    cell = _WRAPPED_RANGE.sub(lambda m: (m.group(1) + " ") if m.group(1) else "", cell)
    for item in _LIST_SPLIT.split(cell):
        item = item.strip()
        if not item:
            continue
        ends = _RANGE_SPLIT.split(item)
        if len(ends) == 1:
            names.append(normalise_username(item))
            continue
        if len(ends) != 2:
            raise ValueError(_("%(item)s is not a range like User 2~User 4.") % {"item": quote_value(item)})
        first = _NUMBERED.match(normalise_username(ends[0]))
        last_raw = ends[1].strip()
        last = _NUMBERED.match(last_raw if last_raw.isdigit() else normalise_username(last_raw))
        if not first or not last:
            raise ValueError(_("%(item)s is not a range like User 2~User 4.") % {"item": quote_value(item)})
        prefix, low, high = first.group(1), int(first.group(2)), int(last.group(2))
        if not last_raw.isdigit() and last.group(1) != prefix:
            raise ValueError(_("The two ends of %(item)s have different names.") % {"item": quote_value(item)})
        if high < low:
            raise ValueError(_("The range %(item)s runs backwards.") % {"item": quote_value(item)})
        if high - low + 1 > MAX_USERS_PER_CELL:
            raise ValueError(_("The range %(item)s has more than %(max)s users.")
                             % {"item": quote_value(item), "max": MAX_USERS_PER_CELL})
        width = len(first.group(2)) if first.group(2).startswith("0") else 0
        names.extend(f"{prefix}{str(n).zfill(width)}" for n in range(low, high + 1))
    unique = list(dict.fromkeys(names))
    if len(unique) > MAX_USERS_PER_CELL:
        raise ValueError(_("More than %(max)s users in one cell.") % {"max": MAX_USERS_PER_CELL})
    validator = UnicodeUsernameValidator()
    for name in unique:
        if len(name) > 150 or not (name[0].isalnum() or name[0] == "_"):
            raise ValueError(_("%(name)s is not a valid user name.") % {"name": quote_value(name)})
        try:
            validator(name)
        except ValidationError:
            raise ValueError(_("%(name)s is not a valid user name.") % {"name": quote_value(name)}) from None
    return unique


def _choice(value: str, words: dict[str, tuple[str, ...]]) -> str | None:
    normal = re.sub(r"\s+", " ", value.strip().lower())
    for key, accepted in words.items():
        if normal in accepted or normal == str(key):
            return str(key)
    return None


# The words that give a scenario away inside a sentence such as the deck's
# Support "Create & activate CloudVPN service" and "Elastically scale CloudVPN network " scenarios.
SCENARIO_HINTS = {
    Scenario.CREATE: re.compile(r"\bcreat|创建|开通"),
    Scenario.SCALE: re.compile(r"\bscal|\belastic|弹性|扩展|扩容|伸缩"),
}


def _scenarios_in(phrase: str) -> list[str]:
    normal = " ".join(phrase.casefold().split())
    return [str(key) for key, hint in SCENARIO_HINTS.items() if hint.search(normal)]


def parse_scenarios(cell: str) -> list[str]:
    """ "create & activate; scale" (the export), or the deck's sentence with its quoted scenario names.

    Raises ValueError naming the part that is not a scenario."""
    items = [item for item in _LIST_SPLIT.split(cell) if item.strip()]
    listed = [_choice(item, SCENARIO_WORDS) for item in items]
    keys: list[str] = [key for key in listed if key]
    text = " ".join(cell.split())
    # A list with one unknown item ("create; scael") is a typo to refuse, not a sentence to skim.
    sentence = not keys or any(char in _QUOTE_CHARS for char in text)
    if len(keys) < len(listed) and not sentence:
        unknown = next(item for item, key in zip(items, listed, strict=True) if not key)
        raise ValueError(_("Unknown scenario %(item)s (expected: create & activate, scale).")
                         % {"item": quote_value(unknown)})
    if len(keys) < len(listed):
        # A sentence: each quoted name must be a scenario; the words around them ("Support … and …
        # scenarios") are not judged. A copy may have lost a pair of quotes (a cell that starts with
        # one is read as a quoted cell), so the hints are taken from the whole text.
        for phrase in _QUOTES.findall(text):
            if len(_scenarios_in(phrase)) != 1:
                raise ValueError(_("Unknown scenario %(item)s (expected: create & activate, scale).")
                                 % {"item": quote_value(phrase)})
        keys = _scenarios_in(text)
        if not keys:
            unknown = next(item for item, key in zip(items, listed, strict=True) if not key)
            raise ValueError(_("Unknown scenario %(item)s (expected: create & activate, scale).")
                             % {"item": quote_value(unknown)})
    return [key for key in Scenario.values if key in keys]  # a stable order for comparisons


def check_cell(key: str, value: str) -> str | None:
    """Why this cell is refused, or None. Formulas first: nothing that a spreadsheet would run."""
    if value.startswith("="):
        return _("Formulas are not accepted; enter the value itself.")
    if value.startswith(_FORMULA_START) and not (key in OPAQUE_COLUMNS and value[0] in "+-"):
        return _("A value may not start with %(char)s (a spreadsheet would run it as a formula).") % {
            "char": value[0]}
    if len(value) > MAX_CELL_CHARS:
        return _("The value is longer than %(max)s characters.") % {"max": MAX_CELL_CHARS}
    return None


def parse_table(table: list[tuple[int, list[str]]]) -> ParsedSheet:
    """Validate every cell of `table` ((row number, cells), header first, as from `read_upload`)."""
    header, body = table[0][1], table[1:]
    mapping = map_headers(header)
    titles = {index: header[index].strip() for index in mapping}
    present = tuple(key for key in COLUMNS if key in mapping.values())
    if not body:
        raise SheetError(_("The file has column names but no rows."))
    rows: list[SheetRow] = []
    errors: list[CellError] = []
    # Errors and the preview name rows as the spreadsheet numbers them (blank rows included).
    for offset, raw in body:
        row_errors: list[CellError] = []

        def fail(index: int, message: str, *, _offset=offset, _errors=row_errors) -> None:
            _errors.append(CellError(_offset, column_letter(index), titles.get(index, ""), message))

        values: dict[str, str] = {}
        refused: set[str] = set()  # columns already reported: no second message for the same cell
        for index, cell in enumerate(raw):
            key = mapping.get(index)
            value = unneutralise(cell.replace("\x0b", "\n").strip())
            if key in ONE_LINE_COLUMNS:
                # A token or a name that a slide wrapped over several lines is one value again.
                value = re.sub(r"[ \t]*[\r\n]+[ \t]*", "", value)
            if key is None:
                if value and (index >= len(header) or not header[index].strip()):
                    fail(index, _("This column has no name in the first row."))
                continue
            if not key:
                continue
            problem = check_cell(key, value)
            if problem:
                fail(index, problem)
                refused.add(key)
                continue
            values[key] = value
        index_of = {key: index for index, key in mapping.items()}
        row = SheetRow(number=offset, tenant=values.get("tenant", ""), present=present)
        if "tenant" in refused:
            pass
        elif not row.tenant:
            fail(index_of["tenant"], _("Enter the IES tenant name."))
        elif not _TENANT_NAME.match(row.tenant):
            fail(index_of["tenant"], _("A tenant name has letters, digits, _ . - only (at most 64)."))
        try:
            row.users = expand_users(values.get("users", ""))
        except ValueError as exc:
            if "users" not in refused:
                fail(index_of["users"], str(exc))
        for key in SECRET_COLUMNS:
            secret = values.get(key, "")
            if secret and (len(secret) > MAX_SECRET_CHARS or not _NO_SPACE.match(secret)
                           or not secret.isprintable()):
                fail(index_of[key], _("A token is one word of printable characters, without spaces."))
            else:
                register_secret(secret)
                setattr(row, key, secret)
        if values.get("kind"):
            kind = KINDS.get(values["kind"].lower().replace("-", "").replace(" ", ""))
            if kind is None:
                fail(index_of["kind"], _("The kind is Site2DC or Site2Site."))
            else:
                row.kind = kind
        for key, limit in (("service_id", 64), ("cloud_vpn_name", 64)):
            value = values.get(key, "")
            if value and (len(value) > limit or not _NO_SPACE.match(value)):
                fail(index_of[key], _("At most %(max)s characters, without spaces.") % {"max": limit})
            else:
                setattr(row, key, value)
        if len(values.get("service_name", "")) > 255:
            fail(index_of["service_name"], _("At most %(max)s characters.") % {"max": 255})
        else:
            row.service_name = values.get("service_name", "")
        if values.get("scenarios"):
            try:
                row.scenarios = parse_scenarios(values["scenarios"])
            except ValueError as exc:
                fail(index_of["scenarios"], str(exc))
        if values.get("role"):
            role = _choice(values["role"], ROLE_WORDS)
            if role is None:
                fail(index_of["role"], _("The role is member or viewer."))
            else:
                row.role = role
        errors.extend(row_errors)
        if not row_errors:
            rows.append(row)
    errors.extend(_cross_row_errors(rows))
    return ParsedSheet(rows=rows, errors=errors, columns=present)


def _cross_row_errors(rows: list[SheetRow]) -> list[CellError]:
    """A tenant listed on several rows must be described the same way on each; a user may not get
    two roles in one tenant."""
    errors: list[CellError] = []
    first_of: dict[str, SheetRow] = {}
    roles: dict[tuple[str, str], tuple[str, int]] = {}
    for row in rows:
        earlier = first_of.setdefault(row.tenant, row)
        if earlier is not row:
            for key in TENANT_COLUMNS:
                if getattr(row, key) != getattr(earlier, key):
                    errors.append(CellError(row.number, "", "", _(
                        "Tenant %(tenant)s is also on row %(other)s with a different %(column)s.")
                        % {"tenant": row.tenant, "other": earlier.number, "column": EXPORT_HEADERS["en"][key]}))
            for key in SECRET_COLUMNS:
                if getattr(row, key) and getattr(earlier, key) and getattr(row, key) != getattr(earlier, key):
                    errors.append(CellError(row.number, "", "", _(
                        "Tenant %(tenant)s is also on row %(other)s with a different %(column)s.")
                        % {"tenant": row.tenant, "other": earlier.number, "column": key}))
                elif getattr(row, key) and not getattr(earlier, key):
                    setattr(earlier, key, getattr(row, key))
        for username in row.users:
            role, number = roles.setdefault((row.tenant, username), (row.role, row.number))
            if role != row.role:
                errors.append(CellError(row.number, "", "", _(
                    "User %(user)s is also on row %(other)s for tenant %(tenant)s, with another role.")
                    % {"user": username, "other": number, "tenant": row.tenant}))
    return errors


# -- planning --------------------------------------------------------------------------------------

CREATE, UPDATE, UNCHANGED = "create", "update", "unchanged"


@dataclass
class UserChange:
    username: str
    user: str  # create / unchanged
    membership: str  # create / update / unchanged
    role: str
    old_role: str = ""


@dataclass
class SecretReplacement:
    """A stored token (or bearer) that the file would overwrite with a different one: only the
    lengths and last four characters, which the portal shows anyway, never the values."""

    key: str  # token / bearer
    old_last4: str
    old_length: int
    new_last4: str
    new_length: int


@dataclass
class RowPlan:
    number: int
    tenant: str
    tenant_action: str
    tenant_fields: list[str] = field(default_factory=list)
    secrets: list[str] = field(default_factory=list)  # which secrets are set or replaced
    users: list[UserChange] = field(default_factory=list)
    # Secrets in `secrets` that replace a stored working one: applied only when the admin ticks
    # "replace" for this tenant (a deck's shortened token would otherwise silently break it).
    replaces: list[SecretReplacement] = field(default_factory=list)

    @property
    def tenant_field_labels(self) -> list[str]:
        """The changed fields as a person reads them ("reference service name", not ref_service_name)."""
        return [str(Tenant._meta.get_field(name).verbose_name) for name in self.tenant_fields]

    @property
    def action(self) -> str:
        if self.tenant_action == CREATE:
            return CREATE
        if self.tenant_action == UPDATE or self.secrets or any(
                u.user != UNCHANGED or u.membership != UNCHANGED for u in self.users):
            return UPDATE
        return UNCHANGED


@dataclass
class Plan:
    rows: list[RowPlan]
    tenants: dict[str, str] = field(default_factory=dict)  # tenant name → create / update / unchanged

    def count(self, what: str, action: str) -> int:
        if what == "tenants":
            return sum(1 for value in self.tenants.values() if value == action)
        if what == "users":
            return len({u.username for r in self.rows for u in r.users if u.user == action})
        if what == "memberships":
            return len({(r.tenant, u.username) for r in self.rows for u in r.users if u.membership == action})
        if what == "rows":
            return sum(1 for r in self.rows if r.action == action)
        raise ValueError(what)

    @property
    def summary(self) -> dict[str, dict[str, int]]:
        return {what: {action: self.count(what, action) for action in (CREATE, UPDATE, UNCHANGED)}
                for what in ("rows", "tenants", "users", "memberships")}

    @property
    def changes_anything(self) -> bool:
        return any(r.action != UNCHANGED for r in self.rows)

    @property
    def tenants_losing_credentials(self) -> list[str]:
        """Tenants whose stored (working) token or bearer the file would replace."""
        return list(dict.fromkeys(r.tenant for r in self.rows if r.replaces))

    def without_replacements(self, *, allowed: Iterable[str]) -> Plan:
        """This plan with the stored credentials kept for every tenant not in `allowed`."""
        allowed = set(allowed)
        rows = []
        for row in self.rows:
            if row.replaces and row.tenant not in allowed:
                kept = {r.key for r in row.replaces}
                row = replace(row, secrets=[key for key in row.secrets if key not in kept], replaces=[])
            rows.append(row)
        return Plan(rows=rows, tenants=_tenant_actions(rows))

    @property
    def digest(self) -> str:
        """A fingerprint of what will change (no secret in it): apply refuses a plan that differs
        from the one the admin previewed."""
        return hashlib.sha256(json.dumps([asdict(r) for r in self.rows], sort_keys=True).encode()).hexdigest()


def _tenant_values(row: SheetRow) -> dict[str, Any]:
    """The tenant fields this row sets: only the columns the sheet has."""
    names = {"kind": "ref_kind", "service_id": "ref_service_id", "service_name": "ref_service_name",
             "cloud_vpn_name": "ref_cloud_vpn_name", "scenarios": "scenarios"}
    return {names[key]: getattr(row, key) for key in TENANT_COLUMNS if key in row.present}


def _secret_changes(tenant: Tenant | None, row: SheetRow) -> tuple[list[str], list[SecretReplacement]]:
    """Which secrets of `row` differ from the stored ones, and which of those overwrite a stored one."""
    changes: list[str] = []
    replacements: list[SecretReplacement] = []
    for key, stored_field in (("token", "token_encrypted"), ("bearer", "bearer_encrypted")):
        new = getattr(row, key)
        if not new:
            continue
        stored = getattr(tenant, stored_field) if tenant else ""
        try:
            old = crypto.decrypt(stored) if stored else ""
        except crypto.TokenDecryptionError:
            old = ""  # unreadable with today's keys: it works for nobody, replacing it breaks nothing
        if old == new:
            continue
        changes.append(key)
        if old:
            replacements.append(SecretReplacement(key=key, old_last4=old[-4:], old_length=len(old),
                                                  new_last4=new[-4:], new_length=len(new)))
    return changes, replacements


def build_plan(rows: list[SheetRow]) -> Plan:
    """What applying `rows` would change, read from the database now (a few queries in all)."""
    tenants = {t.name: t for t in Tenant.objects.filter(name__in={r.tenant for r in rows})}
    usernames = {u for r in rows for u in r.users}
    users = set(get_user_model().objects.filter(username__in=usernames).values_list("username", flat=True))
    memberships = {(m.tenant.name, m.user.username): m.role for m in Membership.objects.filter(
        tenant__name__in=tenants.keys(), user__username__in=usernames).select_related("tenant", "user")}
    plans: list[RowPlan] = []
    seen_tenants: set[str] = set()
    seen_secrets: set[tuple[str, str]] = set()
    for row in rows:
        tenant = tenants.get(row.tenant)
        values = _tenant_values(row)
        if row.tenant in seen_tenants:
            action, changed = UNCHANGED, []  # the first row of this tenant carries its changes
        elif tenant is None:
            action, changed = CREATE, sorted(values)
        else:
            changed = [name for name, value in values.items() if getattr(tenant, name) != value]
            action = UPDATE if changed else UNCHANGED
        seen_tenants.add(row.tenant)
        changes, replacements = _secret_changes(tenant, row)
        secrets = [key for key in changes if (row.tenant, key) not in seen_secrets]
        seen_secrets.update((row.tenant, key) for key in secrets)
        plan = RowPlan(number=row.number, tenant=row.tenant, tenant_action=action, tenant_fields=changed,
                       secrets=secrets, replaces=[r for r in replacements if r.key in secrets])
        for username in row.users:
            old_role = memberships.get((row.tenant, username), "")
            role = row.role or old_role or Role.MEMBER
            if not old_role:
                membership = CREATE
            elif old_role != role:
                membership = UPDATE
            else:
                membership = UNCHANGED
            plan.users.append(UserChange(username=username, user=UNCHANGED if username in users else CREATE,
                                         membership=membership, role=role, old_role=old_role))
        plans.append(plan)
    # A user new to the portal is created once, by the first row naming them.
    created: set[str] = set()
    for plan in plans:
        for change in plan.users:
            if change.user == CREATE:
                if change.username in created:
                    change.user = UNCHANGED
                created.add(change.username)
    return Plan(rows=plans, tenants=_tenant_actions(plans))


def _tenant_actions(rows: list[RowPlan]) -> dict[str, str]:
    actions: dict[str, str] = {}
    for row in rows:
        action = UPDATE if row.secrets and row.tenant_action == UNCHANGED else row.tenant_action
        actions[row.tenant] = _stronger(actions.get(row.tenant, UNCHANGED), action)
    return actions


def _stronger(a: str, b: str) -> str:
    order = (UNCHANGED, UPDATE, CREATE)
    return max(a, b, key=order.index)


# -- applying --------------------------------------------------------------------------------------


class PlanChanged(Exception):
    """The database changed between preview and apply: the admin must look at the new preview."""


def apply_rows(*, rows: list[SheetRow], actor, request: HttpRequest | None = None, filename: str = "",
               expected_digest: str | None = None, new_user_password: str | None = None,
               replace_credentials_of: Iterable[str] = ()) -> Plan:
    """Apply every row in one transaction: all of it, or (on any error) nothing.

    `replace_credentials_of`: the tenants whose stored token or bearer the admin agreed to replace;
    every other tenant keeps its stored ones (the rest of its row is applied).
    `expected_digest`: the previewed plan's `digest`; if the plan computed now differs (someone
    changed a tenant meanwhile), nothing is applied and PlanChanged is raised.
    `new_user_password`: the first password of every user the import creates (the admin hands it
    out; each user can be given their own later), so that an imported portal can be logged into.
    """
    user_model = get_user_model()
    try:
        with transaction.atomic():
            plan = build_plan(rows)
            if expected_digest is not None and plan.digest != expected_digest:
                raise PlanChanged()
            plan = plan.without_replacements(allowed=replace_credentials_of)
            by_number = {row.number: row for row in rows}
            tenants: dict[str, Tenant] = {t.name: t for t in Tenant.objects.select_for_update().filter(
                name__in={r.tenant for r in rows})}
            for step in plan.rows:
                row = by_number[step.number]
                tenant = tenants.get(row.tenant)
                if step.tenant_action == CREATE:
                    tenant = services.tenant_create(actor=actor, request=request, name=row.tenant,
                                                    **_tenant_values(row))
                    tenants[row.tenant] = tenant
                elif step.tenant_action == UPDATE:
                    assert tenant is not None
                    services.tenant_update(tenant=tenant, actor=actor, request=request,
                                           **{name: _tenant_values(row)[name] for name in step.tenant_fields})
                assert tenant is not None
                if step.secrets:
                    services.tenant_credentials_replace(tenant=tenant, actor=actor, request=request,
                                                        **{key: getattr(row, key) for key in step.secrets})
                for change in step.users:
                    if change.user == CREATE:
                        user = services.user_create(actor=actor, request=request, username=change.username,
                                                    password=new_user_password)
                    else:
                        user = user_model.objects.get(username=change.username)
                    if change.membership != UNCHANGED:
                        services.membership_add(user=user, tenant=tenant, role=change.role, actor=actor,
                                                request=request)
            summary = plan.summary
            audit_record(action="import.apply", actor=actor, request=request, outcome=Outcome.SUCCEEDED,
                         object_label=filename[:255], after=summary,
                         message=f"{len(rows)} rows from {filename}"[:1000])
    except Exception as exc:
        audit_record(action="import.apply", actor=actor, request=request, outcome=Outcome.FAILED,
                     object_label=filename[:255], message=f"{type(exc).__name__}: nothing was changed")
        raise
    return plan


# -- keeping rows between preview and apply --------------------------------------------------------


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


# -- export ----------------------------------------------------------------------------------------


def compress_users(usernames: list[str]) -> str:
    """["user2", "user3", "user4", "bob"] → "user2~user4, bob" (a run of three or more becomes a range)."""
    parts: list[str] = []
    numbered: dict[str, list[int]] = {}
    others: list[str] = []
    for name in usernames:
        match = _NUMBERED.match(name)
        if match and not (len(match.group(2)) > 1 and match.group(2).startswith("0")):
            numbered.setdefault(match.group(1), []).append(int(match.group(2)))
        else:
            others.append(name)
    for prefix in natural_sorted(numbered):
        numbers = sorted(set(numbered[prefix]))
        start = prev = numbers[0]
        for n in [*numbers[1:], None]:
            if n is not None and n == prev + 1:
                prev = n
                continue
            if prev - start >= 2:
                parts.append(f"{prefix}{start}~{prefix}{prev}")
            else:
                parts.extend(f"{prefix}{k}" for k in range(start, prev + 1))
            if n is not None:
                start = prev = n
    parts.extend(natural_sorted(others))
    return ", ".join(parts)


def export_table(*, language: str = "en") -> list[list[str]]:
    """The portal's tenants and memberships as the preset table (header first), tokens left out."""
    lang = "zh" if language.lower().startswith("zh") else "en"
    header = [EXPORT_HEADERS[lang][key] for key in EXPORT_COLUMNS]
    table = [header]
    for tenant in natural_sorted(Tenant.objects.prefetch_related("memberships__user"), key=lambda t: t.name):
        by_role: dict[str, list[str]] = {}
        for membership in tenant.memberships.all():
            by_role.setdefault(membership.role, []).append(membership.user.get_username())
        groups = [(role, by_role[role]) for role in Role.values if role in by_role] or [(Role.MEMBER, [])]
        scenarios = "; ".join(SCENARIO_EXPORT[lang].get(s, s) for s in tenant.scenarios)
        for role, usernames in groups:
            values = {"users": compress_users(usernames), "tenant": tenant.name, "token": "",
                      "kind": tenant.ref_kind, "service_id": tenant.ref_service_id,
                      "service_name": tenant.ref_service_name, "cloud_vpn_name": tenant.ref_cloud_vpn_name,
                      "scenarios": scenarios, "role": role}
            table.append([spreadsheet_safe(values[key]) for key in EXPORT_COLUMNS])
    return table


def export_csv(table: list[list[str]]) -> bytes:
    out = io.StringIO(newline="")
    csv.writer(out).writerows(table)
    return ("\ufeff" + out.getvalue()).encode("utf-8")  # the BOM makes Excel read UTF-8 (Chinese)


def export_xlsx(table: list[list[str]]) -> bytes:
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("Presets")
    for values in table:
        cells = []
        for value in values:
            cell = WriteOnlyCell(sheet, value=value)
            cell.data_type = "s"  # text, never a formula (the values are neutralised as well)
            cells.append(cell)
        sheet.append(cells)
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()
