"""The deck's preset table into the portal from a real browser: pasted as copied from the slide,
previewed, applied; a working token is only replaced when the admin ticks "Replace"."""

import re

import pytest
from playwright.sync_api import expect

from portal.tenants.models import Membership, Tenant
from tests.e2e.test_login_and_services import log_in
from tests.portal.staff.deck_table import TOKENS, pasted

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_it_imports_the_decks_table_pasted_from_the_slide(page, live_server, presets):
    Tenant.objects.filter(name="nbitest_15").delete()  # the one tenant the portal does not have yet
    working = {t.name: t.credentials() for t in Tenant.objects.all()}
    log_in(page, live_server.url, "admin")
    page.goto(live_server.url + "/staff/import/")
    page.get_by_label("…or paste the table").fill(pasted())
    page.get_by_role("button", name="Preview").click()

    expect(page.get_by_role("heading", name=re.compile("Import preview"))).to_be_visible()
    new_row = page.get_by_role("row").filter(has_text="nbitest_15")
    expect(new_row).to_contain_text("new tenant")
    expect(new_row).to_contain_text("user12")
    expect(new_row).to_contain_text("user15")
    # The other five have working tokens that the deck's shortened ones would break.
    expect(page.locator("#token-warning")).to_contain_text("5 tenants")
    expect(page.get_by_role("row").filter(has_text="nbitest_11")).to_contain_text("would replace the working token")
    expect(new_row).not_to_contain_text("would replace the working token")
    for token in TOKENS.values():
        assert token not in page.content()

    page.get_by_role("button", name="Apply all changes").click()
    expect(page.get_by_text(re.compile("Import applied: 1 tenants created"))).to_be_visible()
    created = Tenant.objects.get(name="nbitest_15")
    assert (created.ref_kind, created.scenarios, created.ref_service_id) == (
        "Site2DC", ["scale"], "FbqROiHgSyGhZpzJPXH_BA")
    assert sorted(Membership.objects.filter(tenant=created).values_list("user__username", flat=True)) == [
        "user12", "user13", "user14", "user15"]
    assert created.token_masked == "…" + TOKENS["nbitest_15"][-4:]
    assert {t.name: t.credentials() for t in Tenant.objects.exclude(name="nbitest_15")} == working


def test_a_working_token_is_replaced_only_when_ticked(page, live_server, presets):
    working = Tenant.objects.get(name="nbitest_11").credentials()
    log_in(page, live_server.url, "admin")
    page.goto(live_server.url + "/staff/import/")
    page.get_by_label("Spreadsheet (.xlsx or .csv)").set_input_files(files=[{
        "name": "presets.csv", "mimeType": "text/csv",
        "buffer": b"Users,Tenant,Token\nuser1,nbitest_11,shortened-deck-token-NTE6\n"
                  b"user16,nbitest_16,another-token-QTQx\n"}])
    page.get_by_role("button", name="Preview").click()

    row11 = page.get_by_role("row").filter(has_text="nbitest_11")
    expect(row11).to_contain_text("would replace the working token")
    expect(row11).to_contain_text(f"Stored token …{working[0][-4:]} ({len(working[0])} characters)")
    expect(row11).to_contain_text("…NTE6 (25 characters)")
    expect(row11).to_contain_text("Keeps its stored token unless “Replace” is ticked.")
    page.get_by_label("Replace the stored token of nbitest_16").check()
    page.get_by_role("button", name="Apply all changes").click()

    expect(page.get_by_text("Stored token kept (Replace not ticked): nbitest_11.")).to_be_visible()
    assert Tenant.objects.get(name="nbitest_11").credentials() == working
    assert Tenant.objects.get(name="nbitest_16").credentials()[0] == "another-token-QTQx"
