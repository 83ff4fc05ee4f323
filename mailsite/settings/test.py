"""Test settings: fast hashing, tasks run at once, mail kept in memory.

DATABASE_URL and REDIS_URL are honoured, so the suite runs against the real
PostgreSQL and Redis when they are set (`.ci/run` sets them).
"""

from .base import *  # noqa: F403
from .base import env

DEBUG = False
SECRET_KEY = "test-only-key"
ALLOWED_HOSTS = ["*"]
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
EMAIL_TIMEOUT = env.float("EMAIL_TIMEOUT", default=2)
# In-process dispatches stay in the test's process (forking would close the
# test's database connection); the concurrency tests ask for more.
MAILING_PROCESSES = env.int("MAILING_PROCESSES", default=1)
CACHE_KEY_PREFIX = "mailsite-test"
CACHES["default"]["KEY_PREFIX"] = env("CACHE_KEY_PREFIX", default="mailsite-test")  # noqa: F405
ACCOUNT_RATE_LIMITS = {**ACCOUNT_RATE_LIMITS, "confirm_email": False}  # noqa: F405
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.InMemoryStorage"},
    "imports": {"BACKEND": "django.core.files.storage.InMemoryStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
WAGTAILADMIN_BASE_URL = "http://testserver"
# Test databases are created and dropped around the run; a pool would hold
# connections to them open.
# (mailing.tests.smtp_settings puts it back for the separate processes.)
DATABASE_POOL_OPTIONS = DATABASES["default"].get("OPTIONS", {}).pop("pool", None)  # noqa: F405
