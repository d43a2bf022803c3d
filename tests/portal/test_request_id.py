"""The request id: taken from X-Request-ID (when safe) or made, sent back, on every log line of the
request (JSON logs), and carried into the Celery tasks the request starts, in the real worker too."""

import copy
import io
import json
import logging
import logging.config
import re

import pytest
from celery.signals import after_task_publish
from django.conf import settings

from ies_client.redact import register_secret
from portal.celery import app as celery_app
from portal.observability.celery_hooks import HEADER
from portal.operations.models import Operation
from tests.conftest import TEST_QUEUE, clear_test_queue
from tests.portal.services.mirroring import mirror_tenants
from tests.portal.services.test_bandwidth import change
from tests.waiting import wait_until

pytestmark = pytest.mark.django_db

LOG_BUFFER = io.StringIO()


@pytest.fixture
def json_logs():
    """The portal's own LOGGING with LOG_FORMAT=json, its console writing to LOG_BUFFER."""
    config = copy.deepcopy(settings.LOGGING)
    config["handlers"]["console"]["formatter"] = "json"
    config["handlers"]["console"]["stream"] = "ext://tests.portal.test_request_id.LOG_BUFFER"
    LOG_BUFFER.seek(0)
    LOG_BUFFER.truncate()
    logging.config.dictConfig(config)
    yield lambda: [json.loads(line) for line in LOG_BUFFER.getvalue().splitlines()]
    logging.config.dictConfig(settings.LOGGING)


@pytest.mark.parametrize("given", ["lb-7f3a.2_x", "0123456789abcdef0123456789abcdef", "A"])
def test_a_safe_incoming_id_is_kept_and_echoed(client, given):
    assert client.get("/healthz", headers={"X-Request-ID": given})["X-Request-ID"] == given


@pytest.mark.parametrize("given", [None, "", "has space", "x" * 65, "new\nline", "quote\"d", "é"])
def test_otherwise_one_is_made(client, given):
    headers = {"X-Request-ID": given} if given is not None else {}
    made = client.get("/healthz", headers=headers)["X-Request-ID"]
    assert re.fullmatch(r"[0-9a-f]{32}", made), made
    assert made != client.get("/healthz", headers=headers)["X-Request-ID"], "a new one each time"


def test_every_json_log_line_of_the_request_carries_it(client, json_logs):
    client.get("/no-such-page/", headers={"X-Request-ID": "req-json-1"})
    logging.getLogger("portal.test").warning("outside any request")
    lines = json_logs()
    [not_found] = [line for line in lines if line["message"].startswith("Not Found")]
    assert not_found["request_id"] == "req-json-1"
    assert not_found["level"] == "WARNING" and not_found["logger"] == "django.request" and not_found["time"]
    [outside] = [line for line in lines if line["message"] == "outside any request"]
    assert outside["request_id"] == "-"


def test_json_logs_are_still_redacted(json_logs):
    secret = "json-log-secret-4c1d9e77ab"
    register_secret(secret)
    logging.getLogger("ies_client").warning("token is %s", secret)
    try:
        raise RuntimeError(f"IES refused {secret}")
    except RuntimeError:
        logging.getLogger("ies_client").exception("a call failed")
    lines = [line for line in json_logs() if line["message"].startswith(("token is", "a call failed"))]
    assert len(lines) == 2 and "RuntimeError" in lines[1]["exc_info"]
    assert secret not in json.dumps(lines)


def test_json_log_extras_are_redacted_too(json_logs):
    """Extras become fields of their own, after the filter masked the message: masked as well."""

    class Request:
        def __str__(self) -> str:
            return f"GET /x Authorization: Bearer {secret}"

    secret = "json-extra-secret-7a2b91cc04"
    register_secret(secret)
    logging.getLogger("ies_client").warning(
        "IES call", extra={"ies_token": secret, "details": {"header": f"Bearer {secret}", "list": [secret]},
                           "request_object": Request(), "attempt": 2})
    [line] = [line for line in json_logs() if line["message"] == "IES call"]
    assert secret not in json.dumps(line)
    assert line["ies_token"].endswith(secret[-4:]) and line["attempt"] == 2
    assert line["details"]["header"].startswith("Bearer ****")


@pytest.mark.django_db(transaction=True)
def test_a_task_the_request_starts_carries_its_id(own_tenant):
    """Committed inside the request, as in production: the task is published before it ends."""
    mirror_tenants(own_tenant.tenant)
    client = own_tenant.login("own1")
    headers: list[dict] = []

    def published(**kwargs) -> None:
        headers.append(dict(kwargs.get("headers") or {}))

    after_task_publish.connect(published, weak=False)
    try:
        assert change(client, own_tenant.service_id, "300", headers={"X-Request-ID": "req-task-1"}).status_code == 302
    finally:
        after_task_publish.disconnect(published)
        with celery_app.connection_for_write() as conn, conn.SimpleQueue(TEST_QUEUE) as queue:
            queue.clear()
    assert headers, "the change should have sent a task"
    assert all(h.get(HEADER) == "req-task-1" for h in headers), headers


@pytest.mark.django_db(transaction=True)
def test_the_real_workers_log_lines_for_that_task_carry_it(own_tenant, start_worker):
    # Every line of this worker is judged below: it must not run what earlier tests left queued.
    clear_test_queue()
    worker = start_worker(env={"LOG_FORMAT": "json"})
    mirror_tenants(own_tenant.tenant)
    client = own_tenant.login("own1")
    assert change(client, own_tenant.service_id, "300", headers={"X-Request-ID": "req-worker-1"}).status_code == 302
    op = Operation.objects.get(tenant=own_tenant.tenant)
    wait_until(lambda: Operation.objects.get(pk=op.pk).finished_at, 60, what="the change to end",
               detail=worker.output)

    def lines() -> list[dict]:
        out = []
        for line in worker.output().splitlines():
            if line.startswith("{"):
                out.append(json.loads(line))
        return out

    def carried() -> str:
        messages = " ".join(line["message"] for line in lines() if line.get("request_id") == "req-worker-1")
        # The submit task, and the tracking chain it started (each published by a task that had the id).
        done = all(f"Task operations.{name}[" in messages for name in ("submit", "look"))
        return messages if done and "succeeded" in messages else ""

    wait_until(carried, 10, what="the worker's log lines of both tasks with the request's id", detail=worker.output)
    assert all(line["request_id"] in {"-", "req-worker-1"} for line in lines())
