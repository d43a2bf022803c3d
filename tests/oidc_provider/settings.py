"""Settings of the test identity provider; everything that varies comes from the environment.

OIDC_PROVIDER_CONFIG: the JSON description written by tests/fixtures_oidc.py (client, users, issuer,
ID token lifetime); OIDC_PROVIDER_DB: its SQLite file; OIDC_PROVIDER_KEY: its RSA signing key (PEM).
"""

import json
import os
import secrets
from pathlib import Path

HERE = Path(__file__).resolve().parent
CONFIG = json.loads(Path(os.environ["OIDC_PROVIDER_CONFIG"]).read_text())

# A new key per start: a restart ends every provider session, as a real provider's restart may.
SECRET_KEY = secrets.token_urlsafe(50)
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "oauth2_provider",
]
MIDDLEWARE = [
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
]
ROOT_URLCONF = "tests.oidc_provider.urls"
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [HERE / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
            ]
        },
    }
]

DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": os.environ["OIDC_PROVIDER_DB"],
        # Requests are served by threads: writers wait for each other rather than fail "locked".
        "OPTIONS": {
            "timeout": 20,
            "transaction_mode": "IMMEDIATE",
            "init_command": "PRAGMA journal_mode=WAL;",
        },
    }
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
# Tables straight from the models (migrate --run-syncdb), not by replaying every migration: a
# throwaway database made in a fraction of the time, at each start of each provider.
MIGRATION_MODULES = {app.rsplit(".", 1)[-1]: None for app in INSTALLED_APPS}
# Throwaway passwords and client secret: a fast hasher keeps each login and token request quick.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
AUTH_PASSWORD_VALIDATORS: list[dict[str, str]] = []
LOGIN_URL = "/accounts/login/"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "/"

# The portal also runs on 127.0.0.1, and a browser's cookies ignore the port: with Django's default
# names, signing in here would overwrite the portal's own session and CSRF cookies.
SESSION_COOKIE_NAME = "idp_sessionid"
CSRF_COOKIE_NAME = "idp_csrftoken"

USE_TZ = True
TIME_ZONE = "UTC"
LANGUAGE_CODE = "en"
STATIC_URL = "/static/"

OAUTH2_PROVIDER = {
    "OIDC_ENABLED": True,
    "OIDC_RSA_PRIVATE_KEY": Path(os.environ["OIDC_PROVIDER_KEY"]).read_text(),
    # Empty: the issuer is this server's own /o (from the request's host). Set: advertised as is,
    # in discovery and in the tokens' "iss", and its scheme and host prefix discovery's endpoints.
    "OIDC_ISS_ENDPOINT": CONFIG.get("issuer") or "",
    # May be negative: the ID token is then expired when issued (exp = now + this).
    "ID_TOKEN_EXPIRE_SECONDS": int(CONFIG["id_token_expire_seconds"]),
    "ACCESS_TOKEN_EXPIRE_SECONDS": 3600,
    "OAUTH2_VALIDATOR_CLASS": "tests.oidc_provider.validator.ClaimsValidator",
    "SCOPES": {
        "openid": "Sign you in",
        "email": "Your email address",
        "profile": "Your name and username",
        "groups": "Your groups",
    },
    "DEFAULT_SCOPES": ["openid"],
    "PKCE_REQUIRED": True,
    "OIDC_RP_INITIATED_LOGOUT_ENABLED": True,
    # No confirmation page when the id_token_hint is the signed-in user's: straight back to the RP.
    "OIDC_RP_INITIATED_LOGOUT_ALWAYS_PROMPT": False,
    # What RFC 9700 asks of a confidential code-flow client, enforced now (DOT 4.0's defaults).
    "COMPLIANT_BCP_RFC9700_IMPLICIT_GRANT": True,
    "COMPLIANT_BCP_RFC9700_PASSWORD_GRANT": True,
    "COMPLIANT_BCP_RFC9700_PKCE_METHOD": True,
    "COMPLIANT_BCP_RFC9700_ACCESS_TOKEN_TRANSPORT": True,
}

# To stderr, which the fixture sends to the provider's log file. One line per request (serve.py
# masks codes and tokens in query strings); oauthlib's debug output would carry secrets: kept quiet.
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"stderr": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["stderr"], "level": "WARNING"},
    "loggers": {
        "django.server": {"handlers": ["stderr"], "level": "INFO", "propagate": False},
        "oauth2_provider": {"level": "INFO"},
        "oauthlib": {"level": "WARNING"},
        "tests.oidc_provider": {"level": "INFO"},
    },
}
