"""Inspecting an uploaded .xlsx before openpyxl sees it: the zip and its XML, within fixed limits.

openpyxl loads every shared string into memory, and in read-only mode parses a whole sheet that
does not state its size before giving the first row. A small file can therefore cost seconds and
hundreds of MB (a million shared strings fit in 150 KB). This pass reads each XML part as a stream
through expat, keeps nothing but counters, and stops at the first limit passed, so a hostile file
costs no more than a big honest one.

The counts cover every sheet of the workbook, not just the first one that the import reads: the
limits bound the file, whichever part openpyxl later picks."""

import time
import zipfile
from dataclasses import dataclass
from xml.parsers import expat

from django.utils.translation import gettext as _

from portal.staff.importing.errors import SheetError

MAX_MEMBERS = 200
# Per part, and all parts together: a preset table of 2,000 rows is well under 5 MB of XML.
MAX_MEMBER_BYTES = 25 * 1024 * 1024
MAX_UNPACKED_BYTES = 50 * 1024 * 1024
# Honest XML deflates 5-30 times; a bomb thousands of times. Small parts are exempt: they cost nothing.
MAX_RATIO = 100
RATIO_EXEMPT_BYTES = 1024 * 1024
MAX_SHARED_STRINGS = 50_000
MAX_CELLS = 50_000
MAX_TEXT_CHARS = 5_000_000
# Every element costs parsing time, even an empty one; no honest table of 50,000 cells needs more.
MAX_ELEMENTS = 1_000_000
TIME_BUDGET_SECONDS = 5.0
CHUNK_BYTES = 64 * 1024
XML_SUFFIXES = (".xml", ".rels", ".vml")


@dataclass
class Limits:
    """What is allowed; `read` passes its row limits, the rest are this module's defaults."""

    rows: int
    blank_rows: int
    cells: int = MAX_CELLS
    strings: int = MAX_SHARED_STRINGS
    text_chars: int = MAX_TEXT_CHARS
    elements: int = MAX_ELEMENTS
    seconds: float | None = None  # None: TIME_BUDGET_SECONDS


@dataclass
class _Counts:
    limits: Limits
    seconds: float
    deadline: float
    too_many_rows: SheetError
    rows: int = 0
    filled_rows: int = 0
    cells: int = 0
    strings: int = 0
    text_chars: int = 0
    elements: int = 0
    in_text: int = 0  # depth inside <t> / <v> elements, whose text is counted
    row_filled: bool = False

    def start(self, name: str, _attributes: dict[str, str]) -> None:
        local = name.rsplit(" ", 1)[-1]
        self.elements += 1
        if self.elements > self.limits.elements:
            raise _too_large()
        if self.elements % 4096 == 0 and time.monotonic() > self.deadline:
            raise _too_slow(self.seconds)
        if local == "row":
            self.rows += 1
            self.row_filled = False
            if self.rows > self.limits.blank_rows:
                raise self.too_many_rows
        elif local in ("v", "is"):  # a cell with a value (or an inline string)
            self.cells += 1
            if self.cells > self.limits.cells:
                raise SheetError(_("The spreadsheet has more than %(max)s filled cells: an import takes at most "
                                   "%(max)s; split it into several files.") % {"max": f"{self.limits.cells:,}"})
            if not self.row_filled:
                self.row_filled = True
                self.filled_rows += 1
                if self.filled_rows > self.limits.rows:
                    raise self.too_many_rows
        elif local == "si":
            self.strings += 1
            if self.strings > self.limits.strings:
                raise SheetError(_("The spreadsheet has more than %(max)s different texts: an import takes at "
                                   "most %(max)s; split it into several files.")
                                 % {"max": f"{self.limits.strings:,}"})
        if local in ("t", "v"):
            self.in_text += 1

    def end(self, name: str) -> None:
        if name.rsplit(" ", 1)[-1] in ("t", "v"):
            self.in_text -= 1

    def text(self, data: str) -> None:
        if self.in_text:
            self.text_chars += len(data)
            if self.text_chars > self.limits.text_chars:
                raise SheetError(_("The spreadsheet holds more than %(max)s characters of text: an import takes "
                                   "at most %(max)s; split it into several files.")
                                 % {"max": f"{self.limits.text_chars:,}"})


def _too_large() -> SheetError:
    return SheetError(_("The spreadsheet unpacks to more than %(mb)s MB: too large to import.")
                      % {"mb": MAX_UNPACKED_BYTES // (1024 * 1024)})


def _too_slow(seconds: float) -> SheetError:
    return SheetError(_("Reading the spreadsheet took longer than %(seconds)s seconds: split it into smaller "
                        "files.") % {"seconds": f"{seconds:g}"})


def _refuse_declarations(*_args: object) -> None:
    # Entities (and a DTD to declare them) are how XML bombs multiply; a spreadsheet never has one.
    raise SheetError(_("This .xlsx file declares XML entities, which a spreadsheet never does: it cannot be "
                       "imported."))


def _check_members(archive: zipfile.ZipFile) -> list[zipfile.ZipInfo]:
    members = archive.infolist()
    if len(members) > MAX_MEMBERS:
        raise SheetError(_("This .xlsx file holds more than %(max)s parts: it is not a plain table and cannot be "
                           "imported.") % {"max": MAX_MEMBERS})
    if sum(info.file_size for info in members) > MAX_UNPACKED_BYTES:
        raise _too_large()
    for info in members:
        if info.file_size > MAX_MEMBER_BYTES:
            raise _too_large()
        if info.file_size > RATIO_EXEMPT_BYTES and info.file_size > MAX_RATIO * max(info.compress_size, 1):
            raise SheetError(_("This .xlsx file is compressed far more than a spreadsheet can be (a part "
                               "unpacks to %(ratio)s times its size): it cannot be imported.")
                             % {"ratio": f"{info.file_size // max(info.compress_size, 1):,}"})
    return members


def _scan(archive: zipfile.ZipFile, info: zipfile.ZipInfo, counts: _Counts) -> None:
    parser = expat.ParserCreate(namespace_separator=" ")
    parser.buffer_text = True  # one call per run of text, not per line
    parser.StartDoctypeDeclHandler = _refuse_declarations
    parser.EntityDeclHandler = _refuse_declarations
    parser.StartElementHandler = counts.start
    parser.EndElementHandler = counts.end
    parser.CharacterDataHandler = counts.text
    # zipfile never returns more than the declared size, so the checks above bound this loop.
    with archive.open(info) as stream:
        while chunk := stream.read(CHUNK_BYTES):
            if time.monotonic() > counts.deadline:
                raise _too_slow(counts.seconds)
            try:
                parser.Parse(chunk, False)
            except expat.ExpatError:
                return  # openpyxl will say the file is damaged if it reads this part at all
        try:
            parser.Parse(b"", True)
        except expat.ExpatError:
            return


def check_xlsx(archive: zipfile.ZipFile, *, limits: Limits, too_many_rows: SheetError) -> None:
    """Raise `SheetError` if the workbook passes a limit; read it as a stream, keeping only counters."""
    members = _check_members(archive)
    seconds = TIME_BUDGET_SECONDS if limits.seconds is None else limits.seconds
    counts = _Counts(limits=limits, seconds=seconds, deadline=time.monotonic() + seconds, too_many_rows=too_many_rows)
    for info in members:
        if info.filename.lower().endswith(XML_SUFFIXES):
            _scan(archive, info, counts)
