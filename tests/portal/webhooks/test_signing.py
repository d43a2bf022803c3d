"""The signature a receiver checks: what verify accepts and what it refuses."""

import time

import pytest

from portal.webhooks import signing

SECRET = "whsec_test-secret"
BODY = b'{"id":"1","type":"operation.succeeded"}'


def test_a_signed_body_verifies():
    header = signing.sign(SECRET, BODY)
    assert header.startswith("t=") and ",v1=" in header
    assert signing.verify(SECRET, header, BODY)
    assert signing.verify(SECRET, header, BODY.decode())


@pytest.mark.parametrize(("secret", "body", "age"), [
    ("whsec_other", BODY, 0),
    (SECRET, BODY + b" ", 0),
    (SECRET, BODY, 301),
    (SECRET, BODY, -301),
])
def test_a_wrong_secret_body_or_time_is_refused(secret, body, age):
    header = signing.sign(SECRET, BODY, timestamp=int(time.time()) - age)
    assert not signing.verify(secret, header, body)


@pytest.mark.parametrize("header", ["", "t=abc,v1=00", "v1=00", "t={now}"])
def test_a_malformed_header_is_refused(header):
    assert not signing.verify(SECRET, header.format(now=int(time.time())), BODY)


def test_the_signature_is_hmac_sha256_of_time_dot_body():
    import hashlib
    import hmac

    expected = hmac.new(SECRET.encode(), b"1700000000." + BODY, hashlib.sha256).hexdigest()
    assert signing.sign(SECRET, BODY, timestamp=1700000000) == f"t=1700000000,v1={expected}"


def test_the_documented_receiver_example_verifies():
    """docs/webhooks.md's verify, as a receiver would copy it, accepts the portal's signature."""
    import re
    from pathlib import Path

    doc = (Path(__file__).resolve().parents[3] / "docs" / "webhooks.md").read_text(encoding="utf-8")
    code = re.search(r"```python\n(.*?)```", doc, re.S).group(1)
    namespace: dict = {}
    exec(compile(code, "docs/webhooks.md", "exec"), namespace)  # noqa: S102 - our own documentation
    header = signing.sign(SECRET, BODY)
    assert namespace["verify"](SECRET, header, BODY)
    assert not namespace["verify"](SECRET, header, BODY + b"x")
    assert not namespace["verify"]("whsec_other", header, BODY)
