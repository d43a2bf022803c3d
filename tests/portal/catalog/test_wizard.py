"""The creation wizard: every field checked with a message that says how to fix it; state kept."""

import pytest

from portal.catalog.models import Order
from portal.operations.models import Operation
from tests.portal.helpers import SITE2SITE, csrf, post, site2dc_form, start_wizard

pytestmark = pytest.mark.django_db


def submit_parameters(client, key, data):
    return post(client, f"/catalog/orders/new/{key}/", data)


def test_valid_parameters_lead_to_the_review(login):
    client = login("user16")
    key = start_wizard(client)
    answer = submit_parameters(client, key, site2dc_form())
    assert answer.status_code == 302
    assert answer["Location"] == f"/catalog/orders/new/{key}/review/"
    review = client.get(answer["Location"])
    assert "60 Mbit/s" in review.text
    assert "(60,000 kbit/s)" in review.text
    assert "Place order" in review.text


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("service_name", "", "This field is required."),
        ("service_name", "-bad name", "Start with a letter or digit"),
        ("CloudVpnName", "", "This field is required."),
        ("CloudVpnName", "has space", "Use letters, digits"),
        ("CloudVpnName", "x" * 65, "at most 64 characters"),
        ("VNI", "0", "Enter 1 or more."),
        ("VNI", "16777216", "Enter 16777215 or less."),
        ("VNI", "12a", "Enter a whole number."),
        ("VPC_ID", "not-a-uuid", "Enter a UUID"),
        ("CPE_A_ESN", "2150010200", "A serial number is 20 characters"),
        ("CPE_A_ESN", "21500102003gg3000704", "A serial number is 20 characters"),
        ("CPE_A_Type", "AR9999", "Select a valid choice"),
        ("cidr", "300.1.1.1", "Enter an IPv4 address"),
        ("cidr", "127.0.0.1", "cannot be a site subnet"),
        ("cidr", "10.0.0.255", "is the broadcast address of 10.0.0.0/24"),
        ("cidrBlockSize", "7", "Enter 8 or more."),
        ("cidrBlockSize", "31", "Enter 30 or less."),
        ("Bandwidth_0", "", "Enter a bandwidth."),
        ("Bandwidth_0", "fast", "is not a number"),
        ("Bandwidth_0", "-5", "greater than zero"),
        ("Bandwidth_0", "0.5", "At least 1 Mbit/s is allowed"),
        ("Bandwidth_0", "10.5", "steps of 1 Mbit/s"),
        ("Bandwidth_0", "11000", "At most 10 Gbit/s is allowed"),
        # Issue 13: these crashed the wizard (OverflowError) or were read as 3.
        ("Bandwidth_0", "1e306", "At most 10 Gbit/s is allowed"),
        ("Bandwidth_0", "9" * 10_000, "At most 10 Gbit/s is allowed"),
        ("Bandwidth_0", "٣", "Type the digits 0–9"),
        ("Bandwidth_1", "Tbit/s", "Choose a unit"),
    ],
)
def test_every_bad_value_is_refused_next_to_its_field(login, field, value, message):
    client = login("user16")
    key = start_wizard(client)
    page = submit_parameters(client, key, site2dc_form(**{field: value}))
    assert page.status_code == 200
    assert message in page.text.replace("&#x27;", "'")
    anchor = "field-Bandwidth" if field.startswith("Bandwidth") else f"field-{field}"
    section = page.text.split(f'id="{anchor}"', 1)[1].split('<div class="field', 1)[0]
    assert message in section.replace("&#x27;", "'"), "the message stands next to the field"
    assert not Order.objects.exists()


def test_bandwidth_units_are_converted_to_kbps(login):
    client = login("user16")
    for amount, unit, kbps in (("2", "Gbit/s", "2,000,000"), ("3000", "kbit/s", "3,000"), ("2.5", "Gbit/s", "2,500,000")):
        key = start_wizard(client)
        assert submit_parameters(client, key, site2dc_form(Bandwidth_0=amount, Bandwidth_1=unit)).status_code == 302
        review = client.get(f"/catalog/orders/new/{key}/review/")
        assert f"({kbps} kbit/s)" in review.text


def test_a_connection_name_already_in_use_is_refused(login):
    client = login("user16")
    client.get("/services/")  # the mirror learns the tenant's connections
    key = start_wizard(client)
    page = submit_parameters(client, key, site2dc_form(CloudVpnName="0S2DC6201705071300"))
    assert "already has a connection called" in page.text


def test_site_to_site_sites_must_differ(login):
    client = login("user1")
    key = start_wizard(client, SITE2SITE)
    data = {
        "service_name": "s2s_test", "CloudVpnName": "S2STEST1", "VNI": "3001", "Bandwidth_0": "20",
        "Bandwidth_1": "Mbit/s", "CPE_A_Type": "AR1220E", "CPE_B_Type": "AR1220E",
        "CPE_A_ESN": "21500102003GG3000001", "CPE_B_ESN": "21500102003GG3000001",
        "cidr_A": "10.1.0.0", "cidrBlockSize_A": "16", "cidr_B": "10.1.2.0", "cidrBlockSize_B": "24",
    }
    page = submit_parameters(client, key, data)
    assert "this serial number is already site A" in page.text.replace("&#x27;", "'")
    assert "overlaps site A" in page.text.replace("&#x27;", "'")


def test_the_wizard_keeps_its_state_across_reloads_and_tabs(login):
    client = login("user16")
    key = start_wizard(client)
    form = site2dc_form(VNI="bad")
    submit_parameters(client, key, form)
    again = client.get(f"/catalog/orders/new/{key}/")  # a reload, or a second tab
    assert form["CloudVpnName"] in again.text
    assert "Enter a whole number." in again.text
    submit_parameters(client, key, site2dc_form(CloudVpnName=form["CloudVpnName"]))
    back = client.get(f"/catalog/orders/new/{key}/")  # the back button from the review
    assert form["CloudVpnName"] in back.text


def test_the_review_without_valid_parameters_goes_back_to_them(login):
    client = login("user16")
    key = start_wizard(client)
    answer = client.get(f"/catalog/orders/new/{key}/review/")
    assert answer.status_code == 302 and answer["Location"] == f"/catalog/orders/new/{key}/"


def test_placing_twice_makes_one_order(login):
    client = login("user16")
    key = start_wizard(client)
    submit_parameters(client, key, site2dc_form())
    first = post(client, f"/catalog/orders/new/{key}/review/")
    second = post(client, f"/catalog/orders/new/{key}/review/")
    assert first.status_code == second.status_code == 302
    assert first["Location"] == second["Location"]
    assert Order.objects.count() == 1 and Operation.objects.count() == 1


def test_another_users_wizard_is_404(login):
    key = start_wizard(login("user16"))
    assert login("user2").get(f"/catalog/orders/new/{key}/").status_code == 404


def test_abandoning_the_wizard_leaves_nothing_behind(login, sim, simulator):
    def names_at_ies():
        listed = simulator.call("GET", "/servicemanager/v1/services", tenant="nbitest_16")
        return sorted(s["name"] for s in listed.json()["services"])

    before = names_at_ies()
    client = login("user16")
    key = start_wizard(client)
    form = site2dc_form()
    submit_parameters(client, key, form)
    client.get(f"/catalog/orders/new/{key}/review/")  # looked at the review, then walked away
    assert names_at_ies() == before
    assert not Order.objects.exists()


def test_wizard_pages_need_post_for_changes(login):
    client = login("user16")
    assert client.get("/catalog/definitions/8c34e27ed6644bbfbce93a41a05cb7ab/order/").status_code == 405
    key = start_wizard(client)
    assert client.put(f"/catalog/orders/new/{key}/", headers={"X-CSRFToken": csrf(client)}).status_code == 405


def test_placing_an_order_needs_the_csrf_token(login):
    client = login("user16")
    key = start_wizard(client)
    submit_parameters(client, key, site2dc_form())
    assert client.post(f"/catalog/orders/new/{key}/review/").status_code == 403
    assert not Order.objects.exists()
