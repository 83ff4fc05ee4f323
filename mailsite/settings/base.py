"""Settings shared by every environment.

Everything that differs between machines comes from the environment (see the
table in the README); each variable has an embedded default so that a fresh
clone runs with no configuration at all.
"""

import secrets
from pathlib import Path

import environ
from csp.constants import NONE, SELF
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent.parent
VAR_DIR = BASE_DIR / "var"

env = environ.Env()

DEBUG = env.bool("DEBUG", default=False)
SECRET_KEY = env("SECRET_KEY", default="")
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "accounts",
    "mailing",
    "deliverability",
    "audience",
    "anymail",
    "home",
    "blog",
    "site_common",
    "wagtail.contrib.forms",
    "wagtail.contrib.redirects",
    "wagtail.contrib.settings",
    "wagtail.contrib.sitemaps",
    "wagtail.embeds",
    "wagtail.sites",
    "wagtail.users",
    "wagtail.snippets",
    "wagtail.documents",
    "wagtail.images",
    "wagtail.search",
    "wagtail.admin",
    "wagtail",
    "modelcluster",
    "taggit",
    "django_bootstrap5",
    "django_crontab",
    "django_tasks",
    "django_tasks_db",
    "csp",
    "allauth",
    "allauth.account",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django.contrib.sitemaps",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "mailsite.csp.CSPMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    # Cookie (`django_language`), then Accept-Language, then LANGUAGE_CODE;
    # no URL prefixes. UserPreferencesMiddleware lets a signed-in user's own
    # setting win over both.
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "accounts.middleware.UserPreferencesMiddleware",
    "accounts.middleware.CMSAccessMiddleware",
    "wagtail.contrib.redirects.middleware.RedirectMiddleware",
]

ROOT_URLCONF = "mailsite.urls"
# The pages links in sent mail lead to, mounted as they are by ROOT_URLCONF:
# the send engine reverses its links against this one alone (see there).
MAIL_URLCONF = "mailsite.mail_urls"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.debug",
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.template.context_processors.tz",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "accounts.context_processors.roles_context",
            ],
        },
    },
]

WSGI_APPLICATION = "mailsite.wsgi.application"
# The debug 500 page and error mails show querysets as SQL, never run them.
DEFAULT_EXCEPTION_REPORTER_FILTER = "mailsite.debug.UnevaluatedQuerySetFilter"

# Database: SQLite under var/ unless DATABASE_URL says otherwise.
DATABASES = {
    "default": env.db_url(
        "DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'mailsite.sqlite3'}"
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # SQLite has no SKIP LOCKED: WAL lets readers run beside the one writer,
    # IMMEDIATE transactions take the write lock up front so that two
    # dispatchers queue up instead of both reading the same unclaimed rows,
    # and the busy timeout makes them wait rather than fail.
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
        "init_command": (
            "PRAGMA journal_mode=WAL;PRAGMA synchronous=NORMAL;PRAGMA foreign_keys=ON;"
        ),
    }
elif DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    if env.bool("DATABASE_POOL", default=True):
        DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
            "min_size": 1,
            "max_size": env.int("DATABASE_POOL_MAX", default=10),
            "timeout": 10,
        }
    else:
        DATABASES["default"]["CONN_MAX_AGE"] = 60

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "accounts.User"

# Cache: Redis when REDIS_URL is set, local memory otherwise.
REDIS_URL = env("REDIS_URL", default="")
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": env("CACHE_KEY_PREFIX", default="mailsite"),
            "OPTIONS": {
                "CLIENT_CLASS": "django_redis.client.DefaultClient",
                "SOCKET_CONNECT_TIMEOUT": 2,
                "SOCKET_TIMEOUT": 2,
                # A Redis outage degrades the figures, never the page.
                "IGNORE_EXCEPTIONS": True,
            },
        }
    }
    DJANGO_REDIS_IGNORE_EXCEPTIONS = True
    DJANGO_REDIS_LOG_IGNORED_EXCEPTIONS = True
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# Background tasks: the database-backed worker by default, RQ on request.
TASK_BACKEND = env("TASK_BACKEND", default="database")
if TASK_BACKEND == "rq":
    INSTALLED_APPS += ["django_rq", "django_tasks_rq"]
    TASKS = {"default": {"BACKEND": "django_tasks_rq.RQBackend", "QUEUES": ["default"]}}
    # No job timeout, as with db_worker: a big run takes as long as the mail
    # server needs, and a killed worker's claims come back after their lease.
    RQ_QUEUES = {
        "default": {
            "URL": REDIS_URL or "redis://127.0.0.1:6379/0",
            "DEFAULT_TIMEOUT": -1,
        }
    }
    # The workers must build django-tasks' own job class, or a queued task
    # cannot be run: with this, `manage.py rqworker default` needs no flag.
    RQ = {"JOB_CLASS": "django_tasks_rq.Job"}
elif TASK_BACKEND == "immediate":
    TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
else:
    TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}

# Mail: the local SMTP sink that `make run` starts, unless EMAIL_URL says
# otherwise. Each setting the URL gives is named here (`?email_use_tls=1`
# in its query string included), so that none appears unseen.
_EMAIL = env.email_url("EMAIL_URL", default="smtp://127.0.0.1:8025")
EMAIL_BACKEND = _EMAIL["EMAIL_BACKEND"]
EMAIL_HOST = _EMAIL["EMAIL_HOST"]
EMAIL_PORT = _EMAIL["EMAIL_PORT"]
EMAIL_HOST_USER = _EMAIL["EMAIL_HOST_USER"]
EMAIL_HOST_PASSWORD = _EMAIL["EMAIL_HOST_PASSWORD"]
EMAIL_USE_TLS = _EMAIL.get("EMAIL_USE_TLS", False)
EMAIL_USE_SSL = _EMAIL.get("EMAIL_USE_SSL", False)
EMAIL_FILE_PATH = _EMAIL["EMAIL_FILE_PATH"]  # filemail:// only
# Django's own default is no timeout at all; ours always has one.
EMAIL_TIMEOUT = env.float("EMAIL_TIMEOUT", default=10)
if not EMAIL_TIMEOUT > 0:
    raise ImproperlyConfigured("EMAIL_TIMEOUT must be a positive number of seconds.")
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", default="Mailsite <noreply@localhost>")
# The send engine (mailing/engine/config.py reads these; the defaults live
# here only): parallel SMTP connections, messages per second per transport
# (0 = no limit), how long a claimed batch stays ours without a heartbeat
# (live dispatchers renew it every third of it, so only a dead one's work
# waits that long), retries of temporary failures, and the circuit breaker.
MAILING_CONNECTIONS = env.int("MAILING_CONNECTIONS", default=8)
# Dispatcher processes for big runs (one Python process uses one core):
# 0 means one per CPU core, at most 4. The extra ones are forked only on
# PostgreSQL and only when thousands of messages wait.
MAILING_PROCESSES = env.int("MAILING_PROCESSES", default=0)
MAILING_BATCH_SIZE = env.int("MAILING_BATCH_SIZE", default=500)
MAILING_RATE_LIMIT = env.float("MAILING_RATE_LIMIT", default=0)
MAILING_LEASE_SECONDS = env.float("MAILING_LEASE_SECONDS", default=60)
MAILING_MAX_ATTEMPTS = env.int("MAILING_MAX_ATTEMPTS", default=5)
# A deferred delivery waits base * 2^(attempt-1) seconds, never more than max.
MAILING_RETRY_BASE_SECONDS = env.float("MAILING_RETRY_BASE_SECONDS", default=60)
MAILING_RETRY_MAX_SECONDS = env.float("MAILING_RETRY_MAX_SECONDS", default=6 * 3600)
# After THRESHOLD connection failures in a row a run pauses for PAUSE seconds,
# doubling on each further pause up to MAX_PAUSE.
MAILING_BREAKER_THRESHOLD = env.int("MAILING_BREAKER_THRESHOLD", default=5)
MAILING_BREAKER_PAUSE_SECONDS = env.float("MAILING_BREAKER_PAUSE_SECONDS", default=60)
MAILING_BREAKER_MAX_PAUSE_SECONDS = env.float(
    "MAILING_BREAKER_MAX_PAUSE_SECONDS", default=3600
)
# Where each dispatcher journals its SMTP results until they are in the
# database (replayed after a crash by the next dispatcher on this machine):
# a local directory, never one shared between machines.
MAILING_JOURNAL_DIR = env("MAILING_JOURNAL_DIR", default=str(VAR_DIR / "journal"))
SERVER_EMAIL = DEFAULT_FROM_EMAIL
# STARTTLS (smtp+tls://) and SMTPS (smtp+ssl://) check the relay's
# certificate; EMAIL_TLS_VERIFY=off accepts a self-signed one (a relay of
# your own on a private network), still encrypted but open to interception.
EMAIL_TLS_VERIFY = env.bool("EMAIL_TLS_VERIFY", default=True)
if not EMAIL_TLS_VERIFY and EMAIL_BACKEND.endswith("smtp.EmailBackend"):
    # Account mail follows the same rule as mailings (mailing/engine/tls.py).
    EMAIL_BACKEND = "mailing.engine.tls.EmailBackend"

# Deliverability (deliverability app; its config.py says how each defaults):
# the platform's sending domain and DKIM key, the VERP bounce domain, the SPF
# name customers include, the DNS servers the record checks ask, and the key
# that encrypts customers' DKIM keys at rest (deliverability/keys.py).
MAILING_DOMAIN = env("MAILING_DOMAIN", default="")
BOUNCE_DOMAIN = env("BOUNCE_DOMAIN", default="")
SPF_INCLUDE = env("SPF_INCLUDE", default="")
DKIM_SELECTOR = env("DKIM_SELECTOR", default="mailsite")
DKIM_PRIVATE_KEY = env("DKIM_PRIVATE_KEY", default="")
DKIM_KEY_ENCRYPTION_KEY = env("DKIM_KEY_ENCRYPTION_KEY", default="")
DNS_NAMESERVERS = env("DNS_NAMESERVERS", default="")
DNS_TIMEOUT = env.float("DNS_TIMEOUT", default=3)
# The pre-flight check's rules about the platform itself (an https
# unsubscribe link, the platform's DKIM key) hold mailings only when on:
# production turns it on (deliverability/preflight.py).
PREFLIGHT_STRICT = env.bool("PREFLIGHT_STRICT", default=False)
# Bounces and complaints: the mailbox `fetch_bounces` reads
# (imaps://user:pass@host:993/INBOX; empty: none), and the reputation guard
# that pauses a customer whose hard-bounce or complaint rate over the window
# passes its limit (each rate only once the window holds that many
# deliveries).
BOUNCE_MAILBOX_URL = env("BOUNCE_MAILBOX_URL", default="")
REPUTATION_WINDOW_DAYS = env.int("REPUTATION_WINDOW_DAYS", default=30)
REPUTATION_HARD_BOUNCE_RATE = env.float("REPUTATION_HARD_BOUNCE_RATE", default=0.05)
REPUTATION_HARD_BOUNCE_MIN = env.int("REPUTATION_HARD_BOUNCE_MIN", default=200)
REPUTATION_COMPLAINT_RATE = env.float("REPUTATION_COMPLAINT_RATE", default=0.001)
REPUTATION_COMPLAINT_MIN = env.int("REPUTATION_COMPLAINT_MIN", default=1000)
# Mail providers' tracking webhooks (django-anymail) at
# /webhooks/anymail/<provider>/tracking/, authenticated by basic auth with
# ANYMAIL_WEBHOOK_SECRET ("user:password"; unset: a random secret nobody
# knows, so every post is refused), plus the providers' signing keys.
ANYMAIL = {
    "WEBHOOK_SECRET": env("ANYMAIL_WEBHOOK_SECRET", default="")
    or "unset:" + secrets.token_urlsafe(32),
    "MAILGUN_WEBHOOK_SIGNING_KEY": env("MAILGUN_WEBHOOK_SIGNING_KEY", default=""),
    "SENDGRID_TRACKING_WEBHOOK_VERIFICATION_KEY": env(
        "SENDGRID_TRACKING_WEBHOOK_VERIFICATION_KEY", default=""
    )
    or None,
}

_VALIDATORS = "django.contrib.auth.password_validation"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": f"{_VALIDATORS}.UserAttributeSimilarityValidator"},
    {"NAME": f"{_VALIDATORS}.MinimumLengthValidator"},
    {"NAME": f"{_VALIDATORS}.CommonPasswordValidator"},
    {"NAME": f"{_VALIDATORS}.NumericPasswordValidator"},
]

AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]

LANGUAGE_CODE = "en"
# A third language: add it here, run `makemessages -l <code>` (see the README)
# and translate locale/<code>/LC_MESSAGES/*.po.
LANGUAGES = [("en", "English"), ("ru", "Русский")]
LOCALE_PATHS = [BASE_DIR / "locale"]
FORMAT_MODULE_PATH = ["mailsite.formats"]
# Wagtail's own admin offers the same languages as the site.
WAGTAILADMIN_PERMITTED_LANGUAGES = LANGUAGES
# The default zone of new users and of the engine's log lines; each user picks
# their own (accounts.User.time_zone), and the engine itself works in UTC.
TIME_ZONE = env("TIME_ZONE", default="Europe/Berlin")
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = env("STATIC_ROOT", default=str(BASE_DIR / "staticfiles"))
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_URL = "/media/"
MEDIA_ROOT = env("MEDIA_ROOT", default=str(BASE_DIR / "media"))
# Uploaded client imports and their reports of rejected rows: customer data,
# never served as media (the customer downloads a report through a view).
IMPORT_DIR = env("IMPORT_DIR", default=str(VAR_DIR / "imports"))
# The largest CSV file a customer may upload to import, in MiB; refused from
# the request's Content-Length before anything reads it.
IMPORT_MAX_MB = env.int("IMPORT_MAX_MB", default=200)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "imports": {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": IMPORT_DIR},
    },
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}

LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "/app/"
LOGOUT_REDIRECT_URL = "/"

SITE_NAME = "Mailsite"
# Public address of the site, used in links inside e-mails (unsubscribe).
SITE_URL = env("SITE_URL", default="http://127.0.0.1:8000")

# Bootstrap comes from our own static files: the machines have no CDN.
BOOTSTRAP5 = {
    "css_url": {"url": "/static/vendor/bootstrap/bootstrap.min.css"},
    "javascript_url": {"url": "/static/vendor/bootstrap/bootstrap.bundle.min.js"},
}

# Content-Security-Policy (django-csp), in every environment so that a page
# that breaks under it breaks in development and in the tests first. Our
# pages have no inline script: scripts come from our own static files only.
# Inline style attributes stay allowed (Bootstrap's progress bars, Wagtail's
# admin); mail previews may show remote images. Wagtail's admin gets the
# allowances below on top (mailsite/csp.py), as it still needs them.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF, "'unsafe-inline'"],
        "img-src": [SELF, "data:", "https:"],
        "font-src": [SELF, "data:"],
        "connect-src": [SELF],
        "frame-src": [SELF],
        "frame-ancestors": [SELF],
        "form-action": [SELF],
        "base-uri": [SELF],
        "object-src": [NONE],
    }
}
# Wagtail 8's admin still runs a few inline scripts (page explorer, editor,
# reports): under /cms/ only, and only for staff who are logged in.
CONTENT_SECURITY_POLICY_ADMIN_UPDATE = {"script-src": ["'unsafe-inline'"]}

# Wagtail
WAGTAIL_SITE_NAME = SITE_NAME
WAGTAILADMIN_BASE_URL = SITE_URL
# One way in for everyone: the site's login (verification, rate limits).
WAGTAILADMIN_LOGIN_URL = LOGIN_URL
# Staff change their e-mail address and password on the site's account
# pages (allauth: the new address is verified, the old one is told), not on
# Wagtail's account page, which would change them without either; the
# account page links there instead (accounts/wagtail_hooks.py).
WAGTAIL_EMAIL_MANAGEMENT_ENABLED = False
WAGTAIL_PASSWORD_MANAGEMENT_ENABLED = False
WAGTAILSEARCH_BACKENDS = {"default": {"BACKEND": "wagtail.search.backends.database"}}
WAGTAILDOCS_EXTENSIONS = ["csv", "pdf", "txt"]
# Avatars from our own static files: the machines may have no internet, and
# an admin page should not tell a third party who looked at it.
WAGTAIL_GRAVATAR_PROVIDER_URL = None
# Nor ask wagtail.org for new releases from the dashboard (the policy's
# connect-src would refuse it anyway).
WAGTAIL_ENABLE_UPDATE_CHECK = False

# The mailing script, every minute (`manage.py crontab add` installs it).
CRONJOBS = [
    ("* * * * *", "mailing.cron.send_due_mailings"),
    # Daily DNS re-check of verified sending domains.
    ("17 4 * * *", "deliverability.cron.recheck_sending_domains"),
    # Customers whose bounce or complaint rate went too high are paused.
    ("*/5 * * * *", "deliverability.cron.check_reputation"),
]
if BOUNCE_MAILBOX_URL:
    # Bounces forwarded to a mailbox are read every few minutes.
    CRONJOBS.append(("*/3 * * * *", "deliverability.cron.fetch_bounces"))
CRONTAB_COMMAND_PREFIX = "DJANGO_SETTINGS_MODULE=" + env(
    "DJANGO_SETTINGS_MODULE", default="mailsite.settings.production"
)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": "WARNING"},
    "loggers": {
        "mailing": {"handlers": ["console"], "level": "INFO", "propagate": False},
        "deliverability": {
            "handlers": ["console"],
            "level": "INFO",
            "propagate": False,
        },
    },
}

# Accounts (django-allauth): e-mail is the login, confirmation is mandatory.
ACCOUNT_USER_MODEL_USERNAME_FIELD = None
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*", "password2*"]
ACCOUNT_EMAIL_VERIFICATION = "mandatory"
ACCOUNT_UNIQUE_EMAIL = True
ACCOUNT_LOGIN_ON_EMAIL_CONFIRMATION = True
ACCOUNT_PREVENT_ENUMERATION = True
ACCOUNT_ADAPTER = "accounts.adapter.AccountAdapter"
# Sign-up also stores the browser's time zone (static/js/timezone.js).
ACCOUNT_FORMS = {"signup": "accounts.forms.SignupForm"}
# The link in the confirmation mail confirms at once; it logs in only the
# browser that signed up (allauth keeps that in the session).
ACCOUNT_CONFIRM_EMAIL_ON_GET = True
ACCOUNT_EMAIL_CONFIRMATION_EXPIRE_DAYS = 3
# Tell users by mail when their password or addresses change.
ACCOUNT_EMAIL_NOTIFICATIONS = True
ACCOUNT_LOGOUT_ON_PASSWORD_CHANGE = False
ACCOUNT_EMAIL_SUBJECT_PREFIX = "[Mailsite] "
# Proxies of ours in front of the site (nginx, Caddy: 1). Only that many
# addresses at the end of X-Forwarded-For are believed; with 0 the header is
# ignored, as a client can write anything into it.
TRUSTED_PROXY_COUNT = env.int("TRUSTED_PROXY_COUNT", default=0)
ALLAUTH_TRUSTED_PROXY_COUNT = TRUSTED_PROXY_COUNT
# Failed logins: the per-address rule comes first, so that once an account is
# locked further attempts at it stop counting against the client's IP. One
# attacker hammering one account therefore never locks out the other people
# behind the same address; the per-IP rule stops one client trying many.
ACCOUNT_RATE_LIMITS = {
    "login_failed": "5/5m/key,20/5m/ip",
    "signup": "20/m/ip",
    "reset_password": "20/m/ip,5/m/key",
    "confirm_email": "1/3m/key",
}
