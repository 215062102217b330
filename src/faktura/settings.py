"""Settings from the environment (12-factor); safe defaults for local use."""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import secrets
from pathlib import Path

import dj_database_url

BASE_DIR = Path(__file__).resolve().parent
DATA_DIR = Path(os.environ.get("FAKTURA_DATA_DIR", Path.cwd() / "data")).resolve()


def _env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _secret_key() -> str:
    if key := os.environ.get("SECRET_KEY"):
        return key
    # Local use without configuration: a random key kept in the data directory, so
    # sessions survive restarts but no key is ever committed or shared.
    key_file = DATA_DIR / "secret_key"
    try:
        return key_file.read_text().strip()
    except FileNotFoundError:
        DATA_DIR.mkdir(parents=True, exist_ok=True)
        key = secrets.token_urlsafe(50)
        key_file.write_text(key)
        key_file.chmod(0o600)
        return key


SECRET_KEY = _secret_key()
DEBUG = _env_bool("DEBUG")
ALLOWED_HOSTS = [h for h in os.environ.get("ALLOWED_HOSTS", "127.0.0.1,localhost").split(",") if h]
CSRF_TRUSTED_ORIGINS = [o for o in os.environ.get("CSRF_TRUSTED_ORIGINS", "").split(",") if o]

INSTALLED_APPS = [
    # The admin for superusers only, and only after the second factor (core.admin_site).
    "faktura.core.admin_site.FakturaAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    # Login throttling, TOTP second factor, Content-Security-Policy header.
    "axes",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "csp",
    "django_tasks",
    "django_tasks_db",
    # Serves Swagger UI and ReDoc from the installed package: /api/v1/docs works offline.
    "ninja",
    "faktura.core",
    "faktura.customers",
    "faktura.catalog",
    "faktura.sales",
    "faktura.invoicing",
    "faktura.payments",
    "faktura.collection",
    "faktura.banking",
    "faktura.documents",
    "faktura.notifications",
    "faktura.workers",
    "faktura.api",
    "faktura.scheduling",
    "faktura.subscriptions",
    "faktura.access",
    "faktura.webhooks",
    "faktura.dunning",
    "faktura.reporting",
    "django_htmx",
    "faktura.web.backoffice",
    "faktura.web.portal",
]

# What an API request passes (``core.handlers``) is MIDDLEWARE without the entries marked
# browser_only: an API request carries a key, not a login, and no static file is under /api/.
BROWSER_ONLY_MIDDLEWARE: set[str] = set()


def browser_only(name: str) -> str:
    BROWSER_ONLY_MIDDLEWARE.add(name)
    return name


MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # NUL in the URL or a header is refused before a session, key or filter reads it.
    "faktura.api.middleware.RefuseNulMiddleware",
    # Maintenance: every write refused with 503 before a session or a key is read.
    "faktura.core.middleware.MaintenanceMiddleware",
    # Serves the admin's and API docs' static files from the one web process.
    browser_only("whitenoise.middleware.WhiteNoiseMiddleware"),
    browser_only("django.contrib.sessions.middleware.SessionMiddleware"),
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    browser_only("django.middleware.csrf.CsrfViewMiddleware"),
    browser_only("django.contrib.auth.middleware.AuthenticationMiddleware"),
    # request.user.is_verified(): the second factor of this session (django-otp).
    browser_only("django_otp.middleware.OTPMiddleware"),
    # A staff member with a TOTP device (or all, when the company requires it) enters the
    # code before any back-office or admin page.
    browser_only("faktura.web.backoffice.two_factor.SecondFactorMiddleware"),
    browser_only("django.contrib.messages.middleware.MessageMiddleware"),
    browser_only("django_htmx.middleware.HtmxMiddleware"),
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    # Last: turns a login refused for too many failures into the lockout page.
    browser_only("axes.middleware.AxesMiddleware"),
]
API_MIDDLEWARE = [name for name in MIDDLEWARE if name not in BROWSER_ONLY_MIDDLEWARE]

AUTHENTICATION_BACKENDS = [
    # First: refuses every authentication of a locked-out client before a password is
    # checked (django-axes); it needs the request, so authenticate() always gets one.
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
    # The portal's sign-in by e-mail link (django-sesame).
    "sesame.backends.ModelBackend",
]

ROOT_URLCONF = "faktura.urls"
WSGI_APPLICATION = "faktura.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "faktura.web.backoffice.context.shell",
            ],
        },
    },
]

DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL", f"sqlite:///{DATA_DIR / 'faktura.sqlite3'}"),
        conn_max_age=int(os.environ.get("DB_CONN_MAX_AGE", "0")),
        # A kept connection (`faktura serve` keeps them) is checked before a request uses it:
        # after a database restart the request reconnects instead of failing.
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # Django's backend with a health check that costs no round trip (core/postgresql).
    DATABASES["default"]["ENGINE"] = "faktura.core.postgresql"
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # IMMEDIATE transactions take SQLite's write lock at BEGIN, so that the web
    # process and the worker serialize instead of failing with "database is locked".
    # WAL lets readers keep one snapshot while writers commit: `faktura check` reads the
    # whole database in one transaction without holding off the worker.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "transaction_mode": "IMMEDIATE",
            "timeout": 20,
            "init_command": "PRAGMA journal_mode=WAL",
        }
    )

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]

LANGUAGE_CODE = "de"
LANGUAGES = [("de", "Deutsch"), ("en", "English")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# "figures": the start page's figures, kept per process until the audit log grows (every
# change of money writes to it), so repeated views do not sum every open invoice again.
CACHES = {
    "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
    "figures": {
        "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
        "LOCATION": "faktura-figures",
        "TIMEOUT": 600,
    },
}

STATIC_URL = "static/"
STATIC_ROOT = DATA_DIR / "static"
WHITENOISE_USE_FINDERS = True  # no collectstatic needed for `faktura run`
# htmx and Chart.js, installed by `make install` from the npm registry (package-lock.json).
NODE_MODULES = Path(os.environ.get("FAKTURA_NODE_MODULES", BASE_DIR.parents[1] / "node_modules"))
STATICFILES_DIRS = [
    (f"vendor/{name}", NODE_MODULES / package / "dist")
    for name, package in (("htmx", "htmx.org"), ("chartjs", "chart.js"))
    if (NODE_MODULES / package / "dist").is_dir()
]
# A sign-in link the customer asks for on the portal's sign-in page works once and for
# FAKTURA_PORTAL_LINK_MINUTES; signing in with it (or with any later link) voids it.
SESAME_MAX_AGE = int(os.environ.get("FAKTURA_PORTAL_LINK_MINUTES", "60")) * 60
SESAME_ONE_TIME = True
# The portal's address as customers reach it (https://rechnung.example.de/portal/): the
# mail of each document links to it, signing in for FAKTURA_PORTAL_INVOICE_LINK_DAYS and
# opening the document. Empty: document mails carry no portal link.
FAKTURA_PORTAL_URL = os.environ.get("FAKTURA_PORTAL_URL", "")
FAKTURA_PORTAL_INVOICE_LINK_DAYS = int(os.environ.get("FAKTURA_PORTAL_INVOICE_LINK_DAYS", "30"))
LOGIN_URL = "backoffice:login"
LOGIN_REDIRECT_URL = "backoffice:start"
with contextlib.suppress(OSError):
    STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # WhiteNoise warns when it is missing
MEDIA_ROOT = DATA_DIR / "files"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}

EMAIL_BACKEND = os.environ.get(
    "EMAIL_BACKEND",
    "django.core.mail.backends.smtp.EmailBackend"
    if os.environ.get("EMAIL_HOST")
    else "faktura.notifications.console.ConsoleSummaryBackend",
)
# Without SMTP: one line per mail on the console, the whole mail as an .eml file here.
EMAIL_FILE_PATH = os.environ.get("EMAIL_FILE_PATH", str(DATA_DIR / "mail"))
EMAIL_HOST = os.environ.get("EMAIL_HOST", "localhost")
EMAIL_PORT = int(os.environ.get("EMAIL_PORT", "25"))
EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = _env_bool("EMAIL_USE_TLS")
EMAIL_USE_SSL = _env_bool("EMAIL_USE_SSL")
EMAIL_TIMEOUT = int(os.environ.get("EMAIL_TIMEOUT", "30"))
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "rechnung@localhost")

# Retention in years per document class (§ 147 (3) AO, § 14b (1) UStG as of 2025: invoices and
# other Buchungsbelege 8 years; books, annual accounts, Verfahrensdokumentation 10 years). The
# period starts at the end of the calendar year of issue (§ 147 (4) AO).
FAKTURA_RETENTION_YEARS = {
    "invoice": int(os.environ.get("FAKTURA_RETENTION_INVOICE_YEARS", "8")),
    "book": int(os.environ.get("FAKTURA_RETENTION_BOOK_YEARS", "10")),
}

# Money in: defaults when the payment settings (admin) leave them empty, statement matching,
# online payments. Amounts stay strings here; the payments app reads them as Decimal.
FAKTURA_WRITE_OFF_TOLERANCE = os.environ.get("FAKTURA_WRITE_OFF_TOLERANCE", "1.00")
FAKTURA_RETURN_FEE_DEFAULT = os.environ.get("FAKTURA_RETURN_FEE_DEFAULT", "3.00")
FAKTURA_MATCH_THRESHOLD = float(os.environ.get("FAKTURA_MATCH_THRESHOLD", "0.9"))
FAKTURA_STATEMENT_INLINE_BOOKINGS = int(os.environ.get("FAKTURA_STATEMENT_INLINE_BOOKINGS", "500"))
FAKTURA_STATEMENT_MAX_BYTES = int(
    os.environ.get("FAKTURA_STATEMENT_MAX_BYTES", str(100 * 1024 * 1024))
)
STRIPE_SECRET_KEY = os.environ.get("STRIPE_SECRET_KEY", "")
# Empty: Stripe's own API (https://api.stripe.com); set only to point at a stand-in.
STRIPE_API_BASE = os.environ.get("STRIPE_API_BASE", "")
# A card declined for a reason that may pass (insufficient funds …) is tried again this many
# days after the first decline; the invoice is dunned only when the tries are spent.
FAKTURA_CARD_RETRY_DAYS = os.environ.get("FAKTURA_CARD_RETRY_DAYS", "3,7,14")
# Where a customer pays an invoice or changes the payment method ({invoice_number},
# {invoice_id}); named in the failed-payment mail. Empty: the mail names the bank transfer.
FAKTURA_PAYMENT_URL = os.environ.get("FAKTURA_PAYMENT_URL", "")
STRIPE_WEBHOOK_SECRET = os.environ.get("STRIPE_WEBHOOK_SECRET", "")
# May contain {invoice_id}, {invoice_number} and Stripe's {CHECKOUT_SESSION_ID}.
STRIPE_SUCCESS_URL = os.environ.get("STRIPE_SUCCESS_URL", "")
STRIPE_CANCEL_URL = os.environ.get("STRIPE_CANCEL_URL", "")

# Scheduled jobs (faktura.scheduling.jobs): FAKTURA_JOB_<NAME>=<cron expression> changes a
# job's schedule, FAKTURA_JOB_<NAME>=off switches it off (e.g. FAKTURA_JOB_DIRECT_DEBIT_BATCHES).
FAKTURA_JOB_OVERRIDES = {k: v for k, v in os.environ.items() if k.startswith("FAKTURA_JOB_")}

TASKS = {
    "default": {
        "BACKEND": os.environ.get("TASKS_BACKEND", "django_tasks_db.DatabaseBackend"),
    }
}

# Customers billed per transaction of a billing run; lower it to commit more often.
FAKTURA_BILLING_CHUNK_CUSTOMERS = int(os.environ.get("FAKTURA_BILLING_CHUNK_CUSTOMERS", "200"))
FAKTURA_DUNNING_CHUNK_CUSTOMERS = int(os.environ.get("FAKTURA_DUNNING_CHUNK_CUSTOMERS", "500"))

# Background work never waits for a process that died (DESIGN invariant 9). A worker renews
# its lease every FAKTURA_WORKER_HEARTBEAT_SECONDS; one silent for FAKTURA_WORKER_LEASE_SECONDS
# is dead and its tasks are taken up again by the others, at most FAKTURA_WORKER_MAX_CLAIMS
# times per task. Every FAKTURA_MAINTENANCE_SECONDS each worker recovers such tasks and the
# mails their workers were sending, and ticks the scheduler; its sweep jobs (outbox-sweep,
# document-sweep, every minute) queue due mails without a task and process finalized documents
# unarchived or unannounced for FAKTURA_SWEEP_AFTER_MINUTES again. `faktura check` names
# documents still unarchived or unsent after FAKTURA_STUCK_AFTER_MINUTES.
FAKTURA_WORKER_HEARTBEAT_SECONDS = float(os.environ.get("FAKTURA_WORKER_HEARTBEAT_SECONDS", "5"))
FAKTURA_WORKER_LEASE_SECONDS = float(os.environ.get("FAKTURA_WORKER_LEASE_SECONDS", "60"))
FAKTURA_WORKER_MAX_CLAIMS = int(os.environ.get("FAKTURA_WORKER_MAX_CLAIMS", "5"))
FAKTURA_MAINTENANCE_SECONDS = float(os.environ.get("FAKTURA_MAINTENANCE_SECONDS", "10"))
FAKTURA_SWEEP_AFTER_MINUTES = float(os.environ.get("FAKTURA_SWEEP_AFTER_MINUTES", "5"))
FAKTURA_STUCK_AFTER_MINUTES = float(os.environ.get("FAKTURA_STUCK_AFTER_MINUTES", "15"))

# Operations (docs/operations.md). Maintenance mode (`faktura maintenance on`) answers every
# write with 503 and this Retry-After. /health/ready fails when the oldest ready task waited
# longer than FAKTURA_HEALTH_QUEUE_MAX_AGE_SECONDS or the queue holds more than
# FAKTURA_HEALTH_QUEUE_MAX_DEPTH tasks, or when the oldest due mail waited longer than
# FAKTURA_HEALTH_OUTBOX_MAX_AGE_SECONDS. /metrics asks for `Authorization: Bearer <token>`
# when FAKTURA_METRICS_TOKEN is set (open otherwise: keep it off the public network).
FAKTURA_MAINTENANCE_RETRY_AFTER_SECONDS = int(
    os.environ.get("FAKTURA_MAINTENANCE_RETRY_AFTER_SECONDS", "300")
)
FAKTURA_HEALTH_QUEUE_MAX_AGE_SECONDS = float(
    os.environ.get("FAKTURA_HEALTH_QUEUE_MAX_AGE_SECONDS", "900")
)
FAKTURA_HEALTH_QUEUE_MAX_DEPTH = int(os.environ.get("FAKTURA_HEALTH_QUEUE_MAX_DEPTH", "100000"))
FAKTURA_HEALTH_OUTBOX_MAX_AGE_SECONDS = float(
    os.environ.get("FAKTURA_HEALTH_OUTBOX_MAX_AGE_SECONDS", "3600")
)
FAKTURA_METRICS_TOKEN = os.environ.get("FAKTURA_METRICS_TOKEN", "")

# Outgoing webhooks go over https; plain http only to localhost and only when this is set
# (a receiver on the same machine, tests, development).
FAKTURA_WEBHOOKS_ALLOW_HTTP = os.environ.get("FAKTURA_WEBHOOKS_ALLOW_HTTP", "") in ("1", "true")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    "loggers": {
        "django_tasks": {"level": "WARNING"},
        # django-axes logs every sign-in at INFO; lockouts come as WARNING.
        "axes": {"level": "WARNING"},
        # pikepdf announces its C++ logger bridge at INFO on every import.
        "pikepdf": {"level": "WARNING"},
    },
}

# --------------------------------------------------------------------------- web security
# FAKTURA_HTTPS=1: the site is reached over https only (directly or through a TLS proxy). It
# switches on secure cookies, HSTS and the redirect from http; `faktura run` on a laptop stays
# on plain http without it. SECURE_COOKIES=1 is its older name.
HTTPS = _env_bool("FAKTURA_HTTPS", _env_bool("SECURE_COOKIES"))
SESSION_COOKIE_SECURE = HTTPS
CSRF_COOKIE_SECURE = HTTPS
SESSION_COOKIE_HTTPONLY = True
SECURE_HSTS_SECONDS = int(os.environ.get("FAKTURA_HSTS_SECONDS", "31536000" if HTTPS else "0"))
SECURE_HSTS_INCLUDE_SUBDOMAINS = _env_bool("FAKTURA_HSTS_INCLUDE_SUBDOMAINS", True)
SECURE_HSTS_PRELOAD = _env_bool("FAKTURA_HSTS_PRELOAD")
SECURE_SSL_REDIRECT = _env_bool("FAKTURA_SSL_REDIRECT", HTTPS)
# Probes of the container runtime and the metrics scraper talk plain http inside the network.
SECURE_REDIRECT_EXEMPT = [r"^health/", r"^metrics$"]
# Behind a TLS proxy that sets e.g. X-Forwarded-Proto: https (and strips it from clients):
# FAKTURA_PROXY_SSL_HEADER=X-Forwarded-Proto. Only then may Django trust that header.
if header := os.environ.get("FAKTURA_PROXY_SSL_HEADER", "").strip():
    SECURE_PROXY_SSL_HEADER = ("HTTP_" + header.upper().replace("-", "_"), "https")
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
# DENY everywhere; the invoice PDF view allows its own origin (the back office shows it in
# an <iframe>, backoffice.views.invoice_detail.invoice_pdf).
X_FRAME_OPTIONS = "DENY"
if HTTPS and not SECURE_HSTS_PRELOAD:
    # Preloading is a commitment only the owner of the registrable domain can make (and
    # submit to the browsers' lists); the HSTS header itself is set above.
    SILENCED_SYSTEM_CHECKS = ["security.W021"]

# Content-Security-Policy on every response, in development too (django-csp 4). No inline
# script, style attribute or event handler anywhere (tests/web/test_security_headers.py).
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "frame-src": ["'self'"],
        "frame-ancestors": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        # A form that answers with a redirect to Stripe Checkout (the portal's "pay online"):
        # browsers apply form-action to the redirect's target too.
        "form-action": ["'self'", "https://checkout.stripe.com"],
    },
}

# Login throttling (django-axes): after FAKTURA_LOGIN_FAILURE_LIMIT wrong passwords for one
# user name from one address, that pair is locked for FAKTURA_LOGIN_COOLOFF_MINUTES; a
# correct password is refused meanwhile. `faktura axes_reset_username <name>` lifts it.
AXES_FAILURE_LIMIT = int(os.environ.get("FAKTURA_LOGIN_FAILURE_LIMIT", "5"))
AXES_COOLOFF_TIME = dt.timedelta(
    minutes=float(os.environ.get("FAKTURA_LOGIN_COOLOFF_MINUTES", "15"))
)
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "faktura.web.backoffice.views.security.locked_out"
AXES_VERBOSE = False
# Behind a proxy the client is the first X-Forwarded-For address (FAKTURA_PROXY_COUNT proxies).
if proxies := int(os.environ.get("FAKTURA_PROXY_COUNT", "0")):
    AXES_IPWARE_PROXY_COUNT = proxies
    AXES_IPWARE_META_PRECEDENCE_ORDER = ("HTTP_X_FORWARDED_FOR", "REMOTE_ADDR")

# Second factor (django-otp TOTP): the issuer shown in the authenticator app.
OTP_TOTP_ISSUER = os.environ.get("FAKTURA_OTP_ISSUER", "Faktura")
