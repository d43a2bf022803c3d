"""A CloudVpnName that is no plain URL segment ("/", "?", "#", spaces) still opens its traffic page.

The simulator refuses such names (1–64 of `[A-Za-z0-9_-]`, docs/ies-simulator.md: its choice, the
deck does not say), so this test plays an IES that allows them: it renames one of its own tenant's
services in the simulator's data file, then the portal reads it from the simulator as from any IES.
"""

import json
import re
import sqlite3
from html import unescape
from urllib.parse import unquote

import pytest

from portal.services.models import Service
from portal.services.tasks import refresh_service

pytestmark = pytest.mark.django_db

NAMES = ["EDGE/01", "what?now", "hash#1", "with space", "a/b c?d#e%25", 'say "hi"\\', "上海-北京"]


def rename_connection(simulator, service_id: str, name: str) -> None:
    with sqlite3.connect(simulator.data, timeout=30) as db:
        (params,) = db.execute("SELECT params FROM services WHERE id = ?", (service_id,)).fetchone()
        params = json.loads(params)
        for entries in params.values():
            for entry in entries:
                entry["CloudVpnName"] = name
        db.execute("UPDATE services SET params = ? WHERE id = ?", (json.dumps(params), service_id))
        db.execute("UPDATE connections SET name = ? WHERE service_id = ?", (name, service_id))


def download_name(disposition: str) -> str:
    """The file name a browser saves an attachment as (RFC 6266: `filename*` wins over `filename`)."""
    assert disposition.startswith("attachment;"), disposition
    if encoded := re.search(r"filename\*=utf-8''(\S+)", disposition):
        return unquote(encoded.group(1))
    plain = re.fullmatch(r'attachment; filename="((?:[^"\\]|\\.)*)"', disposition)
    assert plain, disposition
    return re.sub(r"\\(.)", r"\1", plain.group(1))


def button_href(page, label: str) -> str:
    match = re.search(rf'<a class="button" href="([^"]+)">{re.escape(label)}</a>', page.text)
    assert match, f"no link {label!r}"
    return unescape(match.group(1))


@pytest.mark.parametrize("name", NAMES)
def test_the_traffic_link_of_a_service_opens_its_page(own_tenant, simulator, name):
    rename_connection(simulator, own_tenant.service_id, name)
    # The mirror, as the service's next background refresh leaves it.
    refresh_service(own_tenant.tenant.pk, Service.objects.get(ies_service_id=own_tenant.service_id).pk)
    client = own_tenant.login()

    detail = client.get(f"/services/{own_tenant.service_id}/")
    assert detail.status_code == 200
    page = client.get(button_href(detail, "Traffic"))
    assert page.status_code == 200 and page.context["service"].cloud_vpn_name == name

    # Its chart's data and its CSV come from IES for that connection.
    config = json.loads(re.search(r'<script id="traffic-config" type="application/json">(.*?)</script>',
                                  page.text, re.S).group(1))
    data = client.get(config["dataUrl"], {"range": "24h", "width": "600"})
    assert data.status_code == 200, data.content[:300]
    assert data.json()["connection"] == name
    csv = client.get(config["csvUrl"], {"range": "24h"})
    assert csv.status_code == 200
    # The download's name: the connection's, with what a file name cannot hold replaced by "_".
    assert download_name(csv["Content-Disposition"]).startswith(re.sub(r'[/\\"]', "_", name) + "_")

    # The traffic overview links to it too.
    overview = client.get("/traffic/")
    assert overview.status_code == 200
    link = re.search(r'<h2><a href="([^"]+)">', overview.text)
    assert link and client.get(unescape(link.group(1))).context["service"].cloud_vpn_name == name
