"""Every exception class, provoked for real against the simulator."""

import pickle

import pytest

from ies_client.errors import (
    IESAuthError,
    IESConflict,
    IESError,
    IESNotFound,
    IESServerError,
    IESUnavailable,
    IESValidationError,
)
from ies_client.models import IESCredentials

from .conftest import LEGACY_DEF, SITE2DC_DEF, SITE2DC_TEMPLATE, credentials_of, site2dc_parameters

SITE2DC = (SITE2DC_DEF, SITE2DC_TEMPLATE, "Site2DCList")


def test_an_expired_token_is_an_auth_error(sim, make_client):
    client = make_client("nbitest_13")
    sim.add_fault(kind="expire_token", tenant="nbitest_13")
    with pytest.raises(IESAuthError) as info:
        client.list_services()
    assert info.value.status == 401 and info.value.exception_id == "servicemgr.permission_denied"
    sim.clear_faults()
    assert client.list_services()  # the same client works again once the token is valid


def test_a_wrong_token_bearer_or_tenant_id_is_an_auth_error(simulator, make_client):
    real = credentials_of(simulator.tenants["nbitest_13"])
    for creds in (
        IESCredentials("MIIE" + "x" * 100, real.bearer, None),
        IESCredentials(real.token, "00000000-0000-4000-8000-000000000000", None),
        IESCredentials(real.token, real.bearer, "0" * 32),
    ):
        client = make_client({"token": creds.token, "bearer": creds.bearer, "tenant_id": creds.tenant_id})
        with pytest.raises(IESAuthError):
            client.list_service_definitions()


def test_an_auth_error_is_not_retried(sim, make_client, caplog):
    client = make_client("nbitest_13", retries=3)
    sim.add_fault(kind="expire_token", tenant="nbitest_13")
    with caplog.at_level("DEBUG", logger="ies_client"), pytest.raises(IESAuthError):
        client.list_services()
    assert not [r for r in caplog.records if "retry" in r.getMessage()]


def test_an_unknown_service_is_not_found(client):
    with pytest.raises(IESNotFound) as info:
        client.get_service("AAAAAAAAAAAAAAAAAAAAAA")
    assert info.value.status == 404 and info.value.method == "GET"


def test_bad_values_are_a_validation_error_naming_each_field(fresh_client):
    params = site2dc_parameters(Bandwidth="1500", cidr="10.0.0.255", CPE_A_Type="NOPE")
    with pytest.raises(IESValidationError) as info:
        fresh_client.create_service(name="bad_ct", definition=SITE2DC, parameters=params)
    exc = info.value
    assert exc.status == 400 and exc.exception_id == "servicemgr.service.parameter.validate_error"
    assert {"Bandwidth", "CPE_A_Type"} <= set(exc.field_errors)
    assert exc.values["Bandwidth"] == "1500"
    assert any("1000" in r for r in exc.field_errors["Bandwidth"])
    assert "Bandwidth" in exc.message
    assert fresh_client.list_services() == []  # nothing was made


def test_a_bad_name_is_a_validation_error_on_the_name(fresh_client):
    with pytest.raises(IESValidationError) as info:
        fresh_client.create_service(name="-bad name-", definition=SITE2DC, parameters=site2dc_parameters())
    assert info.value.exception_id == "servicemgr.bad_param" and "name" in info.value.field_errors


def test_ordering_an_inactive_definition_is_refused(fresh_client):
    with pytest.raises(IESValidationError) as info:
        fresh_client.create_service(name="legacy_ct", definition=(LEGACY_DEF, "deadbeef" * 4, "Site2DCList"),
                                    parameters=site2dc_parameters())
    assert info.value.exception_id == "servicemgr.servicePackage.not_activation"


def test_a_conflict_is_read_from_the_exception_id_of_a_500(fresh_client):
    ref = fresh_client.create_service(name="busy_ct", definition=SITE2DC, parameters=site2dc_parameters())
    with pytest.raises(IESConflict) as info:
        fresh_client.activate_service(ref.service_id)
    assert info.value.status == 500 and info.value.exception_id == "servicemgr.service.status_inprogress"
    assert not info.value.maybe_applied


def test_another_500_is_a_server_error(sim, client):
    sim.add_fault(kind="error", status=500, count=1, prefix="/rest/catalog")
    with pytest.raises(IESServerError) as info:
        client.list_service_definitions()
    assert info.value.status == 500
    assert client.list_service_definitions()  # count=1: the next call is fine, and was not retried before


def test_a_500_on_a_write_may_have_been_applied(sim, fresh_client):
    sim.add_fault(kind="error", status=500, count=1, methods=["POST"], prefix="/rest/servicemanager")
    with pytest.raises(IESServerError) as info:
        fresh_client.create_service(name="x_ct", definition=SITE2DC, parameters=site2dc_parameters())
    assert info.value.maybe_applied and info.value.method == "POST"


def test_a_dropped_connection_is_unavailable(sim, make_client):
    sim.add_fault(kind="drop", prefix="/rest/catalog")
    with pytest.raises(IESUnavailable) as info:
        make_client(retries=1).list_service_definitions()
    assert info.value.status is None and "lost" in info.value.message and not info.value.maybe_applied


def test_a_hang_longer_than_the_read_timeout_is_unavailable(sim, make_client):
    sim.add_fault(kind="hang", seconds=1.5, count=1, prefix="/rest/catalog")
    with pytest.raises(IESUnavailable) as info:
        make_client(read_timeout=0.3, retries=0).list_service_definitions()
    assert "in time" in info.value.message


def test_a_503_after_all_retries_is_unavailable(sim, make_client):
    sim.add_fault(kind="error", status=503, prefix="/rest/catalog")
    with pytest.raises(IESUnavailable) as info:
        make_client(retries=2).list_service_definitions()
    assert info.value.status == 503


def test_nothing_listening_is_unavailable(make_client):
    from ies_client.client import IESClient

    client = IESClient("http://127.0.0.1:9/rest", IESCredentials("MIIE" + "t" * 40, "b" * 36), retries=1,
                       backoff=0.01, connect_timeout=0.5)
    with pytest.raises(IESUnavailable) as info:
        client.list_services()
    assert info.value.message == "IES could not be reached." and not info.value.maybe_applied


def test_errors_survive_pickling_as_celery_stores_them(fresh_client):
    with pytest.raises(IESValidationError) as info:
        fresh_client.create_service(name="bad_ct", definition=SITE2DC,
                                    parameters=site2dc_parameters(Bandwidth="5"))
    copy = pickle.loads(pickle.dumps(info.value))
    assert type(copy) is IESValidationError and copy.field_errors == info.value.field_errors
    assert copy.status == 400 and str(copy) == str(info.value)
    assert isinstance(copy, IESError)
