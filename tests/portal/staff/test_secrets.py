"""No preset token or bearer ever leaves the server: not in a staff or tenant page, an export, the
import preview or its session, a log record, or the DEBUG=False error page."""

import io
import logging
import zipfile

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import get_resolver

from ies_client.client import IESClient
from portal.api.models import ApiToken
from portal.tenants.models import Membership, Tenant
from tests.portal.conftest import DEMO_PASSWORD
from tests.portal.staff.conftest import post
from tests.portal.staff.test_access import _walk

pytestmark = pytest.mark.django_db


def _unzipped(content: bytes) -> str:
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        return "\n".join(archive.read(name).decode("utf-8", "replace") for name in archive.namelist())


def _body(answer) -> str:
    if getattr(answer, "streaming", False):
        return b"".join(answer.streaming_content).decode("utf-8", "replace")
    if answer.content[:2] == b"PK":
        return _unzipped(answer.content)
    return answer.content.decode("utf-8", "replace")


def _staff_get_urls() -> list[str]:
    """Every staff URL, once per real object where it takes an id."""
    ids = {
        "tenants/": list(Tenant.objects.values_list("pk", flat=True)),
        "users/": list(Membership.objects.values_list("user_id", flat=True).distinct()[:5]),
        "memberships/": list(Membership.objects.values_list("pk", flat=True)[:3]),
        "api-tokens/": list(ApiToken.objects.values_list("pk", flat=True)[:3]),
    }
    urls = []
    for route, _name, _pattern in _walk(get_resolver().url_patterns):
        if not route.startswith("staff/"):
            continue
        if "<int:pk>" not in route:
            urls.append("/" + route)
            continue
        section = route.removeprefix("staff/").split("/")[0] + "/"
        urls.extend("/" + route.replace("<int:pk>", str(pk)) for pk in ids[section])
    return urls


@pytest.fixture
def log_output():
    """What the portal's own log handlers (with their redaction filter) write, for this test."""
    handlers = {h for name in ("", "django") for h in logging.getLogger(name).handlers
                if isinstance(h, logging.StreamHandler) and not isinstance(h, logging.FileHandler)
                and h.filters}
    assert handlers, "the portal's console handler is not configured"
    sink = io.StringIO()
    previous = {h: h.setStream(sink) for h in handlers}
    yield sink
    for handler, stream in previous.items():
        handler.setStream(stream)


def test_no_token_in_any_page_export_log_or_error_page(staff, login, sim, simulator, preset_secrets, caplog,
                                                       log_output, settings, monkeypatch):
    caplog.set_level(logging.DEBUG)
    seen: list[tuple[str, str]] = []

    def keep(label, answer):
        seen.append((label, _body(answer)))
        return answer

    tenants = {t.name: t for t in Tenant.objects.all()}
    # Check connection: OK, bad token, dropped connection (also registers the tokens for redaction).
    for name, tenant in tenants.items():
        keep(f"check {name}", post(staff, f"/staff/tenants/{tenant.pk}/check/", follow=True))
    sim.add_fault(kind="expire_token", tenant="nbitest_11")
    keep("check expired", post(staff, f"/staff/tenants/{tenants['nbitest_11'].pk}/check/", follow=True))
    sim.clear_faults()
    sim.add_fault(kind="drop", prefix="/rest/servicemanager")
    keep("check dropped", post(staff, f"/staff/tenants/{tenants['nbitest_12'].pk}/check/", follow=True))
    sim.clear_faults()

    # Forms shown again after an error, with a real token typed in.
    token, bearer = simulator.tenants["nbitest_13"]["token"], simulator.tenants["nbitest_13"]["bearer"]
    keep("create error", post(staff, "/staff/tenants/new/", {"name": "bad name", "token": token, "bearer": bearer}))
    keep("credentials error", post(staff, f"/staff/tenants/{tenants['nbitest_13'].pk}/credentials/",
                                   {"token": token + " x", "bearer": bearer}))

    # Import preview of a sheet carrying every token and bearer; the session keeps them encrypted.
    lines = ["Users,Tenant,Token,Bearer"] + [f",{name},{t['token']},{t['bearer']}"
                                             for name, t in simulator.tenants.items()]
    keep("import upload", post(staff, "/staff/import/", {"file": SimpleUploadedFile("t.csv", "\n".join(lines).encode())}))
    keep("import preview", staff.get("/staff/import/preview/"))
    seen.append(("import session", repr(dict(staff.session.items()))))
    bad_lines = lines + ["user1,bad tenant,=HYPERLINK(1),x"]
    keep("import errors", post(staff, "/staff/import/",
                               {"file": SimpleUploadedFile("t.csv", "\n".join(bad_lines).encode())}))

    # Every staff page, the exports and the audit log (which by now records all of the above).
    for url in _staff_get_urls():
        keep(url, staff.get(url))
    keep("audit csv", staff.get("/staff/audit/export.csv"))

    # The tenants' own pages, as a tenant user and as staff seeing as the tenant.
    user1 = login("user1")
    for url in ("/services/", "/catalog/", "/operations/"):
        keep(f"user1 {url}", user1.get(url))
    post(staff, f"/staff/tenants/{tenants['nbitest_16'].pk}/see-as/")
    for url in ("/services/", "/catalog/", "/operations/"):
        keep(f"see-as {url}", staff.get(url))
    post(staff, "/staff/see-as/stop/")

    # An unexpected failure with the secrets in its message, as a careless library might raise.
    settings.DEBUG = False
    leaky = f"connection reset while sending X-Auth-Token: {token} Authorization: Bearer {bearer}"

    def explode(self):
        raise RuntimeError(leaky)

    monkeypatch.setattr(IESClient, "list_services", explode)
    crash = Client(raise_request_exception=False)
    assert crash.login(username="admin", password=DEMO_PASSWORD)
    crash.cookies["csrftoken"] = "a" * 32
    error_page = crash.post(f"/staff/tenants/{tenants['nbitest_13'].pk}/check/", HTTP_X_CSRFTOKEN="a" * 32)
    assert error_page.status_code == 500
    keep("500 page", error_page)

    seen.append(("log output", log_output.getvalue()))
    formatter = logging.Formatter()
    seen.append(("log records", "\n".join(
        record.getMessage() + (record.exc_text or (formatter.formatException(record.exc_info)
                                                   if record.exc_info else ""))
        for record in caplog.records)))

    assert len(seen) > 60
    assert "connection reset while sending X-Auth-Token: ****" in log_output.getvalue()  # logged, masked
    for secret in preset_secrets:
        for label, text in seen:
            assert secret not in text, f"a secret leaked into: {label}"
            assert secret[:40] not in text, f"part of a secret leaked into: {label}"
