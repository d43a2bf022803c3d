"""Reading: the bytes of an uploaded .xlsx or .csv, or pasted text, into rows of text.

Every limit is enforced while reading, so a huge or hostile file costs no more than a big one."""

import csv
import io
import re
import zipfile
from collections.abc import Iterable, Iterator
from typing import Any

from django.utils.translation import gettext as _

from portal.staff.importing import guard
from portal.staff.importing.errors import SheetError

MAX_UPLOAD_BYTES = 5 * 1024 * 1024
MAX_UNPACKED_BYTES = guard.MAX_UNPACKED_BYTES
MAX_ROWS = 2000
MAX_BLANK_ROWS = MAX_ROWS * 10  # even blank rows cost time: bound the loop itself
MAX_COLUMNS = 30
# A CSV line is at most a few dozen cells; a longer one would make one row of millions of cells.
MAX_LINE_CHARS = 100_000
# Pasted text: every line costs time, blank or not, before rows are put together; a cell a slide
# wrapped runs over a few lines, a token or a scenario sentence at most a dozen.
MAX_PASTED_LINES = MAX_BLANK_ROWS
MAX_CELL_LINES = 50
_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+\Z")


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
    try:
        # openpyxl reads every shared string, and a whole sheet that does not state its size,
        # before giving a row: it is given only a file that passed the inspection.
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            guard.check_xlsx(archive, limits=guard.Limits(rows=MAX_ROWS + 1, blank_rows=MAX_BLANK_ROWS),
                             too_many_rows=_too_many_rows())
        from openpyxl import load_workbook

        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=False)
    except SheetError:
        raise
    except Exception as exc:  # zipfile and openpyxl raise many kinds of errors on a damaged file
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
        for row in csv.reader(_bounded_lines(text), delimiter=delimiter):
            yield row[:MAX_COLUMNS]
    except csv.Error as exc:
        raise SheetError(_("This CSV file cannot be read: %(reason)s") % {"reason": exc}) from exc


def _bounded_lines(text: str) -> Iterator[str]:
    # As a file opened with newline="" gives them (endings kept), without copying the text into
    # io.StringIO's four bytes a character.
    for match in _LINE.finditer(text):
        if match.end() - match.start() > MAX_LINE_CHARS:
            raise SheetError(_("A line of the file is longer than %(max)s characters: it is not a table that can "
                               "be imported.") % {"max": f"{MAX_LINE_CHARS:,}"})
        yield match.group()


def _unwrapped(rows: Iterator[list[str]]) -> Iterator[list[str]]:
    """Rows of pasted text with a cell's line breaks put back inside the cell.

    A table copied out of a presentation arrives as tab-separated lines where a cell of several
    lines (a wrapped token, the scenario sentence) is not quoted: its next line shows up as a short
    row. A row with fewer cells than the header continues on the next line."""
    width = 0
    # The row being put together: its cells but the last, and the lines of its last cell, joined
    # once when the row is complete (joining at every line would copy the cell at every line).
    cells: list[str] | None = None
    last_lines: list[str] = []
    for row in rows:
        if not width:
            width = len(row)
            yield row
            continue
        if not any(cell.strip() for cell in row):
            continue  # a blank line between rows or inside a wrapped cell
        if cells is None:
            cells, last_lines = row[:-1], [row[-1]]
        else:
            last_lines.append(row[0])
            if len(last_lines) > MAX_CELL_LINES:
                raise SheetError(_("A cell of the pasted table runs over more than %(max)s lines: check that the "
                                   "header has as many columns as the rows.") % {"max": MAX_CELL_LINES})
            if len(row) > 1:
                cells.append("\n".join(last_lines))
                cells.extend(row[1:-1])
                last_lines = [row[-1]]
        if len(cells) + 1 >= width:
            yield [*cells, "\n".join(last_lines)]
            cells = None
    if cells is not None:
        yield [*cells, "\n".join(last_lines)]


def _bounded_rows(rows: Iterator[list[str]]) -> Iterator[list[str]]:
    # Counted before blank lines are dropped and wrapped cells joined, which hide lines from `_collect`.
    for count, row in enumerate(rows, start=1):
        if count > MAX_PASTED_LINES:
            raise SheetError(_("The pasted text has more than %(max)s lines: it is not a table that can be "
                               "imported; import at most %(rows)s rows at a time.")
                             % {"max": f"{MAX_PASTED_LINES:,}", "rows": f"{MAX_ROWS:,}"})
        yield row


def read_pasted(text: str) -> list[tuple[int, list[str]]]:
    """Rows of a table pasted as text (from a slide, a spreadsheet or a CSV file), as `read_upload`."""
    if len(text.encode()) > MAX_UPLOAD_BYTES:
        raise SheetError(_("The pasted text is larger than %(mb)s MB: too large to import.")
                         % {"mb": MAX_UPLOAD_BYTES // (1024 * 1024)})
    if not text.strip():
        raise SheetError(_("The pasted text is empty."))
    text = text.replace("\x0b", "\n")  # PowerPoint's line break inside a cell
    first_line = text.lstrip("\r\n").split("\n", 1)[0]
    rows = _bounded_rows(_text_rows(text))
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
        if seen > MAX_BLANK_ROWS:
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
