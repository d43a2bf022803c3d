"""Operations: the log, one operation, and tracking with and without the operations endpoint."""

import pytest

from ies_client.errors import IESConflict, IESNotFound

from .conftest import PRESET_SERVICES, SITE2DC_DEF, SITE2DC_TEMPLATE, site2dc_parameters, wait_done, wait_for

SITE2DC = (SITE2DC_DEF, SITE2DC_TEMPLATE, "Site2DCList")


def _create(client, *, rollback=True, **params):
    return client.create_service(name="ops_ct", definition=SITE2DC, parameters=site2dc_parameters(**params),
                                 rollback_on_failure=rollback)


def test_it_lists_a_services_operations(fresh_client):
    ref = _create(fresh_client)
    wait_done(fresh_client, ref, "Create")
    ops = fresh_client.list_operations(ref.service_id)
    kinds = [o.kind for o in ops]
    assert "Create" in kinds and "Activate" in kinds  # IES's create also activates
    create = next(o for o in ops if o.operation_id == ref.operation_id)
    assert create.done and create.result == "success" and create.service_id == ref.service_id
    assert create.content and create.started_at and create.finished_at


def test_it_reads_one_operation_while_it_runs_then_done(fresh_client):
    ref = _create(fresh_client)
    op = fresh_client.get_operation(ref.service_id, ref.operation_id)
    assert op is not None and op.kind == "Create" and not op.done and op.result is None
    wait_done(fresh_client, ref, "Create")
    op = fresh_client.get_operation(ref.service_id, ref.operation_id)
    assert op.done and op.succeeded and op.finished_at is not None


def test_an_unknown_operation_is_none(client):
    service_id = PRESET_SERVICES["nbitest_11"][0]
    assert client.get_operation(service_id, "AAAAAAAAAAAAAAAAAAAAAA") is None


def test_the_operations_of_an_unknown_service_are_not_found(client):
    with pytest.raises(IESNotFound):
        client.list_operations("AAAAAAAAAAAAAAAAAAAAAA")


def test_a_failed_create_with_rollback_is_failed_and_gone(sim, fresh_client):
    sim.add_fault(kind="fail_operations", count=1, reason="the CPE did not answer")
    ref = _create(fresh_client)
    op = wait_done(fresh_client, ref, "Create")
    assert op.failed and "rolled back" in op.reason
    with pytest.raises(IESNotFound):
        fresh_client.get_service(ref.service_id)


def test_a_create_failed_service_refuses_changes_and_is_deleted_at_once(sim, fresh_client):
    sim.add_fault(kind="fail_operations", count=1)
    ref = _create(fresh_client, rollback=False, Bandwidth="10000")
    assert wait_done(fresh_client, ref, "Create").failed
    s = fresh_client.get_service(ref.service_id)
    assert s.status == "CreateFailed" and s.failed
    with pytest.raises(IESConflict) as info:
        fresh_client.modify_service(s.service_id, list_key=s.list_key, cloud_vpn_name=s.cloud_vpn_name,
                                    bandwidth_kbps=20000)
    # OPEN-O sends state conflicts as 500: the client reads the exceptionId.
    assert info.value.status == 500 and info.value.exception_id == "servicemgr.service.create_failed"
    assert fresh_client.delete_service(s.service_id) is None  # 200 at once, nothing to track
    assert fresh_client.list_services() == []


@pytest.mark.parametrize("how", ["fault", "option"])
def test_it_tracks_by_the_services_status_without_the_operations_endpoint(sim, make_client, fresh_tenant, how):
    if how == "fault":
        sim.add_fault(kind="no_operations_endpoint")
        client = make_client(fresh_tenant)
    else:
        client = make_client(fresh_tenant, use_operations_endpoint=False)
    ref = _create(client, Bandwidth="10000")
    first = client.operation_status(ref.service_id, ref.operation_id, "Create")
    assert not first.done and first.result is None and first.operation_id == ref.operation_id
    assert wait_done(client, ref, "Create").succeeded

    s = client.get_service(ref.service_id)
    ref = client.modify_service(s.service_id, list_key=s.list_key, cloud_vpn_name=s.cloud_vpn_name,
                                bandwidth_kbps=20000)
    assert wait_done(client, ref, "Update", expected_bandwidth_kbps=20000).succeeded

    ref = client.delete_service(s.service_id)
    op = wait_done(client, ref, "Delete")  # the service is gone: the delete succeeded
    assert op.succeeded and op.kind == "Delete"


def test_without_the_endpoint_a_failed_create_shows_as_failed(sim, make_client, fresh_tenant):
    sim.add_fault(kind="no_operations_endpoint")
    sim.add_fault(kind="fail_operations", count=1)
    client = make_client(fresh_tenant)
    ref = _create(client, rollback=False)
    op = wait_done(client, ref, "Create")
    assert op.failed and op.reason


def test_without_the_endpoint_the_log_itself_is_not_found(sim, client):
    sim.add_fault(kind="no_operations_endpoint")
    with pytest.raises(IESNotFound):
        client.list_operations(PRESET_SERVICES["nbitest_11"][0])


def test_a_change_while_an_operation_runs_is_a_conflict(fresh_client):
    ref = _create(fresh_client, Bandwidth="10000")
    s = wait_for(lambda: fresh_client.get_service(ref.service_id))
    assert s.in_progress
    with pytest.raises(IESConflict) as info:
        fresh_client.modify_service(s.service_id, list_key="Site2DCList", cloud_vpn_name=s.cloud_vpn_name,
                                    bandwidth_kbps=20000)
    assert info.value.status == 500 and info.value.exception_id == "servicemgr.service.status_inprogress"
    assert "running" in info.value.message
    with pytest.raises(IESConflict):
        fresh_client.delete_service(s.service_id)


def test_without_the_endpoint_failed_changes_and_deletes_show_as_failed(sim, make_client, fresh_tenant):
    client = make_client(fresh_tenant, use_operations_endpoint=False)
    ref = _create(client, Bandwidth="10000")
    assert wait_done(client, ref, "Create").succeeded
    s = client.get_service(ref.service_id)

    sim.add_fault(kind="fail_operations", count=1, reason="controller timeout")
    ref = client.modify_service(s.service_id, list_key=s.list_key, cloud_vpn_name=s.cloud_vpn_name,
                                bandwidth_kbps=20000)
    op = wait_done(client, ref, "Update", expected_bandwidth_kbps=20000)
    assert op.failed and op.reason
    assert client.get_service(s.service_id).bandwidth_kbps == 10000

    sim.add_fault(kind="fail_operations", count=1)
    ref = client.delete_service(s.service_id)
    op = wait_done(client, ref, "Delete")
    assert op.failed and "still exists" in op.reason


def test_with_the_endpoint_a_failed_change_carries_iess_reason(sim, fresh_client):
    ref = _create(fresh_client, Bandwidth="10000")
    assert wait_done(fresh_client, ref, "Create").succeeded
    s = fresh_client.get_service(ref.service_id)
    sim.add_fault(kind="fail_operations", count=1, reason="controller timeout")
    ref = fresh_client.modify_service(s.service_id, list_key=s.list_key, cloud_vpn_name=s.cloud_vpn_name,
                                      bandwidth_kbps=20000)
    op = wait_done(fresh_client, ref, "Update")
    assert op.failed and op.reason == "controller timeout" and op.kind == "Update"
    assert fresh_client.get_service(s.service_id).status == "Failed"
