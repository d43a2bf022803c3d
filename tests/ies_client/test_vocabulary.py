"""IES's words in ies_client: the StrEnums, parameter roles, list keys, and what happens to a word
this client does not know (it is kept as IES spelled it, never an error)."""

import json

import pytest

from ies_client import known_fields, tracking, wire
from ies_client import models as ies
from ies_client.errors import IESValidationError

from .conftest import (
    SITE2DC_DEF,
    SITE2DC_TEMPLATE,
    SITE2SITE_DEF,
    site2dc_parameters,
    site2site_parameters,
    wait_done,
)

Role = ies.ParameterRole


@pytest.mark.parametrize(("name", "role", "side"), [
    ("CloudVpnName", Role.CONNECTION_NAME, None),
    ("Bandwidth", Role.BANDWIDTH, None),
    ("VPC_ID", Role.VPC_ID, None),
    ("VNI", Role.VNI, None),
    ("cidr", Role.SUBNET_ADDRESS, None),
    ("cidrBlockSize", Role.SUBNET_PREFIX, None),
    ("cidr_A", Role.SUBNET_ADDRESS, "A"),
    ("cidrBlockSize_B", Role.SUBNET_PREFIX, "B"),
    ("CPE_A_Site", Role.CPE_SITE, "A"),
    ("CPE_A_Type", Role.CPE_MODEL, "A"),
    ("CPE_B_ESN", Role.SERIAL_NUMBER, "B"),
    ("CPE_A_Position", Role.CPE_POSITION, "A"),
    ("CPE_B_POP", Role.CPE_POP, "B"),
    # Names IES may use that the portal has no words for: a serial number without a side, and others.
    ("ESN", Role.SERIAL_NUMBER, None),
    ("CPE_C_Site", Role.OTHER, None),
    ("CPE_A_Colour", Role.OTHER, None),
    ("cidr_C", Role.OTHER, None),
    ("bandwidth", Role.OTHER, None),  # IES's names are case-sensitive
    ("Bandwidth_0", Role.OTHER, None),
    ("", Role.OTHER, None),
])
def test_a_parameters_role_comes_from_its_ies_name(name, role, side):
    assert ies.parameter_role(name) == (role, side)
    field = ies.ParameterField(name=name)
    assert (field.role, field.side) == (role, side)


@pytest.mark.parametrize("fields", [known_fields.SITE2DC_FIELDS, known_fields.SITE2SITE_FIELDS])
def test_every_built_in_field_has_a_role_and_one_field_plays_each(fields):
    roles = [(f.role, f.side) for f in fields]
    assert Role.OTHER not in {role for role, _ in roles}
    assert len(roles) == len(set(roles))


def test_a_definition_finds_its_fields_by_role():
    detail = ies.ServiceDefinitionDetail(
        definition=ies.ServiceDefinition(id="d", name="n", description="", kind=ies.ServiceKind.SITE2DC,
                                         status="active", version="1", template_ids=("t",)),
        template_id="t", list_key=ies.ListKey.SITE2DC, fields=known_fields.SITE2DC_FIELDS, schema_from_ies=False)
    assert detail.field_with_role(Role.BANDWIDTH).name == "Bandwidth"
    assert detail.field_with_role(Role.BANDWIDTH).in_kbps
    assert detail.field_with_role(Role.CONNECTION_NAME).name == "CloudVpnName"
    assert detail.field_with_role(Role.CPE_SITE).side == "A"


@pytest.mark.parametrize(("kind", "list_key"), [
    (ies.ServiceKind.SITE2DC, "Site2DCList"),
    (ies.ServiceKind.SITE2SITE, "Site2SiteList"),
])
def test_each_kind_has_its_list_key(kind, list_key):
    assert kind.list_key == list_key and kind.list_key is ies.ListKey(list_key)
    assert ies.ServiceKind.parse(list_key) is kind


@pytest.mark.parametrize(("list_key", "kind", "expected"), [
    (None, ies.ServiceKind.SITE2SITE, "Site2SiteList"),
    (None, ies.ServiceKind.SITE2DC, "Site2DCList"),
    (None, None, "Site2DCList"),  # no kind known: the deck's own example, a Site2DC
    ("Site2SiteList", ies.ServiceKind.SITE2DC, "Site2SiteList"),  # where IES put the entry wins
    ("VendorList", None, "VendorList"),
])
def test_a_change_goes_under_the_list_key_ies_used_else_the_kinds(list_key, kind, expected):
    service = ies.Service(service_id="s", name="n", kind=kind, list_key=list_key)
    assert service.connection_list_key == expected


@pytest.mark.parametrize(("words", "value", "member"), [
    (ies.ServiceStatus, "Completed", ies.ServiceStatus.COMPLETED),
    (ies.ServiceStatus, "CreateFailed", ies.ServiceStatus.CREATE_FAILED),
    (ies.ActiveStatus, "Deactive", ies.ActiveStatus.DEACTIVE),
    (ies.OperationKind, "Update", ies.OperationKind.UPDATE),
    (ies.OperationResult, "failed", ies.OperationResult.FAILED),
    (ies.Metric, "bandwidth-utilization", ies.Metric.BANDWIDTH_UTILIZATION),
    (ies.Direction, "inbound", ies.Direction.INBOUND),
])
def test_a_known_word_parses_to_its_member_and_still_reads_as_the_wire_string(words, value, member):
    parsed = words.parse(value)
    assert parsed is member
    assert parsed == value and str(parsed) == value and f"{parsed}" == value
    assert json.dumps({"k": parsed}) == json.dumps({"k": value})
    assert {member: "label"}[value] == "label"  # a table keyed by members answers a plain string


@pytest.mark.parametrize(("words", "value"), [
    (ies.ServiceStatus, "Suspended"),
    (ies.ServiceStatus, "completed"),  # not IES's spelling: kept as sent
    (ies.ServiceStatus, ""),
    (ies.ActiveStatus, "Paused"),
    (ies.OperationKind, "Migrate"),
    (ies.Metric, "packet-loss"),
    (ies.Direction, "both"),
])
def test_an_unknown_word_is_kept_as_ies_spelled_it(words, value):
    parsed = words.parse(value)
    assert parsed == value and type(parsed) is str


@pytest.mark.parametrize(("status", "active_status", "in_progress", "failed", "active"), [
    ("Completed", "Active", False, False, True),
    ("UpdateInProgress", "Active", True, False, True),
    ("Completed", "DeactivateInProgress", True, False, False),
    ("CreateFailed", "Deactive", False, True, False),
    ("MigrateInProgress", "Active", True, False, True),  # unknown, but says IES is working
    ("Suspended", "Paused", False, False, False),
])
def test_a_service_read_from_the_wire_keeps_any_status(status, active_status, in_progress, failed, active):
    service = wire.parse_service({"service_id": "s1", "name": "n", "status": status, "active_status": active_status})
    assert (service.status, service.active_status) == (status, active_status)
    assert (service.in_progress, service.failed, service.is_active) == (in_progress, failed, active)


def test_an_operation_of_an_unknown_kind_is_kept_and_tracked_by_the_services_state():
    op = wire.parse_operation({"operation": {"operation_id": "o1", "operation": "Migrate", "progress": "done",
                                             "result": "success"}})
    assert op.kind == "Migrate" and type(op.kind) is str and op.result is ies.OperationResult.SUCCESS
    assert op.succeeded
    settled = ies.Service(service_id="s1", name="n", status="Completed")
    assert tracking.operation_from_service(settled, service_id="s1", operation_id="o1", kind="Migrate").succeeded
    broken = ies.Service(service_id="s1", name="n", status="Failed")
    assert tracking.operation_from_service(broken, service_id="s1", operation_id="o1", kind="Migrate").failed


@pytest.mark.parametrize(("metric", "unit"), [
    ("traffic-rate", "bit/s"), ("bandwidth-utilization", "%"), ("packet-loss", "bit/s"),
])
def test_a_series_without_a_unit_gets_its_metrics(metric, unit):
    series = wire.parse_traffic({"points": []}, connection="c", metric=metric, start=0, end=60)
    assert series.unit == unit and series.metric == metric


def _created(client, definition, parameters):
    ref = client.create_service(name=f"voc_{parameters['CloudVpnName'].lower()}", definition=definition,
                                parameters=parameters)
    assert wait_done(client, ref, "Create").succeeded
    return client.get_service(ref.service_id)


@pytest.mark.parametrize(("definition", "parameters", "kind"), [
    ((SITE2DC_DEF, SITE2DC_TEMPLATE, "Site2DCList"), site2dc_parameters, ies.ServiceKind.SITE2DC),
    ((SITE2SITE_DEF, None, "Site2SiteList"), site2site_parameters, ies.ServiceKind.SITE2SITE),
])
def test_change_bandwidth_addresses_the_connection_from_the_services_kind(fresh_client, definition, parameters,
                                                                           kind):
    if definition[1] is None:  # the Site2Site template: from the catalog
        definition = fresh_client.get_service_definition(definition[0])
    read = _created(fresh_client, definition, parameters(Bandwidth="10000"))
    # What a caller that keeps only the id, the kind and the connection's name can build.
    known = ies.Service(service_id=read.service_id, name=read.name, kind=kind, cloud_vpn_name=read.cloud_vpn_name)
    ref = fresh_client.change_bandwidth(known, 30000)
    assert wait_done(fresh_client, ref, ies.OperationKind.UPDATE, expected_bandwidth_kbps=30000).succeeded
    assert fresh_client.get_service(read.service_id).bandwidth_kbps == 30000
    # The service as read from IES works as well, and the wrong kind is refused by IES: the key matters.
    assert wait_done(fresh_client, fresh_client.change_bandwidth(read, 40000), ies.OperationKind.UPDATE).succeeded
    other = next(k for k in ies.ServiceKind if k is not kind)
    with pytest.raises(IESValidationError):
        fresh_client.change_bandwidth(
            ies.Service(service_id=read.service_id, name=read.name, kind=other, cloud_vpn_name=read.cloud_vpn_name),
            50000)


def test_change_bandwidth_needs_the_connections_name(fresh_client):
    with pytest.raises(ValueError):
        fresh_client.change_bandwidth(ies.Service(service_id="s", name="n", kind=ies.ServiceKind.SITE2DC), 30000)
