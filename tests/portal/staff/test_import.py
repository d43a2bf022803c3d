"""Import through the pages: upload → preview (what will change) → apply in one transaction;
export → import changes nothing; bad files change nothing."""

import io
import json

import pytest
from django.contrib.auth import get_user_model
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from openpyxl import Workbook, load_workbook

from portal.audit.models import AuditEvent, Outcome
from portal.staff import services
from portal.staff.importing.parse import parse_table
from portal.staff.importing.read import read_upload
from portal.staff.views import SESSION_IMPORT_KEY
from portal.tenants.models import Membership, Role, Tenant
from tests.portal.staff.conftest import post

pytestmark = pytest.mark.django_db
User = get_user_model()

DECK_ZH = """用户,租户,Token,类型,业务ID,业务名称,CloudVpnName,推荐场景
User 1,nbitest_11,{t11},Site2Site,8hiqoNgCSZmrlD1MyROJbg,s2s_201705061433,VPNS2S201705061433,创建&激活；弹性扩展
User 2~User 4,nbitest_12,,Site2DC,9LbuAd11Qe-cuGnVONz6qw,site2dc_201705071132,0S2DC201705071132,弹性扩展
User 5~User 7,nbitest_13,,Site2DC,FLAUUc8NT0qN-mNTM_lcfw,site2dc3_201705081840,0S2DC3201705081840,弹性扩展
User 8~User 11,nbitest_14,,Site2DC,L8YNdmm4Rg-SJcMnlicUQA,site2dc4_201705071158,0S2DC4201705092039,弹性扩展
User 12~User 15,nbitest_15,,Site2DC,FbqROiHgSyGhZpzJPXH_BA,site2dc5_201705071256,0S2DC5201705071256,弹性扩展
User 16,nbitest_16,,Site2DC,BkLfGSbKQXybr0kkj8MQTQ,site2dc6_201705071300,0S2DC6201705071300,创建&激活；弹性扩展
"""


def upload(client, name: str, data: bytes):
    return post(client, "/staff/import/", {"file": SimpleUploadedFile(name, data)})


def state() -> tuple:
    """Everything an import could touch, to prove that a refused one touched nothing."""
    return (
        sorted(Tenant.objects.values_list("name", "token_encrypted", "bearer_encrypted", "scenarios", "ref_kind",
                                          "ref_service_id", "ref_service_name", "ref_cloud_vpn_name", "is_active")),
        sorted(User.objects.values_list("username", "password", "is_active")),
        sorted(Membership.objects.values_list("user__username", "tenant__name", "role")),
    )


@pytest.fixture
def root(db, django_user_model):
    """A staff user in an empty portal (no presets)."""
    django_user_model.objects.create_user("root", password="root-pass-for-tests-1", is_staff=True)
    client = Client(enforce_csrf_checks=True)
    assert client.login(username="root", password="root-pass-for-tests-1")
    return client


def test_it_imports_the_decks_table_into_an_empty_portal(root):
    token = "deck-token-fragment-0f3c"
    answer = upload(root, "预置数据.csv", DECK_ZH.format(t11=token).encode())
    assert answer.status_code == 302 and answer["Location"] == "/staff/import/preview/"
    assert not Tenant.objects.exists()  # a preview changes nothing
    preview = root.get("/staff/import/preview/")
    assert "6 to create, 0 to update, 0 unchanged" in preview.text
    assert "16 to create" in preview.text
    assert token not in preview.text
    assert token not in json.dumps(root.session[SESSION_IMPORT_KEY])
    digest = preview.text.split('name="digest" value="')[1].split('"')[0]
    import_id = root.session[SESSION_IMPORT_KEY]["id"]
    applied = post(root, "/staff/import/apply/", {"import_id": import_id, "digest": digest}, follow=True)
    assert "Import applied: 6 tenants created" in applied.text
    assert Tenant.objects.count() == 6 and Membership.objects.count() == 16
    assert set(Membership.objects.filter(tenant__name="nbitest_14").values_list("user__username", flat=True)) == {
        "user8", "user9", "user10", "user11"}
    t11 = Tenant.objects.get(name="nbitest_11")
    assert t11.token_masked == "…0f3c" and not t11.has_credentials  # the deck's table has no bearer
    assert t11.scenarios == ["create", "scale"] and t11.ref_kind == "Site2Site"
    # The users it made share a first password, shown once on the result page.
    password = applied.text.split('id="generated-password">')[1].split("<")[0]
    assert "no-store" in applied["Cache-Control"]  # with "private": every signed-in answer (issue 13, item 8)
    assert Client().login(username="user3", password=password)
    assert AuditEvent.objects.get(action="import.apply").outcome == Outcome.SUCCEEDED
    # 16 by the import, as root (root itself, made in the test's setup, has its own "user.create").
    assert AuditEvent.objects.filter(action="user.create", actor_name="root").count() == 16
    assert SESSION_IMPORT_KEY not in root.session

    # Re-importing the same file updates nothing and duplicates nothing.
    upload(root, "预置数据.csv", DECK_ZH.format(t11=token).encode())
    again = root.get("/staff/import/preview/")
    assert "Nothing to change" in again.text
    assert Tenant.objects.count() == 6 and User.objects.count() == 17 and Membership.objects.count() == 16


def test_it_updates_instead_of_duplicating(staff, simulator):
    data = DECK_ZH.format(t11="").replace("User 2~User 4,nbitest_12", "User 2~User 5,nbitest_12").replace(
        "site2dc3_201705081840", "renamed_service").encode()
    upload(staff, "presets.csv", data)
    preview = staff.get("/staff/import/preview/")
    assert "0 to create, 1 to update, 5 unchanged" in preview.text
    assert "reference service name" in preview.text
    digest = preview.text.split('name="digest" value="')[1].split('"')[0]
    post(staff, "/staff/import/apply/", {"import_id": staff.session[SESSION_IMPORT_KEY]["id"], "digest": digest})
    assert Tenant.objects.get(name="nbitest_13").ref_service_name == "renamed_service"
    assert Membership.objects.filter(user__username="user5").count() == 2
    assert Tenant.objects.count() == 6 and User.objects.count() == 17
    # The stored token was kept (empty cell), and still works.
    tenant = Tenant.objects.get(name="nbitest_11")
    assert tenant.credentials()[0] == simulator.tenants["nbitest_11"]["token"]


@pytest.mark.parametrize(("kind", "language"), [("csv", "en"), ("xlsx", "en"), ("csv", "zh-hans"),
                                                ("xlsx", "zh-hans")])
def test_an_export_imports_back_without_any_change(staff, kind, language, preset_secrets):
    Membership.objects.filter(user__username="user3").update(role=Role.VIEWER)
    Tenant.objects.filter(name="nbitest_12").update(ref_service_id="-starts-with-dash")
    staff.cookies["django_language"] = language
    exported = staff.get(f"/staff/export.{kind}")
    assert exported.status_code == 200 and "attachment" in exported["Content-Disposition"]
    body = exported.content
    if kind == "csv":
        assert ("用户,租户" if language == "zh-hans" else "Users,Tenant").encode() in body
    for secret in preset_secrets:
        assert secret.encode() not in body
    staff.cookies["django_language"] = "en"  # the preview's wording below is English
    before = state()
    assert upload(staff, f"export.{kind}", body).status_code == 302
    preview = staff.get("/staff/import/preview/")
    assert "Nothing to change: the portal already matches this file." in preview.text, preview.text
    assert "0 to create, 0 to update, 6 unchanged" in preview.text
    assert state() == before


def test_the_export_has_the_decks_columns_and_ranges(staff):
    exported = staff.get("/staff/export.xlsx")
    rows = list(load_workbook(io.BytesIO(exported.content), read_only=True).worksheets[0].iter_rows(values_only=True))
    assert rows[0] == ("Users", "Tenant", "Token", "Kind", "Service ID", "Service name", "CloudVpnName",
                       "Recommended scenarios", "Role")
    by_tenant = {r[1]: r for r in rows[1:]}
    assert by_tenant["nbitest_14"][0] == "user8~user11"
    assert by_tenant["nbitest_11"][7] == "create & activate; scale"
    assert all(r[2] in (None, "") for r in rows[1:])


def test_the_export_neutralises_formulas(staff):
    Tenant.objects.filter(name="nbitest_13").update(ref_service_name='=HYPERLINK("http://x","y")',
                                                    ref_cloud_vpn_name="@SUM(1)")
    text = staff.get("/staff/export.csv").content.decode("utf-8-sig")
    assert "'=HYPERLINK" in text and "'@SUM(1)" in text
    workbook = load_workbook(io.BytesIO(staff.get("/staff/export.xlsx").content))
    cells = [c for row in workbook.worksheets[0].iter_rows() for c in row]
    assert not any(c.data_type == "f" for c in cells)
    assert any(c.value == "'=HYPERLINK(\"http://x\",\"y\")" for c in cells)


def _xlsx(rows) -> bytes:
    workbook = Workbook()
    for row in rows:
        workbook.active.append(row)
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


BAD_FILES = [
    ("wrong-columns.csv", b"Name,Group\nuser1,nbitest_11\n", "missing column(s)"),
    ("empty.csv", b"", "The submitted file is empty."),
    ("blank.csv", b"\n \n", "The file is empty."),
    ("header-only.xlsx", _xlsx([["Users", "Tenant"]]), "column names but no rows"),
    ("random.xlsx", bytes(range(256)) * 64, "not a readable .xlsx spreadsheet"),
    ("presets.pdf", b"%PDF-1.4", "Upload an .xlsx or a .csv file."),
    ("formula.csv", b'Users,Tenant,Service name\nuser1,nbitest_11,"=HYPERLINK(""http://x"",""y"")"\n',
     "Row 2, column C (Service name): Formulas are not accepted"),
    ("formula.xlsx", _xlsx([["Users", "Tenant"], ["user1", '=HYPERLINK("http://x","y")']]),
     "Row 2, column B (Tenant): Formulas are not accepted"),
    ("bad-rows.csv", b"Users,Tenant,Kind\nuser9~user2,nbitest_11,Site2DC\nuser1,new_tenant,Site3\n",
     "Row 3, column C (Kind): The kind is Site2DC or Site2Site."),
]


@pytest.mark.parametrize(("name", "data", "message"), BAD_FILES)
def test_a_bad_file_gives_a_clear_error_and_changes_nothing(staff, name, data, message):
    before = state()
    answer = upload(staff, name, data)
    assert answer.status_code == 400
    assert message in answer.text.replace("&quot;", '"').replace("&#x27;", "'")
    assert "Nothing was changed" in answer.text
    assert SESSION_IMPORT_KEY not in staff.session
    assert state() == before


def test_fifty_thousand_rows_are_refused_and_nothing_changes(staff):
    lines = ["Users,Tenant"] + [f"user{n},tenant_{n}" for n in range(50_000)]
    before = state()
    answer = upload(staff, "big.csv", "\n".join(lines).encode())
    assert answer.status_code == 400
    assert "more than 2,000 rows" in answer.text
    assert state() == before


def test_apply_is_all_or_nothing(staff, monkeypatch):
    rows = parse_table(read_upload(name="x.csv", data=(
        b"Users,Tenant\nnew1~new3,fresh_1\nnew4,fresh_2\n"))).rows
    before = state()
    calls = {"n": 0}
    real = services.membership_add

    def failing(**kwargs):
        calls["n"] += 1
        if calls["n"] == 3:
            raise RuntimeError("database went away")
        return real(**kwargs)

    monkeypatch.setattr(services, "membership_add", failing)
    with pytest.raises(RuntimeError):
        services.import_apply(rows=rows, actor=User.objects.get(username="admin"), filename="x.csv")
    assert state() == before
    failed = AuditEvent.objects.get(action="import.apply")
    assert failed.outcome == Outcome.FAILED and "nothing was changed" in failed.message


def test_apply_refuses_a_plan_that_changed_since_the_preview(staff):
    upload(staff, "x.csv", b"Users,Tenant\nnew1,fresh_1\n")
    preview = staff.get("/staff/import/preview/")
    digest = preview.text.split('name="digest" value="')[1].split('"')[0]
    User.objects.create_user("new1")  # someone else made the user meanwhile
    answer = post(staff, "/staff/import/apply/", {"import_id": staff.session[SESSION_IMPORT_KEY]["id"],
                                                  "digest": digest}, follow=True)
    assert "changed since the preview" in answer.text
    assert not Tenant.objects.filter(name="fresh_1").exists()


def test_apply_needs_the_preview_of_this_session(staff, login):
    assert post(staff, "/staff/import/apply/", {"import_id": "nope"}).status_code == 302
    upload(staff, "x.csv", b"Users,Tenant\nnew1,fresh_1\n")
    assert post(staff, "/staff/import/apply/", {"import_id": "forged", "digest": "x"}).status_code == 302
    assert not Tenant.objects.filter(name="fresh_1").exists()
    post(staff, "/staff/import/cancel/")
    assert SESSION_IMPORT_KEY not in staff.session


def _apply(client, **extra):
    preview = client.get("/staff/import/preview/")
    digest = preview.text.split('name="digest" value="')[1].split('"')[0]
    return post(client, "/staff/import/apply/", {"import_id": client.session[SESSION_IMPORT_KEY]["id"],
                                                 "digest": digest, **extra}, follow=True)


def test_an_imported_token_replaces_the_stored_one_when_ticked(staff):
    upload(staff, "t.csv", b"Users,Tenant,Token,Bearer\n,nbitest_16,new-token-ABCD,new-bearer-WXYZ\n")
    preview = staff.get("/staff/import/preview/")
    assert "would replace the working token" in preview.text and "new-token-ABCD" not in preview.text
    assert "…ABCD (14 characters)" in preview.text
    _apply(staff, replace="nbitest_16")
    assert Tenant.objects.get(name="nbitest_16").credentials() == ("new-token-ABCD", "new-bearer-WXYZ")
    event = AuditEvent.objects.get(action="tenant.token.replace")
    assert "new-token-ABCD" not in json.dumps([event.before, event.after, event.message])


def test_a_working_token_is_kept_unless_replace_is_ticked(staff, simulator):
    """The deck prints shortened tokens: importing its table must not break a tenant that works."""
    working = Tenant.objects.get(name="nbitest_11").credentials()
    upload(staff, "deck.csv", b"User,IES Tenant name,IES Tenant Token,CloudVPN\n"
                              b"User 1,nbitest_11,MIIETAYJKoZIhvcNAQcCoIIEPTCCBDkCAQExDTA,Site2Site\n"
                              b"User 16,nbitest_16,,Site2DC\n")
    applied = _apply(staff)
    assert Tenant.objects.get(name="nbitest_11").credentials() == working
    assert "Stored token kept (Replace not ticked): nbitest_11." in applied.text
    assert not AuditEvent.objects.filter(action="tenant.token.replace").exists()


def test_every_imported_user_can_log_in_and_sees_their_tenants_service(root, simulator, inline_worker):
    """The issue's acceptance: the deck's table, with the IES tokens, into an empty portal. The
    import asks for each tenant's services in the background (pages read only the mirror)."""
    rows = ["用户,租户,Token,Bearer,类型,业务ID,业务名称,CloudVpnName,推荐场景"]
    for line in DECK_ZH.splitlines()[1:]:
        users, tenant, _token, *rest = line.split(",")
        creds = simulator.tenants[tenant]
        rows.append(",".join([users, tenant, creds["token"], creds["bearer"], *rest]))
    upload(root, "preset.csv", ("\n".join(rows) + "\n").encode())
    preview = root.get("/staff/import/preview/")
    digest = preview.text.split('name="digest" value="')[1].split('"')[0]
    with inline_worker.sends():
        applied = post(root, "/staff/import/apply/", {"import_id": root.session[SESSION_IMPORT_KEY]["id"],
                                                      "digest": digest})
    password = applied.text.split('id="generated-password">')[1].split("<")[0]
    inline_worker.run_until(lambda: not inline_worker._due, 60, what="the imported tenants' first refresh")
    for line in DECK_ZH.splitlines()[1:]:
        users, tenant, _, _, _, service_name = line.split(",")[:6]
        first = int(users.split("~")[0].split()[-1])
        last = int(users.split("~")[-1].split()[-1])
        for number in range(first, last + 1):
            client = Client()
            assert client.login(username=f"user{number}", password=password), number
            page = client.get("/services/")
            assert service_name in page.text, (number, tenant)
    for creds in simulator.preset_tenants.values():
        for page in (preview.text, applied.text, root.get("/staff/tenants/").text):
            assert creds["token"] not in page and creds["bearer"] not in page
