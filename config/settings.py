"""Settings for My Sjögren's Diary, all read from the environment.

DJANGO_ENV selects the mode:
- development (default): the embedded mode of the first README command; SQLite, Celery eager,
  console email, a generated local key file under var/.
- test: like development, but DATABASE_URL and CELERY_BROKER_URL point at real PostgreSQL and
  Redis (set by `make test`).
- production: every secret must come from the environment; Django's deploy checklist is on.
"""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

from config.env import env, envsecret
from config.local_keys import ensure_local_key_file, parse_kek_list

BASE_DIR = Path(__file__).resolve().parent.parent

DJANGO_ENV = env.str("DJANGO_ENV", default="development")
if DJANGO_ENV not in {"development", "test", "production"}:
    raise ImproperlyConfigured(
        f"DJANGO_ENV={DJANGO_ENV!r} is not one of development, test, production."
    )
PRODUCTION = DJANGO_ENV == "production"
DEBUG = env.bool("DJANGO_DEBUG", default=False)

# --- Secrets and keys -----------------------------------------------------------------------
LOCAL_KEY_FILE = Path(env.str("LOCAL_KEY_FILE", default=str(BASE_DIR / "var" / "local_keys.json")))
if PRODUCTION:
    SECRET_KEY = envsecret("DJANGO_SECRET_KEY", required=True)
    _kek_raw = envsecret("DIARY_KEKS", required=True)
else:
    _local = ensure_local_key_file(LOCAL_KEY_FILE)
    SECRET_KEY = envsecret("DJANGO_SECRET_KEY", required=False, default=_local["secret_key"])
    _kek_raw = envsecret("DIARY_KEKS", required=False)
    if not _kek_raw:
        _kek_raw = ",".join(f"{k['id']}:{k['key']}" for k in _local["keks"])
try:
    # Key-encryption keys, in order: the first wraps new data keys, all of them unwrap.
    DIARY_KEKS: list[tuple[str, bytes]] = parse_kek_list(_kek_raw)
except ValueError as exc:
    raise ImproperlyConfigured(f"DIARY_KEKS is malformed: {exc}") from exc
if not DIARY_KEKS:
    raise ImproperlyConfigured("DIARY_KEKS must name at least one key-encryption key.")
del _kek_raw

# Web Push (VAPID, RFC 8292) keys for reminders: base64url raw P-256 private scalar and
# uncompressed public point. Production sets both; elsewhere the local key file holds a pair.
VAPID_PRIVATE_KEY = envsecret("VAPID_PRIVATE_KEY", required=False)
VAPID_PUBLIC_KEY = env.str("VAPID_PUBLIC_KEY", default="")
if not PRODUCTION and not VAPID_PRIVATE_KEY:
    VAPID_PRIVATE_KEY = _local["vapid"]["private_key"]
    VAPID_PUBLIC_KEY = _local["vapid"]["public_key"]
if bool(VAPID_PRIVATE_KEY) != bool(VAPID_PUBLIC_KEY):
    raise ImproperlyConfigured("Set both VAPID_PRIVATE_KEY and VAPID_PUBLIC_KEY, or neither.")

ALLOWED_HOSTS = env.list(
    "DJANGO_ALLOWED_HOSTS", default=[] if PRODUCTION else ["127.0.0.1", "localhost", "testserver"]
)
CSRF_TRUSTED_ORIGINS = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])

# --- Applications ---------------------------------------------------------------------------
INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.sites",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "allauth",
    "allauth.account",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "axes",
    "django_celery_beat",
    "csp",
    "accounts",
    "diary",
    "consent",
    "registry_export",
    "imaging",
    "clinic",
    "reminders",
    "pwa",
    "demo",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # Permissions-Policy everywhere; Cache-Control: no-store for signed-in people and the API.
    "accounts.middleware.ResponseHeadersMiddleware",
    # Before anything reads the path or the body: a NUL byte is refused with a 400.
    "accounts.middleware.RequestGuardMiddleware",
    # Compresses pages (a five-year trends page is mostly chart data) and any static file that
    # whitenoise has no precompressed copy of (development). Django >= 4.2 pads the gzip
    # header by a random length, its mitigation of BREACH for pages that carry a CSRF token.
    "django.middleware.gzip.GZipMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "accounts.middleware.RequestIdMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    # After sessions, before CommonMiddleware (Django's documented order): the browser's
    # Accept-Language (or the language cookie) chooses among LANGUAGES for everyone ...
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "accounts.middleware.TwoFactorRequiredMiddleware",
    # ... and a signed-in person's own choice (Settings) overrides it, once the user is known.
    "accounts.middleware.UserLanguageMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    # Axes last, as its documentation asks, so that it sees the outcome of every login view.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
SITE_ID = 1

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
                "accounts.context_processors.navigation",
                "accounts.context_processors.site",
            ],
        },
    },
]

# --- Database -------------------------------------------------------------------------------
DATABASES = {
    "default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'var' / 'db.sqlite3'}")
}
DATABASES["default"]["ATOMIC_REQUESTS"] = False
# Production keeps each worker's connection open (a new PostgreSQL connection per request
# costs more than a diary write: bench/bench_load.py) and checks it before reuse. Tests and
# development open one per request, so that no test leaves a connection behind.
PRODUCTION_CONN_MAX_AGE = 60
DATABASES["default"]["CONN_MAX_AGE"] = env.int(
    "DATABASE_CONN_MAX_AGE", default=PRODUCTION_CONN_MAX_AGE if PRODUCTION else 0
)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
if PRODUCTION and DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql":
    raise ImproperlyConfigured("Production needs PostgreSQL: set DATABASE_URL=postgres://...")
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Cache: Redis where configured (shared by every process), local memory otherwise --------
REDIS_URL = env.str("REDIS_URL", default="")
if REDIS_URL:
    CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
if DJANGO_ENV == "test":
    # Throttle and lockout counters live in the cache. Parallel test workers (pytest-xdist sets
    # PYTEST_XDIST_WORKER; processes a test starts inherit it) share one Redis database, so
    # each worker keeps its own key space and tests/conftest.py clears only that.
    CACHES["default"]["KEY_PREFIX"] = "test-" + os.environ.get("PYTEST_XDIST_WORKER", "main")

# --- Authentication -------------------------------------------------------------------------
AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    # Axes first: it refuses locked-out credentials before any password is checked.
    "axes.backends.AxesStandaloneBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 10},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "home"

ACCOUNT_USER_MODEL_USERNAME_FIELD = None
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*", "password2*"]
ACCOUNT_EMAIL_VERIFICATION = "mandatory"
ACCOUNT_UNIQUE_EMAIL = True
ACCOUNT_LOGOUT_ON_PASSWORD_CHANGE = False
ACCOUNT_LOGIN_ON_EMAIL_CONFIRMATION = False
ACCOUNT_CONFIRM_EMAIL_ON_GET = False
ACCOUNT_ADAPTER = "accounts.adapter.AccountAdapter"
# The browser's time zone at sign-up (hidden field, static/accounts/time_zone.js).
ACCOUNT_SIGNUP_FORM_CLASS = "accounts.forms.SignupTimeZoneForm"
ACCOUNT_SESSION_REMEMBER = False
ACCOUNT_PREVENT_ENUMERATION = True
# django-axes and accounts/lockout.py own login lockout (and count OTP failures too), so allauth's
# own counters are off: its "login" limit (30 a minute per address, successes included) would lock
# a whole hospital network out together, which is what accounts/lockout.py exists to prevent.
ACCOUNT_RATE_LIMITS = {"login_failed": None, "login": None}

AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("AXES_COOLOFF_MINUTES", default=15))
# The account AND the address together: someone else's wrong passwords from elsewhere never lock
# the owner out. accounts/lockout.py adds the progressive delay, the per-address limit that
# scales with the accounts signing in there, the per-account limit, and unlock by reset email.
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_HANDLER = "accounts.lockout.LockoutHandler"
AXES_USERNAME_CALLABLE = "accounts.lockout.username_from"
AXES_LOCKOUT_CALLABLE = "accounts.lockout.lockout_response"
# Reverse proxies in front of gunicorn that append to X-Forwarded-For (production: one, the TLS
# terminator). The lockout rules need each person's own address (accounts.lockout.client_address).
TRUSTED_PROXY_COUNT = env.int("TRUSTED_PROXY_COUNT", default=1 if PRODUCTION else 0)
AXES_CLIENT_IP_CALLABLE = "accounts.lockout.client_address"
AXES_LOCKOUT_TEMPLATE = "accounts/locked_out.html"
AXES_RESET_ON_SUCCESS = True
AXES_VERBOSE = False

OTP_TOTP_ISSUER = "My Sjögren's Diary"
# Roles that must pass two-factor before they see anyone else's data (DESIGN.md section 2).
TWO_FACTOR_REQUIRED_ROLES = {"clinician", "researcher", "staff"}

SESSION_COOKIE_HTTPONLY = True
# Flash messages ("Successfully signed in as <email>") live in the server-side session, never in
# a cookie of their own: no cookie carries personal data (tests/accounts/test_cookies.py).
MESSAGE_STORAGE = "django.contrib.messages.storage.session.SessionStorage"
SESSION_COOKIE_AGE = env.int("SESSION_COOKIE_AGE", default=60 * 60 * 8)
SESSION_EXPIRE_AT_BROWSER_CLOSE = True

# --- Email ----------------------------------------------------------------------------------
if PRODUCTION or env.str("EMAIL_HOST", default=""):
    EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    EMAIL_HOST = env.str("EMAIL_HOST", default="localhost")
    EMAIL_PORT = env.int("EMAIL_PORT", default=587)
    EMAIL_HOST_USER = env.str("EMAIL_HOST_USER", default="")
    EMAIL_HOST_PASSWORD = envsecret("EMAIL_HOST_PASSWORD", required=False)
    EMAIL_USE_TLS = env.bool("EMAIL_USE_TLS", default=True)
else:
    EMAIL_BACKEND = "django.core.mail.backends.console.EmailBackend"
# A mail server that accepts the connection and then says nothing must not hold a web worker.
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT", default=10)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="diary@localhost")
# The name the portal calls itself in pages and mails (allauth's mails would otherwise say
# "example.com", the name of django.contrib.sites' first Site); SITE_DOMAIN: the host named in
# mails ("" = the host of the request that sent them).
SITE_NAME = env.str("SITE_NAME", default="My Sjögren's Diary")
SITE_DOMAIN = env.str("SITE_DOMAIN", default="")

# --- The site as messages name it (reminder emails and pushes link back to SITE_URL) --------
SITE_URL = env.str(
    "SITE_URL",
    default=f"https://{ALLOWED_HOSTS[0]}"
    if PRODUCTION and ALLOWED_HOSTS
    else "http://127.0.0.1:8000",
).rstrip("/")
if PRODUCTION and not SITE_URL.startswith("https://"):
    raise ImproperlyConfigured("Production needs SITE_URL=https://... (links in reminders).")

# --- Reminders (reminders/) ------------------------------------------------------------------
# Patients read per batch; each batch's emails share one SMTP connection.
REMINDERS_BATCH_SIZE = env.int("REMINDERS_BATCH_SIZE", default=1000)
# Optional mailto: for List-Unsubscribe beside the one-click https URL (RFC 2369, RFC 8058).
REMINDERS_UNSUBSCRIBE_MAILTO = env.str("REMINDERS_UNSUBSCRIBE_MAILTO", default="")
# A reminder link (opening the day page) stays valid this long.
REMINDERS_LINK_MAX_AGE_DAYS = env.int("REMINDERS_LINK_MAX_AGE_DAYS", default=7)
# Web Push endpoints must be https; plain http to the loopback only for tests and DEBUG.
REMINDERS_ALLOW_LOOPBACK_PUSH = env.bool(
    "REMINDERS_ALLOW_LOOPBACK_PUSH", default=DEBUG or DJANGO_ENV == "test"
)

# --- Internationalisation -------------------------------------------------------------------
LANGUAGE_CODE = "en-gb"
# The interface languages offered, each named in its own language (how a reader finds theirs).
# Adding one: a locale/<code>/LC_MESSAGES/django.po, compiled to django.mo (both committed).
LANGUAGES = [
    ("en-gb", "English"),
    ("de", "Deutsch"),
]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# --- Static files (whitenoise; no CDN: the app must work on a closed hospital network) ------
STATIC_URL = "/static/"
# Production serves collected files; elsewhere whitenoise reads the app folders directly.
STATIC_ROOT = BASE_DIR / "staticfiles" if PRODUCTION else None
STATICFILES_DIRS = [BASE_DIR / "static"]
STATICFILES_FINDERS = [
    "django.contrib.staticfiles.finders.FileSystemFinder",
    "django.contrib.staticfiles.finders.AppDirectoriesFinder",
]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "whitenoise.storage.CompressedManifestStaticFilesStorage"
            if PRODUCTION
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}
# Outside production, whitenoise serves straight from the app folders (no collectstatic step).
WHITENOISE_USE_FINDERS = not PRODUCTION
MEDIA_ROOT = Path(env.str("MEDIA_ROOT", default=str(BASE_DIR / "var" / "media")))
# Registry export files (pseudonymised); shared storage when workers run on several machines.
REGISTRY_EXPORT_ROOT = Path(env.str("REGISTRY_EXPORT_ROOT", default=str(MEDIA_ROOT / "exports")))
# Canonical base of the project's own FHIR definitions (CodeSystem, Questionnaire, NamingSystem
# URLs in every export, served under /fhir/). A registry resolves these URLs, so production sets
# the public address; never a placeholder domain.
SITE_URL = env.str("SITE_URL", default="http://localhost:8000").rstrip("/")
FHIR_CANONICAL_BASE = env.str("FHIR_CANONICAL_BASE", default=f"{SITE_URL}/fhir").rstrip("/")
# Processes `export_run` (the foreground command) writes partitions with. Tests keep 1: their
# data sits in a transaction that other processes cannot see. SQLite always uses 1.
REGISTRY_EXPORT_WORKERS = env.int(
    "REGISTRY_EXPORT_WORKERS", default=1 if DJANGO_ENV == "test" else (os.cpu_count() or 1)
)
# How long a worker's claim on an export partition lasts without renewal (issue 16). The writer
# renews it between patients; a worker that dies stops renewing, and once the lease has run out
# every live worker's reclaim sweep (every half lease) hands the partition to another worker.
REGISTRY_EXPORT_LEASE_SECONDS = env.int("REGISTRY_EXPORT_LEASE_SECONDS", default=120)
if REGISTRY_EXPORT_LEASE_SECONDS < 2:
    raise ImproperlyConfigured("REGISTRY_EXPORT_LEASE_SECONDS must be at least 2.")

# --- Celery ---------------------------------------------------------------------------------
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="memory://")
CELERY_TASK_ALWAYS_EAGER = env.bool(
    "CELERY_TASK_ALWAYS_EAGER", default=not PRODUCTION and DJANGO_ENV != "test"
)
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_RESULT_BACKEND = None
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# Longer than the longest single task (an export partition, an imaging inference), so that Redis
# does not redeliver a task still running. Export recovery does not wait for it: a worker that
# starts resumes stalled runs and the partition lease hands a dead worker's partition over
# within minutes (registry_export.tasks); the redelivery, hours later, then finds it done.
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": env.int("CELERY_VISIBILITY_TIMEOUT", default=6 * 60 * 60)
}
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
# Static entries; django-celery-beat's DatabaseScheduler copies them into its tables at start.
CELERY_BEAT_SCHEDULE = {
    "reminders-dispatch": {
        "task": "reminders.tasks.reminders_dispatch",
        "schedule": timedelta(minutes=env.int("REMINDERS_TICK_MINUTES", default=5)),
        # A tick that waited longer than the next one is pointless: the next covers it.
        "options": {"expires": 4 * 60},
    },
}
CELERY_TIMEZONE = "UTC"
if PRODUCTION and CELERY_BROKER_URL.startswith("memory"):
    raise ImproperlyConfigured("Production needs a real broker: set CELERY_BROKER_URL=redis://...")

# --- REST API -------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "accounts.api_auth.ExpiringTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": [
        "rest_framework.permissions.IsAuthenticated",
        "accounts.permissions.TwoFactorSatisfied",
    ],
    "DEFAULT_PAGINATION_CLASS": "accounts.api_pagination.StrictPageNumberPagination",
    "PAGE_SIZE": 100,
    "DEFAULT_THROTTLE_CLASSES": [
        "rest_framework.throttling.AnonRateThrottle",
        "rest_framework.throttling.UserRateThrottle",
    ],
    "DEFAULT_THROTTLE_RATES": {
        "anon": env.str("API_THROTTLE_ANON", default="60/min"),
        "user": env.str("API_THROTTLE_USER", default="600/min"),
        "token": env.str("API_THROTTLE_TOKEN", default="10/min"),
    },
    # JSON with a size and a nesting-depth limit (accounts/request_limits.py): 400, not 500.
    "DEFAULT_PARSER_CLASSES": [
        "accounts.request_limits.LimitedJSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    # drf-spectacular's AutoSchema, plus every refusal an operation can answer with.
    "DEFAULT_SCHEMA_CLASS": "accounts.api_schema.ApiSchema",
    "EXCEPTION_HANDLER": "accounts.api_errors.exception_handler",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "My Sjögren's Diary API",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # Swagger UI from the sidecar package's static files, never a CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # Request bodies get their own components, so they can say what a request must hold (a
    # required text may not be blank) while a response may hold anything its serializer gives.
    "COMPONENT_SPLIT_REQUEST": True,
    # The error bodies every refusal uses (accounts/api_schema.py).
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "accounts.api_schema.add_error_components",
    ],
}
# Request bodies other than uploaded files (forms, JSON) and their number of fields; Django
# refuses larger ones, and accounts.request_limits applies the same size to JSON.
DATA_UPLOAD_MAX_MEMORY_SIZE = env.int("DATA_UPLOAD_MAX_MEMORY_SIZE", default=2_621_440)
DATA_UPLOAD_MAX_NUMBER_FIELDS = env.int("DATA_UPLOAD_MAX_NUMBER_FIELDS", default=1000)
API_TOKEN_TTL = timedelta(hours=env.int("API_TOKEN_TTL_HOURS", default=12))

# --- Content-Security-Policy (django-csp 4): no inline script, no unsafe-inline ------------
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:", "blob:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
        # The installable app (pwa/): its service worker and manifest, from this site only.
        "worker-src": ["'self'"],
        "manifest-src": ["'self'"],
    }
}

# --- Security headers and the deploy checklist ---------------------------------------------
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
# Browser features no page of the diary uses, refused for every page (and anything injected).
PERMISSIONS_POLICY: dict[str, list[str]] = {
    feature: []
    for feature in (
        "accelerometer",
        "ambient-light-sensor",
        "autoplay",
        "bluetooth",
        "camera",
        "display-capture",
        "geolocation",
        "gyroscope",
        "hid",
        "magnetometer",
        "microphone",
        "midi",
        "payment",
        "serial",
        "usb",
        "xr-spatial-tracking",
    )
}
PERMISSIONS_POLICY["fullscreen"] = ["self"]
CSRF_COOKIE_HTTPONLY = False
CSRF_FAILURE_VIEW = "accounts.views.csrf_failure"
if PRODUCTION:
    SECURE_SSL_REDIRECT = env.bool("DJANGO_SECURE_SSL_REDIRECT", default=True)
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = env.int("DJANGO_SECURE_HSTS_SECONDS", default=60 * 60 * 24 * 365)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = env.bool("DJANGO_SECURE_HSTS_PRELOAD", default=True)
    SESSION_COOKIE_NAME = "__Secure-sessionid"
    CSRF_COOKIE_NAME = "__Secure-csrftoken"

# --- Questionnaires: a site's licensed wording of OSDI / EQ-5D-5L (diary/questionnaires) -----
QUESTIONNAIRE_TEXT_DIR = env.str("QUESTIONNAIRE_TEXT_DIR", default="")

# --- Imaging --------------------------------------------------------------------------------
IMAGING_BUNDLE_DIRS = [Path(p) for p in env.list("IMAGING_BUNDLE_DIRS", default=[])]
# MRI series (imaging.mri.volume): checked from a zip's central directory or a NIfTI header
# before anything is decompressed. The defaults fit a 30-slice 512 x 512 series many times over
# and keep one upload's decoded volume under ~250 MB of a web worker's memory.
MRI_MAX_FILES = env.int("MRI_MAX_FILES", default=1000)  # files (slices) per series
MRI_MAX_VOXELS = env.int("MRI_MAX_VOXELS", default=64_000_000)
MRI_MAX_BYTES = env.int("MRI_MAX_BYTES", default=256 * 1024 * 1024)  # upload, compressed
MRI_MAX_UNCOMPRESSED_BYTES = env.int("MRI_MAX_UNCOMPRESSED_BYTES", default=512 * 1024 * 1024)
MRI_MAX_COMPRESSION_RATIO = env.int("MRI_MAX_COMPRESSION_RATIO", default=100)
MRI_MIN_SLICES = env.int("MRI_MIN_SLICES", default=3)
# Files in one multipart request (Django's default is 100): a series sent as loose files may
# have as many as MRI_MAX_FILES; Django stops parsing past this (a 400), before the rest is read.
DATA_UPLOAD_MAX_NUMBER_FILES = env.int("DATA_UPLOAD_MAX_NUMBER_FILES", default=MRI_MAX_FILES)

# --- Logging: structured lines, never patient data ------------------------------------------
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_id": {"()": "accounts.logging.RequestIdFilter"}},
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"}
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "plain",
            "filters": ["request_id"],
        }
    },
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        "axes": {"level": "WARNING"},
        # WeasyPrint (the summary PDF) logs each rendering step at INFO; its warnings still show.
        "weasyprint": {"level": "WARNING"},
    },
}
