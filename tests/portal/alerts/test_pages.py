"""The alert pages: members make and change rules (bad values refused with words, what was typed
kept), viewers read them and set only their own e-mail, and nobody sees another tenant's."""

import uuid

import pytest
from django.contrib.auth import get_user_model

from portal.alerts.models import AlertEvent, AlertRule, AlertSubscription
from portal.audit.models import AuditEvent
from portal.tenants.models import Membership, Role, Tenant

RULE = {"name": "Busy line", "kind": "utilisation", "service_id": "", "direction": "either", "warning_pct": "80",
        "critical_pct": "95", "clear_pct": "", "floor_kbps": "", "level": "warning", "window_minutes": "5",
        "renotify_minutes": "60", "enabled": "on"}


def csrf(client) -> str:
    client.get("/alerts/")
    return client.cookies["csrftoken"].value


def post(client, url, data):
    return client.post(url, data, HTTP_X_CSRFTOKEN=csrf(client))


def test_a_member_makes_a_rule_and_the_clear_level_defaults_under_the_thresholds(own_tenant):
    client = own_tenant.login("own1")
    answer = post(client, "/alerts/rules/new/", RULE)
    assert answer.status_code == 302 and answer["Location"] == "/alerts/"
    rule = AlertRule.objects.get()
    assert (rule.warning_pct, rule.critical_pct, rule.clear_pct, rule.tenant) == (80, 95, 70, own_tenant.tenant)
    assert AuditEvent.objects.filter(action="alert_rule.create", tenant=own_tenant.tenant).exists()
    page = client.get("/alerts/")
    assert "Busy line" in page.text and 'data-testid="nothing-firing"' in page.text


@pytest.mark.parametrize(("changes", "field", "words"), [
    ({"warning_pct": "", "critical_pct": ""}, "warning_pct", "Give a warning threshold"),
    ({"warning_pct": "90", "critical_pct": "85"}, "critical_pct", "must be above the warning one"),
    ({"clear_pct": "85"}, "clear_pct", "fire and clear in turns"),
    ({"warning_pct": "180"}, "warning_pct", "between 0 and 100"),
    ({"window_minutes": "0"}, "window_minutes", "Between 1 and 60 minutes"),
    ({"kind": "quiet", "floor_kbps": ""}, "floor_kbps", "counts as quiet"),
])
def test_bad_rules_are_refused_with_words_and_nothing_typed_is_lost(own_tenant, changes, field, words):
    client = own_tenant.login("own1")
    answer = post(client, "/alerts/rules/new/", {**RULE, **changes, "name": "Typed name"})
    assert answer.status_code == 400 and words in answer.text
    assert 'value="Typed name"' in answer.text
    assert not AlertRule.objects.exists()


def test_a_viewer_reads_rules_sets_their_own_mail_and_changes_nothing_else(own_tenant):
    rule = AlertRule.objects.create(tenant=own_tenant.tenant, name="Busy line", kind="utilisation", warning_pct=80)
    Membership.objects.filter(user__username="own2").update(role=Role.VIEWER)
    client = own_tenant.login("own2")
    page = client.get("/alerts/")
    assert page.status_code == 200 and "Busy line" in page.text and 'data-testid="read-only-notice"' in page.text
    assert post(client, "/alerts/rules/new/", RULE).status_code == 403
    assert post(client, f"/alerts/rules/{rule.pk}/delete/", {}).status_code == 403
    assert client.get(f"/alerts/rules/{rule.pk}/").status_code == 403
    answer = post(client, "/alerts/subscription/", {"email": "on", "min_level": "critical", "quiet_start": "22:00",
                                                    "quiet_end": "07:00"})
    assert answer.status_code == 302
    mine = AlertSubscription.objects.get(user__username="own2")
    assert mine.min_level == "critical" and str(mine.quiet_start) == "22:00:00"
    refused = post(client, "/alerts/subscription/", {"email": "on", "min_level": "warning", "quiet_start": "22:00"})
    assert refused.status_code == 400 and "both ends of the quiet hours" in refused.text


def test_another_tenants_rules_and_alerts_are_not_there(own_tenant):
    other = Tenant.objects.create(name=f"other_{uuid.uuid4().hex[:8]}")
    theirs = AlertRule.objects.create(tenant=other, name="Their secret rule", kind="utilisation", warning_pct=80)
    AlertEvent.objects.create(tenant=other, rule=theirs, rule_name="Their secret rule", kind="utilisation",
                              level="warning", status="firing", facts={}, started_at="2026-12-01T00:00:00Z")
    client = own_tenant.login("own1")
    page = client.get("/alerts/")
    assert "Their secret rule" not in page.text
    assert client.get(f"/alerts/rules/{theirs.pk}/").status_code == 404
    assert post(client, f"/alerts/rules/{theirs.pk}/delete/", {}).status_code == 404
    assert AlertRule.objects.filter(pk=theirs.pk).exists()


def test_the_header_counts_what_fires(own_tenant):
    Tenant.objects.filter(pk=own_tenant.tenant.pk).update(alert_notices=2)
    page = own_tenant.login("own1").get("/services/")
    assert 'data-testid="alert-notices"' in page.text and "2 firing" in page.text
    assert get_user_model().objects.filter(username="own1").exists()
