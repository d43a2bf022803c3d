"""The wizard's words and its accessibility: lengths said plainly, every portal text in Chinese,
errors tied to their fields, the bandwidth shown as interpreted, nothing lost by a demoted member."""

import re

import pytest
from django.conf import settings
from django.utils import translation

from ies_client.known_fields import SITE2DC_FIELDS, SITE2SITE_FIELDS
from portal.catalog.forms import allowed_values, field_help, form_field_for, length_phrase
from portal.tenants.models import Membership, Role
from tests.portal.helpers import SITE2DC, SITE2SITE, post, site2dc_form, start_wizard

pytestmark = pytest.mark.django_db

CJK = re.compile(r"[\u4e00-\u9fff]")


def test_a_fixed_length_is_said_as_exactly_n_characters():
    assert length_phrase(20, 20) == "exactly 20 characters"
    assert length_phrase(1, 1) == "exactly 1 character"
    assert length_phrase(1, 64) == "1 to 64 characters"
    assert length_phrase(None, 255) == "1 to 255 characters"
    esn = next(f for f in SITE2DC_FIELDS if f.name == "CPE_A_ESN")
    assert allowed_values(esn) == "exactly 20 characters"
    assert "exactly 20 characters" in field_help(esn)


def test_the_catalog_and_the_wizard_say_exactly_20_characters_for_a_serial_number(login):
    client = login("user16")
    detail = client.get(f"/catalog/definitions/{SITE2SITE}/")
    assert "20 to 20" not in detail.text
    assert detail.text.count("exactly 20 characters") == 2  # CPE A and CPE B
    form = client.get(f"/catalog/orders/new/{start_wizard(client, SITE2SITE)}/")
    help_a = re.search(r'id="id_CPE_A_ESN_helptext">([^<]*)<', form.text).group(1)
    assert "exactly 20 characters" in help_a


@pytest.mark.parametrize("fields", [SITE2DC_FIELDS, SITE2SITE_FIELDS], ids=["Site2DC", "Site2Site"])
def test_every_label_help_and_placeholder_the_portal_writes_is_chinese(fields):
    with translation.override("zh-hans"):
        for spec in fields:
            field = form_field_for(spec)
            assert CJK.search(str(field.label)), (spec.name, field.label)
            assert CJK.search(field.help_text), (spec.name, field.help_text)
            assert CJK.search(field_help(spec, with_bounds=False)), spec.name
            for value, text in getattr(field, "choices", []):
                if value == "":
                    assert str(text) == "请选择…"


def test_the_wizard_page_in_chinese_has_no_english_help(login):
    client = login("user1")
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "zh-hans"
    for definition in (SITE2DC, SITE2SITE):
        page = client.get(f"/catalog/orders/new/{start_wizard(client, definition)}/").text
        helps = re.findall(r'<p class="help" id="[^"]+">([^<]*)</p>', page)
        assert len(helps) >= 12
        assert all(CJK.search(h) for h in helps), [h for h in helps if not CJK.search(h)]
        assert '<option value="">请选择…</option>' in page
        assert "—</option>" not in page


def test_a_refused_field_is_marked_invalid_described_by_its_error_and_focused(login):
    client = login("user16")
    key = start_wizard(client)
    page = post(client, f"/catalog/orders/new/{key}/", site2dc_form(CPE_A_ESN="2150010200")).text
    esn = re.search(r"<input[^>]*id=\"id_CPE_A_ESN\"[^>]*>", page).group(0)
    assert 'aria-invalid="true"' in esn
    assert 'aria-describedby="id_CPE_A_ESN_helptext id_CPE_A_ESN_error"' in esn
    error = re.search(r'<div id="id_CPE_A_ESN_error">(.*?)</div>', page, re.S).group(1)
    assert "A serial number is 20 characters" in error
    # The first (and only) refused field takes the focus; no other element asks for it.
    assert "autofocus" in esn
    assert page.count("autofocus") == 1


def test_a_fresh_form_focuses_its_first_field(login):
    client = login("user16")
    page = client.get(f"/catalog/orders/new/{start_wizard(client)}/").text
    assert re.search(r'<input[^>]*name="service_name"[^>]*autofocus', page)
    assert page.count("autofocus") == 1
    assert re.search(r'<li aria-current="step">2\. ', page)


def test_the_review_shows_the_bandwidth_as_interpreted_and_as_ies_takes_it(login):
    client = login("user16")
    key = start_wizard(client)
    post(client, f"/catalog/orders/new/{key}/", site2dc_form(Bandwidth_0="1", Bandwidth_1="Gbit/s"))
    review = client.get(f"/catalog/orders/new/{key}/review/").text
    assert "<strong>1 Gbit/s</strong> <span class=\"muted\">(1,000,000 kbit/s)</span>" in review
    assert re.search(r'<li aria-current="step">3\. ', review)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "zh-hans"
    assert "(1,000,000 kbit/s)" in client.get(f"/catalog/orders/new/{key}/review/").text


def test_a_member_made_viewer_mid_wizard_is_told_why_and_keeps_what_they_typed(login, presets):
    client = login("user16")
    key = start_wizard(client)
    typed = site2dc_form(CloudVpnName="KEPTWHILEVIEWER1")
    Membership.objects.filter(user__username="user16").update(role=Role.VIEWER)

    refused = post(client, f"/catalog/orders/new/{key}/", typed)
    assert refused.status_code == 403
    assert "read-only" in refused.text
    assert "What you entered in this order is kept" in refused.text

    Membership.objects.filter(user__username="user16").update(role=Role.MEMBER)
    again = client.get(f"/catalog/orders/new/{key}/")
    assert again.status_code == 200
    assert 'value="KEPTWHILEVIEWER1"' in again.text
    assert post(client, f"/catalog/orders/new/{key}/", typed)["Location"] == f"/catalog/orders/new/{key}/review/"
