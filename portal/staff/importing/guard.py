"""Inspecting an uploaded .xlsx before openpyxl sees it: the zip and its XML, within fixed limits.

openpyxl loads every shared string into memory, and in read-only mode parses a whole sheet that
does not state its size before giving the first row. A small file can therefore cost seconds and
hundreds of MB (a million shared strings fit in 150 KB). This pass reads each XML part as a stream
through expat, keeps nothing but counters, and stops at the first limit passed, so a hostile file
costs no more than a big honest one.

The counts cover every part of the workbook, whatever its name: openpyxl finds the sheets and the
shared strings through [Content_Types].xml and the relationship files, not by a part's suffix, so
a part named .bin is read as XML as readily as one named .xml. A binary part (an image) fails the
XML parse at its first bytes and costs nothing.

openpyxl streams two kinds of part, a row or a shared string at a time: the worksheets and the
shared strings. Every other part (styles, theme, workbook, relationships, drawings...) it parses
whole, so each is held to a small number of elements; so is each row or string of a streamed part,
and whatever a streamed part holds outside its rows and strings."""

import posixpath
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
# Parsed whole by openpyxl, a part of 50,000 elements costs ~20 MB; honest styles have a few thousand.
MAX_PART_ELEMENTS = 50_000
# One row or one shared string of a streamed part is held whole too; a row of 30 cells is ~100.
MAX_UNIT_ELEMENTS = 20_000
TIME_BUDGET_SECONDS = 5.0
CHUNK_BYTES = 64 * 1024
CONTENT_TYPES = "[Content_Types].xml"
# Where openpyxl reads a part whole without looking it up (the workbook as a fallback).
FIXED_WHOLE_PARTS = frozenset({CONTENT_TYPES, "xl/workbook.xml", "xl/styles.xml", "xl/theme/theme1.xml",
                               "docProps/core.xml", "docProps/custom.xml"})
_SML = "application/vnd.openxmlformats-officedocument.spreadsheetml."
STREAMED_CONTENT_TYPES = frozenset({_SML + "worksheet+xml", _SML + "sharedStrings+xml"})
# Exactly these: openpyxl parses whole a "worksheet" whose type merely mentions "chartsheet".
STREAMED_RELATION_TYPES = frozenset(f"{base}/{kind}" for kind in ("worksheet", "sharedStrings") for base in (
    "http://schemas.openxmlformats.org/officeDocument/2006/relationships",
    "http://purl.oclc.org/ooxml/officeDocument/relationships"))
# The parts that hold the table and its look: a workbook that names one of them other than .xml
# is made to slip past a guard that goes by names.
TABLE_CONTENT_TYPE_SUFFIXES = ("worksheet+xml", "sharedStrings+xml", "styles+xml", "chartsheet+xml", ".main+xml")
TABLE_RELATION_SUFFIXES = ("/worksheet", "/sharedStrings", "/styles", "/chartsheet", "/officeDocument")
UNITS = ("row", "si")  # what openpyxl parses of a streamed part, and then forgets
TEXT_ELEMENTS = ("t", "v", "f")


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
class _Part:
    """The part being read: its name, whether openpyxl streams it, and its own element counts."""

    name: str
    streamed: bool
    elements: int = 0  # outside any row or shared string
    unit_depth: int = 0  # depth inside the row or shared string being read (0: outside)
    unit_elements: int = 0


@dataclass
class _Counts:
    limits: Limits
    seconds: float
    deadline: float
    too_many_rows: SheetError
    part: _Part
    rows: int = 0
    filled_rows: int = 0
    cells: int = 0
    strings: int = 0
    text_chars: int = 0
    elements: int = 0
    in_text: int = 0  # depth inside <t> / <v> / <f> elements, whose text is counted
    row_filled: bool = False

    def start(self, name: str, _attributes: dict[str, str]) -> None:
        local = name.rsplit(" ", 1)[-1]
        self.elements += 1
        if self.elements > self.limits.elements:
            raise _too_large()
        if self.elements % 4096 == 0 and time.monotonic() > self.deadline:
            raise _too_slow(self.seconds)
        self._count_in_part(local)
        if local == "row":
            self.rows += 1
            self.row_filled = False
            if self.rows > self.limits.blank_rows:
                raise self.too_many_rows
        elif local == "c":  # wherever it is: an empty cell costs openpyxl as much as a filled one
            self.cells += 1
            if self.cells > self.limits.cells:
                raise SheetError(_("The spreadsheet has more than %(max)s cells (empty formatted cells count too): "
                                   "an import takes at most %(max)s; split it into several files.")
                                 % {"max": f"{self.limits.cells:,}"})
        elif local in ("v", "is"):  # a cell with a value (or an inline string)
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
        if local in TEXT_ELEMENTS:
            self.in_text += 1

    def _count_in_part(self, local: str) -> None:
        part = self.part
        if part.unit_depth:
            part.unit_depth += 1
            part.unit_elements += 1
            if part.unit_elements > MAX_UNIT_ELEMENTS:
                raise _too_many_elements(part.name, MAX_UNIT_ELEMENTS)
        elif part.streamed and local in UNITS:
            part.unit_depth, part.unit_elements = 1, 1
        else:
            part.elements += 1
            if part.elements > MAX_PART_ELEMENTS:
                raise _too_many_elements(part.name, MAX_PART_ELEMENTS)

    def end(self, name: str) -> None:
        if self.part.unit_depth:
            self.part.unit_depth -= 1
        if name.rsplit(" ", 1)[-1] in TEXT_ELEMENTS:
            self.in_text -= 1

    def text(self, data: str) -> None:
        if self.in_text:
            self.text_chars += len(data)
            if self.text_chars > self.limits.text_chars:
                raise SheetError(_("The spreadsheet holds more than %(max)s characters of text: an import takes "
                                   "at most %(max)s; split it into several files.")
                                 % {"max": f"{self.limits.text_chars:,}"})


class _PackageMap:
    """What [Content_Types].xml and the relationship files say each part is, as openpyxl reads them."""

    def __init__(self) -> None:
        self.streamed: set[str] = set()
        self.whole: set[str] = set(FIXED_WHOLE_PARTS)
        self.rels_name = ""

    def is_streamed(self, name: str) -> bool:
        # A part named both ways (a sheet that is also the styles) is parsed whole by one reader.
        return name in self.streamed and name not in self.whole

    def start(self, name: str, attributes: dict[str, str]) -> None:
        local = name.rsplit(" ", 1)[-1]
        if local == "Override":
            part, content_type = attributes.get("PartName", ""), attributes.get("ContentType", "")
            _require_xml_name(part, content_type.endswith(TABLE_CONTENT_TYPE_SUFFIXES))
            # openpyxl opens PartName without its first character, whatever that is.
            (self.streamed if content_type in STREAMED_CONTENT_TYPES else self.whole).add(part[1:])
        elif local == "Default":
            content_type = attributes.get("ContentType", "")
            if content_type.endswith(TABLE_CONTENT_TYPE_SUFFIXES) and attributes.get("Extension", "").lower() != "xml":
                raise _not_named_xml()
        elif local == "Relationship" and self.rels_name and attributes.get("TargetMode") != "External":
            target, kind = attributes.get("Target", ""), attributes.get("Type", "")
            _require_xml_name(target, kind.endswith(TABLE_RELATION_SUFFIXES))
            (self.streamed if kind in STREAMED_RELATION_TYPES else self.whole).add(
                self._resolved(target))

    def _resolved(self, target: str) -> str:
        # As openpyxl's get_dependents: relative to the folder that holds the _rels folder.
        if target.startswith("/"):
            return target[1:]
        parent = posixpath.split(posixpath.dirname(self.rels_name))[0]
        return posixpath.normpath(posixpath.join(parent, target))


def _require_xml_name(name: str, holds_the_table: bool) -> None:
    if holds_the_table and not name.lower().endswith(".xml"):
        raise _not_named_xml()


def _not_named_xml() -> SheetError:
    return SheetError(_("This .xlsx file keeps its sheets, texts or styles in a part not named .xml, which a "
                        "spreadsheet never does: it cannot be imported."))


def _too_many_elements(part: str, limit: int) -> SheetError:
    return SheetError(_("This .xlsx file is not a plain table: its part %(part)s holds more than %(max)s XML "
                        "elements in one place. It cannot be imported.")
                      % {"part": part[:100], "max": f"{limit:,}"})


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


def _scan(archive: zipfile.ZipFile, info: zipfile.ZipInfo, counts: _Counts,
          package: _PackageMap | None = None) -> None:
    """Count the part's XML; with `package`, also learn from it what the other parts are."""
    parser = expat.ParserCreate(namespace_separator=" ")
    parser.buffer_text = True  # one call per run of text, not per line
    parser.StartDoctypeDeclHandler = _refuse_declarations
    parser.EntityDeclHandler = _refuse_declarations
    if package is None:
        parser.StartElementHandler = counts.start
    else:
        def start(name: str, attributes: dict[str, str]) -> None:
            counts.start(name, attributes)
            package.start(name, attributes)

        parser.StartElementHandler = start
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
                # openpyxl parses with the same expat: it fails here too, if it reads this part at
                # all, and what came before has been counted.
                return
        try:
            parser.Parse(b"", True)
        except expat.ExpatError:
            return


def check_xlsx(archive: zipfile.ZipFile, *, limits: Limits, too_many_rows: SheetError) -> None:
    """Raise `SheetError` if the workbook passes a limit; read it as a stream, keeping only counters."""
    members = _check_members(archive)
    seconds = TIME_BUDGET_SECONDS if limits.seconds is None else limits.seconds
    counts = _Counts(limits=limits, seconds=seconds, deadline=time.monotonic() + seconds, too_many_rows=too_many_rows,
                     part=_Part(name="", streamed=False))
    # First the parts that say what the others are (openpyxl finds relationship files by name).
    package = _PackageMap()
    is_map = [info.filename == CONTENT_TYPES or info.filename.lower().endswith(".rels") for info in members]
    for info, maps in zip(members, is_map, strict=True):
        if maps:
            package.rels_name = "" if info.filename == CONTENT_TYPES else info.filename
            counts.part = _Part(name=info.filename, streamed=False)
            _scan(archive, info, counts, package)
    # Then every other part, whatever its name says: an image fails the XML parse at once.
    for info, maps in zip(members, is_map, strict=True):
        if not maps:
            counts.part = _Part(name=info.filename, streamed=package.is_streamed(info.filename))
            _scan(archive, info, counts)
