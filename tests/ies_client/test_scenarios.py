"""The deck's two scenarios, end to end through the client, as its preset users run them.

They run on a simulator of their own (``start_simulator``) so that they can use, and change, the
deck's preset tenants and services without disturbing the session simulator's other users.
"""

from datetime import UTC, datetime, timedelta

import pytest

from tests.fixtures_simulator import start_simulator

from .conftest import PRESET_SERVICES, credentials_of, site2dc_parameters, wait_done

# Every test here shares a simulator process of this module's own.
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def deck_sim(tmp_path_factory):
    handle = start_simulator(tmp_path_factory.mktemp("deck-sim"), time_scale=600)
    yield handle
    handle.stop()


def test_scenario_1_create_and_activate_a_cloudvpn(deck_sim):
    from ies_client.client import IESClient

    # User 16, tenant nbitest_16: "create & activate".
    with IESClient(deck_sim.base_url, credentials_of(deck_sim.tenants["nbitest_16"]), backoff=0.01) as client:
        # list servicedefs → read details for template_id
        definition = next(d for d in client.list_service_definitions()
                          if d.orderable and d.kind is not None and d.kind.value == "Site2DC")
        detail = client.get_service_definition(definition.id)
        assert detail.template_id in definition.template_ids
        # create (name, CloudVpnName, Bandwidth, VPC_ID, …) → get service_id
        params = site2dc_parameters(Bandwidth="60000")
        ref = client.create_service(name="site2dc7_201705121000", definition=detail, parameters=params)
        assert ref.service_id and ref.operation_id
        # confirm status and bandwidth (about 10 minutes on a real IES; 1 s at time scale 600)
        assert wait_done(client, ref, "Create").succeeded
        service = client.get_service(ref.service_id)
        assert service.status == "Completed" and service.is_active
        assert service.bandwidth_kbps == 60000 and service.cloud_vpn_name == params["CloudVpnName"]
        assert {s.service_id for s in client.list_services()} == {PRESET_SERVICES["nbitest_16"][0], ref.service_id}


def test_scenario_2_scale_a_cloudvpn_elastically(deck_sim):
    from ies_client.client import IESClient

    # Users 2–4, tenant nbitest_12: "scale".
    service_id, name, vpn, _ = PRESET_SERVICES["nbitest_12"]
    with IESClient(deck_sim.base_url, credentials_of(deck_sim.tenants["nbitest_12"]), backoff=0.01) as client:
        # list services → read one (CloudVpnName, bandwidth, service name)
        assert service_id in {s.service_id for s in client.list_services()}
        service = client.get_service(service_id)
        assert (service.name, service.cloud_vpn_name) == (name, vpn) and service.bandwidth_kbps
        # watch its traffic: the last hour, by the minute, and its utilisation
        now = datetime.now(UTC)
        rate = client.get_traffic(vpn, start=now - timedelta(hours=1), end=now)
        assert 58 <= len(rate) <= 61 and all(v <= service.bandwidth_kbps * 1000 for v in rate.values())
        usage = client.get_traffic(vpn, metric="bandwidth-utilization", start=now - timedelta(hours=1), end=now)
        assert len(usage) == len(rate) and max(usage.values()) <= 100
        # change its bandwidth → confirm
        new_kbps = service.bandwidth_kbps * 2
        ref = client.modify_service(service_id, list_key=service.list_key, cloud_vpn_name=vpn,
                                    bandwidth_kbps=new_kbps)
        assert wait_done(client, ref, "Update", expected_bandwidth_kbps=new_kbps).succeeded
        assert client.get_service(service_id).bandwidth_kbps == new_kbps
        # (finally) delete it
        ref = client.delete_service(service_id)
        assert ref is not None and wait_done(client, ref, "Delete").succeeded
        assert client.list_services() == []
