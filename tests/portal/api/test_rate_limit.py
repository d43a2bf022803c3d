"""The per-token rate limit, kept in the test session's real Redis."""

import time

from django.contrib.auth import get_user_model


def test_a_token_past_its_burst_gets_a_429_with_retry_after_and_others_do_not(own_tenant, api_for, settings):
    settings.API_RATE_PER_SECOND, settings.API_RATE_BURST = 1, 3
    user = get_user_model().objects.get(username="own1")
    busy, other = api_for(user, own_tenant.tenant), api_for(user, own_tenant.tenant)
    codes = [busy.get("/api/v1/services").status_code for _ in range(4)]
    assert codes == [200, 200, 200, 429]
    refused = busy.get("/api/v1/services")
    assert refused.status_code == 429 and refused["Content-Type"] == "application/problem+json"
    assert int(refused["Retry-After"]) >= 1 and refused.json()["retry_after"] == int(refused["Retry-After"])
    assert other.get("/api/v1/services").status_code == 200
    time.sleep(1.1)  # the bucket refills at 1 a second
    assert busy.get("/api/v1/services").status_code == 200
