"""A real OpenID Connect provider for the tests: django-oauth-toolkit in a tiny Django project of its own.

It runs as its own process (``python -m tests.oidc_provider.serve``), started by the pytest plugin
tests/fixtures_oidc.py. It imports nothing of the portal, and the portal's tests import nothing of it:
they talk to it over HTTP, as the portal will talk to a real identity provider.
"""
