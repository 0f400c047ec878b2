"""Causeway settings, read from the environment.

Local use needs nothing set: SQLite under var/, Celery running tasks eagerly, DEBUG on.
Production sets DEBUG=false, SECRET_KEY, DATABASE_URL, CELERY_BROKER_URL and ALLOWED_HOSTS;
the typed helpers below refuse a malformed value at start-up instead of failing later.
"""

import json
import math
import os
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

# The apps' own checks of their settings, from their plain-Python modules (none imports Django),
# so a bad value is refused here at start-up, in the words the app would use later.
from catalog.reading import parse_allow_hosts
from scaffolder.actions.publish import git_hosts_from_settings
from scaffolder.provisioning.offerings import ProvisioningSettings, SettingsError
from scaffolder.provisioning.quotas import TTLError, parse_ttl
from scorecards.dora import PERFORMANCE_TABLES

BASE_DIR = Path(__file__).resolve().parent.parent


def env_str(name: str, default: str = "") -> str:
    return os.environ.get(name, default).strip()


def env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    value = raw.strip().lower()
    if value in {"1", "true", "yes", "on"}:
        return True
    if value in {"0", "false", "no", "off"}:
        return False
    raise ImproperlyConfigured(f"{name} must be true or false, got {raw!r}")


def env_int(name: str, default: int, *, minimum: int = 0) -> int:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = int(raw.strip())
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a whole number, got {raw!r}")
    if value < minimum:
        raise ImproperlyConfigured(f"{name} must be at least {minimum}, got {value}")
    return value


def env_float(name: str, default: float, *, minimum: float = 0) -> float:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return float(default)
    try:
        value = float(raw.strip())
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a number, got {raw!r}")
    if not math.isfinite(value):
        raise ImproperlyConfigured(f"{name} must be a finite number, got {raw!r}")
    if value < minimum:
        raise ImproperlyConfigured(f"{name} must be at least {minimum:g}, got {value:g}")
    return value


def env_list(name: str, default: list[str] | None = None) -> list[str]:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return list(default or [])
    return [item.strip() for item in raw.split(",") if item.strip()]


def env_choice(name: str, default: str, choices) -> str:
    value = env_str(name) or default
    if value not in choices:
        raise ImproperlyConfigured(f"{name} must be one of {', '.join(choices)}, got {value!r}")
    return value


def env_json_object(name: str) -> dict | None:
    """A JSON object, or None when unset. Errors never quote the value: it may hold tokens."""
    raw = env_str(name)
    if not raw:
        return None
    try:
        value = json.loads(raw)
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name} must be a JSON object: {exc}") from None
    if not isinstance(value, dict):
        kind = "an array" if isinstance(value, list) else "a string" if isinstance(value, str) else "a scalar"
        raise ImproperlyConfigured(f"{name} must be a JSON object, not {kind}")
    return value


DEBUG = env_bool("DEBUG", True)

SECRET_KEY = env_str("SECRET_KEY")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "SECRET_KEY must be set when DEBUG is off (generate one with "
            "`python3 -c 'import secrets; print(secrets.token_urlsafe(50))'`)"
        )
    SECRET_KEY = "django-insecure-local-only-causeway-key-never-use-in-production-0123456789"  # noqa: S105

ALLOWED_HOSTS = env_list(
    "ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]", "testserver"] if DEBUG else []
)
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")

VAR_DIR = Path(env_str("CAUSEWAY_VAR_DIR", str(BASE_DIR / "var")))

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django.contrib.postgres",  # search lookups on PostgreSQL; inert on SQLite
    "django_htmx",
    "template_partials",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_filters",
    "allauth",
    "allauth.account",
    "allauth.socialaccount",
    "allauth.socialaccount.providers.github",
    "allauth.socialaccount.providers.openid_connect",
    "portal",
    "catalog",
    "scaffolder",
    "scaffolder.provisioning",
    "techdocs",
    "scorecards",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "portal.middleware.SignInRequiredMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "allauth.account.middleware.AccountMiddleware",
]

ROOT_URLCONF = "portal.urls"
WSGI_APPLICATION = "portal.wsgi.application"
ASGI_APPLICATION = "portal.asgi.application"

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
                "portal.context_processors.portal",
            ],
        },
    },
]

if not env_str("DATABASE_URL"):
    VAR_DIR.mkdir(parents=True, exist_ok=True)
DATABASES = {
    "default": dj_database_url.parse(
        env_str("DATABASE_URL") or f"sqlite:///{VAR_DIR / 'causeway.sqlite3'}",
        conn_max_age=env_int("DATABASE_CONN_MAX_AGE", 60),
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets the eager-mode web process and a browser test's live server read while writing.
    DATABASES["default"].setdefault("OPTIONS", {})["init_command"] = "PRAGMA journal_mode=WAL;"
    DATABASES["default"]["OPTIONS"]["transaction_mode"] = "IMMEDIATE"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

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

LANGUAGE_CODE = "en-us"
TIME_ZONE = env_str("TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = VAR_DIR / "static"
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_ROOT = VAR_DIR / "media"
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

# Cache: in-process by default; point CACHE_URL at Redis when several processes serve the portal.
CACHE_URL = env_str("CACHE_URL")
if CACHE_URL.startswith(("redis://", "rediss://")):
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": CACHE_URL}}
elif CACHE_URL:
    raise ImproperlyConfigured(f"CACHE_URL must be a redis:// URL, got {CACHE_URL!r}")
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# Sign-in. Every page needs a signed-in user unless anonymous read-only browsing is switched on.
LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "home"
ACCOUNT_LOGOUT_REDIRECT_URL = "account_login"
CAUSEWAY_ANONYMOUS_READ = env_bool("CAUSEWAY_ANONYMOUS_READ", False)
CAUSEWAY_ALLOW_SIGNUP = env_bool("CAUSEWAY_ALLOW_SIGNUP", False)
ACCOUNT_ADAPTER = "portal.accounts.AccountAdapter"
SOCIALACCOUNT_ADAPTER = "portal.accounts.SocialAccountAdapter"
ACCOUNT_LOGIN_METHODS = {"username", "email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "username*", "password1*", "password2*"]
ACCOUNT_EMAIL_VERIFICATION = "none"
ACCOUNT_LOGOUT_ON_GET = False
SOCIALACCOUNT_ONLY = False
SOCIALACCOUNT_PROVIDERS: dict = {}
if env_str("CAUSEWAY_GITHUB_CLIENT_ID"):
    SOCIALACCOUNT_PROVIDERS["github"] = {
        "APPS": [
            {
                "client_id": env_str("CAUSEWAY_GITHUB_CLIENT_ID"),
                "secret": env_str("CAUSEWAY_GITHUB_CLIENT_SECRET"),
            }
        ],
        "SCOPE": ["read:user", "user:email", "read:org"],
    }
if env_str("CAUSEWAY_OIDC_SERVER_URL"):
    SOCIALACCOUNT_PROVIDERS["openid_connect"] = {
        "APPS": [
            {
                "provider_id": env_str("CAUSEWAY_OIDC_PROVIDER_ID", "sso"),
                "name": env_str("CAUSEWAY_OIDC_NAME", "Single sign-on"),
                "client_id": env_str("CAUSEWAY_OIDC_CLIENT_ID"),
                "secret": env_str("CAUSEWAY_OIDC_CLIENT_SECRET"),
                "settings": {"server_url": env_str("CAUSEWAY_OIDC_SERVER_URL")},
            }
        ]
    }

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.SessionAuthentication",
        "rest_framework.authentication.TokenAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["portal.permissions.SignedInOrAnonymousRead"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Causeway API",
    "DESCRIPTION": "Catalog, scaffolder, TechDocs, scorecards and DORA endpoints of the Causeway portal.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    # Served from our own static files: the portal must work without reaching a CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}

# Celery: without a broker, tasks run in-process (the embedded default).
CELERY_BROKER_URL = env_str("CELERY_BROKER_URL")
CELERY_RESULT_BACKEND = env_str("CELERY_RESULT_BACKEND") or (
    CELERY_BROKER_URL if CELERY_BROKER_URL.startswith(("redis://", "rediss://")) else ""
)
CELERY_TASK_ALWAYS_EAGER = not CELERY_BROKER_URL
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_TIME_LIMIT = env_int("CELERY_TASK_TIME_LIMIT", 3600, minimum=1)
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BEAT_SCHEDULE: dict = {}

# Production hardening: on whenever DEBUG is off, each switch overridable for a TLS-terminating proxy.
if not DEBUG:
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$"]
    SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", True)
    CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", True)
    SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", True)
    SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", True)
    if env_bool("SECURE_PROXY_SSL_HEADER", False):
        SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        # every eagerly run task would otherwise log a line; failures still show
        "celery.app.trace": {"level": "WARNING"},
    },
}

# Catalog
# Host patterns URL and remote git locations may be read from (e.g. "*.example.com,git.internal:8443").
CAUSEWAY_READ_ALLOW = env_str("CAUSEWAY_READ_ALLOW")
try:
    parse_allow_hosts(CAUSEWAY_READ_ALLOW)
except ValueError as _exc:
    raise ImproperlyConfigured(str(_exc)) from None
# Local folders that file locations may point into (comma-separated); the demo catalog and var/ by default.
CAUSEWAY_FILE_ROOTS = env_list(
    "CAUSEWAY_FILE_ROOTS",
    [
        str(BASE_DIR / "catalog" / "demo_catalog"),
        str(BASE_DIR / "scaffolder" / "demo_templates"),
        str(BASE_DIR / "catalog-info.yaml"),  # the portal's own entry, whose docs TechDocs builds
        str(VAR_DIR),
    ],
)
CATALOG_MAX_FILE_BYTES = env_int("CATALOG_MAX_FILE_BYTES", 5 * 1024 * 1024, minimum=1024)
CATALOG_MAX_FILES = env_int("CATALOG_MAX_FILES", 20_000, minimum=1)
CATALOG_READ_TIMEOUT = env_int("CATALOG_READ_TIMEOUT", 60, minimum=1)
CATALOG_REFRESH_INTERVAL = env_int("CATALOG_REFRESH_INTERVAL", 300, minimum=10)  # seconds
# Where remote git locations are cloned to and kept between refreshes.
CATALOG_GIT_CACHE_DIR = Path(env_str("CATALOG_GIT_CACHE_DIR") or VAR_DIR / "git-cache")
# Dotted path of a class with catalog.reading.UrlFetcher's fetch() (e.g. one adding credentials); urllib by default.
CATALOG_URL_FETCHER = env_str("CATALOG_URL_FETCHER")
# Kinds admins add: [{"kind": "Pipeline", "apiVersions": ["acme.io/v1"], "schema": "/path/schema.json"}], as JSON.
CATALOG_CUSTOM_KINDS = env_str("CATALOG_CUSTOM_KINDS")

# Scaffolder (software templates)
# Where publish:* actions push, a JSON object keyed by host, e.g. {"github.com": {"remote_base":
# "https://github.com", "api_base_url": "https://api.github.com", "token": "..."}}. It may hold tokens:
# give it in the environment only. Unset: host "localhost", bare repositories under VAR_DIR/git-repos.
SCAFFOLDER_GIT_HOSTS = env_json_object("SCAFFOLDER_GIT_HOSTS")
if SCAFFOLDER_GIT_HOSTS is not None:
    if not all(isinstance(options, dict) for options in SCAFFOLDER_GIT_HOSTS.values()):
        raise ImproperlyConfigured("SCAFFOLDER_GIT_HOSTS must map host names to settings objects")
    try:
        git_hosts_from_settings(SCAFFOLDER_GIT_HOSTS)  # unknown keys (typos) are refused by name
    except (TypeError, ValueError) as _exc:
        raise ImproperlyConfigured(f"SCAFFOLDER_GIT_HOSTS: {_exc}") from None
# Skeletons fetched by URL, read from local mirrors instead: {"<URL prefix>": "<local folder>"} as JSON.
SCAFFOLDER_REMOTE_TREES = env_json_object("SCAFFOLDER_REMOTE_TREES") or {}
SCAFFOLDER_TASK_SECONDS = env_float("SCAFFOLDER_TASK_SECONDS", 900, minimum=1)  # time limit of one run
SCAFFOLDER_STEP_SECONDS = env_float("SCAFFOLDER_STEP_SECONDS", 300, minimum=1)  # time limit of one step
# A run still "processing" this long past its time limit lost its worker and is marked failed...
SCAFFOLDER_STALE_GRACE_SECONDS = env_float("SCAFFOLDER_STALE_GRACE_SECONDS", 120)
# ...by a check that runs this often (scaffolder/schedule.py reads the variable; checked here).
SCAFFOLDER_STALE_CHECK_SECONDS = env_float("SCAFFOLDER_STALE_CHECK_SECONDS", 60, minimum=1)
# Parent folder of run workspaces; empty: the system's temporary folder.
SCAFFOLDER_WORK_DIR = env_str("SCAFFOLDER_WORK_DIR")
SCAFFOLDER_WORKSPACE_MAX_BYTES = env_int("SCAFFOLDER_WORKSPACE_MAX_BYTES", 200 * 1024 * 1024, minimum=1024)
SCAFFOLDER_WORKSPACE_MAX_FILES = env_int("SCAFFOLDER_WORKSPACE_MAX_FILES", 20_000, minimum=1)
# Dotted paths of functions f(registry) adding actions (comma-separated). Unset, the app's own default
# applies: the provisioning actions, since that app is installed.
if env_list("SCAFFOLDER_ACTION_REGISTRARS"):
    SCAFFOLDER_ACTION_REGISTRARS = env_list("SCAFFOLDER_ACTION_REGISTRARS")

# Provisioning (self-service resources committed as claims to a GitOps repository)
# Git URL (https://, ssh://, file://) or path of the GitOps repository; empty: VAR_DIR/gitops.git, made on first use.
PROVISIONING_GITOPS_REPO = env_str("PROVISIONING_GITOPS_REPO")
PROVISIONING_GITOPS_BRANCH = env_str("PROVISIONING_GITOPS_BRANCH") or "main"
# Credentials for an https remote. The token comes from the environment only and is never logged;
# Django's error reports mask settings named *TOKEN*.
PROVISIONING_GITOPS_USERNAME = env_str("PROVISIONING_GITOPS_USERNAME") or "x-access-token"
PROVISIONING_GITOPS_TOKEN = env_str("PROVISIONING_GITOPS_TOKEN")
PROVISIONING_GIT_TIMEOUT = env_float("PROVISIONING_GIT_TIMEOUT", 60, minimum=1)  # seconds per git command
# Committer of the portal's commits (each is authored by the person who asked).
PROVISIONING_COMMITTER_NAME = env_str("PROVISIONING_COMMITTER_NAME") or "Causeway Provisioning"
PROVISIONING_COMMITTER_EMAIL = env_str("PROVISIONING_COMMITTER_EMAIL") or "provisioning@causeway.invalid"


def _provisioning_value(field: str, default: str) -> str:
    """PROVISIONING_<FIELD>, checked as the provisioning app checks that field."""
    name = f"PROVISIONING_{field.upper()}"
    value = env_str(name) or default
    try:
        ProvisioningSettings(**{field: value})
    except SettingsError as exc:
        raise ImproperlyConfigured(f"{name}: {exc}") from None
    return value


PROVISIONING_CURRENCY = _provisioning_value("currency", "USD")  # of the cost tables, a three-letter code
# Preview environments are served at <name>.<team>.<this domain>.
PROVISIONING_PREVIEW_BASE_DOMAIN = _provisioning_value("preview_base_domain", "preview.example.com")
# Namespace of the ingress controller, let into team namespaces by their network policy.
PROVISIONING_INGRESS_NAMESPACE = _provisioning_value("ingress_namespace", "ingress-nginx")
# API group and version of the claim kinds the reconciler knows.
PROVISIONING_CLAIM_API_GROUP = _provisioning_value("claim_api_group", "platform.causeway.dev")
PROVISIONING_CLAIM_API_VERSION = _provisioning_value("claim_api_version", "v1alpha1")
# Longest preview TTL anyone may ask for (e.g. 72h, 7d, 1w); quota policies may lower it per group.
PROVISIONING_MAX_PREVIEW_TTL = env_str("PROVISIONING_MAX_PREVIEW_TTL") or "7d"
try:
    ProvisioningSettings(max_preview_ttl=parse_ttl(PROVISIONING_MAX_PREVIEW_TTL))
except (TTLError, SettingsError) as _exc:
    raise ImproperlyConfigured(f"PROVISIONING_MAX_PREVIEW_TTL: {_exc}") from None
# A claim this close to its expiry is marked "expiring".
PROVISIONING_EXPIRY_WARNING_HOURS = env_float("PROVISIONING_EXPIRY_WARNING_HOURS", 24)
# Seconds between runs releasing expired claims (scaffolder/provisioning/schedule.py reads it; checked here).
PROVISIONING_EXPIRY_INTERVAL = env_float("PROVISIONING_EXPIRY_INTERVAL", 900, minimum=1)

# TechDocs
# Seconds between rebuild-if-changed runs over every documented entity (techdocs/schedule.py reads it).
TECHDOCS_REBUILD_INTERVAL = env_float("TECHDOCS_REBUILD_INTERVAL", 3600, minimum=1)
TECHDOCS_MAX_PAGES = env_int("TECHDOCS_MAX_PAGES", 5000, minimum=1)  # pages one site may have
TECHDOCS_MAX_FILE_BYTES = env_int("TECHDOCS_MAX_FILE_BYTES", 10 * 1024 * 1024, minimum=1024)  # per page or file
TECHDOCS_MAX_TOTAL_BYTES = env_int("TECHDOCS_MAX_TOTAL_BYTES", 200 * 1024 * 1024, minimum=1024)  # per docs folder
TECHDOCS_MAX_BUILD_SECONDS = env_float("TECHDOCS_MAX_BUILD_SECONDS", 900, minimum=1)  # one build, checked between pages
# Seconds per git command fetching docs sources, and where the clones are kept. Unset, TechDocs uses
# CATALOG_READ_TIMEOUT and CATALOG_GIT_CACHE_DIR (read when needed, so it follows them).
if env_str("TECHDOCS_GIT_TIMEOUT"):
    TECHDOCS_GIT_TIMEOUT = env_float("TECHDOCS_GIT_TIMEOUT", CATALOG_READ_TIMEOUT, minimum=1)
if env_str("TECHDOCS_GIT_CACHE_DIR"):
    TECHDOCS_GIT_CACHE_DIR = Path(env_str("TECHDOCS_GIT_CACHE_DIR"))

# Scorecards and DORA
SCORECARDS_BATCH_SIZE = env_int("SCORECARDS_BATCH_SIZE", 2000, minimum=1)  # entities evaluated per batch
# Seconds between full evaluations of the catalog (scorecards/schedule.py reads it; checked here).
SCORECARDS_EVALUATE_INTERVAL = env_float("SCORECARDS_EVALUATE_INTERVAL", 3600, minimum=1)
# Days of DORA events behind the figures dora_threshold checks compare.
SCORECARDS_DORA_WINDOW_DAYS = env_int("SCORECARDS_DORA_WINDOW_DAYS", 30, minimum=7)
# The environment whose successful deployments count (compared case-insensitively).
DORA_PRODUCTION_ENVIRONMENT = env_str("DORA_PRODUCTION_ENVIRONMENT") or "production"
# The DORA report year whose performance levels (elite, high, medium, low) are shown.
DORA_PERFORMANCE_TABLE = env_choice("DORA_PERFORMANCE_TABLE", "2023", PERFORMANCE_TABLES)
DORA_MAX_EVENTS_PER_REQUEST = env_int("DORA_MAX_EVENTS_PER_REQUEST", 5000, minimum=1)  # events one API call may carry
# The largest request body read (Django's 2.5 MB default would refuse 5,000 deployments with a few shas each).
DATA_UPLOAD_MAX_MEMORY_SIZE = env_int("DATA_UPLOAD_MAX_MEMORY_SIZE", 10 * 1024 * 1024, minimum=1024)

# Each app may declare periodic tasks in <app>/schedule.py (a plain dict, no Django imports).
for _app in ("catalog", "scaffolder", "scaffolder.provisioning", "techdocs", "scorecards"):
    try:
        _schedule = __import__(f"{_app}.schedule", fromlist=["BEAT_SCHEDULE"])
    except ModuleNotFoundError as _exc:
        if _exc.name != f"{_app}.schedule":
            raise
        continue
    CELERY_BEAT_SCHEDULE.update(_schedule.BEAT_SCHEDULE)
