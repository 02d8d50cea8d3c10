"""Settings, read from the environment (see README's table and .env.example).

Production is the default: DEBUG is off unless set, and then SECRET_KEY and ALLOWED_HOSTS must be
given. Development defaults (DEBUG on, SQLite, eager Celery, console email) live in .env.example,
which `make run` copies to .env.
"""

import secrets
import sys
from pathlib import Path

import environ
from celery.schedules import crontab
from django.core.exceptions import ImproperlyConfigured
from django.utils.csp import CSP

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env")  # never overrides variables already set

DEBUG = env.bool("DEBUG", default=False)

# Commands that read only the code, never data or requests, need no key: makemigrations runs
# in checks and hooks with no environment at all. Everything else refuses to start without one.
KEYLESS_COMMANDS = {"makemigrations"}

SECRET_KEY = env.str("SECRET_KEY", default="")
if not SECRET_KEY:
    if DEBUG:
        SECRET_KEY = "django-insecure-development-only-key-do-not-use-in-production"
    elif (
        Path(sys.argv[0]).name == "manage.py" and sys.argv[1:2] and sys.argv[1] in KEYLESS_COMMANDS
    ):
        SECRET_KEY = secrets.token_urlsafe(50)  # never used: nothing is signed
    else:
        raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off.")

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost"] if DEBUG else [])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django_htmx",
    "allauth",
    "allauth.account",
    "allauth.mfa",
    "profiles",
    "matching",
    "cohorts",
    "meetings",
    "conversations",
    "community",
    "audit",
]

MIDDLEWARE = [
    "mentorship.middleware.ServiceUnavailableMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "mentorship.middleware.TimezoneMiddleware",
    "mentorship.middleware.RejectNulMiddleware",
    "mentorship.middleware.PrivateCacheMiddleware",
]

ROOT_URLCONF = "mentorship.urls"
WSGI_APPLICATION = "mentorship.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.csp",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "mentorship.navigation.navigation",
            ],
        },
    },
]

# Database: PostgreSQL through DATABASE_URL in production and tests; a SQLite file otherwise.
DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}")}
DATABASES["default"]["ATOMIC_REQUESTS"] = False
# Connections are kept between requests in production (each web thread and worker process holds
# one): opening one costs PostgreSQL a process and the request several milliseconds. Not under
# runserver, whose thread per request would leave one behind each time.
DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("CONN_MAX_AGE", default=0 if DEBUG else 60))
# A connection kept between requests is checked before use: a restarted PostgreSQL costs no 500.
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Redis, when set, is the Celery broker and the cache (allauth keeps its rate limits there).
REDIS_URL = env.str("REDIS_URL", default="")
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": env.str("CACHE_KEY_PREFIX", default="mentorship"),
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

CELERY_BROKER_URL = REDIS_URL or "memory://"
CELERY_RESULT_BACKEND = None
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=not REDIS_URL)
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_IGNORE_RESULT = True
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TIMEZONE = "UTC"

# Cohort matching (cohorts/matchrun.py): pairs scored per block, and the cohort size (in pairs)
# above which a run is spread over the Celery workers, one task per block.
MATCH_BLOCK_PAIRS = env.int("MATCH_BLOCK_PAIRS", default=20_000_000)
MATCH_SPREAD_ABOVE = env.int("MATCH_SPREAD_ABOVE", default=50_000_000)
# Fault tests only: seconds each block waits before scoring, to kill a worker mid-block.
MATCH_STEP_DELAY = env.float("MATCH_STEP_DELAY", default=0.0)
CELERY_BEAT_SCHEDULE: dict[str, dict] = {
    # Requests unanswered for 5 days get one reminder; after 14 days they expire.
    "requests-remind-and-expire": {
        "task": "matching.tasks.remind_and_expire_requests",
        "schedule": 15 * 60,
    },
    # Due meeting reminders are rows, claimed every minute (meetings/services.py says why).
    "meetings-reminders": {"task": "meetings.tasks.send_due_reminders", "schedule": 60},
    # Runs whose worker died are failed, lost invitations and intro emails sent (cohorts/tasks).
    "cohorts-sweep": {"task": "cohorts.tasks.sweep", "schedule": 30},
    "outbox-sweep": {
        "task": "profiles.tasks.sweep_outbox",
        "schedule": env.float("OUTBOX_SWEEP_SECONDS", default=30),
    },
    "meetings-nudges": {"task": "meetings.tasks.nudge_quiet_pairs", "schedule": 6 * 60 * 60},
    "meetings-digest": {
        "task": "meetings.tasks.weekly_digest",
        "schedule": crontab(hour=7, minute=0, day_of_week="mon"),
    },
    # Unread messages are emailed in batches, at most one per conversation per 15 minutes.
    "conversations-message-emails": {
        "task": "conversations.tasks.send_message_emails",
        "schedule": 60,
    },
    # Event reminders: rows claimed once, as meetings' are.
    "community-event-reminders": {
        "task": "community.tasks.send_due_event_reminders",
        "schedule": 60,
    },
    # Announcements a broker or a worker dropped are delivered (receipts make it once each).
    "conversations-announcements": {
        "task": "conversations.tasks.sweep_announcements",
        "schedule": 120,
    },
}
# How long unread messages wait before their email (a burst goes out as one email).
MESSAGE_EMAIL_DELAY_SECONDS = env.int("MESSAGE_EMAIL_DELAY_SECONDS", default=120)
# How often an open page asks for the unread count (htmx polling: see the README).
NOTIFICATIONS_POLL_SECONDS = env.int("NOTIFICATIONS_POLL_SECONDS", default=30)

# Matching
MATCHING_MAX_PENDING_REQUESTS = env.int("MATCHING_MAX_PENDING_REQUESTS", default=3)

AUTH_USER_MODEL = "profiles.User"
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "home"

# The site as every email names it and links to, allauth's too (their subjects start with
# "[SITE_NAME] "). SITE_URL is the public address; `make run` passes the one it serves on as
# RUNSERVER_URL, which counts only when SITE_URL is set neither in the environment nor in .env.
SITE_NAME = env.str("SITE_NAME", default="Mentorship")
SITE_URL = env.str(
    "SITE_URL", default=env.str("RUNSERVER_URL", default="http://127.0.0.1:8000")
).rstrip("/")

# django-allauth: email is the login, verified before first use; MFA by TOTP and recovery codes.
ACCOUNT_ADAPTER = "profiles.adapter.AccountAdapter"
ACCOUNT_USER_MODEL_USERNAME_FIELD = None
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*", "password2*"]
ACCOUNT_SIGNUP_FORM_CLASS = "profiles.forms.SignupForm"
ACCOUNT_EMAIL_VERIFICATION = "mandatory"
ACCOUNT_UNIQUE_EMAIL = True
ACCOUNT_LOGIN_ON_EMAIL_CONFIRMATION = False
ACCOUNT_LOGOUT_REDIRECT_URL = "home"
# allauth's defaults, spelled out because a test holds us to them: the sixth failed login for
# one address within five minutes is refused.
ACCOUNT_RATE_LIMITS = {"login_failed": "10/m/ip,5/5m/key"}
MFA_SUPPORTED_TYPES = ["totp", "recovery_codes"]
MFA_TOTP_ISSUER = SITE_NAME

# Email: every message goes through profiles.tasks.send_email, enqueued on commit.
_email = env.email_url("EMAIL_URL", default="consolemail://")
_smtp_options = {
    "host": _email.get("EMAIL_HOST"),
    "port": _email.get("EMAIL_PORT"),
    "username": _email.get("EMAIL_HOST_USER"),
    "password": _email.get("EMAIL_HOST_PASSWORD"),
    "use_tls": _email.get("EMAIL_USE_TLS"),
    "use_ssl": _email.get("EMAIL_USE_SSL"),
    "timeout": 30,
}
MAILERS = {
    "default": {
        "BACKEND": _email["EMAIL_BACKEND"],
        "OPTIONS": {k: v for k, v in _smtp_options.items() if v not in (None, "")}
        if _email["EMAIL_BACKEND"].endswith("smtp.EmailBackend")
        else {},
    }
}
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="Mentorship <mentorship@localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
# The outbox (profiles.outbox): how long a worker holds a message it is sending, and the first
# wait before a failed one is tried again (doubling each time, five attempts in all).
EMAIL_LEASE_SECONDS = env.int("EMAIL_LEASE_SECONDS", default=120)
EMAIL_RETRY_SECONDS = env.int("EMAIL_RETRY_SECONDS", default=60)
# The in-app outbox (staff, DEBUG only) shows sent messages; in production their bodies, which
# hold one-time links, are wiped once sent.
EMAIL_KEEP_SENT_BODIES = env.bool("EMAIL_KEEP_SENT_BODIES", default=DEBUG)

LANGUAGE_CODE = "en"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = Path(env.str("STATIC_ROOT", default=str(BASE_DIR / "var" / "static")))
# Uploaded files (profile photos). Never served as public URLs: profiles.views.photo serves each
# to whoever may see its profile.
MEDIA_ROOT = Path(env.str("MEDIA_ROOT", default=str(BASE_DIR / "var" / "media")))
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}

# Security. Behind the compose file's proxy, TLS ends at the proxy, which sets X-Forwarded-Proto.
if env.bool("BEHIND_PROXY", default=False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=not DEBUG)
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0 if DEBUG else 31_536_000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=not DEBUG)
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=not DEBUG)
SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=not DEBUG)
CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=not DEBUG)
SESSION_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF, CSP.NONCE],
    "style-src": [CSP.SELF],
    "img-src": [CSP.SELF, "data:"],
    "font-src": [CSP.SELF],
    "connect-src": [CSP.SELF],
    "object-src": [CSP.NONE],
    "base-uri": [CSP.SELF],
    "form-action": [CSP.SELF],
    "frame-ancestors": [CSP.NONE],
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
}
