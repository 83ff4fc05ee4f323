"""Every mailing URL and every manager admin view, for every role, GET and
POST, against DESIGN.md's role table."""

import pytest
from django.urls import reverse

from mailing.models import Mailing
from mailing.tests.factories import (
    ClientFactory,
    DeliveryFactory,
    MailingFactory,
    MessageFactory,
    RunFactory,
)

pytestmark = pytest.mark.usefixtures("queued_runs")

ROLES = [
    "anonymous",
    "customer_a",
    "customer_b",
    "manager",
    "content_manager",
    "superuser",
]
LOGIN = 302  # anonymous visitors are sent to the login page


@pytest.fixture
def objects(role_users):
    owner = role_users["customer_a"]
    client = ClientFactory(owner=owner)
    message = MessageFactory(owner=owner)
    spare_message = MessageFactory(owner=owner)
    mailing = MailingFactory(owner=owner, message=message, clients=[client])
    DeliveryFactory(run=RunFactory(mailing=mailing), client=client)
    return {
        "client": client,
        "message": message,
        "spare_message": spare_message,
        "mailing": mailing,
        "user": role_users["customer_b"],
    }


def _as(client, role_users, role):
    if role_users[role] is not None:
        client.force_login(role_users[role])
    return client


# Pages of the customer area that every signed-in user has (their own data).
OWN_PAGES = [
    ("mailing:dashboard", None),
    ("mailing:client_list", None),
    ("mailing:client_create", None),
    ("audience:client_import", None),
    ("mailing:client_export", None),
    ("mailing:message_list", None),
    ("mailing:message_create", None),
    ("mailing:mailing_list", None),
    ("mailing:mailing_create", None),
]

# Pages of customer A's objects: A gets them, everybody else 404.
OBJECT_PAGES = [
    ("mailing:client_detail", "client"),
    ("mailing:client_update", "client"),
    ("mailing:client_delete", "client"),
    ("mailing:message_detail", "message"),
    ("mailing:message_update", "message"),
    ("mailing:message_delete", "spare_message"),
    ("mailing:mailing_detail", "mailing"),
    ("mailing:mailing_update", "mailing"),
    ("mailing:mailing_delete", "mailing"),
    ("mailing:mailing_progress", "mailing"),
]
# POST-only actions on A's objects.
OBJECT_ACTIONS = [
    ("mailing:client_delete", "client"),
    ("mailing:message_delete", "spare_message"),
    ("mailing:mailing_delete", "mailing"),
    ("mailing:mailing_send_now", "mailing"),
    ("mailing:mailing_pause", "mailing"),
    ("mailing:mailing_resume", "mailing"),
]


@pytest.mark.django_db
@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("name,_", OWN_PAGES)
def test_own_pages(client, role_users, role, name, _):
    """Every signed-in user has a customer area of their own; visitors log in."""
    response = _as(client, role_users, role).get(reverse(name))
    assert response.status_code == (LOGIN if role == "anonymous" else 200)


@pytest.mark.django_db
@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("name,key", OBJECT_PAGES)
def test_object_pages(client, role_users, objects, role, name, key):
    """Only the owner sees an object; to anyone else it does not exist (404),
    managers and superusers included: they moderate in the admin."""
    url = reverse(name, args=[objects[key].pk])
    response = _as(client, role_users, role).get(url)
    expected = {"anonymous": LOGIN, "customer_a": 200}.get(role, 404)
    assert response.status_code == expected


@pytest.mark.django_db
@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("name,key", OBJECT_ACTIONS)
def test_object_actions(client, role_users, objects, role, name, key):
    """POSTs on another user's object answer 404 and change nothing."""
    target = objects[key]
    response = _as(client, role_users, role).post(reverse(name, args=[target.pk]))
    if role == "customer_a":
        assert response.status_code == 302
    else:
        assert response.status_code == (LOGIN if role == "anonymous" else 404)
        assert type(target).objects.filter(pk=target.pk).exists()
        if isinstance(target, Mailing):
            target.refresh_from_db()
            assert not target.is_paused


@pytest.mark.django_db
@pytest.mark.parametrize("role", ROLES)
def test_edit_post_of_another_users_object(client, role_users, objects, role):
    """Editing A's client by POST: only A can."""
    url = reverse("mailing:client_update", args=[objects["client"].pk])
    data = {"email": "changed@example.net", "full_name": "X", "comment": ""}
    response = _as(client, role_users, role).post(url, data)
    expected = {"anonymous": LOGIN, "customer_a": 302}.get(role, 404)
    assert response.status_code == expected
    objects["client"].refresh_from_db()
    changed = objects["client"].email == "changed@example.net"
    assert changed == (role == "customer_a")


# The Wagtail admin -------------------------------------------------------

# Customers are stopped by the site's CMS guard (403); Wagtail itself sends a
# content manager back to the admin home with "permission denied" (302).
DENIED = {
    "anonymous": LOGIN,
    "customer_a": 403,
    "customer_b": 403,
    "content_manager": 302,
}


def _admin_pages(objects):
    mailing, user = objects["mailing"], objects["user"]
    return {
        "mailings": "/cms/moderation/mailings/",
        "mailing_inspect": f"/cms/moderation/mailings/inspect/{mailing.pk}/",
        "users": "/cms/moderation/users/",
        "user_inspect": f"/cms/moderation/users/inspect/{user.pk}/",
        "log": "/cms/moderation/log/",
        "disable": f"/cms/moderation/disable/{mailing.pk}/",
        "block": f"/cms/moderation/block/{user.pk}/",
    }


ADMIN_READS = [
    "mailings",
    "mailing_inspect",
    "users",
    "user_inspect",
    "log",
    "disable",
    "block",
]


@pytest.mark.django_db
@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("page", ADMIN_READS)
def test_admin_reads(client, role_users, objects, role, page):
    url = _admin_pages(objects)[page]
    response = _as(client, role_users, role).get(url)
    assert response.status_code == DENIED.get(role, 200), url
    if role == "content_manager":
        assert response["Location"] == "/cms/"


@pytest.mark.django_db
@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize(
    "url",
    [
        "/cms/moderation/mailings/add/",
        "/cms/moderation/mailings/edit/{mailing}/",
        "/cms/moderation/mailings/delete/{mailing}/",
        "/cms/moderation/log/add/",
    ],
)
def test_admin_writes_refused(client, role_users, objects, role, url):
    """Nobody creates, edits or deletes mailings in the admin: 403 or a
    redirect with "permission denied", and the mailing is still there."""
    url = url.format(mailing=objects["mailing"].pk)
    for method in ("get", "post"):
        response = getattr(_as(client, role_users, role), method)(url)
        assert response.status_code in (302, 403), (method, url)
        if response.status_code == 302 and role != "anonymous":
            assert "/cms/" in response["Location"]
    assert Mailing.objects.filter(pk=objects["mailing"].pk).exists()


@pytest.mark.django_db
@pytest.mark.parametrize("role", ROLES)
def test_manager_user_writes_refused(client, role_users, objects, role):
    """Managers cannot add, edit or delete users either (superusers can, in
    Wagtail's Users screen)."""
    if role == "superuser":
        return
    user = objects["user"]
    for url in (
        "/cms/moderation/users/add/",
        f"/cms/moderation/users/edit/{user.pk}/",
        f"/cms/moderation/users/delete/{user.pk}/",
    ):
        response = _as(client, role_users, role).post(url, {"email": "x@example.com"})
        assert response.status_code in (302, 403), url
    user.refresh_from_db()
    assert user.email == "b@example.com"


@pytest.mark.django_db
@pytest.mark.parametrize("role", ROLES)
def test_admin_moderation_posts(client, role_users, objects, role):
    """Disable and block work for managers and superusers only."""
    pages = _admin_pages(objects)
    browser = _as(client, role_users, role)
    allowed = role in ("manager", "superuser")
    for page in ("disable", "block"):
        response = browser.post(pages[page], {"reason": "spam"})
        assert response.status_code == (302 if allowed else DENIED[role]), page
    objects["mailing"].refresh_from_db()
    objects["user"].refresh_from_db()
    assert objects["mailing"].is_active is not allowed
    assert objects["user"].is_active is not allowed


@pytest.mark.django_db
def test_no_block_button_a_manager_cannot_use(client, role_users):
    """A manager sees Block for customers, not for themself or a superuser."""
    client.force_login(role_users["manager"])
    body = client.get("/cms/moderation/users/").content.decode()
    for user, shown in [
        (role_users["customer_a"], True),
        (role_users["manager"], False),
        (role_users["superuser"], False),
    ]:
        assert (f"/cms/moderation/block/{user.pk}/" in body) is shown, user


@pytest.mark.django_db
def test_user_inspect_blocks_and_shows_the_log(client, role_users):
    """The inspect page of a user blocks them and lists what was done."""
    manager, target = role_users["manager"], role_users["customer_a"]
    client.force_login(manager)
    url = f"/cms/moderation/users/inspect/{target.pk}/"
    assert "Block this user" in client.get(url).content.decode()
    client.post(f"/cms/moderation/block/{target.pk}/", {"reason": "spam", "next": url})
    body = client.get(url).content.decode()
    assert "Unblock this user" in body and "blocked user (spam)" in body
