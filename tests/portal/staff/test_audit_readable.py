"""Audit events as people read them: translated action names and change lines, never a repr or a
raw code; the CSV keeps the code in a column of its own."""

import ast
import csv
import io
import re
from pathlib import Path

import pytest
from django.utils import translation

from portal.audit.exporting import audit_csv_lines
from portal.audit.models import AuditEvent, Outcome
from portal.audit.presenters import ACTION_LABELS, action_choices, action_label, changes
from portal.audit.services import audit_record
from tests.portal.staff.conftest import post


def _lines(action, before=None, after=None) -> list[str]:
    return [str(line) for line in changes(action=action, before=before, after=after)]


@pytest.mark.parametrize(("action", "before", "after", "expected"), [
    # what service_change_bandwidth records: the connection and list key are context, not changes
    ("service.modify", {"bandwidth_kbps": 60000}, {"bandwidth_kbps": 80000, "cloud_vpn_name": "0S2DC6",
                                                   "list_key": "Site2DCList"}, ["Bandwidth 60 → 80 Mbit/s"]),
    ("service.modify", {"bandwidth_kbps": 512}, {"bandwidth_kbps": 2000}, ["Bandwidth 512 kbit/s → 2 Mbit/s"]),
    ("service.create", None, {"name": "s2s_new", "kind": "Site2DC", "bandwidth_kbps": 60000, "cloud_vpn_name": ""},
     ["Name: s2s_new", "Kind: Site2DC", "Bandwidth: 60 Mbit/s"]),
    ("service.delete", {"name": "old", "bandwidth_kbps": 1000000, "cloud_vpn_name": "V1"}, None,
     ["Name: old", "Bandwidth: 1 Gbit/s", "CloudVpnName: V1"]),
    ("tenant.token.replace", {"token": "…abcd", "bearer": "…wxyz"}, {"token": "…1234", "bearer": "…wxyz"},
     ["Token changed"]),
    ("tenant.update", {"scenarios": ["scale"], "ref_kind": ""}, {"scenarios": ["create", "scale"],
                                                                 "ref_kind": "Site2DC"},
     ["Scenarios Elastic scaling → Create & activate, Elastic scaling", "Reference service kind — → Site2DC"]),
    ("user.disable", {"is_active": True}, {"is_active": False}, ["Active yes → no"]),
    ("membership.role.change", {"role": "member"}, {"role": "viewer"},
     ["Role Member (order and manage) → Viewer (read-only)"]),
    ("import.apply", None, {"rows": {"create": 6}, "tenants": {"create": 1, "update": 2, "unchanged": 3},
                            "users": {"create": 0, "unchanged": 16}, "memberships": {"create": 4, "update": 0}},
     ["Tenants: 1 created, 2 updated", "Memberships: 4 created"]),
])
def test_it_says_what_changed_in_words_and_units(action, before, after, expected):
    lines = _lines(action, before, after)
    assert lines == expected
    assert not any(mark in line for line in lines for mark in ("{", "'", "_kbps", "True", "None"))


def _recorded_action_codes() -> set[str]:
    """Every audit action code the portal's code writes: the dotted string constants of its modules
    (model labels such as "tenants.tenant" aside), so that a new action without a label fails here."""
    from django.apps import apps

    model_labels = {model._meta.label_lower for model in apps.get_models()}
    code = re.compile(r"^(tenant|tenants|user|membership|service|import|presets|audit|policy)(\.[a-z_]+)+$")
    root = Path(__file__).resolve().parents[3] / "portal"
    found = set()
    for path in root.rglob("*.py"):
        if "migrations" in path.parts or path == root / "audit" / "presenters.py":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and code.match(node.value):
                found.add(node.value)
    return found - model_labels


def test_every_recorded_action_has_a_label_and_unknown_codes_are_made_readable():
    recorded = _recorded_action_codes()
    assert {"service.modify", "tenant.token.replace", "membership.role.change"} <= recorded  # the scan works
    assert recorded - set(ACTION_LABELS) == set()
    assert action_label("service.modify") == "Changed bandwidth"
    assert action_label("bulk.thing_done") == "Bulk thing done"


def test_labels_and_changes_are_translated():
    with translation.override("zh-hans"):
        assert action_label("service.modify") == "修改带宽"
        assert _lines("tenant.token.replace", {"token": "…a"}, {"token": "…b"}) == ["令牌已更改"]
        assert _lines("service.modify", {"bandwidth_kbps": 60000}, {"bandwidth_kbps": 80000}) == [
            "带宽 60 → 80 Mbit/s"]


def test_the_action_filter_lists_labels_in_order_and_keeps_a_typed_prefix():
    choices = action_choices(["user.create", "service.modify", "tenant.create"], current="tenant.")
    assert choices == [("service.modify", "Changed bandwidth"), ("tenant.create", "Created tenant"),
                       ("user.create", "Created user"), ("tenant.", "Tenant")]


@pytest.mark.django_db
def test_the_csv_keeps_the_code_and_adds_the_label_and_the_change():
    audit_record(action="service.modify", outcome=Outcome.SUCCEEDED, object_label="site2dc6",
                 before={"bandwidth_kbps": 60000}, after={"bandwidth_kbps": 80000, "list_key": "Site2DCList"})
    text = "".join(audit_csv_lines(AuditEvent.objects.all(), language="en")).lstrip("\ufeff")
    header, row = list(csv.reader(io.StringIO(text)))
    cells = dict(zip(header, row, strict=True))
    assert cells["action"] == "service.modify" and cells["action label"] == "Changed bandwidth"
    assert cells["change"] == "Bandwidth 60 → 80 Mbit/s"
    assert '"bandwidth_kbps": 60000' in cells["before"]  # the raw values stay for scripts


@pytest.mark.django_db
def test_the_audit_page_shows_no_code_and_no_repr(login):
    staff = login("admin")
    audit_record(action="service.modify", outcome=Outcome.SUCCEEDED, object_label="site2dc6",
                 before={"bandwidth_kbps": 60000}, after={"bandwidth_kbps": 80000, "list_key": "Site2DCList"})
    page = staff.get("/staff/audit/?action=service.modify")
    body = page.text.split("<tbody>")[1].split("</tbody>")[0]
    assert "Changed bandwidth" in body and "Bandwidth 60 → 80 Mbit/s" in body
    assert ">service.modify<" not in body and "{&#x27;" not in body and "bandwidth_kbps" not in body
    assert post(staff, "/staff/audit/").status_code == 405
