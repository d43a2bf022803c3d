"""A 500 page with DEBUG on, and an error report, show no IES token or bearer."""

import sys
import uuid

from django.test import RequestFactory
from django.views.debug import ExceptionReporter

from ies_client.redact import register_secret


def test_the_technical_error_page_hides_tokens(settings):
    settings.DEBUG = True
    # Made at run time: the page also shows source lines, which must not carry them either.
    secret_token = "MIIE" + uuid.uuid4().hex * 4
    secret_bearer = str(uuid.uuid4())
    register_secret(secret_token)
    register_secret(secret_bearer)

    def fail():
        creds = (secret_token, secret_bearer)  # noqa: F841 - a local the page would show
        header_value = f"X-Auth-Token: {secret_token}"  # noqa: F841
        raise RuntimeError("IES call failed")

    try:
        fail()
    except RuntimeError:
        reporter = ExceptionReporter(RequestFactory().get("/services/"), *sys.exc_info())
        html = reporter.get_traceback_html()
        text = reporter.get_traceback_text()
    for page in (html, text):
        assert "IES call failed" in page
        assert secret_token not in page
        assert secret_bearer not in page
