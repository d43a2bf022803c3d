"""The list's two queries are compiled once per shape and reused with each request's values
(queries._rows_sql, _summary_sql): what a page shows must follow the values, never the request
that compiled the SQL first (another tenant, another search, another filter or page)."""

import pytest
from django.utils import timezone

from portal.services import queries
from portal.services.models import Service, ServiceKind, ServiceListRefresh
from portal.tenants.models import Tenant
from tests.portal.services.mirroring import make_stale

pytestmark = pytest.mark.django_db


def _tenant(name: str, names: list[str], **fields) -> Tenant:
    tenant = Tenant.objects.create(name=name)
    for index, service_name in enumerate(names):
        Service.objects.create(tenant=tenant, ies_service_id=f"{name}-{index}", name=service_name, **fields)
    return tenant


def _names(listing: queries.ServiceListing) -> list[str]:
    return [service.name for service in listing.services]


def test_each_tenant_sees_its_own_rows_and_count_through_the_same_sql():
    first = _tenant("compiled_a", ["a1", "a2", "a3"], status="Completed")
    second = _tenant("compiled_b", ["b1"], status="Failed")
    for _ in range(2):  # the second round runs on SQL the first one compiled
        one, two = queries.service_listing(tenant=first), queries.service_listing(tenant=second)
        assert (_names(one), one.total, one.statuses) == (["a1", "a2", "a3"], 3, ["Completed"])
        assert (_names(two), two.total, two.statuses) == (["b1"], 1, ["Failed"])


def test_a_search_takes_like_wildcards_literally_and_follows_each_request():
    tenant = _tenant("compiled_like", ["a_b", "axb", "50%off", "500ff", "back\\slash"])
    assert _names(queries.service_listing(tenant=tenant, q="a_b")) == ["a_b"]
    assert _names(queries.service_listing(tenant=tenant, q="0%o")) == ["50%off"]
    assert _names(queries.service_listing(tenant=tenant, q="k\\s")) == ["back\\slash"]
    assert _names(queries.service_listing(tenant=tenant, q="AXB")) == ["axb"]  # any case
    listing = queries.service_listing(tenant=tenant, q="nothing")
    assert (_names(listing), listing.total) == ([], 0)


def test_filters_sorts_and_pages_follow_each_request():
    tenant = Tenant.objects.create(name="compiled_filters")
    for index in range(queries.PAGE_SIZE + 5):
        Service.objects.create(tenant=tenant, ies_service_id=f"id{index}", name=f"svc{index}",
                               status="Completed" if index % 2 else "Failed", kind=ServiceKind.SITE2DC if index < 3 else ServiceKind.SITE2SITE,
                               bandwidth_kbps=1000 * index)
    failed = queries.service_listing(tenant=tenant, status="Failed")
    assert failed.total == 28 and {s.status for s in failed.services} == {"Failed"}
    completed = queries.service_listing(tenant=tenant, status="Completed", sort="-bandwidth")
    assert completed.total == 27 and completed.services[0].name == "svc53"
    assert _names(queries.service_listing(tenant=tenant, kind=ServiceKind.SITE2DC)) == ["svc0", "svc1", "svc2"]
    second = queries.service_listing(tenant=tenant, page=2)
    assert (second.page.number, _names(second)) == (2, [f"svc{i}" for i in range(50, 55)])
    assert _names(queries.service_listing(tenant=tenant, page=99)) == _names(second)  # past the end: the last page
    assert queries.service_listing(tenant=tenant, sort="bogus").services[0].name == "svc0"


def test_the_refresh_state_read_with_the_summary_is_the_tenants():
    fresh = _tenant("compiled_fresh", ["f1"])
    never = _tenant("compiled_never", ["n1"])
    succeeded = timezone.now()
    ServiceListRefresh.objects.create(tenant=fresh, attempted_at=succeeded, succeeded_at=succeeded,
                                      trouble="IESUnavailable")
    listing = queries.service_listing(tenant=fresh)
    assert listing.freshness.as_of == succeeded  # a datetime, as the ORM reads it, on every database
    assert listing.freshness.trouble is not None
    other = queries.service_listing(tenant=never)
    assert other.freshness.trouble is None
    assert other.freshness.as_of is None


def test_a_list_of_a_shape_seen_before_compiles_no_sql(monkeypatch):
    """Building and compiling the list's queries cost several times running them (issue 14): a
    page of a shape the process has served before goes straight to the database."""
    from django.db.models.sql.compiler import SQLCompiler

    tenant = _tenant("compiled_twice", ["c1", "c2"])
    succeeded = timezone.now()
    ServiceListRefresh.objects.create(tenant=tenant, attempted_at=succeeded, succeeded_at=succeeded)
    queries.service_listing(tenant=tenant, q="c", sort="-name")
    compiled = []
    original = SQLCompiler.as_sql

    def counting(self, *args, **kwargs):
        compiled.append(self.query.model)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(SQLCompiler, "as_sql", counting)
    listing = queries.service_listing(tenant=tenant, q="c", sort="-name")
    assert _names(listing) == ["c2", "c1"]
    assert compiled == []



def test_a_stale_page_whose_refresh_was_asked_for_reads_the_cache_once(own_tenant, inline_worker, monkeypatch):
    """The refresh throttle and "a refresh is pending" are read in one cache round trip: the view
    after the one that asked for a refresh sends nothing, and says a refresh is on its way."""
    from django.core.cache import caches

    make_stale(own_tenant.tenant)
    tenant = own_tenant.tenant
    service = Service.objects.get(tenant=tenant, ies_service_id=own_tenant.service_id)
    first = queries.service_listing(tenant=tenant)
    detail = queries.service_detail(tenant=tenant, service=service)
    assert first.freshness.refreshing and detail.freshness.refreshing
    sends = len(inline_worker.sent)
    backend = type(caches["default"])
    calls = []
    for name in ("get", "get_many", "add", "set", "has_key"):
        original = getattr(backend, name)
        monkeypatch.setattr(backend, name, lambda self, *a, _name=name, _original=original, **k:
                            calls.append(_name) or _original(self, *a, **k))
    again = queries.service_listing(tenant=tenant)
    assert again.freshness.refreshing and calls == ["get_many"]
    calls.clear()
    detail = queries.service_detail(tenant=tenant, service=service)
    assert detail.freshness.refreshing and calls == ["get_many"]
    assert len(inline_worker.sent) == sends


# -- a service's page ---------------------------------------------------------------------------


def _detail_case(name: str, django_user_model):
    from portal.audit.models import AuditEvent
    from portal.operations.models import Operation, OperationKind, OperationState

    tenant = _tenant(name, [f"{name}-svc"])
    service = Service.objects.get(tenant=tenant)
    asker = django_user_model.objects.create_user(f"{name}-asker")
    Operation.objects.create(tenant=tenant, service=service, kind=OperationKind.MODIFY, state=OperationState.PROCESSING,
                             service_name=service.name, requested_by=asker)
    Operation.objects.create(tenant=tenant, service=service, kind=OperationKind.CREATE,
                             state=OperationState.SUCCEEDED, service_name=service.name, finished_at=timezone.now())
    for index in range(queries.AUDIT_SHOWN + 2):
        AuditEvent.objects.create(tenant=tenant, action="service.modify", object_type="service",
                                  object_id=service.ies_service_id, message=f"{name}-{index}", before={"n": index})
    AuditEvent.objects.create(tenant=tenant, action="service.modify", object_type="catalog",
                              object_id=service.ies_service_id, message="not the service's")
    return tenant, service


def test_each_service_page_reads_its_own_operations_and_audit_through_the_same_sql(django_user_model):
    cases = [_detail_case(name, django_user_model) for name in ("detail_a", "detail_b")]
    for _ in range(2):  # the second round runs on SQL the first one compiled
        for tenant, service in cases:
            detail = queries.service_detail(tenant=tenant, service=service)
            assert sorted(entry.who for entry in detail.history) == ["", f"{tenant.name}-asker"]
            assert detail.in_flight is not None and detail.in_flight.service_id == service.pk
            audit = queries.service_audit(tenant=tenant, service=service)
            assert len(audit) == queries.AUDIT_SHOWN
            assert [event.message for event in audit[:2]] == [f"{tenant.name}-51", f"{tenant.name}-50"]
            assert audit[0].before == {"n": 51}  # JSON decoded as the ORM decodes it


def test_a_service_page_seen_before_compiles_no_sql_of_its_own(django_user_model, monkeypatch):
    from django.db.models.sql.compiler import SQLCompiler

    tenant, service = _detail_case("detail_twice", django_user_model)
    queries.service_detail(tenant=tenant, service=service)
    queries.service_audit(tenant=tenant, service=service)
    compiled = []
    original = SQLCompiler.as_sql

    def counting(self, *args, **kwargs):
        compiled.append(self.query.model)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(SQLCompiler, "as_sql", counting)
    queries.service_detail(tenant=tenant, service=service)
    queries.service_audit(tenant=tenant, service=service)
    assert compiled == []


@pytest.mark.parametrize("zone", ["Asia/Shanghai", "Europe/Paris", "UTC"])
def test_a_rows_time_reads_as_the_date_filter_writes_it(zone):
    """presenters.moment stands for `value|localtime|date:"Y-m-d H:i:s T"` in the history and audit
    rows: the same text, in the reader's zone, ambiguous hours (a clock set back) included."""
    from datetime import UTC, datetime

    from django.template import Context, Template

    from portal.services.presenters import moment

    template = Template('{% load tz %}{{ value|localtime|date:"Y-m-d H:i:s T" }}')
    moments = [datetime(2026, 10, 25, 0, 30, tzinfo=UTC), datetime(2026, 10, 25, 1, 30, tzinfo=UTC),  # Paris: 02:30 twice
               datetime(2026, 3, 29, 1, 5, 9, tzinfo=UTC), datetime(2017, 5, 7, 11, 32, 0, 123, tzinfo=UTC)]
    with timezone.override(zone):
        for value in moments:
            assert moment(value) == template.render(Context({"value": value}))
    assert moment(None) == ""


@pytest.mark.parametrize("ident", ["9LbuAd11Qe-cuGnVONz6qw", "a b", "x%y", "é~!$&'()*+,;=:@", "<i>", "1234"])
def test_a_service_pages_links_are_what_reverse_gives(ident):
    from django.urls import reverse

    from portal.services.presenters import service_links

    links = service_links(Service(ies_service_id=ident))
    assert links == {name: reverse(f"services:{name}", kwargs={"service_id": ident})
                     for name in ("detail", "bandwidth", "delete", "policies")}


def test_an_id_that_is_no_path_segment_is_refused_as_reverse_refuses_it():
    from django.urls import NoReverseMatch

    from portal.services.presenters import service_links

    for ident in ("a/b", ""):
        with pytest.raises(NoReverseMatch):
            service_links(Service(ies_service_id=ident))


def test_status_choices_and_counts_come_from_live_services_with_or_without_a_filter():
    """The choices are every live service's status word once, whatever the filter; the count is of
    the rows the filters let through (without a filter: summed from the words' counts)."""
    tenant = Tenant.objects.create(name="compiled_words")
    for index, status in enumerate(["Completed", "Completed", "Failed", "In:Progress", "Completed"]):
        Service.objects.create(tenant=tenant, ies_service_id=f"w{index}", name=f"w{index}", status=status)
    Service.objects.create(tenant=tenant, ies_service_id="gone", name="gone", status="Deleting",
                           gone_at=timezone.now())
    everything = queries.service_listing(tenant=tenant)
    assert (everything.total, everything.statuses) == (5, ["Completed", "Failed", "In:Progress"])
    assert everything.page.paginator.count == 5
    failed = queries.service_listing(tenant=tenant, status="Failed")
    assert (failed.total, failed.statuses, _names(failed)) == (1, ["Completed", "Failed", "In:Progress"], ["w2"])
    searched = queries.service_listing(tenant=tenant, q="w1")
    assert (searched.total, _names(searched)) == (1, ["w1"])
    empty = queries.service_listing(tenant=Tenant.objects.create(name="compiled_none"))
    assert (empty.total, empty.statuses, _names(empty)) == (0, [], [])
