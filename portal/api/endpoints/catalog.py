"""/catalog: what the tenant may order, with each definition's parameters."""

from typing import Annotated

from django.http import HttpRequest
from ninja import Path, Router

from ies_client import models as ies
from portal.api.auth import caller
from portal.api.models import Scope
from portal.api.schemas import IES_ID, CatalogOut, DefinitionDetailOut, DefinitionOut, ParameterOut, Problem
from portal.catalog.forms import field_help, field_label
from portal.catalog.selectors import LastKnown, definition_detail_or_last_known, definition_list_or_last_known
from portal.core.bandwidth_input import CONTRACT_MAX_KBPS, CONTRACT_MIN_KBPS, CONTRACT_STEP_KBPS

router = Router(tags=["catalog"])

ERRORS = {401: Problem, 403: Problem, 404: Problem, 422: Problem, 429: Problem, 502: Problem, 503: Problem}


def _definition(d: ies.ServiceDefinition) -> DefinitionOut:
    return DefinitionOut(id=d.id, name=d.name, kind=d.kind.value if d.kind else "", status=str(d.status),
                         orderable=d.orderable, description=d.description)


def _whole(value: float | None) -> int | None:
    return None if value is None else int(value)


def _parameter(spec: ies.ParameterField) -> ParameterOut:
    in_kbps = spec.role is ies.ParameterRole.BANDWIDTH or spec.in_kbps
    return ParameterOut(
        name=spec.name, label=str(field_label(spec)), type="integer" if in_kbps else spec.type, required=spec.required,
        role=spec.role.value if spec.role else None, unit="kbit/s" if in_kbps else spec.unit,
        minimum=_whole(spec.min if spec.min is not None or not in_kbps else CONTRACT_MIN_KBPS),
        maximum=_whole(spec.max if spec.max is not None or not in_kbps else CONTRACT_MAX_KBPS),
        step=_whole(spec.step if spec.step is not None or not in_kbps else CONTRACT_STEP_KBPS),
        min_length=spec.min_length, max_length=spec.max_length, pattern=spec.pattern,
        choices=list(spec.choices) or None, default=spec.default, help=field_help(spec, with_bounds=True),
    )


@router.get("", response={200: CatalogOut, **ERRORS}, url_name="catalog_list", summary="The service catalog")
def catalog_list(request: HttpRequest) -> CatalogOut:
    who = caller(request)
    who.require(Scope.READ)
    found = definition_list_or_last_known(tenant=who.tenant)
    definitions = found.value if isinstance(found, LastKnown) else found
    return CatalogOut(items=[_definition(d) for d in definitions], stale=isinstance(found, LastKnown))


@router.get("/{definition_id}", response={200: DefinitionDetailOut, **ERRORS}, url_name="catalog_get",
            summary="One definition, with the parameters an order gives")
def catalog_get(request: HttpRequest, definition_id: Annotated[str, Path(pattern=IES_ID)]) -> DefinitionDetailOut:
    who = caller(request)
    who.require(Scope.READ)
    found = definition_detail_or_last_known(tenant=who.tenant, definition_id=definition_id)
    detail = found.value if isinstance(found, LastKnown) else found
    return DefinitionDetailOut(**_definition(detail.definition).model_dump(),
                               parameters=[_parameter(spec) for spec in detail.fields])
