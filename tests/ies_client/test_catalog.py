"""The catalog through the client: definitions, one definition's template and fields."""

import pytest

from ies_client.errors import IESNotFound
from ies_client.models import ServiceKind

from .conftest import LEGACY_DEF, SITE2DC_DEF, SITE2DC_TEMPLATE, SITE2SITE_DEF


def test_it_lists_the_three_definitions_with_the_legacy_one_not_orderable(client):
    defs = {d.id: d for d in client.list_service_definitions()}
    assert set(defs) == {SITE2DC_DEF, SITE2SITE_DEF, LEGACY_DEF}
    assert defs[SITE2DC_DEF].kind is ServiceKind.SITE2DC and defs[SITE2DC_DEF].orderable
    assert defs[SITE2SITE_DEF].kind is ServiceKind.SITE2SITE and defs[SITE2SITE_DEF].orderable
    assert defs[LEGACY_DEF].status == "inactive" and not defs[LEGACY_DEF].orderable
    assert defs[SITE2DC_DEF].template_ids == (SITE2DC_TEMPLATE,)


def test_it_reads_a_definitions_template_and_schema_from_ies(client):
    detail = client.get_service_definition(SITE2DC_DEF)
    assert detail.id == SITE2DC_DEF and detail.template_id == SITE2DC_TEMPLATE
    assert detail.list_key == "Site2DCList" and detail.schema_from_ies
    bandwidth = detail.field("Bandwidth")
    assert bandwidth is not None
    assert (bandwidth.type, bandwidth.required, bandwidth.unit) == ("integer", True, "kbit/s")
    assert (bandwidth.min, bandwidth.max, bandwidth.step) == (1000, 10_000_000, 1000)
    cpe_type = detail.field("CPE_A_Type")
    assert cpe_type is not None and cpe_type.type == "enum" and "AR169FGW-L" in cpe_type.choices
    esn = detail.field("CPE_A_ESN")
    assert esn is not None and esn.min_length == esn.max_length == 20


def test_the_built_in_fields_agree_with_the_simulators_schema(client):
    """The fallback for an IES without a schema must describe the same fields the simulator does."""
    from ies_client.known_fields import fields_for

    for def_id in (SITE2DC_DEF, SITE2SITE_DEF):
        detail = client.get_service_definition(def_id)
        assert [f.name for f in fields_for(detail.kind)] == [f.name for f in detail.fields]
        for ours, theirs in zip(fields_for(detail.kind), detail.fields, strict=True):
            assert (ours.type, ours.required, ours.min, ours.max, ours.step, ours.choices, ours.unit) == (
                theirs.type, theirs.required, theirs.min, theirs.max, theirs.step, theirs.choices, theirs.unit
            ), ours.name


def test_an_unknown_definition_is_not_found(client):
    with pytest.raises(IESNotFound) as info:
        client.get_service_definition("f" * 32)
    assert info.value.status == 404 and info.value.exception_id == "servicemgr.template.not_exist"
