"""/metrics: refused to strangers, Prometheus' text to the scraper's token or to staff, and each
metric moved by the real thing it counts (a call to the live simulator, a page, an operation)."""

import urllib.request

import pytest
from prometheus_client.parser import text_string_to_metric_families

from portal.celery import app as celery_app
from portal.operations.models import Operation, OperationKind, OperationState
from portal.tenants.ies import breaker_store_reset, ies_for_tenant
from tests.conftest import TEST_QUEUE, _free_port
from tests.portal.services.mirroring import mirror_tenants
from tests.portal.services.test_bandwidth import change
from tests.waiting import wait_until

pytestmark = pytest.mark.django_db

TOKEN = "metrics-test-token-8f2b6a"
NAMES = (
    "ies_request_duration_seconds", "ies_request_errors", "ies_circuit_state", "portal_operations",
    "portal_operation_tracking_lag_seconds", "portal_task_queue_depth", "portal_page_duration_seconds",
    "portal_heartbeat_age_seconds", "ies_requests_refused",
)


@pytest.fixture(autouse=True)
def _token(settings):
    settings.METRICS_TOKEN = TOKEN
    breaker_store_reset()
    yield
    breaker_store_reset()


def scrape(client) -> str:
    answer = client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert answer.status_code == 200, answer.status_code
    return answer.text


def value(text: str, sample: str, **labels: str) -> float:
    """The sample's value (0 when absent): e.g. value(t, "portal_operations", state="queued")."""
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            if s.name == sample and all(s.labels.get(k) == v for k, v in labels.items()):
                return s.value
    return 0.0


def test_strangers_are_told_nothing(client, login):
    assert client.get("/metrics").status_code == 404
    assert login("user1").get("/metrics").status_code == 404, "a tenant's user is not staff"
    assert client.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 403
    assert client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}x"}).status_code == 403
    assert client.get("/metrics", headers={"Authorization": f"Basic {TOKEN}"}).status_code == 404


def test_without_a_token_configured_only_staff(client, login, settings):
    settings.METRICS_TOKEN = ""
    assert client.get("/metrics", headers={"Authorization": "Bearer "}).status_code == 404
    assert client.get("/metrics", headers={"Authorization": "Bearer anything"}).status_code == 403
    assert login("admin").get("/metrics").status_code == 200


def test_the_scraper_gets_every_metric_in_prometheus_text(client):
    answer = client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert answer.status_code == 200
    assert answer["Content-Type"].startswith("text/plain; version=")
    names = {family.name for family in text_string_to_metric_families(answer.text)}
    assert set(NAMES) <= names, set(NAMES) - names
    assert TOKEN not in answer.text


def test_a_real_ies_call_is_timed_and_an_error_counted(client, own_tenant, sim):
    endpoint = "/servicemanager/v1/services"
    before = scrape(client)
    ies_for_tenant(own_tenant.tenant).list_services()
    after = scrape(client)
    labels = {"endpoint": endpoint, "method": "GET", "status": "200"}
    assert value(after, "ies_request_duration_seconds_count", **labels) == \
        value(before, "ies_request_duration_seconds_count", **labels) + 1
    assert value(after, "ies_request_duration_seconds_sum", **labels) > \
        value(before, "ies_request_duration_seconds_sum", **labels)

    sim.add_fault(kind="error", status=503, prefix="/rest/servicemanager/v1/services")
    with pytest.raises(Exception):  # noqa: B017, PT011 - which IESError is the client's business
        ies_for_tenant(own_tenant.tenant).list_services()
    failed = scrape(client)
    assert value(failed, "ies_request_duration_seconds_count", endpoint=endpoint, status="503") >= 1
    assert value(failed, "ies_request_errors_total", endpoint=endpoint) >= 1
    for token in (own_tenant.tenant.credentials()):
        assert token not in failed


def test_calls_the_breaker_refused_are_counted_apart_not_timed(client, own_tenant, sim, settings):
    """A refused call was never sent: no 0 s in the latency, no second error for a refused retry."""
    from ies_client.errors import IESCircuitOpen

    settings.IES_BREAKER_FAILURES = 1
    settings.IES_RETRIES = 2
    endpoint = "/servicemanager/v1/services"
    before = scrape(client)
    sim.add_fault(kind="error", status=503, prefix="/rest/servicemanager/v1/services")
    # The 503 opens the breaker (one failure), so the client's retry is refused, then the next call.
    with pytest.raises(IESCircuitOpen):
        ies_for_tenant(own_tenant.tenant).list_services()
    with pytest.raises(IESCircuitOpen):
        ies_for_tenant(own_tenant.tenant).list_services()
    after = scrape(client)

    def moved(sample: str, **labels: str) -> float:
        return value(after, sample, endpoint=endpoint, **labels) - value(before, sample, endpoint=endpoint, **labels)

    assert moved("ies_requests_refused_total") == 2
    assert moved("ies_request_duration_seconds_count", status="503") == 1
    assert moved("ies_request_duration_seconds_count", status="none") == 0
    assert moved("ies_request_errors_total", error="HTTP 503") == 1
    assert moved("ies_request_errors_total", error="IESCircuitOpen") == 0


def test_the_operations_gauge_counts_rows_by_state(client, own_tenant):
    before = scrape(client)
    tenant = own_tenant.tenant
    Operation.objects.create(tenant=tenant, kind=OperationKind.MODIFY, state=OperationState.PROCESSING)
    Operation.objects.create(tenant=tenant, kind=OperationKind.MODIFY, state=OperationState.PROCESSING)
    Operation.objects.create(tenant=tenant, kind=OperationKind.DELETE, state=OperationState.STUCK)
    after = scrape(client)
    for state, added in (("processing", 2), ("stuck", 1), ("queued", 0), ("succeeded", 0)):
        assert value(after, "portal_operations", state=state) == value(before, "portal_operations", state=state) + added
    assert "own_" not in after, "no tenant in the metrics"


def test_the_queue_depth_is_read_from_the_broker(client):
    with celery_app.connection_for_write() as conn, conn.SimpleQueue(TEST_QUEUE) as queue:
        queue.clear()
    assert value(scrape(client), "portal_task_queue_depth", queue=TEST_QUEUE) == 0
    celery_app.send_task("operations.sweep")
    celery_app.send_task("operations.sweep")
    try:
        assert value(scrape(client), "portal_task_queue_depth", queue=TEST_QUEUE) == 2
    finally:
        with celery_app.connection_for_write() as conn, conn.SimpleQueue(TEST_QUEUE) as queue:
            queue.clear()


def test_pages_are_timed_by_view_name(client):
    labels = {"view": "healthz", "method": "GET", "status": "200"}
    before = value(scrape(client), "portal_page_duration_seconds_count", **labels)
    client.get("/healthz")
    client.get("/healthz")
    assert value(scrape(client), "portal_page_duration_seconds_count", **labels) == before + 2
    client.get("/no-such-page/")
    assert value(scrape(client), "portal_page_duration_seconds_count", view="unmatched", status="404") >= 1


def test_an_operations_tracking_lag_is_observed_when_it_ends(client, own_tenant, inline_worker):
    own_client = own_tenant.login("own1")
    mirror_tenants(own_tenant.tenant)
    before = value(scrape(client), "portal_operation_tracking_lag_seconds_count")
    with inline_worker.sends():
        assert change(own_client, own_tenant.service_id, "300").status_code == 302
    op = Operation.objects.get(tenant=own_tenant.tenant)
    inline_worker.run_until(lambda: Operation.objects.get(pk=op.pk).finished_at, 30, what="the change to end")
    assert Operation.objects.get(pk=op.pk).state == OperationState.SUCCEEDED
    after = scrape(client)
    assert value(after, "portal_operation_tracking_lag_seconds_count") == before + 1
    assert value(after, "portal_operation_tracking_lag_seconds_sum") >= 0


@pytest.mark.django_db(transaction=True)
def test_the_worker_serves_its_own_metrics(own_tenant, start_worker):
    """IES calls made by the Celery worker, and the tracking lag it observes, on WORKER_METRICS_PORT."""
    port = _free_port()
    start_worker(env={"WORKER_METRICS_PORT": str(port)})
    own_client = own_tenant.login("own1")
    mirror_tenants(own_tenant.tenant)
    assert change(own_client, own_tenant.service_id, "300").status_code == 302
    op = Operation.objects.get(tenant=own_tenant.tenant)
    wait_until(lambda: Operation.objects.get(pk=op.pk).finished_at, 60, what="the change to end")

    def worker_metrics() -> str:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as answer:
            return answer.read().decode()

    def with_lag() -> str | None:
        text = worker_metrics()
        return text if value(text, "portal_operation_tracking_lag_seconds_count") else None

    text = wait_until(with_lag, 10, what="the worker's tracking lag")
    assert value(text, "ies_request_duration_seconds_count", method="PUT", status="202") >= 1


def test_multiprocess_mode_adds_up_the_processes(tmp_path, redis_server):
    """PROMETHEUS_MULTIPROC_DIR (gunicorn's workers): what two processes counted, one scrape shows."""
    import subprocess
    import sys

    from tests.conftest import ROOT

    env = {"PATH": "/usr/bin:/bin", "DJANGO_SETTINGS_MODULE": "portal.settings", "REDIS_URL": redis_server.url,
           "PROMETHEUS_MULTIPROC_DIR": str(tmp_path), "PORTAL_RUN_DIR": str(tmp_path / "run")}
    observe = ("import django; django.setup();"
               "from ies_client.transport import RequestEvent; from portal.observability import metrics;"
               "metrics.observe_ies_request(RequestEvent('GET', '/x', 200, 0.2, None))")
    expose = ("import django; django.setup(); from portal.observability import metrics;"
              "print(metrics.exposition()[0].decode())")
    for _ in range(2):
        subprocess.run([sys.executable, "-c", observe], cwd=ROOT, env=env, check=True, timeout=60)
    text = subprocess.run([sys.executable, "-c", expose], cwd=ROOT, env=env, check=True, timeout=60,
                          capture_output=True, text=True).stdout
    assert value(text, "ies_request_duration_seconds_count", endpoint="/x", status="200") == 2
    assert "portal_task_queue_depth" in text, "the state read at scrape time is there too"


def test_metrics_answer_plain_http_inside_the_network(client, settings):
    """Prometheus scrapes over plain HTTP from inside: no redirect to https (the token guards it)."""
    settings.SECURE_SSL_REDIRECT = True
    assert client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 200
    assert client.get("/accounts/login/").status_code == 301, "everything else is still sent to https"


@pytest.mark.django_db(transaction=True)
def test_gunicorn_workers_add_up_without_a_multiprocess_dir_set(tmp_path, redis_server, simulator):
    """The Procfile's gunicorn (no PROMETHEUS_MULTIPROC_DIR, two workers, production settings): every
    scrape, whichever worker answers it, counts the pages both workers served."""
    import os
    import signal
    import subprocess
    import sys
    import time
    from concurrent.futures import ThreadPoolExecutor

    from django.conf import settings as django_settings

    from tests.conftest import ROOT, _database_url_for_worker, _wait_tcp

    port = _free_port()
    env = {key: value for key, value in os.environ.items() if key != "PROMETHEUS_MULTIPROC_DIR"}
    env.update(
        DATABASE_URL=_database_url_for_worker(), REDIS_URL=redis_server.url, CELERY_QUEUE=TEST_QUEUE,
        IES_BASE_URL=simulator.base_url, SECRET_KEY=django_settings.SECRET_KEY, DEBUG="0",
        ALLOWED_HOSTS="127.0.0.1", METRICS_TOKEN=TOKEN, GUNICORN_BIND=f"127.0.0.1:{port}",
        WEB_WORKERS="2", WEB_THREADS="2", WEB_KEEPALIVE="0", TMPDIR=str(tmp_path),
        PORTAL_RUN_DIR=str(tmp_path / "run"),
    )
    gunicorn = subprocess.Popen([sys.executable, "-m", "gunicorn", "portal.wsgi:application", "--config",
                                 "gunicorn.conf.py"], cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)
    try:
        _wait_tcp(port)

        def get(path: str, **headers: str) -> str:
            request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", headers=headers)
            with urllib.request.urlopen(request, timeout=10) as answer:
                return answer.read().decode()

        wait_until(lambda: get("/healthz"), 30, what="gunicorn to answer")
        before = value(get("/metrics", Authorization=f"Bearer {TOKEN}"), "portal_page_duration_seconds_count",
                       view="healthz", status="200")
        with ThreadPoolExecutor(8) as pool:
            list(pool.map(lambda _: get("/healthz"), range(40)))
        for _ in range(8):
            text = get("/metrics", Authorization=f"Bearer {TOKEN}")
            assert value(text, "portal_page_duration_seconds_count", view="healthz", status="200") == before + 40
        [own_dir] = [path for path in tmp_path.iterdir() if path.name.startswith("portal-prometheus-")]
        assert len({path.name.rsplit("_", 1)[-1] for path in own_dir.glob("*.db")}) >= 2, "both workers' files"
    finally:
        gunicorn.send_signal(signal.SIGTERM)
        gunicorn.wait(30)
    time.sleep(0.1)
    assert not own_dir.exists(), "the master removes the directory it made"
