"""No view queries a tenant-owned model itself: every such object comes through the access
chokepoint (portal.tenants.access) or a selector that takes the tenant.

A view that queries on its own is one forgotten ``tenant=`` away from showing another tenant's data,
so this reads the source of every views module under portal/ (no request, no database) and names
each direct query. The tenant-owned models are found, not listed: every model with a foreign key
to Tenant, so a new one is covered the day it is added.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

import pytest
from django.apps import apps
from django.db import models

import portal
from portal.tenants.models import Tenant

PORTAL = Path(portal.__file__).parent
SHORTCUTS = {"get_object_or_404", "get_list_or_404"}
# What a manager or a queryset answers: on a related manager (service.operations.filter(…)) each
# of these is a query of the related model.
QUERY_METHODS = {
    "aggregate", "all", "annotate", "bulk_create", "bulk_update", "count", "create", "delete", "distinct",
    "earliest", "exclude", "exists", "filter", "first", "get", "get_or_create", "in_bulk", "iterator", "last",
    "latest", "only", "defer", "order_by", "prefetch_related", "raw", "select_related", "update",
    "update_or_create", "values", "values_list",
}


def tenant_owned_models() -> set[type[models.Model]]:
    return {
        model for model in apps.get_models()
        if any(field.many_to_one or field.one_to_one for field in model._meta.get_fields()
               if field.concrete and field.related_model is Tenant)
    }


def related_accessors(owned: set[type[models.Model]]) -> set[str]:
    """The names that reach a tenant-owned model from another object (tenant.services,
    service.operations, user.memberships…): the reverse side of every relation to one."""
    names = set()
    for model in apps.get_models():
        for relation in model._meta.related_objects:
            name = relation.get_accessor_name()
            if relation.related_model in owned and name and not relation.hidden:
                names.add(name)
    return names


def views_modules() -> list[Path]:
    return sorted(path for path in PORTAL.rglob("*.py")
                  if path.name == "views.py" or path.stem.endswith("_views") or path.parent.name == "views")


@dataclass(frozen=True)
class Finding:
    line: int
    what: str


class DirectQueries(ast.NodeVisitor):
    """Finds, in one module, the queries of tenant-owned models that bypass the chokepoint."""

    def __init__(self, owned: set[type[models.Model]], accessors: set[str]) -> None:
        self.owned_paths = {f"{m.__module__}.{m.__name__}": m for m in owned}
        self.owned_modules = {m.__module__ for m in owned}
        self.managers = {"_default_manager", "_base_manager"} | {
            manager.name for m in owned for manager in m._meta.managers}
        self.accessors = accessors
        self.model_names: dict[str, str] = {}  # local name → model's dotted path
        self.module_names: dict[str, str] = {}  # local name → models module's dotted path
        self.findings: list[Finding] = []

    def check(self, tree: ast.Module) -> list[Finding]:
        # Imports first (also those inside functions): a name means the model wherever it is used.
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module:
                for alias in node.names:
                    dotted = f"{node.module}.{alias.name}"
                    local = alias.asname or alias.name
                    if dotted in self.owned_paths:
                        self.model_names[local] = dotted
                    elif dotted in self.owned_modules:
                        self.module_names[local] = dotted
            elif isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.name in self.owned_modules and alias.asname:
                        self.module_names[alias.asname] = alias.name
        self.visit(tree)
        return self.findings

    def _model(self, node: ast.expr) -> str | None:
        """The tenant-owned model this expression names, if any (Service, models.Service…)."""
        if isinstance(node, ast.Name):
            return self.model_names.get(node.id)
        if isinstance(node, ast.Attribute):
            dotted = ast.unparse(node)
            head, _, name = dotted.rpartition(".")
            module = self.module_names.get(head, head)
            if f"{module}.{name}" in self.owned_paths:
                return f"{module}.{name}"
        return None

    def visit_Attribute(self, node: ast.Attribute) -> None:
        model = self._model(node.value)
        if model and node.attr in self.managers:
            self.findings.append(Finding(node.lineno, f"{ast.unparse(node)} ({model})"))
        self.generic_visit(node)

    def visit_Call(self, node: ast.Call) -> None:
        func = node.func
        name = func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else ""
        if name in SHORTCUTS and node.args:
            target = node.args[0]
            while isinstance(target, ast.Attribute | ast.Call):  # Model.objects.filter(…) → Model
                target = target.value if isinstance(target, ast.Attribute) else target.func
            if self._model(target):
                self.findings.append(Finding(node.lineno, f"{name}({ast.unparse(node.args[0])}, …)"))
        if (isinstance(func, ast.Attribute) and func.attr in QUERY_METHODS
                and isinstance(func.value, ast.Attribute) and func.value.attr in self.accessors):
            self.findings.append(Finding(node.lineno, f"{ast.unparse(func)}(…) (a related manager)"))
        self.generic_visit(node)


def direct_queries(source: str) -> list[Finding]:
    owned = tenant_owned_models()
    return DirectQueries(owned, related_accessors(owned)).check(ast.parse(source))


def test_it_finds_the_tenant_owned_models_by_their_foreign_key():
    names = {model.__name__ for model in tenant_owned_models()}
    # At least these; a model added later is found the same way, without editing this test.
    assert {"Service", "Operation", "Order", "AuditEvent", "Membership"} <= names
    assert "Tenant" not in names


def test_it_reads_every_views_module():
    found = {path.relative_to(PORTAL).as_posix() for path in views_modules()}
    assert {"services/views.py", "operations/views.py", "catalog/views.py", "traffic/views.py",
            "core/views.py"} <= found


@pytest.mark.parametrize("source", [
    "from portal.services.models import Service\nService.objects.filter(pk=1)",
    "from portal.services.models import Service as S\nS._default_manager.get(pk=1)",
    "from portal.audit import models\nmodels.AuditEvent.objects.all()",
    "import portal.catalog.models as catalog_models\ncatalog_models.Order.objects.first()",
    "from django.shortcuts import get_object_or_404\nfrom portal.operations.models import Operation\n"
    "get_object_or_404(Operation, pk=1)",
    "from portal.operations.models import Operation\nget_object_or_404(Operation.objects.filter(state='x'), pk=1)",
    "def view(request, service):\n    return service.operations.filter(state='x').first()",
    "def view(request):\n    from portal.tenants.models import Membership\n    return Membership.objects.all()",
])
def test_it_names_a_direct_query(source):
    assert direct_queries(source), source


@pytest.mark.parametrize("source", [
    "from portal.tenants.access import tenant_object_or_404\nfrom portal.catalog.models import Order\n"
    "def view(request, pk):\n    return tenant_object_or_404(request, Order, pk=pk)",
    "from portal.services.selectors import service_lookup\nservice_lookup().filter(pk=1)",
    "from ies_client import models as ies\nies.Service(id='x')",
    "from portal.tenants.models import Tenant\nTenant.objects.all()",
    "from portal.staff import services\nservices.tenant_create(name='x')",
])
def test_it_lets_the_chokepoint_and_selectors_be(source):
    assert direct_queries(source) == [], source


def test_no_view_queries_a_tenant_owned_model_itself():
    owned = tenant_owned_models()
    accessors = related_accessors(owned)
    problems = []
    for path in views_modules():
        for finding in DirectQueries(owned, accessors).check(ast.parse(path.read_text(), filename=str(path))):
            problems.append(f"{path.relative_to(PORTAL.parent)}:{finding.line}: {finding.what}")
    assert not problems, (
        "Views fetch tenant-owned objects through portal.tenants.access (tenant_object_or_404 and its "
        "writer variant) or a selector that takes the tenant, never by querying the model:\n  "
        + "\n  ".join(problems))
