"""Test settings for `send_mailings` (or the task worker) run as a separate
process by the tests.

The same as mailsite.settings.test, except that mail goes over SMTP (to the
sink the test started, named by EMAIL_URL) instead of the in-memory outbox,
on PostgreSQL through the connection pool, as in production (such a process
ends before the test database is dropped), and with TASK_BACKEND=database or
rq tasks go through the queue of production's settings (`db_worker`, or RQ
in Redis that `rqworker` serves).
"""

from mailsite.settings.test import *  # noqa: F403

EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"

if DATABASE_POOL_OPTIONS:  # noqa: F405
    DATABASES["default"]["OPTIONS"]["pool"] = DATABASE_POOL_OPTIONS  # noqa: F405

if env("TASK_BACKEND", default="immediate") != "immediate":  # noqa: F405
    from mailsite.settings import base

    TASKS = base.TASKS
