"""The spreadsheet reader and validator, without the web: headers, ranges, limits, formulas."""

import io
import zipfile

import pytest

from portal.staff.importing import read
from portal.staff.importing.errors import SheetError
from portal.staff.importing.parse import expand_users, parse_table
from portal.staff.importing.read import MAX_UPLOAD_BYTES, read_upload
from portal.staff.importing.session import rows_from_session, rows_to_session
from tests.portal.helpers import xlsx_bytes

HEADER_EN = "Users,Tenant,Token,Kind,Service ID,Service name,CloudVpnName,Recommended scenarios"
HEADER_ZH = "用户,租户,Token,类型,业务ID,业务名称,CloudVpnName,推荐场景"


def _csv(*lines: str) -> bytes:
    return ("\n".join(lines) + "\n").encode()


def _parse(data: bytes, name: str = "t.csv"):
    return parse_table(read_upload(name=name, data=data))


@pytest.mark.parametrize(("cell", "expected"), [
    ("User 1", ["user1"]),
    ("User 2~User 4", ["user2", "user3", "user4"]),
    ("User 8～User 11", ["user8", "user9", "user10", "user11"]),
    ("user12~15", ["user12", "user13", "user14", "user15"]),
    ("用户5~用户7", ["user5", "user6", "user7"]),
    ("alice, bob、carol; User 16", ["alice", "bob", "carol", "user16"]),
    ("u01~u03", ["u01", "u02", "u03"]),
    ("User 2~User 4, user3", ["user2", "user3", "user4"]),
    ("", []),
])
def test_it_expands_user_cells(cell, expected):
    assert expand_users(cell) == expected


@pytest.mark.parametrize("cell", ["user5~user2", "user1~bob3", "a~b", "user1~user100000", "bad name!", "x~y~z"])
def test_it_refuses_bad_user_cells(cell):
    with pytest.raises(ValueError):
        expand_users(cell)


def test_it_reads_the_decks_table_with_chinese_headers():
    parsed = _parse(_csv(HEADER_ZH,
                         "User 1,nbitest_11,tok-aaaa,Site2Site,8hiqoNgCSZmrlD1MyROJbg,s2s_201705061433,"
                         "VPNS2S201705061433,创建&激活；弹性扩展",
                         "User 2~User 4,nbitest_12,,Site2DC,9LbuAd11Qe-cuGnVONz6qw,site2dc_201705071132,"
                         "0S2DC201705071132,弹性扩展"))
    assert parsed.errors == []
    first, second = parsed.rows
    assert (first.tenant, first.users, first.token, first.kind, first.scenarios) == (
        "nbitest_11", ["user1"], "tok-aaaa", "Site2Site", ["create", "scale"])
    assert (second.users, second.token, second.scenarios) == (["user2", "user3", "user4"], "", ["scale"])
    assert "bearer" not in first.present and "role" not in first.present


def test_it_reads_english_headers_in_any_case_and_spacing():
    parsed = _parse(_csv("USER(S) ,  ies tenant,X-Auth-Token,type,service_id,Service Name,cloud vpn name,Scenarios,"
                         "Role,Notes",
                         "user1,nbitest_11,,site2site,abc,n,VPN1,create & activate; scale,viewer,anything"))
    assert parsed.errors == []
    assert parsed.rows[0].role == "viewer" and parsed.rows[0].kind == "Site2Site"


def test_it_reads_semicolon_separated_csv_in_gb18030():
    data = ("用户;租户;推荐场景\nUser 1;nbitest_11;弹性扩展\n").encode("gb18030")
    parsed = _parse(data)
    assert parsed.errors == [] and parsed.rows[0].scenarios == ["scale"]


def test_it_reads_xlsx():
    parsed = _parse(xlsx_bytes([HEADER_EN.split(","), ["User 2~User 4", "nbitest_12", None, "Site2DC", "id-1", "n",
                                                   "VPN", "scale"]]), "t.xlsx")
    assert parsed.errors == [] and parsed.rows[0].users == ["user2", "user3", "user4"]


@pytest.mark.parametrize(("data", "message"), [
    (_csv("Name,Group", "user1,nbitest_11"), "missing column(s): Users / 用户, Tenant / 租户"),
    (_csv("Users,Tenant,Colour", "user1,nbitest_11,red"), "unknown column C \u201cColour\u201d"),
    (_csv("Users,Tenant,Users", "user1,nbitest_11,user2"), "column C repeats"),
    (_csv(HEADER_EN), "column names but no rows"),
    (b"\n\n  \n", "The file is empty."),
    (b"", "The file is empty."),
])
def test_it_refuses_a_file_it_cannot_use(data, message):
    with pytest.raises(SheetError, match=None) as caught:
        _parse(data)
    assert message in str(caught.value)


def test_it_refuses_random_bytes_named_xlsx():
    with pytest.raises(SheetError) as caught:
        _parse(bytes(range(256)) * 40, "presets.xlsx")
    assert "not a readable .xlsx spreadsheet" in str(caught.value)


def test_it_refuses_a_zip_that_is_not_a_workbook():
    out = io.BytesIO()
    import zipfile

    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("hello.txt", "hi")
    with pytest.raises(SheetError, match="not a readable .xlsx"):
        _parse(out.getvalue(), "presets.xlsx")


def test_it_refuses_binary_named_csv():
    with pytest.raises(SheetError, match="not a CSV text file"):
        _parse(b"PK\x03\x04\x00\x00" + bytes(200), "presets.csv")


def test_it_refuses_other_file_types():
    with pytest.raises(SheetError, match="Upload an .xlsx or a .csv file."):
        _parse(b"Users,Tenant\nuser1,nbitest_11\n", "presets.xls")


def _data_rows(count: int) -> list[list[str]]:
    return [HEADER_EN.split(",")] + [[f"user{n}", f"tenant_{n}", "", "Site2DC", f"id{n}", f"svc{n}", f"VPN{n}",
                                      "scale"] for n in range(count)]


@pytest.mark.parametrize("kind", ["csv", "xlsx"])
def test_it_refuses_more_than_2000_rows(kind):
    rows = _data_rows(read.MAX_ROWS + 1)
    data = xlsx_bytes(rows) if kind == "xlsx" else _csv(*(",".join(r) for r in rows))
    with pytest.raises(SheetError) as caught:
        _parse(data, f"big.{kind}")
    assert "more than 2,000 rows" in str(caught.value)


# A huge file costs no more than a big one: reading stops at the first row past the limit (how
# fast that is belongs to a benchmark; here, what is read is counted).


def _counted(rows, pulled: list[int]):
    for row in rows:
        pulled[0] += 1
        yield row


@pytest.mark.parametrize(("row", "limit"), [
    (["user1", "nbitest_11"], read.MAX_ROWS + 2),  # the header, 2,000 rows, and the one too many
    (["", " "], read.MAX_ROWS * 10 + 1),            # blank rows are bounded too
])
def test_reading_stops_at_the_first_row_past_the_limit(row, limit):
    def endless():
        while True:
            yield list(row)

    pulled = [0]
    with pytest.raises(SheetError, match="more than 2,000 rows"):
        read._collect(_counted(endless(), pulled))
    assert pulled[0] == limit


def _sheet_edited(data: bytes, *edits: tuple[bytes, bytes]) -> bytes:
    """The same .xlsx with its sheet's XML edited (each edit: old bytes, new bytes)."""
    source, out = zipfile.ZipFile(io.BytesIO(data)), io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            content = source.read(info.filename)
            if info.filename.startswith("xl/worksheets/sheet"):
                for old, new in edits:
                    content = content.replace(old, new)
            target.writestr(info, content)
    return out.getvalue()


# XML no parser accepts, after the last row: only a reader that gets there fails on it.
BROKEN_AT_THE_END = (b"</sheetData>", b"<row r='999999'><c></row></sheetData>")
# What Excel and LibreOffice write before the rows (openpyxl's write-only mode does not).
WITH_DIMENSION = (b"<sheetViews>", b"<dimension ref='A1:H6002'/><sheetViews>")


def test_a_spreadsheet_is_read_row_by_row_and_not_past_the_limit():
    data = xlsx_bytes(_data_rows(read.MAX_ROWS + 4000))
    pulled = [0]
    with pytest.raises(SheetError, match="more than 2,000 rows"):
        read._collect(_counted(read._xlsx_rows(data), pulled))
    # The inspection of the zip's XML counts the rows before openpyxl is given the file at all.
    assert pulled[0] == 0


def test_a_spreadsheet_as_excel_saves_it_is_not_parsed_past_the_limit():
    # Rows far past the limit, then broken XML: a reader that took in the whole sheet first would
    # stop at the break instead of at the limit.
    data = _sheet_edited(xlsx_bytes(_data_rows(read.MAX_ROWS + 4000)), WITH_DIMENSION, BROKEN_AT_THE_END)
    with pytest.raises(SheetError, match="more than 2,000 rows"):
        read_upload(name="big.xlsx", data=data)
    # The control: the same break within the limit is read, and refused.
    short = _sheet_edited(xlsx_bytes(_data_rows(10)), WITH_DIMENSION, BROKEN_AT_THE_END)
    with pytest.raises(SheetError, match="not a readable .xlsx"):
        read_upload(name="short.xlsx", data=short)


def test_a_spreadsheet_without_its_size_is_not_parsed_past_the_limit():
    data = _sheet_edited(xlsx_bytes(_data_rows(read.MAX_ROWS + 4000)), BROKEN_AT_THE_END)
    with pytest.raises(SheetError, match="more than 2,000 rows"):
        read_upload(name="big.xlsx", data=data)


def test_a_csv_is_not_read_past_the_limit():
    rows = _data_rows(read.MAX_ROWS + 4000)
    data = _csv(*(",".join(r) for r in rows))
    pulled = [0]
    with pytest.raises(SheetError, match="more than 2,000 rows"):
        read._collect(_counted(read._csv_rows(data), pulled))
    assert pulled[0] == read.MAX_ROWS + 2


# Pasted text: lines are counted before blank ones are dropped and wrapped cells joined.


def _pulled_lines(monkeypatch) -> list[int]:
    pulled = [0]
    text_rows = read._text_rows
    monkeypatch.setattr(read, "_text_rows", lambda text: _counted(text_rows(text), pulled))
    return pulled


def test_pasted_text_is_not_read_past_the_line_limit(monkeypatch):
    # Blank lines were dropped before any limit counted them: 4M of them took 4.5 s.
    pulled = _pulled_lines(monkeypatch)
    with pytest.raises(SheetError, match="more than 20,000 lines"):
        read.read_pasted("Users\tTenant\n" + "\n" * 400_000)
    assert pulled[0] == read.MAX_PASTED_LINES + 1


def _wrapped(lines: int) -> str:
    """A header and one row whose first cell runs over `lines` lines."""
    return "Users\tTenant\nuser1\n" + "x\n" * (lines - 2) + "x\tnbitest_11\n"


def test_a_pasted_cell_over_too_many_lines_is_refused(monkeypatch):
    # The reviewer's text: one cell over 400k lines took 11 s, the cell copied at every line.
    pulled = _pulled_lines(monkeypatch)
    with pytest.raises(SheetError, match="runs over more than 50 lines"):
        read.read_pasted(_wrapped(400_000))
    assert pulled[0] == read.MAX_CELL_LINES + 2  # the header, and the cell's lines up to the one too many
    # The control: a cell over the most lines allowed is put together.
    rows = read.read_pasted(_wrapped(read.MAX_CELL_LINES))
    assert rows[1][1] == ["user1" + "\nx" * (read.MAX_CELL_LINES - 1), "nbitest_11"]


def test_it_refuses_a_file_over_the_size_limit():
    with pytest.raises(SheetError, match="larger than 5 MB"):
        read_upload(name="x.csv", data=b"a" * (MAX_UPLOAD_BYTES + 1))


@pytest.mark.parametrize("cell", ['=HYPERLINK("http://x","y")', "@SUM(A1)", "+cmd|' /C calc'!A0", "-2+3"])
def test_it_refuses_formula_cells_with_row_and_column(cell):
    line = f'user1,nbitest_11,,Site2DC,abc,"{cell.replace(chr(34), chr(34) * 2)}",VPN,scale'
    parsed = _parse(_csv(HEADER_EN, "user2,nbitest_12,,Site2DC,abc,fine,VPN,scale", line))
    assert parsed.rows[0].tenant == "nbitest_12" and len(parsed.rows) == 1
    [error] = parsed.errors
    assert (error.row, error.column, error.header) == (3, "F", "Service name")
    assert "Row 3, column F (Service name)" in str(error)


def test_it_refuses_a_real_formula_cell_in_xlsx():
    parsed = _parse(xlsx_bytes([["Users", "Tenant"], ["user1", '=HYPERLINK("http://x","y")']]), "f.xlsx")
    assert [(e.row, e.column) for e in parsed.errors] == [(2, "B")]
    assert "Formulas are not accepted" in parsed.errors[0].message


def test_opaque_ids_may_start_with_a_dash_and_exported_apostrophes_are_removed():
    parsed = _parse(_csv(HEADER_EN, "user1,nbitest_11,-tok+en,Site2DC,'-cuGnVONz6qw,name,VPN,scale",
                         "user2,nbitest_12,,Site2DC,x,'=cmd,VPN,scale"))
    row = parsed.rows[0]
    assert (row.token, row.service_id) == ("-tok+en", "-cuGnVONz6qw")
    # An apostrophe protects a cell in a spreadsheet, not in the portal: the formula is still refused.
    assert [(e.row, e.column) for e in parsed.errors] == [(3, "F")]


def test_it_reports_every_bad_cell_with_its_row_and_column():
    parsed = _parse(_csv(HEADER_EN + ",Role",
                         "user1,nbitest 11,,Site9,abc,n,VPN,scale,member",
                         "user5~user2,nbitest_12,has space,Site2DC,abc,n,VPN,teleport,boss"))
    where = sorted((e.row, e.column) for e in parsed.errors)
    assert where == [(2, "B"), (2, "D"), (3, "A"), (3, "C"), (3, "H"), (3, "I")]
    assert parsed.rows == []


def test_rows_keep_their_spreadsheet_numbers_across_blank_rows():
    parsed = _parse(_csv("", HEADER_EN, "", "user1,nbitest_11,,Site2DC,a,n,VPN,scale", ",,,,,,,",
                         "user2,bad tenant,,Site2DC,a,n,VPN,scale"))
    assert [r.number for r in parsed.rows] == [4]
    assert [(e.row, e.column) for e in parsed.errors] == [(6, "B")]


def test_a_value_without_a_column_name_is_an_error():
    parsed = _parse(_csv("Users,Tenant,", "user1,nbitest_11,stray"))
    assert [(e.row, e.column) for e in parsed.errors] == [(2, "C")]


def test_a_tenant_on_two_rows_must_agree():
    parsed = _parse(_csv(HEADER_EN + ",Role",
                         "user1,nbitest_11,,Site2Site,abc,n,VPN,scale,member",
                         "user2,nbitest_11,,Site2DC,abc,n,VPN,scale,viewer",
                         "user1,nbitest_11,,Site2Site,abc,n,VPN,scale,viewer"))
    messages = [str(e) for e in parsed.errors]
    assert any("Row 3" in m and "different Kind" in m for m in messages)
    assert any("Row 4" in m and "user1" in m and "another role" in m for m in messages)


def test_secrets_wait_in_the_session_encrypted():
    rows = _parse(_csv(HEADER_EN, "user1,nbitest_11,secret-token-1234,Site2DC,abc,n,VPN,scale")).rows
    stored = rows_to_session(rows)
    assert "secret-token-1234" not in repr(stored)
    assert rows_from_session(stored) == rows
