"""Pytest plugin: a real OpenID Connect provider in its own process, for the portal's sign-in tests.

The provider is django-oauth-toolkit in a tiny Django project of its own (tests/oidc_provider), not
a mock: discovery, authorization-code flow with PKCE, RS256 ID tokens, userinfo, JWKS and
RP-initiated logout, on 127.0.0.1 and a free port, with its own SQLite file and signing key.
Loaded by tests/conftest.py. It provides:

- ``start_oidc_provider(tmp_path, redirect_uris=[...], post_logout_redirect_uris=[...], users=[...])``:
  a started provider; stop it, or use it as a context manager;
- ``make_oidc_provider(**same keywords)`` (function fixture): the same, in the test's tmp_path,
  stopped after the test.

The handle (``OidcProviderHandle``) knows the issuer, the endpoints, the client's credentials and
the users. It imports no Django and needs only ``requests`` and ``cryptography``.
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from tests.fixtures_simulator import ServerProcess, _die_with_parent, free_port

REPO = Path(__file__).resolve().parent.parent
READY_TIMEOUT = 30.0


def _signing_key_pem() -> bytes:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def _user(spec: dict[str, Any]) -> dict[str, Any]:
    """A user of the description, with the defaults filled in; its ``sub`` is fixed here, so that a
    test knows it in advance and it survives restarts."""
    if not spec.get("username") or not spec.get("password"):
        raise ValueError(f"a provider user needs a username and a password: {spec!r}")
    return {
        "sub": str(uuid.uuid4()),
        "email": "",
        "email_verified": True,
        "name": spec["username"],
        "groups": [],
        "amr": ["pwd"],
        **spec,
    }


class OidcProviderHandle(ServerProcess):
    """A test identity provider on 127.0.0.1 and what an RP needs to know of it.

    Attributes: ``port``, ``root`` ("http://127.0.0.1:PORT"), ``base_url`` (where DOT is mounted,
    "http://127.0.0.1:PORT/o"), ``issuer`` (what discovery and the tokens say: ``base_url``, or
    ``issuer_override``), ``client_id``, ``client_secret``, ``users`` (the descriptions, each with
    its ``sub``), ``directory`` (its database, key, description and ``log_path``).

    The endpoint properties are the addresses that answer, from ``base_url``: under an
    ``issuer_override`` on another host, discovery advertises that host's instead.
    """

    def __init__(
        self,
        directory: Path,
        *,
        redirect_uris: list[str],
        post_logout_redirect_uris: list[str],
        users: list[dict[str, Any]],
        client_id: str = "portal",
        client_secret: str | None = None,
        id_token_expire_seconds: int = 300,
        issuer_override: str | None = None,
        port: int | None = None,
    ) -> None:
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self.port = port or free_port()
        self.root = f"http://127.0.0.1:{self.port}"
        self.base_url = f"{self.root}/o"
        self.issuer = issuer_override or self.base_url
        self.issuer_override = issuer_override
        self.client_id = client_id
        self.client_secret = client_secret or secrets.token_urlsafe(32)
        self.redirect_uris = list(redirect_uris)
        self.post_logout_redirect_uris = list(post_logout_redirect_uris)
        self.id_token_expire_seconds = id_token_expire_seconds
        self.users = [_user(u) for u in users]
        self.config_path = self.directory / "provider.json"
        self.db_path = self.directory / "provider.sqlite3"
        self.key_path = self.directory / "signing-key.pem"
        self.log_path = self.directory / "provider.log"
        self.process: subprocess.Popen[bytes] | None = None
        # One key per provider, kept across its restarts (tokens issued before still verify).
        self.key_path.write_bytes(_signing_key_pem())
        self.key_path.chmod(0o600)
        self._write_description()

    # -- endpoints ----------------------------------------------------------------------------------

    @property
    def discovery_url(self) -> str:
        return f"{self.base_url}/.well-known/openid-configuration"

    @property
    def authorization_endpoint(self) -> str:
        return f"{self.base_url}/authorize/"

    @property
    def token_endpoint(self) -> str:
        return f"{self.base_url}/token/"

    @property
    def userinfo_endpoint(self) -> str:
        return f"{self.base_url}/userinfo/"

    @property
    def jwks_uri(self) -> str:
        return f"{self.base_url}/.well-known/jwks.json"

    @property
    def end_session_endpoint(self) -> str:
        return f"{self.base_url}/logout/"

    @property
    def login_url(self) -> str:
        """The provider's own sign-in page, where its authorize endpoint sends a stranger."""
        return f"{self.root}/accounts/login/"

    def discovery(self) -> dict[str, Any]:
        """The discovery document (from the address that answers, even under an issuer override)."""
        answer = requests.get(self.discovery_url, timeout=10)
        answer.raise_for_status()
        return dict(answer.json())

    def user(self, username: str) -> dict[str, Any]:
        return next(u for u in self.users if u["username"] == username)

    # -- the description ------------------------------------------------------------------------------

    def _write_description(self) -> None:
        description = {
            "issuer": self.issuer_override,
            "id_token_expire_seconds": self.id_token_expire_seconds,
            "client": {
                "client_id": self.client_id,
                "client_secret": self.client_secret,
                "redirect_uris": self.redirect_uris,
                "post_logout_redirect_uris": self.post_logout_redirect_uris,
            },
            "users": self.users,
        }
        # Replaced whole: the provider reads it at every token and userinfo request.
        temporary = self.config_path.with_suffix(".tmp")
        temporary.write_text(json.dumps(description, indent=2))
        os.replace(temporary, self.config_path)

    def update_user(self, username: str, **changes: Any) -> dict[str, Any]:
        """Change a user's claims (groups, amr, email, name, email_verified, sub): the next ID token
        and userinfo answer carry them, no restart needed. A new password counts from the next
        ``start()``."""
        user = self.user(username)
        user.update(changes)
        self._write_description()
        return user

    # -- process ------------------------------------------------------------------------------------

    def start(self) -> OidcProviderHandle:
        """Start (or restart) the process on the same port, database and key; wait until it answers."""
        if self.running:
            return self
        env = {k: v for k, v in os.environ.items() if not k.startswith("OIDC_PROVIDER_")}
        env.update(
            OIDC_PROVIDER_CONFIG=str(self.config_path),
            OIDC_PROVIDER_DB=str(self.db_path),
            OIDC_PROVIDER_KEY=str(self.key_path),
            DJANGO_SETTINGS_MODULE="tests.oidc_provider.settings",
            PYTHONPATH=os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")])),
            PYTHONUNBUFFERED="1",
        )
        command = [sys.executable, "-m", "tests.oidc_provider.serve", "--port", str(self.port)]
        with open(self.log_path, "ab") as log:  # the child keeps its own copy of the descriptor
            self.process = subprocess.Popen(
                command, cwd=REPO, env=env, stdout=log, stderr=log, preexec_fn=_die_with_parent
            )
        self._wait_ready()
        return self

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + READY_TIMEOUT
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                raise RuntimeError(f"OIDC provider exited with {self.process.returncode}:\n{self.log()}")
            try:
                if requests.get(self.discovery_url, timeout=1).status_code == 200:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"OIDC provider did not answer within {READY_TIMEOUT} s:\n{self.log()}")


def start_oidc_provider(
    tmp_path: Path,
    *,
    redirect_uris: list[str],
    post_logout_redirect_uris: list[str],
    users: list[dict[str, Any]],
    client_id: str = "portal",
    client_secret: str | None = None,
    id_token_expire_seconds: int = 300,
    issuer_override: str | None = None,
    port: int | None = None,
) -> OidcProviderHandle:
    """A started provider of its own, files in a new directory under ``tmp_path``; the caller stops
    it (or uses ``with``). ``client_secret`` is random when not given; ``id_token_expire_seconds``
    may be negative (ID tokens expired when issued)."""
    port = port or free_port()
    handle = OidcProviderHandle(
        Path(tmp_path) / f"oidc-provider-{port}",
        redirect_uris=redirect_uris,
        post_logout_redirect_uris=post_logout_redirect_uris,
        users=users,
        client_id=client_id,
        client_secret=client_secret,
        id_token_expire_seconds=id_token_expire_seconds,
        issuer_override=issuer_override,
        port=port,
    )
    return handle.start()


@pytest.fixture
def make_oidc_provider(tmp_path: Path) -> Iterator[Callable[..., OidcProviderHandle]]:
    """``make_oidc_provider(redirect_uris=[...], post_logout_redirect_uris=[...], users=[...])``: a
    started provider for this test (keywords of ``start_oidc_provider``), stopped after it."""
    started: list[OidcProviderHandle] = []

    def make(**options: Any) -> OidcProviderHandle:
        handle = start_oidc_provider(tmp_path, **options)
        started.append(handle)
        return handle

    yield make
    for handle in started:
        handle.stop()
