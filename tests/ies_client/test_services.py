"""Services through the client: read, create, modify, (de)activate, delete, against the simulator."""

from datetime import UTC, datetime

import pytest

from ies_client.client import IESClient
from ies_client.errors import IESNotFound
from ies_client.models import OperationRef, ServiceKind
from tests.fixtures_simulator import start_simulator

from .conftest import (
    PRESET_SERVICES,
    SITE2DC_DEF,
    SITE2DC_TEMPLATE,
    SITE2SITE_DEF,
    credentials_of,
    site2dc_parameters,
    site2site_parameters,
    wait_done,
)


def test_it_lists_a_presets_services(make_client):
    service_id, name, vpn, kind = PRESET_SERVICES["nbitest_12"]
    services = make_client("nbitest_12").list_services()
    (preset,) = [s for s in services if s.service_id == service_id]
    assert preset.name == name and preset.kind is ServiceKind(kind)
    assert preset.status == "Completed" and preset.is_active and not preset.in_progress
    assert preset.created_at is not None and preset.created_at.tzinfo is not None


def test_a_tenant_without_services_lists_none(fresh_client):
    # IES answers this with a 404 and an empty body, not an empty list.
    assert fresh_client.list_services() == []
    assert fresh_client.find_services_by_name("anything") == []


def test_it_reads_one_service_with_its_connection(client):
    service_id, name, vpn, _ = PRESET_SERVICES["nbitest_11"]
    s = client.get_service(service_id)
    assert (s.service_id, s.name, s.cloud_vpn_name) == (service_id, name, vpn)
    assert s.kind is ServiceKind.SITE2SITE and s.list_key == "Site2SiteList"
    assert isinstance(s.bandwidth_kbps, int) and s.bandwidth_kbps > 0
    assert s.parameters["CloudVpnName"] == vpn and s.parameters["Bandwidth"] == str(s.bandwidth_kbps)
    assert s.created_at is not None and s.created_at.year == 2017 and s.created_at.utcoffset().total_seconds() == 0
    assert s.service_definition_id == SITE2SITE_DEF


def test_it_finds_services_by_name(make_client):
    service_id, name, _, _ = PRESET_SERVICES["nbitest_16"]
    found = make_client("nbitest_16").find_services_by_name(name)
    assert [s.service_id for s in found] == [service_id]


def test_an_unknown_service_is_not_found(client):
    with pytest.raises(IESNotFound) as info:
        client.get_service("AAAAAAAAAAAAAAAAAAAAAA")
    assert info.value.status == 404


def test_another_tenants_service_is_not_found(client):
    other_id = PRESET_SERVICES["nbitest_12"][0]
    with pytest.raises(IESNotFound):
        client.get_service(other_id)


def test_an_id_cannot_reach_another_path(client):
    # The id is one quoted path segment: "../" cannot turn a service read into another call.
    with pytest.raises(IESNotFound):
        client.get_service("../servicedefs")


def test_it_creates_a_site2dc_service_from_a_definition_detail(fresh_client):
    detail = fresh_client.get_service_definition(SITE2DC_DEF)
    params = site2dc_parameters(Bandwidth="60000")
    ref = fresh_client.create_service(name="site2dc_ct_1", definition=detail, parameters=params,
                                      description="made by the client tests")
    assert isinstance(ref, OperationRef) and len(ref.service_id) == 22 and len(ref.operation_id) == 22
    assert ref.location and ref.location.endswith(f"/services/{ref.service_id}/operations/{ref.operation_id}")

    creating = fresh_client.get_service(ref.service_id)
    assert creating.status == "CreateInProgress" and creating.in_progress

    op = wait_done(fresh_client, ref, "Create")
    assert op.succeeded and op.kind == "Create" and op.started_at and op.finished_at >= op.started_at
    s = fresh_client.get_service(ref.service_id)
    assert s.status == "Completed" and s.is_active and s.bandwidth_kbps == 60000
    assert s.cloud_vpn_name == params["CloudVpnName"] and s.description == "made by the client tests"
    assert s.template_id == SITE2DC_TEMPLATE and s.kind is ServiceKind.SITE2DC


def test_it_creates_a_site2site_service_from_a_tuple_and_int_values(fresh_client):
    params = {**site2site_parameters(), "Bandwidth": 20000, "VNI": 3001}  # ints travel as strings
    ref = fresh_client.create_service(
        name="s2s_ct_1", definition=(SITE2SITE_DEF, "a1b2c3d4e5f60718293a4b5c6d7e8f90", "Site2SiteList"),
        parameters=params,
    )
    assert wait_done(fresh_client, ref, "Create").succeeded
    s = fresh_client.get_service(ref.service_id)
    assert s.kind is ServiceKind.SITE2SITE and s.bandwidth_kbps == 20000 and s.parameters["VNI"] == "3001"
    assert s.parameters["CPE_B_ESN"] == params["CPE_B_ESN"]


def _created(client, **params):
    ref = client.create_service(name="svc_ct", definition=(SITE2DC_DEF, SITE2DC_TEMPLATE, "Site2DCList"),
                                parameters=site2dc_parameters(**params))
    assert wait_done(client, ref, "Create").succeeded
    return client.get_service(ref.service_id)


def test_it_changes_a_bandwidth_and_the_new_one_shows_once_done(fresh_client):
    s = _created(fresh_client, Bandwidth="10000")
    ref = fresh_client.modify_service(s.service_id, list_key=s.list_key, cloud_vpn_name=s.cloud_vpn_name,
                                      bandwidth_kbps=30000)
    assert ref.service_id == s.service_id
    during = fresh_client.get_service(s.service_id)
    assert during.status == "UpdateInProgress" and during.bandwidth_kbps == 10000 and during.is_active
    assert wait_done(fresh_client, ref, "Update").succeeded
    assert fresh_client.get_service(s.service_id).bandwidth_kbps == 30000


def test_it_renames_a_service_without_touching_its_connection(fresh_client):
    s = _created(fresh_client, Bandwidth="10000")
    ref = fresh_client.modify_service(s.service_id, list_key=s.list_key, cloud_vpn_name=s.cloud_vpn_name,
                                      name="renamed_ct", description="new words")
    assert wait_done(fresh_client, ref, "Update").succeeded
    after = fresh_client.get_service(s.service_id)
    assert (after.name, after.description, after.bandwidth_kbps) == ("renamed_ct", "new words", 10000)


def test_modify_refuses_an_empty_change(fresh_client):
    with pytest.raises(ValueError):
        fresh_client.modify_service("x", list_key="Site2DCList", cloud_vpn_name="c")


def test_it_deactivates_and_activates_a_service(tmp_path):
    # On a simulator of its own at a tenth of the shared one's speed, on a preset service: a
    # deactivation takes about a second, so the state in between is seen even on a loaded machine
    # (at the shared one's 100 ms, a busy machine's next call sometimes came after the end).
    service_id = PRESET_SERVICES["nbitest_12"][0]
    with start_simulator(tmp_path, time_scale=60) as own:
        client = IESClient(own.base_url, credentials_of(own.tenants["nbitest_12"]), backoff=0.01)
        try:
            ref = client.deactivate_service(service_id)
            assert client.get_service(service_id).active_status == "DeactivateInProgress"
            assert wait_done(client, ref, "Deactivate").succeeded
            assert client.get_service(service_id).active_status == "Deactive"
            ref = client.activate_service(service_id)
            assert client.get_service(service_id).active_status == "ActivateInProgress"
            assert wait_done(client, ref, "Activate").succeeded
            assert client.get_service(service_id).is_active
        finally:
            client.close()


def test_it_deletes_a_service_and_its_delete_stays_readable(fresh_client):
    s = _created(fresh_client)
    ref = fresh_client.delete_service(s.service_id)
    assert ref is not None and ref.service_id == s.service_id
    assert fresh_client.get_service(s.service_id).status == "DeleteInProgress"
    op = wait_done(fresh_client, ref, "Delete")
    assert op.succeeded and op.kind == "Delete"
    with pytest.raises(IESNotFound):
        fresh_client.get_service(s.service_id)
    assert fresh_client.list_services() == []


def test_created_at_is_an_aware_utc_datetime_near_now(fresh_client):
    s = _created(fresh_client)
    assert abs((datetime.now(UTC) - s.created_at).total_seconds()) < 120
