"""Schemathesis against the portal's own /api/v1/openapi.json, with a token, over real HTTP.

Random valid and invalid requests to every operation: no server error, and every answer (status,
headers, body: problem+json included) conforms to the document. The tenant is one of the test's
own; a write that passes starts an operation whose task no worker runs here.
"""

import json
from typing import Any

import pytest
import schemathesis
from django.contrib.auth import get_user_model
from hypothesis import HealthCheck, settings
from schemathesis.specs.openapi.checks import positive_data_acceptance

from portal.api.site import api as ninja_api
from tests.fixtures_portal import make_own_tenant
from tests.portal.api.conftest import make_token

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

def served_document() -> dict:
    """The document as /api/v1/openapi.json serves it (JSON: status codes as strings)."""
    return json.loads(json.dumps(ninja_api.get_openapi_schema()))


schema = schemathesis.openapi.from_dict(served_document())


def test_the_served_document_is_the_one_tested(client):
    served = client.get("/api/v1/openapi.json").json()
    assert served == served_document()
    assert served["openapi"] == "3.1.0"


@pytest.fixture
def bearer(simulator, django_user_model, settings):
    # The rate limit is tested on its own: here it would turn most answers into 429s.
    settings.API_RATE_PER_SECOND, settings.API_RATE_BURST = 100_000, 100_000
    own = make_own_tenant(simulator, django_user_model)
    _token, secret = make_token(get_user_model().objects.get(username="own1"), own.tenant)
    return {"Authorization": f"Bearer {secret}"}


@schema.parametrize()
@settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
def test_every_operation_conforms_to_the_document(case: Any, live_server, bearer) -> None:
    if case.path.endswith("/wait") and case.query:
        case.query["timeout"] = 0  # an operation that exists would hold the run for up to 30 s
    # A case generated to break the rules may break the token's header too: it is sent as generated.
    negative = case.meta is not None and case.meta.generation.mode.name == "NEGATIVE"
    headers = None if negative and "Authorization" in (case.headers or {}) else bearer
    response = case.call(base_url=live_server.url, headers=headers, timeout=30)
    assert response.status_code < 500, (case.method, case.path, response.status_code, response.text[:500])
    # Left out: "schema-valid request rejected": a schema-valid body may rightly be refused for what
    # OpenAPI cannot say (a definition that does not exist, a name already taken, a bandwidth
    # outside the contract), with a documented 4xx problem.
    case.validate_response(response, excluded_checks=[positive_data_acceptance])
