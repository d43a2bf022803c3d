"""The API itself: /api/v1/, its routers, its errors and its OpenAPI document."""

import logging
from functools import partial
from typing import Any

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, AuthorizationError, HttpError, ValidationError
from ninja.operation import Operation

from ies_client.errors import IESError
from portal.api.auth import TokenAuth
from portal.api.endpoints import catalog, operations, policies, services, traffic, webhooks
from portal.api.problems import PROBLEM_CONTENT_TYPE, ApiProblem, invalid, problem_response, unauthenticated
from portal.api.translate import ies_problem
from portal.tenants.ies import TenantNotConfigured

log = logging.getLogger(__name__)

DESCRIPTION = """
The CloudVPN Portal's automation API: the same services, operations and traffic as the pages, for
the tenant of the token.

* **Tokens**: make one on the portal's *API tokens* page and send it as `Authorization: Bearer cvp_…`.
  Scopes: `read`, `order`, `modify`, `delete`; a viewer's token reads only.
* **Writes answer 202** with the operation IES runs; follow it with `GET /operations/{id}` or
  `GET /operations/{id}/wait`.
* **Idempotency-Key** on every POST, PATCH and DELETE: the same key and body replay the first answer
  for 24 h (`Idempotent-Replayed: true`); the same key with another body is a 422; the same key while
  the first request still runs is a 409. An order sent without a key is still never sent to IES twice:
  the portal saves it before IES is asked and, after a lost answer, looks for it at IES before it asks
  again; but a retried request without a key is a *second order*. Send a key.
* **Dry run**: `?dry_run=true` checks the request and answers with the exact IES request it would
  send; nothing is written and IES is not asked to change anything.
* **Errors** are RFC 9457 problem details (`application/problem+json`), with IES's own reason in
  `ies_reason` where IES refused.
* **Rate limit**: per token, a steady rate with bursts (429 with `Retry-After` beyond it).
"""

class PortalApi(NinjaAPI):
    def get_openapi_schema(self, *args: Any, **kwargs: Any) -> Any:
        return _as_problem_content(super().get_openapi_schema(*args, **kwargs))

    def get_operation_id(self, operation: Operation) -> str:
        # The function's own name (service_list, operation_wait…): what a generated client calls it.
        return operation.view_func.__name__


api = PortalApi(
    title="CloudVPN Portal API", version="1.0.0", description=DESCRIPTION, auth=TokenAuth(),
    urls_namespace="api", docs_url="/docs", openapi_url="/openapi.json",
)
for prefix, module in (("/catalog", catalog), ("/services", services), ("/operations", operations),
                       ("/services", traffic), ("/policies", policies), ("/webhooks", webhooks)):
    api.add_router(prefix, module.router)


def _refuse_unknown_query_parameters(portal_api: NinjaAPI) -> None:
    """A query parameter an operation does not take is refused (422), not ignored: a typo such as
    ``?stauts=Active`` would otherwise list everything. Each operation's names are its own query
    models' fields, as ninja parses them."""
    # The routers as bound to the API (ninja clones each router's operations when it binds them).
    for router in portal_api._get_bound_routers():
        for path_view in router.path_operations.values():
            for operation in path_view.operations:
                allowed = frozenset(
                    name for model in operation.models if model.__ninja_param_source__ == "query"
                    for name in (getattr(model, "__ninja_flatten_map__", None) or model.model_fields))
                operation._get_values = partial(_strict_values, allowed, operation._get_values)  # type: ignore[method-assign]


def _strict_values(allowed: frozenset[str], get_values: Any, request: HttpRequest, *args: Any) -> Any:
    unknown = sorted(set(request.GET) - allowed)
    if unknown:
        raise invalid([{"field": name, "message": _("This operation takes no parameter “%(name)s”.") % {"name": name}}
                       for name in unknown])
    return get_values(request, *args)


_refuse_unknown_query_parameters(api)


@api.exception_handler(ApiProblem)
def _problem(request: HttpRequest, exc: ApiProblem) -> HttpResponse:
    return problem_response(exc, request)


@api.exception_handler(ValidationError)
def _invalid(request: HttpRequest, exc: ValidationError) -> HttpResponse:
    errors = []
    for error in exc.errors:
        loc = [str(part) for part in error.get("loc", ()) if part not in ("body", "payload", "query", "path")]
        errors.append({"field": ".".join(loc) or "body", "message": str(error.get("msg", ""))})
    return problem_response(ApiProblem(422, "invalid", _("The request is not valid"),
                                       _("Some values were refused: see errors."), errors=errors), request)


@api.exception_handler(AuthenticationError)
def _unauthenticated(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
    return problem_response(unauthenticated(_("Send your API token as “Authorization: Bearer cvp_…”.")), request)


@api.exception_handler(AuthorizationError)
def _unauthorised(request: HttpRequest, exc: AuthorizationError) -> HttpResponse:
    return problem_response(ApiProblem(403, "forbidden", _("Not allowed"), str(exc.message)), request)


@api.exception_handler(Http404)
def _missing(request: HttpRequest, exc: Http404) -> HttpResponse:
    return problem_response(ApiProblem(404, "not-found", _("Not found"),
                                       _("Nothing of this tenant has this address.")), request)


@api.exception_handler(HttpError)
def _http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    if exc.status_code == 400:  # ninja's only 400: a body it could not parse
        return problem_response(ApiProblem(400, "unparsable", _("The request is not valid"),
                                           _("The body is not valid JSON.")), request)
    return problem_response(ApiProblem(exc.status_code, "http-error", str(exc.message)), request)


@api.exception_handler(IESError)
def _ies_error(request: HttpRequest, exc: IESError) -> HttpResponse:
    return problem_response(ies_problem(exc), request)


@api.exception_handler(TenantNotConfigured)
def _not_configured(request: HttpRequest, exc: TenantNotConfigured) -> HttpResponse:
    return problem_response(ies_problem(exc), request)


@api.exception_handler(Exception)
def _server_error(request: HttpRequest, exc: Exception) -> HttpResponse:
    if settings.DEBUG_PROPAGATE_EXCEPTIONS:
        raise exc
    log.exception("API request failed: %s %s", request.method, request.path)
    return problem_response(ApiProblem(500, "server-error", _("Something went wrong on our side"),
                                       _("The portal could not answer. Try again; if it goes on, tell your "
                                         "administrator the time of the request.")), request)


def _as_problem_content(schema: dict[str, Any]) -> dict[str, Any]:
    """Error answers are problem+json in the document as on the wire."""
    for path in schema.get("paths", {}).values():
        for operation in path.values():
            for status, response in operation.get("responses", {}).items():
                content = response.get("content", {})
                if int(status) >= 400 and "application/json" in content:
                    content[PROBLEM_CONTENT_TYPE] = content.pop("application/json")
    return schema

