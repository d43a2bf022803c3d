"""One client (one requests.Session) per IES and tenant per process."""

import threading

import pytest

from ies_client.client import IESClient, clear_client_registry, client_for, normalise_base_url
from ies_client.models import IESCredentials

from .conftest import credentials_of


@pytest.fixture(autouse=True)
def _empty_registry():
    clear_client_registry()
    yield
    clear_client_registry()


def test_it_returns_the_same_client_for_the_same_tenant_and_url(simulator):
    creds = credentials_of(simulator.tenants["nbitest_11"])
    a = client_for(simulator.base_url, creds)
    b = client_for(simulator.base_url + "/", creds)  # the trailing slash is normalised away
    assert a is b and a.base_url == simulator.base_url
    other = client_for(simulator.base_url, credentials_of(simulator.tenants["nbitest_12"]))
    assert other is not a and other.session is not a.session


def test_other_options_share_the_session(simulator):
    creds = credentials_of(simulator.tenants["nbitest_11"])
    base = client_for(simulator.base_url, creds, read_timeout=10.0)
    page = client_for(simulator.base_url, creds, read_timeout=2.0, retries=0)
    assert page is not base and page.session is base.session
    assert page is client_for(simulator.base_url, creds, read_timeout=2.0, retries=0)
    assert page._transport.timeout == (3.05, 2.0) and page.list_services()


def test_new_credentials_for_the_same_token_replace_the_client(simulator):
    creds = credentials_of(simulator.tenants["nbitest_11"])
    first = client_for(simulator.base_url, IESCredentials(creds.token, creds.bearer))
    second = client_for(simulator.base_url, creds)  # now with the tenant id
    assert second is not first and second.credentials == creds


def test_it_is_thread_safe_and_keeps_connections_alive(simulator):
    creds = credentials_of(simulator.tenants["nbitest_11"])
    seen: list[IESClient] = []
    barrier = threading.Barrier(8)

    def work():
        barrier.wait()
        c = client_for(simulator.base_url, creds)
        for _ in range(5):
            c.list_services()
        seen.append(c)

    threads = [threading.Thread(target=work) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(seen) == 8 and len({id(c) for c in seen}) == 1
    pool = next(iter(seen[0].session.adapters["http://"].poolmanager.pools._container.values()))
    assert pool.num_connections <= 10  # 40 calls over a handful of kept-alive connections


def test_the_base_url_must_be_an_ies_rest_url():
    creds = IESCredentials("MIIE" + "t" * 40, "b" * 36)
    for bad in ("127.0.0.1:17100/rest", "http://127.0.0.1:17100", "ftp://x/rest"):
        with pytest.raises(ValueError):
            IESClient(bad, creds)
    assert normalise_base_url(" https://ies.example:17100/rest/ ") == "https://ies.example:17100/rest"
