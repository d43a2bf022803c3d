"""Parsing: rows of text into validated `SheetRow`s, with a `CellError` for every refused cell.

Finds the columns by their names (English or Chinese, as the deck prints them), expands user
ranges, reads the scenarios out of the deck's sentence, and checks that a tenant on several rows
is described the same way on each."""

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field

from django.contrib.auth.validators import UnicodeUsernameValidator
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from ies_client.redact import register_secret
from portal.staff.importing.columns import (
    COLUMNS,
    EXPORT_HEADERS,
    HEADER_ALIASES,
    IGNORED_HEADERS,
    KINDS,
    NUMBERED_NAME,
    ONE_LINE_COLUMNS,
    OPAQUE_COLUMNS,
    REQUIRED_COLUMNS,
    ROLE_WORDS,
    SCENARIO_WORDS,
    SECRET_COLUMNS,
    TENANT_COLUMNS,
)
from portal.staff.importing.errors import CellError, SheetError, column_letter, quote_value
from portal.tenants.models import Scenario

MAX_CELL_CHARS = 8192
MAX_USERS_PER_CELL = 500
MAX_SECRET_CHARS = 8192

_HEADER_NOISE = re.compile(r"[\s_()（）\[\]【】/:：\-.·,，'\"“”‘’*#?？!！]+")
_LIST_SPLIT = re.compile(r"[,，、;；\n]+")
_RANGE_SPLIT = re.compile(r"\s*[~～–—]\s*")
_PRESET_USER = re.compile(r"^(?:user|用户)\s*(\d+)$", re.IGNORECASE)
_TENANT_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,63}$")
_NO_SPACE = re.compile(r"^\S+$")
_FORMULA_START = ("=", "+", "-", "@")
_QUOTE_CHARS = "\"“”„«»「」『』"
_QUOTES = re.compile(rf"[{_QUOTE_CHARS}]([^{_QUOTE_CHARS}]+)[{_QUOTE_CHARS}]")
_WRAPPED_RANGE = re.compile(r"(?i)(user|用户)[ \t]*[\r\n\x0b]+[ \t]*(?=\d)|(?<=[~～])[ \t]*[\r\n\x0b]+[ \t]*")


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
        first = NUMBERED_NAME.match(normalise_username(ends[0]))
        last_raw = ends[1].strip()
        last = NUMBERED_NAME.match(last_raw if last_raw.isdigit() else normalise_username(last_raw))
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


def _choice[K: str](value: str, words: Mapping[K, tuple[str, ...]]) -> str | None:
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

        def fail(index: int, message: str, *, _offset: int = offset, _errors: list[CellError] = row_errors) -> None:
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
