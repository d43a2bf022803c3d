"""The deck's table as the deck prints it (headers, scenario sentences, shortened tokens), and the
plan that says which working tokens an import would replace."""


import pytest

from portal.staff import services
from portal.staff.importing.errors import SheetError, quote_value
from portal.staff.importing.parse import map_headers, parse_scenarios, parse_table
from portal.staff.importing.plan import build_plan
from portal.staff.importing.read import read_pasted, read_upload
from portal.tenants.models import Tenant
from tests.portal.helpers import xlsx_bytes
from tests.portal.staff.deck_table import BOTH, HEADER, ROWS, SCALE, TOKENS, pasted


def _check_deck_rows(parsed) -> None:
    assert parsed.errors == []
    by_tenant = {row.tenant: row for row in parsed.rows}
    assert list(by_tenant) == [f"nbitest_{n}" for n in range(11, 17)]
    first = by_tenant["nbitest_11"]
    assert (first.users, first.kind, first.service_id, first.service_name, first.cloud_vpn_name, first.scenarios) == (
        ["user1"], "Site2Site", "8hiqoNgCSZmrlD1MyROJbg", "s2s_201705061433", "VPNS2S201705061433",
        ["create", "scale"])
    assert first.token == TOKENS["nbitest_11"]
    assert by_tenant["nbitest_15"].users == ["user12", "user13", "user14", "user15"]
    assert by_tenant["nbitest_14"].kind == "Site2DC" and by_tenant["nbitest_14"].scenarios == ["scale"]


def test_it_reads_the_decks_table_pasted_from_the_slide():
    _check_deck_rows(parse_table(read_pasted(pasted())))


def test_it_reads_the_decks_table_saved_as_a_spreadsheet():
    _check_deck_rows(parse_table(read_upload(name="预置数据.xlsx", data=xlsx_bytes([HEADER, *ROWS]))))


def test_it_reads_cells_a_slide_wrapped_over_several_lines():
    """Pasted text keeps a cell's line breaks unquoted: the next line continues the cell."""
    wrapped = [list(row) for row in ROWS[:2]]
    token = TOKENS["nbitest_11"]
    wrapped[0][2] = token[:38] + "\n" + token[38:76] + "\n" + token[76:]
    wrapped[1][0] = "User 2~User \n4"
    wrapped[1][5] = "site2dc_201705071\n132"
    parsed = parse_table(read_pasted(pasted(rows=wrapped)))
    assert parsed.errors == []
    first, second = parsed.rows
    assert first.token == token
    assert second.users == ["user2", "user3", "user4"] and second.service_name == "site2dc_201705071132"


def test_it_reads_a_spreadsheets_quoted_multi_line_cells():
    text = 'User\tIES Tenant name\tRecommended scenarios\nUser 1\tnbitest_11\t"Support ""Create & activate\nCloudVPN ' \
           'service"" and ""Elastically scale CloudVPN network "" scenarios"\n'
    parsed = parse_table(read_pasted(text))
    assert parsed.errors == [] and parsed.rows[0].scenarios == ["create", "scale"]


@pytest.mark.parametrize("header", [
    HEADER,
    ["user", "ies tenant name", "IES TENANT TOKEN", "cloudvpn", "Service ID", "service name", "Cloud VPN Name",
     "recommended  scenarios"],
    ["User", "IES_Tenant_Name", "IES-Tenant-Token:", "CloudVPN", "ServiceID", "ServiceName", "CloudVpnName",
     "Recommended scenarios"],
    ["用户", "IES 租户名", "IES 租户令牌", "CloudVPN", "业务ID", "业务名称", "CloudVpnName", "推荐场景"],
    ["用户", "租户名称", "令牌", "CloudVPN 类型", "服务ID", "服务名称", "CloudVpnName", "场景"],
    ["用户", "租户", "Token", "类型", "业务ID", "业务名称", "CloudVpnName", "推荐场景"],  # the portal's export
])
def test_it_accepts_the_decks_header_variants(header):
    assert list(map_headers(header).values()) == ["users", "tenant", "token", "kind", "service_id", "service_name",
                                                  "cloud_vpn_name", "scenarios"]


@pytest.mark.parametrize(("cell", "expected"), [
    (BOTH, ["create", "scale"]),
    (SCALE, ["scale"]),
    ('Support "Create & activate \nCloudVPN service" and \n"Elastically scale CloudVPN\nnetwork " scenarios',
     ["create", "scale"]),
    ("支持“创建&激活CloudVPN业务”和“弹性扩展CloudVPN网络”场景", ["create", "scale"]),
    ("Support Elastically scale CloudVPN network scenarios", ["scale"]),  # quotes lost in a copy
    ("create & activate; scale", ["create", "scale"]),  # the portal's export
    ("弹性扩展", ["scale"]),
])
def test_it_reads_scenario_cells(cell, expected):
    assert parse_scenarios(cell) == expected


def test_an_unknown_scenario_is_quoted_whole_or_cut_between_words():
    with pytest.raises(ValueError) as caught:
        parse_scenarios('Support "Migrate the whole CloudVPN network to another region" scenarios')
    message = str(caught.value)
    assert "“Migrate the whole CloudVPN network to…”" in message


@pytest.mark.parametrize(("value", "expected"), [
    ("short", "“short”"),
    ("Migrate the whole CloudVPN network to another region", "“Migrate the whole CloudVPN network to…”"),
    ("Support  \"Elastically scale\nCloudVPN", "“Support \"Elastically scale CloudVPN”"),
    ("x" * 60, "“" + "x" * 60 + "”"),  # one long word: whole, not cut
    ("y" * 500, "a value of 500 characters"),  # too long to quote at all
])
def test_quote_value_never_cuts_a_word(value, expected):
    assert quote_value(value) == expected


def test_an_unknown_column_is_named_whole():
    with pytest.raises(SheetError) as caught:
        map_headers(["User", "IES Tenant name", "Recommended scenarios for the second half of the year"])
    assert "“Recommended scenarios for the second…”" in str(caught.value)


@pytest.mark.django_db
def test_the_plan_marks_every_working_token_the_deck_would_replace(presets):
    plan = build_plan(parse_table(read_pasted(pasted())).rows)
    assert plan.tenants_losing_credentials == [f"nbitest_{n}" for n in range(11, 17)]
    replaced = plan.rows[0].replaces[0]
    stored = Tenant.objects.get(name="nbitest_11").credentials()[0]
    assert (replaced.key, replaced.old_last4, replaced.old_length, replaced.new_last4, replaced.new_length) == (
        "token", stored[-4:], len(stored), TOKENS["nbitest_11"][-4:], len(TOKENS["nbitest_11"]))
    kept = plan.without_replacements(allowed={"nbitest_16"})
    assert [row.secrets for row in kept.rows] == [[], [], [], [], [], ["token"]]


@pytest.mark.django_db
def test_a_tenant_without_a_stored_token_is_not_marked(db):
    Tenant.objects.create(name="nbitest_11")
    plan = build_plan(parse_table(read_pasted(pasted(rows=ROWS[:1]))).rows)
    assert plan.rows[0].secrets == ["token"] and plan.rows[0].replaces == []
    assert plan.tenants_losing_credentials == []


@pytest.mark.django_db
def test_apply_keeps_working_tokens_unless_allowed(presets):
    before = {t.name: t.credentials() for t in Tenant.objects.all()}
    rows = parse_table(read_pasted(pasted())).rows
    services.import_apply(rows=rows, actor=None, replace_credentials_of=["nbitest_12"])
    after = {t.name: t.credentials() for t in Tenant.objects.all()}
    assert after["nbitest_12"][0] == TOKENS["nbitest_12"]
    assert after["nbitest_12"][1] == before["nbitest_12"][1]  # the deck has no bearer: it stays
    assert {name: creds for name, creds in after.items() if name != "nbitest_12"} == {
        name: creds for name, creds in before.items() if name != "nbitest_12"}


@pytest.mark.parametrize(("cell", "unknown"), [("create & activate; scael", "scael"), ("create; bogus", "bogus"),
                                              ("scale, foo", "foo")])
def test_a_list_with_a_typo_is_refused_not_skimmed_as_a_sentence(cell, unknown):
    with pytest.raises(ValueError, match=f"Unknown scenario “{unknown}”"):
        parse_scenarios(cell)


def test_a_header_row_that_is_data_never_repeats_a_token():
    """A table pasted without its header row: the first row's token must not reach the message,
    which the page shows and the audit log keeps."""
    token = TOKENS["nbitest_11"] if "nbitest_11" in TOKENS else next(iter(TOKENS.values()))
    with pytest.raises(SheetError) as caught:
        map_headers(["User 1~User 3", "nbitest_11", token, "Site2DC"])
    assert token not in str(caught.value)
    assert token[:16] not in str(caught.value)
    assert "is the row naming the columns missing?" in str(caught.value)
