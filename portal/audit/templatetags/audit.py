"""Audit events in templates: ``{{ e.action|action_label }}`` and ``{% for line in e|audit_changes %}``."""

from django import template

from portal.audit import presenters
from portal.audit.models import AuditEvent

register = template.Library()


@register.filter
def action_label(code: str) -> str:
    return presenters.action_label(code or "")


@register.filter
def audit_changes(event: AuditEvent) -> list[str]:
    return presenters.event_changes(event)
