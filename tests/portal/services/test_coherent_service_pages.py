"""Issue 11 on the service pages: a deleted service's page, the row of the list, search by any part,
names in natural order, "Refresh from IES" that does not stick, IES's status words translated."""

import importlib
import re

import pytest
from django.apps import apps
from django.utils import timezone

from ies_client.models import Service as IESService
from ies_client.simulator.openapi import ACTIVE_STATUSES, STATUSES
from portal.core.natural import natural_key
from portal.services.mirror import service_mirror_replace
from portal.services.models import Service
from portal.services.queries import filtered_services
from portal.services.status_words import SERVICE_STATUS, status_label
from portal.tenants.models import Tenant
from tests.portal.helpers import post
from tests.portal.services.mirroring import run_refreshes
from tests.waiting import wait_until

pytestmark = pytest.mark.django_db

DC12 = "9LbuAd11Qe-cuGnVONz6qw"  # nbitest_12's service (user2)


def notices(html: str) -> list[str]:
    return re.findall(r'<div[^>]*class="notice[ "]', html)


def test_a_service_deleted_at_ies_shows_one_notice_and_the_deleted_state(own_tenant, simulator, inline_worker):
    client = own_tenant.login()
    url = f"/services/{own_tenant.service_id}/"
    assert client.get(url).status_code == 200  # the mirror knows it
    run_refreshes(inline_worker)
    path = f"/servicemanager/v1/services/{own_tenant.service_id}"
    assert simulator.call("DELETE", path, tenant=own_tenant.name).status_code == 202
    assert wait_until(lambda: simulator.call("GET", path, tenant=own_tenant.name).status_code == 404, timeout=20)
    # The page learns it from the background refresh ("Refresh from IES"), not in the request.
    assert post(client, url).status_code == 302
    run_refreshes(inline_worker)

    page = client.get(url)
    assert page.status_code == 200
    assert len(notices(page.text)) == 1, notices(page.text)
    assert "This service was deleted" in page.text
    assert "IES no longer knows this service" not in page.text
    assert 'class="status status-deleted"' in page.text and ">Deleted<" in page.text
    assert "Completed" not in page.text.split("<h2>Parameters", 1)[0], "not the last green status"
    assert f"/services/{own_tenant.service_id}/delete/" not in page.text
    assert f"/services/{own_tenant.service_id}/bandwidth/" not in page.text
    assert "Operation history" in page.text and "Audit trail" in page.text


def test_a_deleted_services_page_does_not_ask_ies(own_tenant, simulator):
    client = own_tenant.login()
    client.get("/services/")
    Service.objects.filter(ies_service_id=own_tenant.service_id).update(gone_at=timezone.now())
    before = len(simulator.log())
    page = client.get(f"/services/{own_tenant.service_id}/")
    assert page.status_code == 200 and len(notices(page.text)) == 1
    assert own_tenant.service_id not in simulator.log()[before:], "IES has nothing to say about a deleted service"


def test_the_polled_row_of_a_deleted_service_says_deleted_and_brings_the_badge(own_tenant):
    client = own_tenant.login()
    client.get("/services/")
    Service.objects.filter(ies_service_id=own_tenant.service_id).update(gone_at=timezone.now())
    row = client.get(f"/services/{own_tenant.service_id}/row/", headers={"HX-Request": "true"})
    assert row.status_code == 200
    assert ">Deleted<" in row.text and "Completed" not in row.text
    assert 'id="ops-badge"' in row.text and 'hx-swap-oob="true"' in row.text


def test_the_search_matches_any_part_of_the_ies_id_in_any_case(login):
    client = login("user2")
    for part in ("9LbuAd", "cugnvonz", "201705", "s2dc2017"):
        page = client.get("/services/", {"q": part})
        assert "site2dc_201705071132" in page.text and "1 service" in page.text, part
    assert "No service matches these filters." in client.get("/services/", {"q": "9LbuAdX"}).text


def test_refresh_from_ies_redirects_to_the_same_list_without_it(login):
    """ "Refresh from IES" is a POST (it asks the worker for a refresh), answered with the same
    list; an old ?refresh=1 link only lands on the list without it."""
    client = login("user2")
    answer = client.get("/services/", {"refresh": "1", "sort": "-name", "q": "site"})
    assert answer.status_code == 302
    assert answer["Location"] == "/services/?sort=-name&q=site"
    page = client.get(answer["Location"])
    assert "refresh" not in page.text.split('id="results"', 1)[1]
    form = re.search(r'<form method="post" action="([^"]*)">[^<]*<input[^>]*>\s*<button[^>]*>Refresh from IES',
                     page.text).group(1)
    assert sorted(form.lstrip("?").split("&amp;")) == ["q=site", "sort=-name"], form
    answer = post(client, "/services/?" + form.lstrip("?").replace("&amp;", "&"))
    assert answer.status_code == 302
    assert sorted(answer["Location"].split("?", 1)[1].split("&")) == ["q=site", "sort=-name"]


def test_the_sorted_column_carries_aria_sort(login):
    page = login("user2").get("/services/", {"sort": "-bandwidth"})
    assert page.status_code == 200
    heads = re.findall(r"<th[^>]*>", page.text)
    assert sum("aria-sort" in h for h in heads) == 1
    assert any('aria-sort="descending"' in h and 'class="num"' in h for h in heads)


# -- natural order ------------------------------------------------------------------------------


def _tenant(name: str = "natural_co") -> Tenant:
    return Tenant.objects.create(name=name)


def test_names_sort_the_way_people_count():
    tenant = _tenant()
    for name in ("site10", "site2", "Site1", "site2b"):
        Service.objects.create(tenant=tenant, ies_service_id=name + "-id", name=name)
    assert [s.name for s in filtered_services(tenant=tenant, sort="name")] == ["Site1", "site2", "site2b", "site10"]
    assert [s.name for s in filtered_services(tenant=tenant, sort="-name")] == ["site10", "site2b", "site2", "Site1"]


def test_the_key_follows_a_rename_and_the_mirror_sync():
    tenant = _tenant()
    service = Service.objects.create(tenant=tenant, ies_service_id="a", name="site9")
    service.name = "site11"
    service.save(update_fields=["name"])
    assert Service.objects.get(pk=service.pk).name_key == natural_key("site11")
    # The sync writes in bulk (no save()): it must keep the key too, for new and renamed rows.
    service_mirror_replace(tenant=tenant, remote_services=[IESService(service_id="a", name="site3"),
                                                           IESService(service_id="b", name="site20")])
    assert [s.name for s in filtered_services(tenant=tenant)] == ["site3", "site20"]


def test_the_migration_fills_the_key_of_existing_rows():
    tenant = _tenant()
    for name in ("site10", "site2"):
        Service.objects.create(tenant=tenant, ies_service_id=name, name=name)
    Service.objects.update(name_key="")
    migration = importlib.import_module("portal.services.migrations.0003_service_name_key")
    migration.fill_name_keys(apps, None)
    assert [s.name for s in filtered_services(tenant=tenant)] == ["site2", "site10"]


# -- IES's status words -------------------------------------------------------------------------


def test_every_status_word_ies_produces_has_a_translation():
    missing = [w for w in [*STATUSES, *ACTIVE_STATUSES] if w not in SERVICE_STATUS]
    assert missing == []


def test_an_unknown_status_word_is_shown_as_ies_wrote_it():
    assert status_label("QuantumEntangled") == "QuantumEntangled"
    assert status_label("") == ""


def test_status_words_are_chinese_with_the_ies_word_in_the_title(login):
    client = login("user2")
    client.cookies["django_language"] = "zh-hans"
    page = client.get("/services/")
    assert re.search(r'<span class="status status-completed" title="Completed" data-ies-word="Completed">已完成</span>',
                     page.text)
    assert '<option value="Completed" title="Completed" >已完成</option>' in page.text
    detail = client.get(f"/services/{DC12}/")
    assert 'title="Completed" data-ies-word="Completed">已完成<' in detail.text
    assert 'title="Active" data-ies-word="Active">' in detail.text
