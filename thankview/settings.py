"""Settings, read from the environment (12-factor).

Every setting that can change between deployments is read here, once, through one
django-environ ``Env`` with strict parsing: a malformed boolean or integer is an error
at start-up, not a silent default. ``make run`` and ``make test`` supply the database and Redis
URLs (embedded servers when the machine has none, see devservices/), and with no Salesforce
app configured the portal talks to the local simulator. Production sets the variables listed
in README.md.
"""

import base64
import hashlib
from pathlib import Path

import environ
from csp.constants import NONE as CSP_NONE
from csp.constants import SELF as CSP_SELF
from csp.constants import UNSAFE_INLINE as CSP_UNSAFE_INLINE
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()


def env_bool(name, default):
    """A boolean from the environment; anything but a clear yes/no is a start-up error.

    django-environ reads an unknown word as False, which would silently turn a typo in
    e.g. SESSION_COOKIE_SECURE into an insecure deployment.
    """
    raw = env.str(name, default="").strip().lower()
    if raw == "":
        return default
    if raw in {"1", "true", "yes", "on"}:
        return True
    if raw in {"0", "false", "no", "off"}:
        return False
    raise ImproperlyConfigured(f"{name}={raw!r} is not a boolean (use true or false).")


# DEBUG: development only. Defaults to off so that a deployment that forgets it is safe.
DEBUG = env_bool("DEBUG", False)

# SECRET_KEY: required in production. Development (DEBUG) gets a fixed, clearly
# insecure key so `make run` works with no configuration.
SECRET_KEY = env.str("SECRET_KEY", default="")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("Set SECRET_KEY (or DEBUG=true for local development).")
    SECRET_KEY = "django-insecure-local-development-only-do-not-deploy"

# ALLOWED_HOSTS: comma-separated host names the portal answers to.
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])

# SITE_URL: the public base URL of the portal, used for links that leave the request
# (emails, Salesforce Url__c). Defaults to the development server.
SITE_URL = env.str("SITE_URL", default="http://127.0.0.1:8000").rstrip("/")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "allauth",
    "allauth.account",
    "django_celery_beat",
    "ninja",  # serves the API docs' Swagger UI from our static files, not a CDN
    "thankview",
    "contacts",
    "engagement",
    "integrations",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "allauth.account.middleware.AccountMiddleware",
]

ROOT_URLCONF = "thankview.urls"
WSGI_APPLICATION = "thankview.wsgi.application"

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
                "thankview.context_processors.portals",
                "integrations.salesforce.banners.banners",
            ],
            # ``when``: every page's one date format (thankview.dates).
            "builtins": ["thankview.templatetags.dates"],
        },
    },
]

# DATABASE_URL: PostgreSQL, e.g. postgres://user:pass@host:5432/name (the only database the
# code supports: the sync lock, the search index and the bulk writes are PostgreSQL's).
# Development (DEBUG) defaults to the demo's embedded server, over its socket in .data/postgres,
# which `make run` starts.
if DEBUG:
    DATABASES = {"default": env.db("DATABASE_URL", default=f"postgres://postgres@/{BASE_DIR / '.data' / 'postgres'}/thankview")}
else:
    DATABASES = {"default": env.db("DATABASE_URL")}
DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# CACHE_URL: rate limits and short-lived state. Use redis://... when several processes
# serve the portal so that limits are shared.
CACHES = {"default": env.cache("CACHE_URL", default="locmemcache://")}

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]

# django-allauth: email + password, no public sign-up (portal admins invite people).
ACCOUNT_ADAPTER = "thankview.adapters.InviteOnlyAccountAdapter"
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*", "password2*"]
ACCOUNT_EMAIL_VERIFICATION = "none"
ACCOUNT_UNIQUE_EMAIL = True
ACCOUNT_LOGOUT_ON_GET = False
LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "home"
ACCOUNT_LOGOUT_REDIRECT_URL = "account_login"

LANGUAGE_CODE = "en-us"
TIME_ZONE = env.str("TIME_ZONE", default="UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}
# MEDIA_ROOT: where uploaded files (video replies, imports) are stored.
MEDIA_ROOT = Path(env.str("MEDIA_ROOT", default=str(BASE_DIR / "media")))
MEDIA_URL = "media/"

# Uploads: contact imports are refused above this size, with a message that says so.
CONTACT_IMPORT_MAX_BYTES = env.int("CONTACT_IMPORT_MAX_BYTES", default=20 * 1024 * 1024)
DATA_UPLOAD_MAX_MEMORY_SIZE = env.int("DATA_UPLOAD_MAX_MEMORY_SIZE", default=5 * 1024 * 1024)
FILE_UPLOAD_MAX_MEMORY_SIZE = 2_621_440

# Recipient endpoints: events accepted per send token per window (then 429), and the
# largest uploaded video reply.
ENGAGEMENT_RATE_LIMIT = env.int("ENGAGEMENT_RATE_LIMIT", default=120)
ENGAGEMENT_RATE_WINDOW = env.int("ENGAGEMENT_RATE_WINDOW", default=600)
# REST API requests accepted per API key per window (then 429 with Retry-After). 1,200 a
# minute is 20 requests a second: 20,000 events a second in full batches.
API_RATE_LIMIT = env.int("API_RATE_LIMIT", default=1200)
API_RATE_WINDOW = env.int("API_RATE_WINDOW", default=60)
VIDEO_REPLY_MAX_BYTES = env.int("VIDEO_REPLY_MAX_BYTES", default=50 * 1024 * 1024)

# EMAIL_URL: smtp://user:pass@host:587 (smtp+tls://...) or consolemail:// (default).
vars().update(env.email_url("EMAIL_URL", default="consolemail://"))
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="ThankView <no-reply@thankview.local>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
# ADMINS: comma-separated emails of ThankView's operators. They get the mails only operators can
# act on (e.g. Salesforce refusing our connected app's consumer key or secret).
ADMINS = [(email.split("@")[0], email) for email in env.list("ADMINS", default=[]) if email]

# FIELD_ENCRYPTION_KEYS: comma-separated Fernet keys; the first encrypts, all decrypt, so
# keys rotate by putting a new key first. Development derives one from SECRET_KEY.
FIELD_ENCRYPTION_KEYS = env.list("FIELD_ENCRYPTION_KEYS", default=[])
if not FIELD_ENCRYPTION_KEYS:
    if not DEBUG:
        raise ImproperlyConfigured("Set FIELD_ENCRYPTION_KEYS (Fernet keys, comma-separated).")
    FIELD_ENCRYPTION_KEYS = [
        base64.urlsafe_b64encode(hashlib.sha256(SECRET_KEY.encode()).digest()).decode()
    ]

# Celery. CELERY_BROKER_URL: a Redis server (`make run` starts an embedded one).
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="redis://127.0.0.1:6379/0")
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", False)
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TIMEZONE = "UTC"
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
# Beat stores a periodic task's last run after every message it sends (not every 3 minutes),
# so the pages' "Next run" is right from the first run on (integrations.salesforce.schedule).
CELERY_BEAT_SYNC_EVERY = 1

# Salesforce. With no SALESFORCE_CLIENT_ID the portal talks to the local simulator
# (sfsim), which `make run` starts; the settings page says so plainly.
SALESFORCE_SIMULATOR_URL = env.str("SALESFORCE_SIMULATOR_URL", default="https://127.0.0.1:8765")
SALESFORCE_CLIENT_ID = env.str("SALESFORCE_CLIENT_ID", default="")
SALESFORCE_USES_SIMULATOR = not SALESFORCE_CLIENT_ID
if SALESFORCE_USES_SIMULATOR:
    SALESFORCE_CLIENT_ID = "sfsim-client-id"
    SALESFORCE_CLIENT_SECRET = "sfsim-client-secret"
    SALESFORCE_LOGIN_URL = env.str("SALESFORCE_LOGIN_URL", default=SALESFORCE_SIMULATOR_URL)
    SALESFORCE_SANDBOX_URL = env.str("SALESFORCE_SANDBOX_URL", default=SALESFORCE_SIMULATOR_URL)
    # SALESFORCE_CA_BUNDLE: the simulator's self-signed CA (development and tests only).
    SALESFORCE_CA_BUNDLE = env.str("SALESFORCE_CA_BUNDLE", default=str(BASE_DIR / ".sfsim" / "ca.pem"))
else:
    SALESFORCE_CLIENT_SECRET = env.str("SALESFORCE_CLIENT_SECRET", default="")
    if not SALESFORCE_CLIENT_SECRET:
        raise ImproperlyConfigured("SALESFORCE_CLIENT_ID is set but SALESFORCE_CLIENT_SECRET is not.")
    SALESFORCE_LOGIN_URL = env.str("SALESFORCE_LOGIN_URL", default="https://login.salesforce.com")
    SALESFORCE_SANDBOX_URL = env.str("SALESFORCE_SANDBOX_URL", default="https://test.salesforce.com")
    SALESFORCE_CA_BUNDLE = env.str("SALESFORCE_CA_BUNDLE", default="") or None
SALESFORCE_API_VERSION = env.str("SALESFORCE_API_VERSION", default="62.0")
# How often the sync runs, and how long activity settles before it is synced.
SALESFORCE_SYNC_INTERVAL_SECONDS = env.int("SALESFORCE_SYNC_INTERVAL_SECONDS", default=7200)
SALESFORCE_SYNC_BUFFER_SECONDS = env.int("SALESFORCE_SYNC_BUFFER_SECONDS", default=1800)
# A sync run stops before the org's remaining daily API requests (GET /limits) fall below
# this share of its daily maximum, leaving room for the customer's other integrations.
SALESFORCE_API_RESERVE_PERCENT = env.int("SALESFORCE_API_RESERVE_PERCENT", default=10)
# Salesforce client: per-call timeout, and bounded retries of transient failures
# (exponential backoff with jitter: base * 2^n seconds, capped at max).
SALESFORCE_TIMEOUT_SECONDS = env.float("SALESFORCE_TIMEOUT_SECONDS", default=20.0)
SALESFORCE_RETRY_ATTEMPTS = env.int("SALESFORCE_RETRY_ATTEMPTS", default=4)
SALESFORCE_RETRY_BASE_SECONDS = env.float("SALESFORCE_RETRY_BASE_SECONDS", default=0.5)
SALESFORCE_RETRY_MAX_WAIT_SECONDS = env.float("SALESFORCE_RETRY_MAX_WAIT_SECONDS", default=8.0)
# Scale: a run with more due sends than this writes them with Bulk API 2.0 ingest
# jobs (a few API calls for any N) instead of sObject Collections (one call per 200).
SALESFORCE_BULK_THRESHOLD = env.int("SALESFORCE_BULK_THRESHOLD", default=2000)
# Bulk job polling: first wait, backoff cap, and how long a run waits for one job before it
# leaves the job's sends due (their outcome is then recovered by the next run).
SALESFORCE_BULK_POLL_INITIAL_SECONDS = env.float("SALESFORCE_BULK_POLL_INITIAL_SECONDS", default=0.5)
SALESFORCE_BULK_POLL_MAX_SECONDS = env.float("SALESFORCE_BULK_POLL_MAX_SECONDS", default=10.0)
SALESFORCE_BULK_JOB_TIMEOUT_SECONDS = env.float("SALESFORCE_BULK_JOB_TIMEOUT_SECONDS", default=1800.0)
# Celery time limits of one portal's sync task: the soft limit stops the run cleanly (what
# was not written stays due), the hard limit kills a stuck worker process.
SALESFORCE_SYNC_SOFT_TIME_LIMIT_SECONDS = env.int("SALESFORCE_SYNC_SOFT_TIME_LIMIT_SECONDS", default=3300)
SALESFORCE_SYNC_TIME_LIMIT_SECONDS = env.int("SALESFORCE_SYNC_TIME_LIMIT_SECONDS", default=3600)
# A run that could not reach Salesforce is retried on the portal's own task message, after
# base * 2^n seconds (capped at 15 minutes, with jitter), up to 3 times before the next cycle.
SALESFORCE_SYNC_RETRY_BASE_SECONDS = env.float("SALESFORCE_SYNC_RETRY_BASE_SECONDS", default=60.0)

# Production hardening; `manage.py check --deploy` passes with these when DEBUG is off.
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if env_bool("BEHIND_TLS_PROXY", False) else None
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", not DEBUG)
SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", not DEBUG)
CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", not DEBUG)
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0 if DEBUG else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", not DEBUG)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", not DEBUG)
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"

# Content-Security-Policy on every response (django-csp; Django's own CSP support starts
# with 6.0). No inline script anywhere: page behaviour lives in static/js. Style attributes
# are allowed (the charts and a few layouts use them), <style> blocks are not. Campaign
# videos may be hosted anywhere. No form-action: connecting Salesforce posts here and is
# redirected to the org's login page, which form-action would block.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [CSP_SELF],
        "script-src": [CSP_SELF],
        "style-src": [CSP_SELF],
        "style-src-attr": [CSP_UNSAFE_INLINE],
        "img-src": [CSP_SELF, "data:"],
        "media-src": [CSP_SELF, "https:", "http:"],
        "connect-src": [CSP_SELF],
        "object-src": [CSP_NONE],
        "base-uri": [CSP_SELF],
        "frame-ancestors": [CSP_NONE],
    }
}
SESSION_COOKIE_HTTPONLY = True
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

LOG_LEVEL = env.str("LOG_LEVEL", default="INFO")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}
