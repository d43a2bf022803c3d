"""The wire translation on its own: every shape a real IES may send, read into the client's types.

These feed IES-shaped JSON (as documented in IES-API.md, the deck and OPEN-O) to the parsers; the
live tests (test_*.py beside this one) check the same through HTTP against the simulator.
"""

from datetime import UTC, datetime

import pytest

from ies_client import wire
from ies_client.errors import (
    IESAuthError,
    IESConflict,
    IESError,
    IESNotFound,
    IESProtocolError,
    IESServerError,
    IESUnavailable,
    IESValidationError,
)
from ies_client.models import ServiceKind

DEF_ID = "8c34e27ed6644bbfbce93a41a05cb7ab"
TEMPLATE_ID = "e77fc5e21e1e42c9933ec9574c33a5d8"


def test_it_reads_definitions_wrapped_in_data_with_either_id_spelling():
    defs = wire.parse_definitions({"data": [
        {"serviceDefId": DEF_ID, "name": "A", "domain": "Site2DC", "status": "active",
         "templates": [{"id": TEMPLATE_ID, "name": "t", "url": "/x"}]},
        {"servicedefId": "b" * 32, "name": "B", "domain": "Site2Site", "status": "inactive", "version": "2"},
    ]})
    assert [d.id for d in defs] == [DEF_ID, "b" * 32]
    assert defs[0].kind is ServiceKind.SITE2DC and defs[0].template_ids == (TEMPLATE_ID,)
    assert defs[0].orderable and not defs[1].orderable


def test_it_reads_a_bare_definition_list_and_a_definition_without_status_as_active():
    (d,) = wire.parse_definitions([{"id": DEF_ID, "name": "x", "type": "site2dc", "template_id": TEMPLATE_ID}])
    assert d.status == "active" and d.kind is ServiceKind.SITE2DC and d.orderable


def test_it_refuses_a_definition_without_an_id():
    with pytest.raises(IESProtocolError):
        wire.parse_definitions({"data": [{"name": "no id"}]})


def test_it_refuses_a_list_in_an_unknown_shape():
    with pytest.raises(IESProtocolError):
        wire.parse_definitions({"items": "nope"})
    with pytest.raises(IESProtocolError):
        wire.parse_services("just text")


def test_it_falls_back_to_built_in_fields_when_the_detail_has_no_schema():
    detail = wire.parse_definition_detail({
        "serviceDefId": DEF_ID, "name": "CloudVPN", "domain": "Site2Site", "status": "active",
        "templates": [{"id": TEMPLATE_ID}],
    })
    assert detail.template_id == TEMPLATE_ID
    assert detail.list_key == "Site2SiteList"
    assert not detail.schema_from_ies
    names = [f.name for f in detail.fields]
    assert {"CloudVpnName", "Bandwidth", "CPE_A_ESN", "CPE_B_ESN", "cidr_A", "cidr_B"} <= set(names)
    bandwidth = detail.field("Bandwidth")
    assert bandwidth is not None and bandwidth.required and bandwidth.unit == "kbit/s" and bandwidth.step == 1000


def test_it_reads_a_schema_from_ies_with_constraints():
    detail = wire.parse_definition_detail({
        "servicedefId": DEF_ID, "domain": "Site2DC", "template_id": TEMPLATE_ID, "parameterListKey": "Site2DCList",
        "parameters": [
            {"name": "Bandwidth", "type": "integer", "required": True, "default": None, "unit": "kbit/s",
             "constraints": {"min": 1000, "max": 10000000, "step": 1000}},
            {"name": "CPE_A_Type", "type": "enum", "required": "false", "default": "AR1220E",
             "constraints": {"choices": ["AR1220E", "AR2220E"]}},
            {"name": "CloudVpnName", "type": "string", "required": True,
             "constraints": {"pattern": "^[A-Za-z0-9_-]+$", "minLength": 1, "maxLength": 64}},
        ],
    })
    assert detail.schema_from_ies
    bw, cpe, name = detail.fields
    assert (bw.min, bw.max, bw.step, bw.required) == (1000, 10000000, 1000, True)
    assert cpe.choices == ("AR1220E", "AR2220E") and cpe.default == "AR1220E" and not cpe.required
    assert (name.min_length, name.max_length, name.pattern) == (1, 64, "^[A-Za-z0-9_-]+$")


def test_it_refuses_a_detail_without_a_template():
    with pytest.raises(IESProtocolError):
        wire.parse_definition_detail({"serviceDefId": DEF_ID, "domain": "Site2DC"})


def test_it_reads_a_nested_service():
    s = wire.parse_service_detail({"service": {
        "service_id": "4YFCYXi6TPu8gG1CQ7VocA", "name": "site2dc4", "service_definition_id": DEF_ID,
        "template_id": TEMPLATE_ID, "created_at": 1494129480000, "status": "Completed", "active_status": "Active",
        "parameters": {"Site2DCList": [{"CloudVpnName": "0S2DC4", "Bandwidth": "60000", "VNI": 2236}]},
    }})
    assert s.kind is ServiceKind.SITE2DC and s.list_key == "Site2DCList"
    assert s.cloud_vpn_name == "0S2DC4" and s.bandwidth_kbps == 60000
    assert s.parameters == {"CloudVpnName": "0S2DC4", "Bandwidth": "60000", "VNI": "2236"}
    assert s.created_at == datetime(2017, 5, 7, 3, 58, tzinfo=UTC)
    assert s.is_active and not s.in_progress


def test_it_reads_a_flat_service_as_the_deck_does_and_the_flat_bandwidth_wins():
    s = wire.parse_service({
        "serviceId": "x", "service_name": "s2s", "CloudVpnName": "VPNS2S", "Bandwidth": "20000",
        "status": "UpdateInProgress", "activeStatus": "Active", "servicedefId": "d",
        "parameters": {"Site2SiteList": [{"CloudVpnName": "VPNS2S", "Bandwidth": "10000"}]},
        "created_at": "2017-05-06T14:33:00Z",
    })
    assert s.name == "s2s" and s.bandwidth_kbps == 20000 and s.service_definition_id == "d"
    assert s.kind is ServiceKind.SITE2SITE and s.in_progress and s.is_active
    assert s.created_at == datetime(2017, 5, 6, 14, 33, tzinfo=UTC)


def test_it_reads_a_list_item_without_parameters():
    (s,) = wire.parse_services({"services": [{"service_id": "x", "name": "n", "created_at": 1494129480}]})
    assert s.parameters == {} and s.bandwidth_kbps is None and s.cloud_vpn_name is None
    assert s.created_at == datetime(2017, 5, 7, 3, 58, tzinfo=UTC)  # epoch seconds read as such


def test_it_reads_an_unreadable_bandwidth_as_none():
    assert wire.parse_service({"service_id": "x", "Bandwidth": "lots"}).bandwidth_kbps is None


def test_it_reads_operations_and_a_null_operation():
    op = wire.parse_operation({"operation": {
        "operation_id": "W0x8h0IBQq6GJKmys5i74Q", "operation": "Delete", "service_id": "s",
        "operation_content": "Delete service x", "progress": "done", "result": "failed", "reason": "CPE down",
        "operate_at": 1494129480000, "finished_at": 1494129780000,
    }})
    assert op is not None and op.kind == "Delete" and op.done and op.failed and op.reason == "CPE down"
    assert op.finished_at == datetime(2017, 5, 7, 4, 3, tzinfo=UTC)
    assert wire.parse_operation({"operation": None}) is None
    running = wire.parse_operations({"operations": [{"operation_id": "o", "progress": "inprogress",
                                                     "result": None}]}, service_id="s")[0]
    assert not running.done and running.result is None and running.service_id == "s"


def test_it_takes_the_operation_from_the_location_header_when_the_body_lacks_it():
    ref = wire.parse_operation_ref(
        None, location="/rest/servicemanager/v1/services/SVC/operations/OP", service_id=None
    )
    assert (ref.service_id, ref.operation_id) == ("SVC", "OP")
    ref = wire.parse_operation_ref({"service": {"service_id": "S", "operation_id": "O"}}, location=None,
                                   service_id=None)
    assert (ref.service_id, ref.operation_id) == ("S", "O")
    with pytest.raises(IESProtocolError):
        wire.parse_operation_ref({}, location=None, service_id="S")


def test_it_reads_traffic_points_as_sorted_epoch_seconds_and_floats():
    series = wire.parse_traffic(
        {"connection": "c", "metric": "traffic-rate", "unit": "bit/s", "interval": 60, "timedim": "minute",
         "direction": "outbound", "indicator": "max", "starttime": 0, "endtime": 180,
         "points": [[120, 3], [0, 1.5], [60000, None]]},
        connection="c", metric="traffic-rate", start=0, end=180,
    )
    assert series.points == ((0, 1.5), (120, 3.0)) and series.interval_s == 60 and len(series) == 2
    assert series.times()[1] == datetime(1970, 1, 1, 0, 2, tzinfo=UTC)


def test_it_builds_the_decks_create_body_with_string_values():
    body = wire.build_create_body(
        name="n", description="", definition_id=DEF_ID, template_id=TEMPLATE_ID, list_key="Site2DCList",
        parameters={"CloudVpnName": "c", "Bandwidth": 60000}, rollback_on_failure=True,
    )
    assert body == {"onfailure": "rollback", "service": {
        "name": "n", "description": "", "service_definition_id": DEF_ID, "template_id": TEMPLATE_ID,
        "parameters": {"Site2DCList": [{"CloudVpnName": "c", "Bandwidth": "60000", "action": "create"}]}}}


def test_it_builds_a_modify_body_with_only_what_changes():
    body = wire.build_modify_body(list_key="Site2DCList", cloud_vpn_name="c", bandwidth_kbps=80000)
    assert body == {"service": {"parameters": {"Site2DCList": [
        {"CloudVpnName": "c", "action": "modify", "Bandwidth": "80000"}]}}}
    body = wire.build_modify_body(list_key="Site2DCList", cloud_vpn_name="c", name="new")
    assert body["service"]["name"] == "new" and "description" not in body["service"]


def test_epoch_seconds_refuses_naive_datetimes():
    assert wire.epoch_seconds(datetime(2017, 5, 1, tzinfo=UTC)) == 1493596800
    assert wire.epoch_seconds(1493596800) == 1493596800
    with pytest.raises(ValueError):
        wire.epoch_seconds(datetime(2017, 5, 1))


@pytest.mark.parametrize(
    ("status", "body", "cls"),
    [
        (401, None, IESAuthError),
        (403, {"exceptionId": "servicemgr.permission_denied"}, IESAuthError),
        (404, None, IESNotFound),
        (400, {"exceptionId": "servicemgr.bad_param", "descArgs": ["name"], "reasonArgs": ["is required"]},
         IESValidationError),
        (500, {"exceptionId": "servicemgr.service.status_inprogress"}, IESConflict),
        (500, {"exceptionId": "servicemgr.service.create_failed"}, IESConflict),
        (409, None, IESConflict),
        (500, {"exceptionId": "servicemgr.internal_error"}, IESServerError),
        (503, None, IESUnavailable),
        (504, None, IESUnavailable),
        (302, None, IESProtocolError),
        (418, None, IESError),
    ],
)
def test_it_maps_each_error_answer_to_its_exception(status, body, cls):
    exc = wire.error_for(status, body, method="GET", path="/servicemanager/v1/services", is_write=False)
    assert type(exc) is cls and exc.status == status


def test_it_names_every_bad_field_of_a_validation_error():
    exc = wire.error_for(400, {
        "exceptionId": "servicemgr.service.parameter.validate_error", "exceptionType": "ServiceManagerException",
        "descArgs": ["Bandwidth", "cidr", "Bandwidth"],
        "reasonArgs": ["must be a multiple of 1000", "is the broadcast address", "must be at most 10000000"],
        "detailArgs": ["1500", "10.0.0.255", "1500"], "adviceArgs": ["send 1000 to 10000000", "", ""],
    }, method="POST", path="/servicemanager/v1/services", is_write=True)
    assert isinstance(exc, IESValidationError)
    assert exc.field_errors == {"Bandwidth": ["must be a multiple of 1000", "must be at most 10000000"],
                                "cidr": ["is the broadcast address"]}
    assert exc.values == {"Bandwidth": "1500", "cidr": "10.0.0.255"}
    assert exc.field_advice == {"Bandwidth": ["send 1000 to 10000000"]}
    assert "Bandwidth" in exc.message and exc.exception_id.endswith("validate_error")


def test_a_write_that_hit_a_gateway_error_may_have_been_applied():
    exc = wire.error_for(504, None, method="POST", path="/servicemanager/v1/services", is_write=True)
    assert isinstance(exc, IESUnavailable) and exc.maybe_applied
    exc = wire.error_for(503, None, method="POST", path="/servicemanager/v1/services", is_write=True)
    assert not exc.maybe_applied


@pytest.mark.parametrize("value", ["NaN", "Infinity", "-inf", "1e400"])
def test_a_number_that_is_not_finite_reads_as_missing(value):
    """A bound of "Infinity" would crash every page that formats or compares it (a 500 in the wizard)."""
    assert wire._number_or_none(value) is None


def test_finite_numbers_still_read():
    assert wire._number_or_none("10000000") == 10_000_000 and wire._number_or_none(" 1.5 ") == 1.5


@pytest.mark.parametrize("points", [
    [[1700000060, 5.5], [1700000000, 3]],  # ints and floats, out of order
    [[1700000000000, 1.0], [1700000060000, 2.0]],  # milliseconds
    [[1700000000, None], [1700000060, 2.0]],  # a gap: the general reading
    [["1700000000", "4.5"]],  # strings: the general reading
    [{"time": 1700000000, "value": 7}],  # objects: the general reading
])
def test_plain_points_read_fast_read_as_the_general_reading_does(points):
    body = {"connection": "c", "metric": "traffic-rate", "points": points}
    fast = wire.parse_traffic(body, connection="c", metric="traffic-rate", start=0, end=2**31).points
    general = tuple(sorted(p for p in (wire._point(x) for x in points) if p is not None))
    assert fast == general and all(type(t) is int and type(v) is float for t, v in fast)


def test_a_point_that_is_not_plain_still_says_what_is_wrong():
    with pytest.raises(IESProtocolError, match="not a time and a number"):
        wire.parse_traffic({"points": [[1700000000, 1.0], [1700000060, float("inf")]]}, connection="c",
                           metric="traffic-rate", start=0, end=1)
