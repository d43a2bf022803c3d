"""Tenant pages: create, edit, replace credentials; tokens stored encrypted and never shown back."""

import pytest

from portal.audit.models import AuditEvent
from portal.tenants.models import Scenario, Tenant
from tests.portal.staff.conftest import post

pytestmark = pytest.mark.django_db

TOKEN = "MIIEtokenForTests+abc/def=Zq9X"
BEARER = "0f8e9d7c-aaaa-bbbb-cccc-1234567890ab"


def _new_tenant(staff, **overrides):
    data = {"name": "acme_1", "ies_base_url": "", "ies_tenant_id": "", "scenarios": ["create", "scale"],
            "is_active": "on", "token": TOKEN, "bearer": BEARER, "ref_kind": "Site2DC",
            "ref_service_id": "-abcDEF", "ref_service_name": "site2dc_acme", "ref_cloud_vpn_name": "0S2DCACME"}
    data.update(overrides)
    return post(staff, "/staff/tenants/new/", data)


def test_it_lists_the_tenants_with_masked_tokens(staff, simulator, preset_secrets):
    page = staff.get("/staff/tenants/")
    assert page.status_code == 200
    for name in simulator.preset_tenants:
        assert name in page.text
        assert "…" + simulator.tenants[name]["token"][-4:] in page.text
    for secret in preset_secrets:
        assert secret not in page.text


def test_it_creates_a_tenant_with_encrypted_credentials(staff):
    answer = _new_tenant(staff)
    tenant = Tenant.objects.get(name="acme_1")
    assert answer.status_code == 302 and answer["Location"] == f"/staff/tenants/{tenant.pk}/"
    assert tenant.credentials() == (TOKEN, BEARER)
    assert TOKEN not in tenant.token_encrypted and BEARER not in tenant.bearer_encrypted
    assert tenant.scenarios == [Scenario.CREATE, Scenario.SCALE]
    assert tenant.ref_service_id == "-abcDEF"
    page = staff.get(answer["Location"])
    assert "…Zq9X" in page.text and "…90ab" in page.text
    assert TOKEN not in page.text and BEARER not in page.text
    event = AuditEvent.objects.get(action="tenant.create")
    assert event.actor_name == "admin" and event.tenant_name == "acme_1"
    assert TOKEN not in str(event.after) and event.after["token"] == "…Zq9X"


def test_it_never_renders_a_token_back_after_a_validation_error(staff):
    answer = _new_tenant(staff, name="bad name!", ies_base_url="http://ies.example:17100/api")
    assert answer.status_code == 400
    assert TOKEN not in answer.text and BEARER not in answer.text
    assert "ends in /rest" in answer.text
    assert not Tenant.objects.filter(name="bad name!").exists()


def test_it_wants_both_token_and_bearer_or_neither(staff):
    assert _new_tenant(staff, bearer="").status_code == 400
    answer = _new_tenant(staff, token="", bearer="")
    assert answer.status_code == 302
    assert not Tenant.objects.get(name="acme_1").has_credentials


def test_it_refuses_formulas_in_the_reference_service(staff):
    answer = _new_tenant(staff, ref_service_name='=HYPERLINK("http://x","y")', ref_cloud_vpn_name="@x")
    assert answer.status_code == 400 and "Formulas are not accepted" in answer.text
    assert _new_tenant(staff, ref_service_id="-starts-with-dash").status_code == 302


def test_it_refuses_a_duplicate_name(staff):
    assert _new_tenant(staff, name="nbitest_11").status_code == 400


def test_it_edits_a_tenant_and_records_what_changed(staff):
    tenant = Tenant.objects.get(name="nbitest_12")
    data = {"name": "nbitest_12", "ies_base_url": "http://ies.example:17100/rest/", "ies_tenant_id": tenant.ies_tenant_id,
            "scenarios": ["scale"], "ref_kind": "Site2DC", "ref_service_id": tenant.ref_service_id,
            "ref_service_name": tenant.ref_service_name, "ref_cloud_vpn_name": tenant.ref_cloud_vpn_name}
    token, bearer = tenant.token_masked, tenant.bearer_masked
    assert token and bearer
    answer = post(staff, f"/staff/tenants/{tenant.pk}/edit/", data)  # is_active unticked: deactivated
    # A new IES address: the old address's token and bearer are cleared and asked for again.
    assert answer.status_code == 302 and answer["Location"] == f"/staff/tenants/{tenant.pk}/credentials/"
    tenant.refresh_from_db()
    assert tenant.ies_base_url == "http://ies.example:17100/rest" and tenant.is_active is False
    assert not tenant.has_credentials and not tenant.token_masked and not tenant.bearer_masked
    event = AuditEvent.objects.get(action="tenant.update")
    assert event.before == {"ies_base_url": "", "is_active": True, "token": token, "bearer": bearer}
    assert event.after == {"ies_base_url": "http://ies.example:17100/rest", "is_active": False, "token": "",
                           "bearer": ""}
    page = staff.get(answer["Location"])
    assert "its stored token and bearer were cleared" in page.text


def test_a_new_ies_address_never_receives_the_old_token(staff, simulator):
    tenant = Tenant.objects.get(name="nbitest_12")
    token, bearer = tenant.credentials()
    data = {"name": "nbitest_12", "ies_base_url": simulator.base_url.replace("127.0.0.1", "localhost"),
            "ies_tenant_id": tenant.ies_tenant_id, "scenarios": ["scale"], "is_active": "on", "ref_kind": "Site2DC",
            "ref_service_id": tenant.ref_service_id, "ref_service_name": tenant.ref_service_name,
            "ref_cloud_vpn_name": tenant.ref_cloud_vpn_name}
    assert post(staff, f"/staff/tenants/{tenant.pk}/edit/", data).status_code == 302
    tenant.refresh_from_db()
    assert not tenant.has_credentials
    # "Check connection" at the new address has nothing to send: the old token never leaves.
    check = post(staff, f"/staff/tenants/{tenant.pk}/check/", follow=True)
    assert "no complete IES credentials" in check.text
    assert token not in check.text and bearer not in check.text


def test_other_changes_keep_the_credentials(staff):
    tenant = Tenant.objects.get(name="nbitest_12")
    data = {"name": "nbitest_12", "ies_base_url": tenant.ies_base_url, "ies_tenant_id": tenant.ies_tenant_id,
            "scenarios": ["scale"], "ref_kind": "Site2DC", "ref_service_id": tenant.ref_service_id,
            "ref_service_name": tenant.ref_service_name, "ref_cloud_vpn_name": tenant.ref_cloud_vpn_name}
    assert post(staff, f"/staff/tenants/{tenant.pk}/edit/", data).status_code == 302
    tenant.refresh_from_db()
    assert tenant.has_credentials and tenant.is_active is False


def test_an_inactive_tenant_disappears_for_its_users(staff, login):
    Tenant.objects.filter(name="nbitest_11").update(is_active=False)
    page = login("user1").get("/services/")
    assert "s2s_201705061433" not in page.text


def test_it_replaces_the_token_and_keeps_the_bearer(staff, simulator):
    tenant = Tenant.objects.get(name="nbitest_13")
    old_bearer = simulator.tenants["nbitest_13"]["bearer"]
    form = staff.get(f"/staff/tenants/{tenant.pk}/credentials/")
    assert form.status_code == 200 and simulator.tenants["nbitest_13"]["token"] not in form.text
    answer = post(staff, f"/staff/tenants/{tenant.pk}/credentials/", {"token": TOKEN, "bearer": ""})
    assert answer.status_code == 302
    tenant.refresh_from_db()
    assert tenant.credentials() == (TOKEN, old_bearer)
    assert tenant.token_masked == "…Zq9X"
    event = AuditEvent.objects.get(action="tenant.token.replace")
    assert event.after["token"] == "…Zq9X" and TOKEN not in str(event.after) + event.message


def test_it_refuses_an_empty_or_malformed_replacement(staff):
    tenant = Tenant.objects.get(name="nbitest_13")
    assert post(staff, f"/staff/tenants/{tenant.pk}/credentials/", {}).status_code == 400
    answer = post(staff, f"/staff/tenants/{tenant.pk}/credentials/", {"token": "two words", "bearer": ""})
    assert answer.status_code == 400 and "two words" not in answer.text


def test_the_tenant_form_uses_write_only_password_inputs(staff):
    page = staff.get("/staff/tenants/new/")
    assert 'type="password" name="token"' in page.text and 'type="password" name="bearer"' in page.text


def test_it_adds_removes_and_changes_members_on_the_tenant_page(staff, django_user_model):
    tenant = Tenant.objects.get(name="nbitest_16")
    assert post(staff, f"/staff/tenants/{tenant.pk}/members/add/", {"username": "user1", "role": "viewer"}
                ).status_code == 302
    membership = tenant.memberships.get(user__username="user1")
    assert membership.role == "viewer"
    assert post(staff, f"/staff/memberships/{membership.pk}/role/",
                {"role": "member", "next": f"/staff/tenants/{tenant.pk}/"})["Location"] == f"/staff/tenants/{tenant.pk}/"
    membership.refresh_from_db()
    assert membership.role == "member"
    assert post(staff, f"/staff/memberships/{membership.pk}/remove/", {"next": "https://evil.example/"}
                )["Location"] == f"/staff/users/{membership.user_id}/"
    assert not tenant.memberships.filter(user__username="user1").exists()
    assert post(staff, f"/staff/tenants/{tenant.pk}/members/add/", {"username": "nobody", "role": "member"}
                ).status_code == 400
    actions = list(AuditEvent.objects.filter(tenant_name="nbitest_16").values_list("action", flat=True))
    assert {"membership.create", "membership.role.change", "membership.delete"} <= set(actions)


def test_the_staff_pages_reject_a_post_without_csrf_token(staff):
    tenant = Tenant.objects.get(name="nbitest_16")
    assert staff.post(f"/staff/tenants/{tenant.pk}/check/").status_code == 403
    assert staff.post("/staff/tenants/new/", {"name": "x"}).status_code == 403


def test_in_production_a_tenant_address_must_be_https(staff, settings):
    settings.IES_REQUIRE_HTTPS = True  # what DEBUG off (production) sets by default
    tenant = Tenant.objects.get(name="nbitest_12")
    data = {"name": "nbitest_12", "ies_base_url": "http://ies.example:17100/rest", "ies_tenant_id": tenant.ies_tenant_id,
            "scenarios": ["scale"], "is_active": "on", "ref_kind": "Site2DC", "ref_service_id": tenant.ref_service_id,
            "ref_service_name": tenant.ref_service_name, "ref_cloud_vpn_name": tenant.ref_cloud_vpn_name}
    refused = post(staff, f"/staff/tenants/{tenant.pk}/edit/", data)
    assert refused.status_code == 400 and "Only an https:// address is accepted" in refused.text
    tenant.refresh_from_db()
    assert tenant.ies_base_url == "" and tenant.has_credentials
    assert post(staff, f"/staff/tenants/{tenant.pk}/edit/",
                data | {"ies_base_url": "https://ies.example:17100/rest"}).status_code == 302
    tenant.refresh_from_db()
    assert tenant.ies_base_url == "https://ies.example:17100/rest"


def test_staff_map_two_groups_and_require_single_sign_on(staff):
    tenant = Tenant.objects.get(name="nbitest_12")
    page = staff.get(f"/staff/tenants/{tenant.pk}/edit/")
    assert 'name="sso_member_group"' in page.text and 'data-testid="sso-off"' in page.text  # not configured here
    data = {"name": "nbitest_12", "ies_base_url": "", "ies_tenant_id": tenant.ies_tenant_id, "scenarios": ["scale"],
            "is_active": "on", "ref_kind": "Site2DC", "ref_service_id": tenant.ref_service_id,
            "ref_service_name": tenant.ref_service_name, "ref_cloud_vpn_name": tenant.ref_cloud_vpn_name,
            "require_sso": "on", "sso_member_group": " netops ", "sso_viewer_group": "netops"}
    refused = post(staff, f"/staff/tenants/{tenant.pk}/edit/", data)
    assert refused.status_code == 400 and "one group gives one role" in refused.text
    assert 'value="netops"' in refused.text  # what was typed stays
    data["sso_viewer_group"] = "readers"
    assert post(staff, f"/staff/tenants/{tenant.pk}/edit/", data).status_code == 302
    tenant.refresh_from_db()
    assert (tenant.require_sso, tenant.sso_member_group, tenant.sso_viewer_group) == (True, "netops", "readers")
    event = AuditEvent.objects.get(action="tenant.update")
    assert event.after == {"require_sso": True, "sso_member_group": "netops", "sso_viewer_group": "readers"}
