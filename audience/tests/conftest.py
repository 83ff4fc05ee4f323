from mailing.tests.conftest import owner, queued_runs  # noqa: F401
