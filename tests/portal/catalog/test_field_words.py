"""The wizard's labels and checks find a parameter by its role (ies_client's word for what it is
for), never by matching IES's names in the portal: one table from IES name to label."""

import pytest
from django.utils import translation

from ies_client import models as ies
from ies_client.known_fields import SITE2DC_FIELDS, SITE2SITE_FIELDS
from portal.catalog.forms import OrderForm, field_label, form_field_for
from portal.core.bandwidth_input import BandwidthField


@pytest.mark.parametrize(("name", "label"), [
    ("CloudVpnName", "CloudVpnName (connection name)"),
    ("Bandwidth", "Bandwidth"),
    ("VPC_ID", "VPC id"),
    ("VNI", "VNI (VXLAN id)"),
    ("cidr", "Site subnet address"),
    ("cidrBlockSize", "Site subnet prefix length"),
    ("cidr_A", "Site A subnet address"),
    ("cidrBlockSize_B", "Site B subnet prefix length"),
    ("CPE_A_Site", "CPE A site"),
    ("CPE_B_Type", "CPE B model"),
    ("CPE_A_ESN", "CPE A serial number (ESN)"),
    ("CPE_B_Position", "CPE B position"),
    ("CPE_A_POP", "CPE A POP"),
    # No words of the portal's: the field is shown by IES's name.
    ("ESN", "ESN"),
    ("CPE_C_Site", "CPE_C_Site"),
    ("Colour", "Colour"),
])
def test_a_field_is_labelled_by_its_role_and_side(name, label):
    with translation.override("en"):
        assert str(field_label(ies.ParameterField(name=name))) == label


@pytest.mark.parametrize(("field", "is_amount"), [
    (ies.ParameterField(name="Bandwidth", type="integer"), True),
    (ies.ParameterField(name="Ceiling", type="integer", unit="kbit/s"), True),  # a bandwidth by its unit
    (ies.ParameterField(name="VNI", type="integer"), False),
])
def test_a_bandwidth_is_typed_as_an_amount_with_a_unit(field, is_amount):
    assert isinstance(form_field_for(field), BandwidthField) is is_amount


def _detail(fields, kind=ies.ServiceKind.SITE2DC):
    return ies.ServiceDefinitionDetail(
        definition=ies.ServiceDefinition(id="d", name="n", description="", kind=kind, status="active", version="1",
                                         template_ids=("t",)),
        template_id="t", list_key=kind.list_key, fields=tuple(fields), schema_from_ies=False)


@pytest.mark.parametrize("fields", [SITE2DC_FIELDS, SITE2SITE_FIELDS], ids=["Site2DC", "Site2Site"])
def test_a_connection_name_in_use_is_refused_on_its_own_field(fields):
    form = OrderForm({"service_name": "svc", "CloudVpnName": "TAKEN"}, detail=_detail(fields),
                     names_in_use={"TAKEN"})
    assert not form.is_valid()
    assert any("already has a connection called" in e for e in form.errors["CloudVpnName"])
    free = OrderForm({"service_name": "svc", "CloudVpnName": "FREE"}, detail=_detail(fields), names_in_use={"TAKEN"})
    free.is_valid()
    assert "CloudVpnName" not in free.errors
