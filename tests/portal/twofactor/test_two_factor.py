"""Two-factor authentication (portal/twofactor): who must use it, enrolment, the verify gate after
the password, recovery codes, removal and the staff reset. TWO_FACTOR_REQUIRED_FOR_STAFF is off for
the rest of the suite (tests/conftest.py); these tests turn it on."""

import re

import pytest
from django.test import Client
from django_otp.oath import totp
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from portal.audit.models import AuditEvent
from portal.tenants.models import Membership, Role
from portal.twofactor import services
from tests.fixtures_portal import DEMO_PASSWORD
from tests.portal.api.conftest import ApiClient, make_token

pytestmark = [pytest.mark.django_db]


@pytest.fixture(autouse=True)
def _staff_must_use_two_factor(settings):
    settings.TWO_FACTOR_REQUIRED_FOR_STAFF = True


def csrf_from(html: str) -> str:
    return re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html).group(1)


def code_of(device: TOTPDevice, offset: int = 0) -> str:
    return f"{totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits, drift=offset):06d}"


def signed_in(username: str) -> Client:
    client = Client()
    assert client.login(username=username, password=DEMO_PASSWORD)
    return client


@pytest.fixture
def admin(django_user_model):
    return django_user_model.objects.create_user("boss", password=DEMO_PASSWORD, is_staff=True)


def enrolled(user) -> tuple[TOTPDevice, list[str]]:
    """A confirmed authenticator and ten recovery codes, as the setup page leaves them."""
    device = TOTPDevice.objects.create(user=user, name="authenticator", confirmed=True)
    static = StaticDevice.objects.create(user=user, name="recovery", confirmed=True)
    codes = [StaticToken.random_token() for _ in range(10)]
    for code in codes:
        static.token_set.create(token=code)
    return device, codes


def unthrottle(device) -> None:
    device.refresh_from_db()
    device.throttle_reset()


def test_staff_without_a_factor_is_sent_to_setup_and_enrols_with_a_right_code(admin):
    client = signed_in("boss")
    answer = client.get("/staff/tenants/")
    assert answer.status_code == 302
    assert answer["Location"].startswith("/account/two-factor/setup/?next=/staff/tenants/")

    page = client.get(answer["Location"])
    assert page.status_code == 200
    assert 'src="data:image/svg+xml;base64,' in page.text
    device = TOTPDevice.objects.get(user=admin, confirmed=False)
    secret = re.search(r'data-testid="secret">([A-Z2-7 ]+)<', page.text).group(1)
    assert secret.replace(" ", "")  # the key, for typing by hand

    wrong = client.post("/account/two-factor/setup/", {"code": "000000", "next": "/staff/tenants/"})
    assert wrong.status_code == 400
    assert "That code is not right." in wrong.text
    assert not TOTPDevice.objects.filter(user=admin, confirmed=True).exists()
    assert AuditEvent.objects.filter(action="twofactor.failed", actor=admin).exists()
    assert "000000" not in str(list(AuditEvent.objects.values()))
    unthrottle(device)

    right = client.post("/account/two-factor/setup/", {"code": code_of(device), "next": "/staff/tenants/"})
    assert right.status_code == 200
    codes = re.findall(r"<li><code>([a-z2-7]+)</code></li>", right.text)
    assert len(codes) == 10
    assert TOTPDevice.objects.get(user=admin).confirmed
    assert AuditEvent.objects.filter(action="twofactor.enrol", actor=admin).exists()
    # This session is verified now.
    assert client.get("/staff/tenants/").status_code == 200


def test_a_wrong_code_is_throttled_and_the_page_says_to_wait(admin):
    device, _codes = enrolled(admin)
    client = signed_in("boss")
    client.post("/account/two-factor/verify/", {"code": "000000"})
    client.post("/account/two-factor/verify/", {"code": "000001"})
    device.refresh_from_db()
    assert device.throttling_failure_count >= 1
    answer = client.post("/account/two-factor/verify/", {"code": code_of(device)})
    assert answer.status_code == 400
    assert "Too many wrong codes: wait" in answer.text


def test_login_then_every_page_waits_for_the_code_but_the_api_does_not(own_tenant, django_user_model):
    own1 = django_user_model.objects.get(username="own1")
    device, _codes = enrolled(own1)
    client = Client(enforce_csrf_checks=True)
    login_page = client.get("/login/")
    answer = client.post("/login/", {"username": "own1", "password": DEMO_PASSWORD,
                                     "csrfmiddlewaretoken": csrf_from(login_page.text)})
    assert answer.status_code == 302
    for path in ("/services/", "/account/two-factor/", "/account/sessions/"):
        gated = client.get(path)
        assert gated.status_code == 302, path
        assert gated["Location"].startswith("/account/two-factor/verify/?next="), path
    assert client.get("/healthz").status_code == 200

    _token, secret = make_token(own1, own_tenant.tenant)
    assert ApiClient(secret).get("/api/v1/services").status_code == 200

    verify = client.get("/account/two-factor/verify/?next=/services/")
    assert verify.status_code == 200
    done = client.post("/account/two-factor/verify/", {"code": code_of(device), "next": "/services/",
                                                        "csrfmiddlewaretoken": csrf_from(verify.text)})
    assert done.status_code == 302
    assert done["Location"] == "/services/"
    assert client.get("/services/").status_code == 200


def test_a_recovery_code_works_once(admin):
    _device, codes = enrolled(admin)
    first = signed_in("boss")
    answer = first.post("/account/two-factor/verify/", {"code": codes[0].upper(), "next": "/staff/tenants/"})
    assert answer.status_code == 302 and answer["Location"] == "/staff/tenants/"
    assert AuditEvent.objects.filter(action="twofactor.recovery_used", actor=admin).exists()
    second = signed_in("boss")
    again = second.post("/account/two-factor/verify/", {"code": codes[0]})
    assert again.status_code == 400
    assert second.get("/staff/tenants/").status_code == 302
    assert StaticToken.objects.filter(device__user=admin).count() == 9


def test_a_tenant_setting_forces_its_members_and_others_are_not_forced(own_tenant):
    assert signed_in("own1").get("/services/").status_code == 200  # not required: no gate
    tenant = own_tenant.tenant
    tenant.require_two_factor = True
    tenant.save()
    answer = signed_in("own1").get("/services/")
    assert answer.status_code == 302
    assert answer["Location"].startswith("/account/two-factor/setup/")


def test_a_member_may_enrol_and_remove_when_not_required(own_tenant, django_user_model):
    own1 = django_user_model.objects.get(username="own1")
    device, _codes = enrolled(own1)
    client = signed_in("own1")
    client.post("/account/two-factor/verify/", {"code": code_of(device)})
    removed = client.post("/account/two-factor/remove/", {"remove-code": code_of(device, offset=1)})
    assert removed.status_code == 302
    assert not TOTPDevice.objects.filter(user=own1).exists()
    assert not StaticDevice.objects.filter(user=own1).exists()
    assert AuditEvent.objects.filter(action="twofactor.remove", actor=own1).exists()


def test_removing_is_refused_when_required(admin):
    device, _codes = enrolled(admin)
    client = signed_in("boss")
    client.post("/account/two-factor/verify/", {"code": code_of(device)})
    answer = client.post("/account/two-factor/remove/", {"remove-code": code_of(device, offset=1)}, follow=True)
    assert "it cannot be removed" in answer.text
    assert TOTPDevice.objects.filter(user=admin).exists()
    assert "it cannot be turned off" in client.get("/account/two-factor/").text


def test_regenerating_recovery_codes_needs_a_current_code(admin):
    device, codes = enrolled(admin)
    client = signed_in("boss")
    client.post("/account/two-factor/verify/", {"code": codes[0]})
    refused = client.post("/account/two-factor/recovery-codes/", {"regenerate-code": "123456"})
    assert refused.status_code == 400
    unthrottle(device)
    answer = client.post("/account/two-factor/recovery-codes/", {"regenerate-code": code_of(device)})
    new = re.findall(r"<li><code>([a-z2-7]+)</code></li>", answer.text)
    assert len(new) == 10 and not set(new) & set(codes)


def test_staff_reset_is_audited_and_forces_enrolment_again(admin, own_tenant, django_user_model):
    own1 = django_user_model.objects.get(username="own1")
    tenant = own_tenant.tenant
    tenant.require_two_factor = True
    tenant.save()
    device, _codes = enrolled(own1)
    member = signed_in("own1")
    member.post("/account/two-factor/verify/", {"code": code_of(device)})
    assert member.get("/services/").status_code == 200

    staff_device, _ = enrolled(admin)
    staff = signed_in("boss")
    staff.post("/account/two-factor/verify/", {"code": code_of(staff_device)})
    page = staff.get(f"/staff/users/{own1.pk}/")
    assert "Reset two-factor" in page.text
    answer = staff.post(f"/staff/users/{own1.pk}/two-factor/reset/")
    assert answer.status_code == 302
    assert not TOTPDevice.objects.filter(user=own1).exists()
    event = AuditEvent.objects.get(action="twofactor.reset")
    assert event.actor == admin and event.object_id == str(own1.pk)

    gated = member.get("/services/")
    assert gated.status_code == 302
    assert gated["Location"].startswith("/account/two-factor/setup/")


def test_a_member_or_viewer_cannot_reset_anothers_factor(admin, own_tenant, django_user_model):
    own2 = django_user_model.objects.get(username="own2")
    Membership.objects.filter(user=own2).update(role=Role.VIEWER)
    enrolled(admin)
    for username in ("own1", "own2"):
        answer = signed_in(username).post(f"/staff/users/{admin.pk}/two-factor/reset/")
        assert answer.status_code in (403, 404)
    assert TOTPDevice.objects.filter(user=admin).exists()


def test_the_staff_tenant_form_edits_the_setting(admin, own_tenant):
    enrolled_device, _ = enrolled(admin)
    staff = signed_in("boss")
    staff.post("/account/two-factor/verify/", {"code": code_of(enrolled_device)})
    assert 'name="require_two_factor"' in staff.get(f"/staff/tenants/{own_tenant.tenant.pk}/edit/").text
    services.two_factor_reset(user=admin, actor=admin)
    assert AuditEvent.objects.filter(action="twofactor.reset", actor=admin).exists()
