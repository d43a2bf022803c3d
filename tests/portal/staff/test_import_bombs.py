"""Hostile spreadsheets: small files that would unpack or parse into far more than a preset table.

Each bomb is written here byte by byte (zipfile), refused with a message before openpyxl reads it,
and reading it allocates at most a few MB (tracemalloc: a loose bound, not a timing)."""

import io
import os
import tracemalloc
import zipfile

import pytest
from django.utils.translation import gettext

from portal.staff.importing import guard, read
from portal.staff.importing.errors import SheetError
from portal.staff.importing.parse import parse_table
from portal.staff.importing.read import read_upload
from tests.portal.helpers import xlsx_bytes

MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
PKG = "http://schemas.openxmlformats.org/package/2006"
TYPES = "application/vnd.openxmlformats-officedocument.spreadsheetml"
# A bomb must cost the reader no more than this much memory (today's openpyxl path: ~200 MB).
MEMORY_BOUND_BYTES = 8 * 1024 * 1024


def _workbook(sheet_data: bytes, shared_strings: bytes | None = None, *, sheet_head: bytes = b"",
              extra: dict[str, bytes] | None = None, prolog: bytes = b"",
              compression: int = zipfile.ZIP_DEFLATED, strings_part: str = "sharedStrings.xml",
              relations: str = "") -> bytes:
    """A one-sheet .xlsx, its sheet's <sheetData> content and shared strings given as XML."""
    overrides = (f'<Override PartName="/xl/workbook.xml" ContentType="{TYPES}.sheet.main+xml"/>'
                 f'<Override PartName="/xl/worksheets/sheet1.xml" ContentType="{TYPES}.worksheet+xml"/>')
    relations += f'<Relationship Id="rId1" Type="{REL}/worksheet" Target="worksheets/sheet1.xml"/>'
    if shared_strings is not None:
        overrides += f'<Override PartName="/xl/{strings_part}" ContentType="{TYPES}.sharedStrings+xml"/>'
        relations += f'<Relationship Id="rId2" Type="{REL}/sharedStrings" Target="{strings_part}"/>'
    parts = {
        "[Content_Types].xml": (f'<Types xmlns="{PKG}/content-types">'
                                '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.'
                                'relationships+xml"/><Default Extension="xml" ContentType="application/xml"/>'
                                f'{overrides}</Types>').encode(),
        "_rels/.rels": (f'<Relationships xmlns="{PKG}/relationships"><Relationship Id="rId1" '
                        f'Type="{REL}/officeDocument" Target="xl/workbook.xml"/></Relationships>').encode(),
        "xl/workbook.xml": (f'<workbook xmlns="{MAIN}" xmlns:r="{REL}"><sheets><sheet name="Presets" sheetId="1" '
                            'r:id="rId1"/></sheets></workbook>').encode(),
        "xl/_rels/workbook.xml.rels": f'<Relationships xmlns="{PKG}/relationships">{relations}</Relationships>'
                                      .encode(),
        "xl/worksheets/sheet1.xml": (f'<worksheet xmlns="{MAIN}">'.encode() + sheet_head + b"<sheetData>"
                                     + sheet_data + b"</sheetData></worksheet>"),
    }
    if shared_strings is not None:
        parts[f"xl/{strings_part}"] = prolog + f'<sst xmlns="{MAIN}">'.encode() + shared_strings + b"</sst>"
    parts.update(extra or {})
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression, compresslevel=9 if compression else None) as archive:
        for name, content in parts.items():
            archive.writestr(name, content)
    return out.getvalue()


def _row(number: int, *shared_indexes: int) -> bytes:
    cells = b"".join(b'<c r="%s%d" t="s"><v>%d</v></c>' % (bytes([65 + n]), number, index)
                     for n, index in enumerate(shared_indexes))
    return b'<row r="%d">%s</row>' % (number, cells)


HEADER_ROWS = _row(1, 0, 1) + _row(2, 2, 3)
HEADER_STRINGS = b"<si><t>Users</t></si><si><t>Tenant</t></si><si><t>user1</t></si><si><t>nbitest_11</t></si>"


@pytest.fixture(autouse=True)
def _room_for_tracemalloc(monkeypatch):
    # tracemalloc slows the parse several times over; the time budget has its own test below.
    monkeypatch.setattr(guard, "TIME_BUDGET_SECONDS", 60.0)
    gettext("The file is empty.")  # the message catalogue is loaded once per process, not per bomb


def _refused_within_memory(data: bytes, match: str) -> int:
    tracemalloc.start()
    try:
        with pytest.raises(SheetError, match=match):
            read_upload(name="bomb.xlsx", data=data)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < MEMORY_BOUND_BYTES, f"reading the bomb took {peak / 1e6:.1f} MB"
    return peak


def test_the_handmade_workbook_is_read():
    # The control for every bomb below: the same construction, within the limits, imports.
    parsed = parse_table(read_upload(name="ok.xlsx", data=_workbook(HEADER_ROWS, HEADER_STRINGS)))
    assert parsed.errors == [] and [(r.users, r.tenant) for r in parsed.rows] == [(["user1"], "nbitest_11")]


def test_a_million_shared_strings_in_150_kb_are_refused():
    strings = HEADER_STRINGS + b"<si><t>x</t></si>" * 1_000_000
    data = _workbook(HEADER_ROWS, strings)
    assert len(data) < 150 * 1024
    _refused_within_memory(data, "compressed far more than a spreadsheet can be")


def test_more_shared_strings_than_the_limit_are_refused_even_when_they_do_not_compress():
    words = (os.urandom(6).hex().encode() for _ in range(guard.MAX_SHARED_STRINGS + 1))
    strings = HEADER_STRINGS + b"".join(b"<si><t>%s</t></si>" % word for word in words)
    _refused_within_memory(_workbook(HEADER_ROWS, strings), "more than 50,000 different texts")


def test_a_sheet_of_a_million_rows_without_its_size_is_refused():
    # No <dimension>: openpyxl would parse the whole sheet before giving the first row.
    rows = HEADER_ROWS + b'<row><c t="s"><v>2</v></c><c t="s"><v>3</v></c></row>' * 1_000_000
    data = _workbook(rows, HEADER_STRINGS)
    assert len(data) <= read.MAX_UPLOAD_BYTES
    _refused_within_memory(data, "more than 2,000 rows|compressed far more|unpacks to more than 50 MB")


def test_a_million_blank_rows_stored_uncompressed_are_refused_at_the_row_limit():
    rows = HEADER_ROWS + b"<row/>" * 700_000
    data = _workbook(rows, HEADER_STRINGS, compression=zipfile.ZIP_STORED)
    assert len(data) <= read.MAX_UPLOAD_BYTES
    _refused_within_memory(data, "more than 2,000 rows")


def test_more_cells_than_the_limit_are_refused():
    wide = b"".join(_row(n, *([2] * 26)) for n in range(3, 2000))
    _refused_within_memory(_workbook(HEADER_ROWS + wide, HEADER_STRINGS), "more than 50,000 cells")


def test_empty_cells_count_as_cells():
    # openpyxl parses an empty <c/> as it does a filled one (and a row of them whole).
    rows = b"".join(b'<row r="%d">' % n + b'<c s="1"/>' * 30 + b"</row>" for n in range(3, 1703))
    _refused_within_memory(_workbook(HEADER_ROWS + rows, HEADER_STRINGS), "more than 50,000 cells")


def _random_strings(count: int) -> bytes:
    # Random words do not compress: the ratio check does not see them.
    return b"".join(b"<si><t>%s</t></si>" % os.urandom(6).hex().encode() for _ in range(count))


def test_shared_strings_in_a_part_not_named_xml_are_refused():
    # openpyxl finds the strings through [Content_Types].xml, whatever the part's suffix.
    data = _workbook(HEADER_ROWS, HEADER_STRINGS + _random_strings(guard.MAX_SHARED_STRINGS),
                     strings_part="sharedStrings.bin")
    _refused_within_memory(data, "in a part not named .xml")


def test_a_sheet_in_a_part_not_named_xml_is_refused():
    data = _workbook(HEADER_ROWS, HEADER_STRINGS, extra={"xl/worksheets/sheet2.bin": b"<worksheet/>"},
                     relations=f'<Relationship Id="rId9" Type="{REL}/worksheet" Target="worksheets/sheet2.bin"/>')
    _refused_within_memory(data, "in a part not named .xml")


def test_every_part_is_read_whatever_its_name():
    bulky = b"<x>" + b"<y/>" * guard.MAX_PART_ELEMENTS + b"</x>"
    data = _workbook(HEADER_ROWS, HEADER_STRINGS, extra={"xl/printerSettings/printerSettings1.bin": bulky})
    _refused_within_memory(data, r"its part xl/printerSettings/printerSettings1.bin holds more than 50,000")


def _styles(cell_formats: int) -> bytes:
    return (f'<styleSheet xmlns="{MAIN}"><cellXfs count="{cell_formats}">'.encode()
            + b"".join(b'<xf numFmtId="%d"/>' % n for n in range(cell_formats)) + b"</cellXfs></styleSheet>")


@pytest.mark.filterwarnings("ignore:Workbook contains no default style")
def test_styles_openpyxl_parses_whole_are_held_to_a_part_limit():
    # 900,000 <xf> passed the global element budget, then cost openpyxl 8 s and 320 MB.
    data = _workbook(HEADER_ROWS, HEADER_STRINGS, extra={"xl/styles.xml": _styles(guard.MAX_PART_ELEMENTS)})
    _refused_within_memory(data, "its part xl/styles.xml holds more than 50,000 XML elements")
    # The control: an honest number of formats is read.
    parsed = parse_table(read_upload(name="ok.xlsx", data=_workbook(HEADER_ROWS, HEADER_STRINGS,
                                                                    extra={"xl/styles.xml": _styles(500)})))
    assert parsed.errors == []


def test_styles_posing_as_a_sheet_are_still_held_to_the_part_limit():
    # Rows are what a sheet may have many of; the styles part is parsed whole, rows and all.
    styles = (f'<styleSheet xmlns="{MAIN}">'.encode() + b"".join(b"<row>" + b"<xf/>" * 100 + b"</row>" for _ in range(600)) + b"</styleSheet>")
    data = _workbook(HEADER_ROWS, HEADER_STRINGS, extra={"xl/styles.xml": styles},
                     relations=f'<Relationship Id="rId9" Type="{REL}/worksheet" Target="styles.xml"/>')
    _refused_within_memory(data, "its part xl/styles.xml holds more than 50,000")


def test_only_true_sheets_are_streamed():
    # openpyxl parses whole a sheet whose relationship type mentions "chartsheet".
    rows = b"".join(b"<row>" + b"<x/>" * 100 + b"</row>" for _ in range(600))
    data = _workbook(HEADER_ROWS, HEADER_STRINGS, extra={"xl/worksheets/sheet2.xml": b"<worksheet><sheetData>" + rows
                                                         + b"</sheetData></worksheet>"},
                     relations=f'<Relationship Id="rId9" Type="{REL}/chartsheet/worksheet" '
                               'Target="worksheets/sheet2.xml"/>')
    _refused_within_memory(data, "its part xl/worksheets/sheet2.xml holds more than 50,000")
    # The control: a true sheet of more elements than a whole part may have is read row by row.
    table = [["Users", "Tenant", *(f"c{n}" for n in range(13))]] + [
        [f"user{n}", f"tenant_{n}", *(str(n) for _ in range(13))] for n in range(1900)]
    assert len(read_upload(name="wide.xlsx", data=xlsx_bytes(table))) == 1901


def test_a_row_openpyxl_holds_whole_is_held_to_a_limit():
    row = b'<row r="3">' + b"<x/>" * guard.MAX_UNIT_ELEMENTS + b"</row>"
    _refused_within_memory(_workbook(HEADER_ROWS + row, HEADER_STRINGS),
                           "its part xl/worksheets/sheet1.xml holds more than 20,000 XML elements")


def test_formula_text_counts_as_text():
    formula = b'<row r="3"><c r="A3"><f>' + b"A1+" * 20 + b"A1</f></c></row>"
    archive = zipfile.ZipFile(io.BytesIO(_workbook(HEADER_ROWS + formula, HEADER_STRINGS)))
    with pytest.raises(SheetError, match="more than 40 characters of text"):
        guard.check_xlsx(archive, limits=guard.Limits(rows=10, blank_rows=10, text_chars=40),
                         too_many_rows=SheetError("rows"))


def test_a_deflate_bomb_in_any_part_is_refused():
    data = _workbook(HEADER_ROWS, HEADER_STRINGS, extra={"xl/media/image1.png": bytes(20 * 1024 * 1024)})
    _refused_within_memory(data, "compressed far more than a spreadsheet can be")


def test_parts_that_unpack_past_the_limit_are_refused():
    big = {f"xl/media/image{n}.bin": bytes(1024 * 1024) for n in range(60)}
    _refused_within_memory(_workbook(HEADER_ROWS, HEADER_STRINGS, extra=big), "unpacks to more than 50 MB")


def test_too_many_parts_are_refused():
    extra = {f"xl/media/image{n}.png": b"" for n in range(guard.MAX_MEMBERS)}
    _refused_within_memory(_workbook(HEADER_ROWS, HEADER_STRINGS, extra=extra), "more than 200 parts")


def test_nested_entities_are_refused():
    laughs = b'<!DOCTYPE sst [<!ENTITY a "lol">' + b"".join(
        b'<!ENTITY %s "%s">' % (bytes([98 + n]), b"&%s;" % bytes([97 + n]) * 10) for n in range(9)) + b"]>"
    strings = HEADER_STRINGS + b"<si><t>&j;</t></si>"
    _refused_within_memory(_workbook(HEADER_ROWS, strings, prolog=laughs), "declares XML entities")


def test_more_text_than_the_limit_is_refused():
    archive = zipfile.ZipFile(io.BytesIO(_workbook(HEADER_ROWS, HEADER_STRINGS + b"<si><t>" + b"y" * 50 + b"</t></si>")))
    with pytest.raises(SheetError, match="more than 40 characters of text"):
        guard.check_xlsx(archive, limits=guard.Limits(rows=10, blank_rows=10, text_chars=40),
                         too_many_rows=SheetError("rows"))


def test_reading_past_the_time_budget_is_refused():
    archive = zipfile.ZipFile(io.BytesIO(_workbook(HEADER_ROWS, HEADER_STRINGS)))
    with pytest.raises(SheetError, match="took longer than 0 seconds"):
        guard.check_xlsx(archive, limits=guard.Limits(rows=10, blank_rows=10, seconds=0),
                         too_many_rows=SheetError("rows"))


def test_a_csv_line_of_millions_of_cells_is_refused():
    data = b"Users,Tenant\nuser1,nbitest_11\n" + b"," * (read.MAX_UPLOAD_BYTES - 100) + b"\n"
    tracemalloc.start()
    try:
        with pytest.raises(SheetError, match="longer than 100,000 characters"):
            read_upload(name="bomb.csv", data=data)
        # The text itself is decoded once (5 MB); no row of millions of cells is built.
        assert tracemalloc.get_traced_memory()[1] < 3 * read.MAX_UPLOAD_BYTES
    finally:
        tracemalloc.stop()


def test_the_upload_page_refuses_a_bomb_with_a_400_and_changes_nothing(staff):
    from tests.portal.staff.test_import import state, upload

    before = state()
    answer = upload(staff, "presets.xlsx", _workbook(HEADER_ROWS, HEADER_STRINGS + b"<si><t>x</t></si>" * 1_000_000))
    assert answer.status_code == 400
    assert "compressed far more than a spreadsheet can be" in answer.text
    assert "Nothing was changed" in answer.text
    assert state() == before
