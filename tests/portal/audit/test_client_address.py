"""The address the audit log records and the login throttle counts (review of issue 13): the
X-Forwarded-For header only from TRUSTED_PROXIES, its right-most entry that is no trusted proxy."""

from django.test import RequestFactory, override_settings

from portal.audit.services import client_address, throttle_address


def address(remote: str, forwarded: str | None = None) -> str | None:
    headers = {"REMOTE_ADDR": remote} | ({"HTTP_X_FORWARDED_FOR": forwarded} if forwarded is not None else {})
    return client_address(RequestFactory().get("/", **headers))


@override_settings(TRUSTED_PROXIES=[], SECURE_PROXY_SSL_HEADER=("HTTP_X_FORWARDED_PROTO", "https"))
def test_without_trusted_proxies_the_header_is_ignored_even_behind_the_tls_proxy():
    assert address("203.0.113.1", "198.51.100.1") == "203.0.113.1"


@override_settings(TRUSTED_PROXIES=["10.0.0.0/8", "2001:db8:ffff::1"])
def test_from_a_trusted_proxy_the_right_most_untrusted_entry_counts():
    assert address("10.1.2.3", "198.51.100.1, 203.0.113.7") == "203.0.113.7"
    assert address("10.1.2.3", "198.51.100.1, 203.0.113.7, 10.9.9.9") == "203.0.113.7"  # two proxies
    assert address("2001:db8:ffff::1", "2001:db8:1::5") == "2001:db8:1::5"
    assert address("10.1.2.3") == "10.1.2.3"  # no header: the proxy itself
    assert address("10.1.2.3", "garbage, 10.0.0.9") == "10.0.0.9"  # stops at what no proxy wrote
    # A client connecting directly is not believed, whatever it writes.
    assert address("203.0.113.50", "10.0.0.1, 198.51.100.1") == "203.0.113.50"


def test_the_throttle_counts_an_ipv6_address_as_its_64():
    request = RequestFactory().get("/", REMOTE_ADDR="2001:db8:1:2:3:4:5:6")
    assert throttle_address(request) == "2001:db8:1:2::"
    assert client_address(request) == "2001:db8:1:2:3:4:5:6"
    assert throttle_address(RequestFactory().get("/", REMOTE_ADDR="203.0.113.9")) == "203.0.113.9"
