"""Settings come from the environment; each variable has a working default."""

import json
import os
import re
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

from mailing.engine.config import engine_config

ROOT = Path(__file__).resolve().parent.parent

# Every variable the settings read; each test starts from none of them.
VARIABLES = [
    "DATABASE_URL",
    "DATABASE_POOL",
    "DATABASE_POOL_MAX",
    "REDIS_URL",
    "CACHE_KEY_PREFIX",
    "EMAIL_URL",
    "EMAIL_TIMEOUT",
    "DEFAULT_FROM_EMAIL",
    "SECRET_KEY",
    "DEBUG",
    "ALLOWED_HOSTS",
    "CSRF_TRUSTED_ORIGINS",
    "TASK_BACKEND",
    "SITE_URL",
    "HTTPS",
    "SECURE_PROXY",
    "SECURE_HSTS_SECONDS",
    "TIME_ZONE",
    "STATIC_ROOT",
    "MEDIA_ROOT",
    "IMPORT_DIR",
    "IMPORT_MAX_MB",
    "DJANGO_SETTINGS_MODULE",
    "CI",
    "MAILING_CONNECTIONS",
    "MAILING_PROCESSES",
    "MAILING_BATCH_SIZE",
    "MAILING_RATE_LIMIT",
    "MAILING_LEASE_SECONDS",
    "MAILING_MAX_ATTEMPTS",
    "MAILING_RETRY_BASE_SECONDS",
    "MAILING_RETRY_MAX_SECONDS",
    "MAILING_BREAKER_THRESHOLD",
    "MAILING_BREAKER_PAUSE_SECONDS",
    "MAILING_BREAKER_MAX_PAUSE_SECONDS",
    "TRUSTED_PROXY_COUNT",
    "MAILING_JOURNAL_DIR",
    "EMAIL_TLS_VERIFY",
    "MAILING_DOMAIN",
    "BOUNCE_DOMAIN",
    "SPF_INCLUDE",
    "DKIM_SELECTOR",
    "DKIM_PRIVATE_KEY",
    "DKIM_KEY_ENCRYPTION_KEY",
    "DNS_NAMESERVERS",
    "DNS_TIMEOUT",
    "PREFLIGHT_STRICT",
    "BOUNCE_MAILBOX_URL",
    "REPUTATION_WINDOW_DAYS",
    "REPUTATION_HARD_BOUNCE_RATE",
    "REPUTATION_HARD_BOUNCE_MIN",
    "REPUTATION_COMPLAINT_RATE",
    "REPUTATION_COMPLAINT_MIN",
    "ANYMAIL_WEBHOOK_SECRET",
    "MAILGUN_WEBHOOK_SIGNING_KEY",
    "SENDGRID_TRACKING_WEBHOOK_VERIFICATION_KEY",
    # The browser fixture sets this for the test process only.
    "DJANGO_ALLOW_ASYNC_UNSAFE",
]

REPORT = """
import json, importlib
s = importlib.import_module({module!r})
print(json.dumps({{
    "DEBUG": s.DEBUG,
    "SECRET_KEY": s.SECRET_KEY,
    "ALLOWED_HOSTS": s.ALLOWED_HOSTS,
    "DATABASE": s.DATABASES["default"],
    "CACHE": s.CACHES["default"],
    "TASKS": s.TASKS["default"]["BACKEND"],
    "EMAIL_BACKEND": s.EMAIL_BACKEND,
    "EMAIL_HOST": s.EMAIL_HOST,
    "EMAIL_PORT": s.EMAIL_PORT,
    "EMAIL_HOST_USER": s.EMAIL_HOST_USER,
    "EMAIL_HOST_PASSWORD": s.EMAIL_HOST_PASSWORD,
    "EMAIL_USE_TLS": getattr(s, "EMAIL_USE_TLS", False),
    "EMAIL_USE_SSL": getattr(s, "EMAIL_USE_SSL", False),
    "EMAIL_TIMEOUT": s.EMAIL_TIMEOUT,
    "DEFAULT_FROM_EMAIL": s.DEFAULT_FROM_EMAIL,
    "SITE_URL": s.SITE_URL,
    "MAILING_LEASE_SECONDS": s.MAILING_LEASE_SECONDS,
    "SECURE_SSL_REDIRECT": getattr(s, "SECURE_SSL_REDIRECT", False),
    "SESSION_COOKIE_SECURE": getattr(s, "SESSION_COOKIE_SECURE", False),
    "SECURE_HSTS_SECONDS": getattr(s, "SECURE_HSTS_SECONDS", 0),
    "SECURE_PROXY_SSL_HEADER": getattr(s, "SECURE_PROXY_SSL_HEADER", None),
}}, default=str))
"""


def _env(**variables):
    env = {k: v for k, v in os.environ.items() if k not in VARIABLES}
    env.update(variables)
    return env


def run_python(code, **variables):
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env=_env(**variables),
        capture_output=True,
        text=True,
        timeout=60,
    )


def load(module="mailsite.settings.dev", **variables):
    """Import a settings module in a fresh interpreter; return what it set."""
    result = run_python(REPORT.format(module=module), **variables)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def random_key():
    return secrets.token_urlsafe(60)


def test_dev_defaults_need_no_environment():
    """With no variable set, a fresh clone runs on SQLite, memory and the sink."""
    s = load()
    assert s["DEBUG"] is True
    assert s["SECRET_KEY"]
    assert s["DATABASE"]["ENGINE"] == "django.db.backends.sqlite3"
    assert s["DATABASE"]["NAME"] == str(ROOT / "var" / "mailsite.sqlite3")
    assert s["DATABASE"]["OPTIONS"]["transaction_mode"] == "IMMEDIATE"
    assert "journal_mode=WAL" in s["DATABASE"]["OPTIONS"]["init_command"]
    assert s["CACHE"]["BACKEND"] == "django.core.cache.backends.locmem.LocMemCache"
    assert s["TASKS"] == "django_tasks_db.DatabaseBackend"
    assert s["EMAIL_BACKEND"] == "django.core.mail.backends.smtp.EmailBackend"
    assert (s["EMAIL_HOST"], s["EMAIL_PORT"]) == ("127.0.0.1", 8025)
    assert s["EMAIL_TIMEOUT"] == 10
    assert s["DEFAULT_FROM_EMAIL"] == "Mailsite <noreply@localhost>"
    assert s["SITE_URL"] == "http://127.0.0.1:8000"


def test_a_dead_dispatchers_work_is_taken_over_within_a_minute_by_default():
    """The lease needs no tuning: live dispatchers renew it (a heartbeat), so
    it can be short, and a crashed one's deliveries are free within 60 s."""
    for module in ("mailsite.settings.dev", "mailsite.settings.production"):
        variables = {"SECRET_KEY": random_key()} if "production" in module else {}
        s = load(module, **variables)
        assert 0 < s["MAILING_LEASE_SECONDS"] <= 60


def test_base_settings_default_to_debug_off():
    s = load("mailsite.settings.base")
    assert s["DEBUG"] is False
    assert s["SECRET_KEY"] == ""


def test_every_variable_is_read():
    s = load(
        "mailsite.settings.dev",
        DEBUG="off",
        SECRET_KEY="k" * 60,
        ALLOWED_HOSTS="mail.example.com,example.com",
        DATABASE_URL="postgres://mailer:pw@db.example.com:5433/mailsite",
        DATABASE_POOL_MAX="25",
        REDIS_URL="redis://cache.example.com:6380/3",
        CACHE_KEY_PREFIX="blue",
        EMAIL_URL="smtp://user:secret@mx.example.com:2525",
        EMAIL_TIMEOUT="3.5",
        DEFAULT_FROM_EMAIL="News <news@example.com>",
        TASK_BACKEND="immediate",
        SITE_URL="https://mail.example.com",
    )
    assert s["DEBUG"] is False
    assert s["SECRET_KEY"] == "k" * 60
    assert s["ALLOWED_HOSTS"] == ["mail.example.com", "example.com"]
    db = s["DATABASE"]
    assert db["ENGINE"] == "django.db.backends.postgresql"
    assert (db["HOST"], db["PORT"], db["NAME"]) == ("db.example.com", 5433, "mailsite")
    assert (db["USER"], db["PASSWORD"]) == ("mailer", "pw")
    assert db["OPTIONS"]["pool"] == {"min_size": 1, "max_size": 25, "timeout": 10}
    cache = s["CACHE"]
    assert cache["BACKEND"] == "django_redis.cache.RedisCache"
    assert cache["LOCATION"] == "redis://cache.example.com:6380/3"
    assert cache["KEY_PREFIX"] == "blue"
    assert cache["OPTIONS"]["IGNORE_EXCEPTIONS"] is True
    assert (s["EMAIL_HOST"], s["EMAIL_PORT"]) == ("mx.example.com", 2525)
    assert (s["EMAIL_HOST_USER"], s["EMAIL_HOST_PASSWORD"]) == ("user", "secret")
    assert not s["EMAIL_USE_TLS"] and not s["EMAIL_USE_SSL"]
    assert s["EMAIL_TIMEOUT"] == 3.5
    assert s["DEFAULT_FROM_EMAIL"] == "News <news@example.com>"
    assert s["TASKS"] == "django_tasks.backends.immediate.ImmediateBackend"
    assert s["SITE_URL"] == "https://mail.example.com"


SETTINGS_DIR = ROOT / "mailsite" / "settings"
# `env("NAME", …)`, `env.int(\n    "NAME", …)` and the like.
ENV_READ = re.compile(r'\benv(?:\.\w+)?\(\s*"([A-Z][A-Z0-9_]*)"')


def _variables_read() -> set[str]:
    return {
        name
        for path in SETTINGS_DIR.glob("*.py")
        for name in ENV_READ.findall(path.read_text())
    }


def _readme_table_variables() -> set[str]:
    section = (ROOT / "README.md").read_text().split("## Configuration", 1)[1]
    rows = [line for line in section.splitlines() if line.startswith("| `")]
    return {name for row in rows for name in re.findall(r"`([A-Z][A-Z0-9_]+)`", row)}


def test_every_variable_is_in_the_readme_table():
    """The README's configuration table names every variable the settings
    read, so that a new knob cannot hide in settings/*.py."""
    read = _variables_read()
    assert {"EMAIL_URL", "MAILING_RETRY_MAX_SECONDS"} <= read  # the scan works
    assert read - _readme_table_variables() == set()


def test_every_variable_is_cleared_by_these_tests():
    """Each test here starts from none of the variables the settings read."""
    assert _variables_read() - set(VARIABLES) == set()


def test_the_engine_reads_its_knobs_from_settings(settings):
    """engine_config() has no defaults of its own: it follows the settings."""

    settings.MAILING_RETRY_MAX_SECONDS = 123
    settings.MAILING_BREAKER_MAX_PAUSE_SECONDS = 456
    settings.MAILING_BATCH_SIZE = 7
    settings.EMAIL_TIMEOUT = 3.5
    config = engine_config()
    assert (config.retry_max_seconds, config.breaker_max_pause_seconds) == (123, 456)
    assert (config.batch_size, config.timeout) == (7, 3.5)


@pytest.mark.parametrize("timeout", ["0", "-1"])
def test_a_mail_timeout_must_be_positive(timeout):
    result = run_python("import mailsite.settings.base", EMAIL_TIMEOUT=timeout)
    assert result.returncode != 0
    assert "EMAIL_TIMEOUT must be a positive number of seconds" in result.stderr


def test_email_url_options_are_settings():
    """A TLS switch in EMAIL_URL's query string is a setting too."""
    code = "import mailsite.settings.base as s; print(s.EMAIL_USE_TLS, s.EMAIL_PORT)"
    result = run_python(code, EMAIL_URL="smtp://mx.example.com:587?email_use_tls=1")
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["1", "587"]


def test_database_pool_can_be_turned_off():
    s = load(DATABASE_URL="postgres://127.0.0.1:5432/mailsite", DATABASE_POOL="off")
    assert "pool" not in s["DATABASE"].get("OPTIONS", {})
    assert s["DATABASE"]["CONN_MAX_AGE"] == 60


@pytest.mark.parametrize(
    ("url", "tls", "ssl", "port"),
    [
        ("smtp+tls://u:p@mx.example.com:587", True, False, 587),
        ("smtp+ssl://u:p@mx.example.com:465", False, True, 465),
    ],
)
def test_email_url_with_tls_or_ssl(url, tls, ssl, port):
    s = load(EMAIL_URL=url)
    assert (s["EMAIL_USE_TLS"], s["EMAIL_USE_SSL"]) == (tls, ssl)
    assert (s["EMAIL_HOST"], s["EMAIL_PORT"]) == ("mx.example.com", port)


def test_rq_task_backend_uses_redis():
    code = (
        "import importlib; s = importlib.import_module('mailsite.settings.dev');"
        "print(s.TASKS['default']['BACKEND'], s.RQ_QUEUES['default']['URL'],"
        " 'django_rq' in s.INSTALLED_APPS)"
    )
    result = run_python(code, TASK_BACKEND="rq", REDIS_URL="redis://r.example.com/2")
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [
        "django_tasks_rq.RQBackend",
        "redis://r.example.com/2",
        "True",
    ]


def test_production_refuses_to_start_without_secret_key():
    result = run_python("import mailsite.settings.production")
    assert result.returncode != 0
    assert "SECRET_KEY must be set" in result.stderr


@pytest.mark.parametrize(
    "key", ["short", "dev-only-insecure-key-do-not-use-in-production", "a" * 60]
)
def test_production_refuses_a_weak_secret_key(key):
    result = run_python("import mailsite.settings.production", SECRET_KEY=key)
    assert result.returncode != 0
    assert "SECRET_KEY must be set" in result.stderr


def test_production_refuses_debug():
    result = run_python(
        "import mailsite.settings.production", SECRET_KEY=random_key(), DEBUG="on"
    )
    assert result.returncode != 0
    assert "DEBUG must be off" in result.stderr


def test_production_is_secure_by_default():
    s = load("mailsite.settings.production", SECRET_KEY=random_key())
    assert s["DEBUG"] is False
    assert s["SECURE_SSL_REDIRECT"] and s["SESSION_COOKIE_SECURE"]
    assert s["SECURE_HSTS_SECONDS"] == 31536000
    assert s["SECURE_PROXY_SSL_HEADER"] is None


def test_production_behind_a_tls_proxy():
    s = load(
        "mailsite.settings.production",
        SECRET_KEY=random_key(),
        SECURE_PROXY="on",
    )
    assert s["SECURE_PROXY_SSL_HEADER"] == ["HTTP_X_FORWARDED_PROTO", "https"]


def test_production_plain_http_switch():
    s = load("mailsite.settings.production", SECRET_KEY=random_key(), HTTPS="off")
    assert not s["SECURE_SSL_REDIRECT"] and not s["SESSION_COOKIE_SECURE"]
    assert s["SECURE_HSTS_SECONDS"] == 0


@pytest.mark.slow
def test_production_deploy_check_is_clean():
    result = subprocess.run(
        [
            sys.executable,
            "-W",
            "error::DeprecationWarning",
            "manage.py",
            "check",
            "--deploy",
            "--fail-level",
            "WARNING",
        ],
        cwd=ROOT,
        env=_env(
            DJANGO_SETTINGS_MODULE="mailsite.settings.production",
            SECRET_KEY=random_key(),
            ALLOWED_HOSTS="example.com",
        ),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


@pytest.mark.slow
def test_production_collectstatic_hashes_every_file(tmp_path):
    """The manifest storage fails on a reference to a missing file (a source
    map, say); production would then serve no CSS at all."""
    result = subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--noinput"],
        cwd=ROOT,
        env=_env(
            DJANGO_SETTINGS_MODULE="mailsite.settings.production",
            SECRET_KEY=random_key(),
            ALLOWED_HOSTS="example.com",
            STATIC_ROOT=str(tmp_path),
        ),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    manifest = json.loads((tmp_path / "staticfiles.json").read_text())
    assert "vendor/bootstrap/bootstrap.min.css" in manifest["paths"]


def test_dev_has_a_platform_dkim_key_made_on_first_use():
    """`make run` signs platform mail: dev makes a key in var/ when none is
    configured; base (and so production) signs only with a configured one."""
    code = (
        "import importlib; s = importlib.import_module('mailsite.settings.dev');"
        "from cryptography.hazmat.primitives import serialization as z;"
        "import pathlib; p = pathlib.Path(s.DKIM_PRIVATE_KEY);"
        "k = z.load_pem_private_key(p.read_bytes(), None);"
        "print(p, k.key_size, oct(p.stat().st_mode & 0o777))"
    )
    result = run_python(code)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [
        str(ROOT / "var" / "dkim-dev.pem"),
        "2048",
        "0o600",
    ]
    configured = run_python(
        "import mailsite.settings.dev as s; print(s.DKIM_PRIVATE_KEY)",
        DKIM_PRIVATE_KEY="/etc/mailsite/dkim.pem",
    )
    assert configured.stdout.strip() == "/etc/mailsite/dkim.pem"
    base = run_python(
        "import mailsite.settings.base as s; print(repr(s.DKIM_PRIVATE_KEY))"
    )
    assert base.stdout.strip() == "''"
