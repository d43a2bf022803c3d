"""Pages, htmx fragments, JSON and exports go out gzip-compressed to a client that accepts it, and
plain to one that does not (GZipMiddleware; why it is safe against BREACH: docs/architecture.md)."""

import gzip
import json

import pytest

from portal.services.mirror import service_mirror_sync
from portal.tenants.models import Tenant

pytestmark = pytest.mark.django_db

CONNECTION = "VPNS2S201705061433"  # user1's preset connection (docs/ies-simulator.md)
GZIP = {"Accept-Encoding": "gzip, deflate, br"}


def body(response) -> bytes:
    return b"".join(response.streaming_content) if response.streaming else response.content


def unzipped(response) -> bytes:
    """The body of a compressed answer, decompressed; fails on a plain one."""
    assert response["Content-Encoding"] == "gzip", response.request["PATH_INFO"]
    assert "Accept-Encoding" in response["Vary"], "a shared cache must not hand a gzip body to anyone"
    raw = body(response)
    if not response.streaming:
        assert response["Content-Length"] == str(len(raw))
    return gzip.decompress(raw)


def plain(response) -> bytes:
    assert not response.has_header("Content-Encoding"), response.request["PATH_INFO"]
    return body(response)


@pytest.fixture
def member(login):
    for tenant in Tenant.objects.all():
        service_mirror_sync(tenant=tenant)
    return login("user1")


def test_the_login_page_is_compressed_only_for_a_client_that_accepts_gzip(client):
    zipped = client.get("/login/", headers=GZIP)
    assert zipped.status_code == 200
    page = unzipped(zipped).decode()
    assert "<html" in page and 'name="password"' in page
    assert len(body(zipped)) < len(page.encode()) / 2

    unzipped_page = plain(client.get("/login/")).decode()
    assert "<html" in unzipped_page and 'name="password"' in unzipped_page
    assert plain(client.get("/login/", headers={"Accept-Encoding": "identity"}))


def test_a_signed_in_page_and_its_htmx_fragment_are_compressed(member):
    page = unzipped(member.get("/services/", headers=GZIP)).decode()
    assert "<html" in page and CONNECTION in page

    fragment = unzipped(member.get("/services/", {"q": "s2s"}, headers={**GZIP, "HX-Request": "true"})).decode()
    assert fragment.lstrip().startswith('<div id="results">')
    assert plain(member.get("/services/", {"q": "s2s"}, headers={"HX-Request": "true"})).decode() \
        .lstrip().startswith('<div id="results">')


def test_chart_data_json_is_compressed(member):
    params = {"range": "24h", "width": "600"}
    answer = member.get(f"/traffic/{CONNECTION}/data.json", params, headers=GZIP)
    assert answer.status_code == 200 and answer["Content-Type"] == "application/json"
    data = json.loads(unzipped(answer))
    assert data["in"] and data["out"]
    assert json.loads(plain(member.get(f"/traffic/{CONNECTION}/data.json", params)))["in"] == data["in"]


def test_readiness_json_and_metrics_are_compressed(login):
    ready = json.loads(unzipped(login("admin").get("/readyz", headers=GZIP)))
    assert "database" in ready["checks"]
    metrics = unzipped(login("admin").get("/metrics", headers=GZIP)).decode()
    assert "# TYPE portal_operations gauge" in metrics


def test_exports_still_download_compressed_or_not(member, login):
    traffic = unzipped(member.get(f"/traffic/{CONNECTION}/export.csv", {"range": "24h"}, headers=GZIP))
    assert traffic.decode().startswith('"time (ISO 8601')
    assert plain(member.get(f"/traffic/{CONNECTION}/export.csv", {"range": "24h"})).decode() \
        .startswith('"time (ISO 8601')

    admin = login("admin")
    # A streaming response: compressed as it streams, without a Content-Length.
    audit = admin.get("/staff/audit/export.csv", headers=GZIP)
    assert audit.streaming and not audit.has_header("Content-Length")
    rows = unzipped(audit).decode("utf-8-sig").splitlines()
    assert len(rows) > 1 and "presets.load" in "\n".join(rows)
    assert plain(admin.get("/staff/audit/export.csv")).decode("utf-8-sig").splitlines()[0] == rows[0]


def test_static_files_are_whitenoise_s_own_precompressed_copies(tmp_path, settings, client):
    """Production serves the copies collectstatic compressed (with their length, cached for a
    year), not a second compression by GZipMiddleware."""
    from django.core.management import call_command
    from django.templatetags.static import static

    settings.STATIC_ROOT = tmp_path
    settings.STORAGES = {**settings.STORAGES,
                         "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"}}
    settings.WHITENOISE_USE_FINDERS = False
    settings.WHITENOISE_AUTOREFRESH = False
    call_command("collectstatic", "--no-input", verbosity=0)
    url = static("css/portal.css")
    zipped = client.get(url, headers=GZIP)
    assert zipped.status_code == 200 and zipped["Content-Encoding"] == "gzip"
    raw = body(zipped)
    assert zipped["Content-Length"] == str(len(raw))
    assert gzip.decompress(raw) == (tmp_path / url.removeprefix(settings.STATIC_URL)).read_bytes()
