"""Causeway settings, read from the environment.

Local use needs nothing set: SQLite under var/, Celery running tasks eagerly, DEBUG on.
Production sets DEBUG=false, SECRET_KEY, DATABASE_URL, CELERY_BROKER_URL and ALLOWED_HOSTS;
the typed helpers below refuse a malformed value at start-up instead of failing later.
"""

import os
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

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


def env_list(name: str, default: list[str] | None = None) -> list[str]:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return list(default or [])
    return [item.strip() for item in raw.split(",") if item.strip()]


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
CATALOG_GIT_CACHE_DIR = VAR_DIR / "git-cache"
# Dotted path of a class with catalog.reading.UrlFetcher's fetch() (e.g. one adding credentials); urllib by default.
CATALOG_URL_FETCHER = env_str("CATALOG_URL_FETCHER")
# Kinds admins add: [{"kind": "Pipeline", "apiVersions": ["acme.io/v1"], "schema": "/path/schema.json"}], as JSON.
CATALOG_CUSTOM_KINDS = env_str("CATALOG_CUSTOM_KINDS")

# Each app may declare periodic tasks in <app>/schedule.py (a plain dict, no Django imports).
for _app in ("catalog", "scaffolder", "scaffolder.provisioning", "techdocs", "scorecards"):
    try:
        _schedule = __import__(f"{_app}.schedule", fromlist=["BEAT_SCHEDULE"])
    except ModuleNotFoundError as _exc:
        if _exc.name != f"{_app}.schedule":
            raise
        continue
    CELERY_BEAT_SCHEDULE.update(_schedule.BEAT_SCHEDULE)
