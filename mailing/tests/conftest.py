import pytest
from django.contrib.auth.models import Group

from accounts import roles
from mailing import tasks
from mailing.tests.factories import UserFactory


@pytest.fixture
def owner(client):
    """A customer, logged in on the test client."""
    user = UserFactory()
    client.force_login(user)
    return user


@pytest.fixture
def role_users(db):
    """One user per role of DESIGN.md's table (and a second customer)."""
    manager = UserFactory(email="manager@example.com")
    manager.groups.add(Group.objects.get(name=roles.MANAGERS))
    editor = UserFactory(email="editor@example.com")
    editor.groups.add(Group.objects.get(name=roles.CONTENT_MANAGERS))
    admin = UserFactory(email="admin@example.com", is_superuser=True, is_staff=True)
    return {
        "anonymous": None,
        "customer_a": UserFactory(email="a@example.com"),
        "customer_b": UserFactory(email="b@example.com"),
        "manager": manager,
        "content_manager": editor,
        "superuser": admin,
    }


class _Recorder:
    def __init__(self):
        self.calls = []

    def enqueue(self, **kwargs):
        self.calls.append(kwargs)


@pytest.fixture
def queued_runs(monkeypatch):
    """Runs queued by the services are recorded, not sent: for tests about
    the screens and services (the engine has its own tests)."""
    recorder = _Recorder()
    monkeypatch.setattr(tasks, "start_mailing_run", recorder)
    return recorder.calls
