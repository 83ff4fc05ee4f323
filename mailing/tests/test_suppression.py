"""The per-customer suppression list: an unsubscribe lasts, whichever client
row brings the address back; customers see their list, add to it by hand and
lift only what is theirs to lift; old unsubscribe links keep working."""

from importlib import import_module

import pytest
from django.apps import apps
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.db import connection
from django.test import Client as HttpClient
from django.test import RequestFactory
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from audience.tests.helpers import import_csv
from mailing import public_views, selectors, services
from mailing.models import Client, Suppression
from mailing.tests.engine_support import make_mailing
from mailing.tests.factories import ClientFactory, DeliveryFactory, UserFactory
from mailing.tests.test_browser_mailing import log_in
from mailing.unsubscribe import unsubscribe_token

pytestmark = pytest.mark.django_db

Reason = Suppression.Reason


def _link(client):
    token = unsubscribe_token(owner_id=client.owner_id, client_id=client.pk)
    return f"/m/unsubscribe/{token}/"


def _unsubscribed(owner, email):
    return services.suppression_record(
        owner_id=owner.pk, email=email, reason="unsubscribed", source="link"
    )


# Services -----------------------------------------------------------------


def test_split_addresses():
    """Pasted addresses: any separator, normalised, each once, in order."""
    text = " Ann@Example.NET,bob@example.net;\n\ncid@example.net ann@example.net\t"
    assert services.split_addresses(text) == [
        "ann@example.net",
        "bob@example.net",
        "cid@example.net",
    ]


def test_adding_by_hand_normalises_and_keeps_existing_entries():
    """Addresses added by hand are `manual`; one already listed keeps its
    entry and reason."""
    owner = UserFactory()
    Suppression.objects.create(owner=owner, email="bob@example.net", reason="complaint")
    result = services.suppression_add(
        owner=owner, emails=[" Ann@Example.NET ", "bob@example.net", "ann@example.net"]
    )
    assert result.added == ["ann@example.net"]
    assert result.already == ["bob@example.net"]
    assert dict(Suppression.objects.values_list("email", "reason")) == {
        "ann@example.net": "manual",
        "bob@example.net": "complaint",
    }
    assert Suppression.objects.get(email="ann@example.net").source == "added by hand"


def test_adding_an_invalid_address_writes_nothing():
    """All or nothing: one bad address refuses the lot, and names it."""
    owner = UserFactory()
    with pytest.raises(ValidationError) as error:
        services.suppression_add(
            owner=owner, emails=["ann@example.net", "not-an-address", "x@" + "y" * 260]
        )
    assert "not-an-address" in str(error.value)
    assert not Suppression.objects.exists()
    with pytest.raises(ValidationError):
        services.suppression_add(owner=owner, emails=["  "])


@pytest.mark.parametrize(
    "reason,removable",
    [
        (Reason.MANUAL, True),
        (Reason.HARD_BOUNCE, True),
        (Reason.UNSUBSCRIBED, False),
        (Reason.COMPLAINT, False),
    ],
)
def test_only_entries_the_recipient_did_not_make_can_be_removed(reason, removable):
    """Manual entries and hard bounces can be lifted; an unsubscribe or a
    complaint is the recipient's and stays."""
    entry = Suppression.objects.create(
        owner=UserFactory(), email="ann@example.net", reason=reason
    )
    assert entry.removable == removable
    if removable:
        services.suppression_remove(suppression=entry)
        assert not Suppression.objects.exists()
    else:
        with pytest.raises(ValidationError, match="cannot be removed"):
            services.suppression_remove(suppression=entry)
        assert Suppression.objects.filter(pk=entry.pk).exists()


def test_the_recipients_act_outranks_the_customers():
    """Unsubscribing turns a manual entry into the recipient's own; adding
    by hand or a bounce never weakens an unsubscribe."""
    owner = UserFactory()
    services.suppression_add(owner=owner, emails=["ann@example.net"])
    entry = services.suppression_record(
        owner_id=owner.pk,
        email="Ann@example.net",
        reason=Reason.UNSUBSCRIBED,
        source="unsubscribe link",
        client_id=7,
    )
    assert (entry.reason, entry.source, entry.client_id) == (
        "unsubscribed",
        "unsubscribe link",
        7,
    )
    services.suppression_add(owner=owner, emails=["ann@example.net"])
    services.suppression_record(
        owner_id=owner.pk, email="ann@example.net", reason="hard_bounce", source="dsn"
    )
    entry.refresh_from_db()
    assert (entry.reason, entry.client_id) == ("unsubscribed", 7)
    assert Suppression.objects.count() == 1
    with pytest.raises(ValueError):
        services.suppression_record(
            owner_id=owner.pk, email="new@example.net", reason="bored", source=""
        )
    assert Suppression.objects.count() == 1


def test_the_list_is_the_owners_searchable_and_filterable():
    owner, other = UserFactory(), UserFactory()
    services.suppression_add(owner=owner, emails=["ann@example.net", "bob@test.org"])
    services.suppression_record(
        owner_id=owner.pk,
        email="cid@example.net",
        reason="unsubscribed",
        source="unsubscribe link, mailing #12",
    )
    services.suppression_add(owner=other, emails=["ann@example.net", "zed@test.org"])

    def emails(**kwargs):
        return sorted(
            selectors.suppression_list(owner=owner, **kwargs).values_list(
                "email", flat=True
            )
        )

    assert emails() == ["ann@example.net", "bob@test.org", "cid@example.net"]
    assert emails(search="example.net") == ["ann@example.net", "cid@example.net"]
    assert emails(search="EXAMPLE.net ") == ["ann@example.net", "cid@example.net"]
    assert emails(search="Bob@Test.org") == ["bob@test.org"]
    assert emails(search="b@test.org") == ["bob@test.org"]
    assert emails(search="@test.org") == ["bob@test.org"]
    assert emails(reason="manual") == ["ann@example.net", "bob@test.org"]
    assert emails(reason="nonsense") == emails()


# Unsubscribe links --------------------------------------------------------


def test_unsubscribing_writes_the_suppression_list():
    """The button writes an `unsubscribed` entry naming the link, the
    mailing and the client row; a one-click POST says so in the source."""
    mailing = make_mailing(clients=2)
    first, second = mailing.clients.order_by("pk")
    DeliveryFactory(
        run__mailing=mailing, client=first, message_id=f"<run1.client{first.pk}@x>"
    )
    HttpClient().post(_link(first))
    entry = Suppression.objects.get(email=first.email)
    assert entry.owner_id == mailing.owner_id
    assert entry.reason == "unsubscribed"
    assert entry.source == f"unsubscribe link, mailing #{mailing.pk}"
    assert entry.client_id == first.pk
    HttpClient().post(
        _link(second),
        "List-Unsubscribe=One-Click",
        content_type="application/x-www-form-urlencoded",
    )
    assert Suppression.objects.get(email=second.email).source == "one-click unsubscribe"
    first.refresh_from_db()
    assert first.unsubscribed_at is not None


def test_an_old_link_keeps_working_after_the_client_is_deleted_and_readded(
    client, owner
):
    """Unsubscribe, delete the client, add the address again: the old link
    says "you are unsubscribed", and the new row shows as suppressed."""
    gone = ClientFactory(owner=owner, email="ann@example.net")
    link, gone_pk = _link(gone), gone.pk
    assert HttpClient().post(link).status_code == 200
    services.client_delete(client=gone)
    again = services.client_create(owner=owner, email="Ann@example.net")
    for visitor in (HttpClient(), client):
        response = visitor.get(link)
        assert response.status_code == 200
        assert b"You are unsubscribed" in response.content
        assert b"ann@example.net" in response.content
    # Posting the old link again changes nothing and does not fail.
    assert HttpClient().post(link).status_code == 200
    assert Suppression.objects.get().client_id == gone_pk

    listing = client.get(reverse("mailing:client_list")).content.decode()
    assert "suppressed (unsubscribed)" in listing
    detail = client.get(again.get_absolute_url()).content.decode()
    assert "suppressed (unsubscribed)" in detail
    assert "nothing is sent to this address" in detail


def test_the_link_of_a_deleted_client_who_never_unsubscribed(smtp_sink, settings):
    """The link in mail sent before the client was deleted still resolves
    (through the delivery log) and unsubscribes the address for good."""
    settings.SITE_URL = "https://mail.example.org"
    mailing = make_mailing(clients=1)
    call_command("send_mailings")
    [mail] = smtp_sink.messages
    link = mail.message["List-Unsubscribe"].strip("<>")
    link = link.replace("https://mail.example.org", "")
    gone = mailing.clients.get()
    gone_pk = gone.pk
    services.client_delete(client=gone)

    response = HttpClient().get(link)
    assert response.status_code == 200
    assert b"Unsubscribe?" in response.content
    assert gone.email.encode() in response.content
    assert not Suppression.objects.exists()

    HttpClient().post(link)
    entry = Suppression.objects.get()
    assert (entry.email, entry.reason, entry.client_id) == (
        gone.email,
        "unsubscribed",
        gone_pk,
    )
    assert entry.source == f"unsubscribe link, mailing #{mailing.pk}"
    again = services.client_create(owner=mailing.owner, email=gone.email)
    assert selectors.suppression_for(owner=again.owner, email=again.email) == entry
    assert b"You are unsubscribed" in HttpClient().get(link).content


def test_the_link_of_a_deleted_client_never_mailed_is_a_clear_page():
    """Nothing left to resolve the address from: a page that says the link
    no longer works (404), not a bare error."""
    gone = ClientFactory()
    link = _link(gone)
    gone.delete()
    for method in ("get", "post"):
        response = getattr(HttpClient(), method)(link)
        assert response.status_code == 404
        assert b"This link does not work" in response.content
        assert b"no longer has" in response.content
    assert not Suppression.objects.exists()


def test_head_answers_without_a_body_and_unsubscribes_nobody():
    """Mail providers probe the link with HEAD: 200, no body, no change; a
    bad token 404."""
    target = make_mailing(clients=1).clients.get()
    response = HttpClient().head(_link(target))
    assert response.status_code == 200
    # The view itself sends no body (the test client would strip one).
    token = _link(target).split("/")[3]
    direct = public_views.unsubscribe(RequestFactory().head("/"), token)
    assert (direct.status_code, direct.content) == (200, b"")
    assert HttpClient().head("/m/unsubscribe/garbage/").status_code == 404
    target.refresh_from_db()
    assert target.unsubscribed_at is None
    assert not Suppression.objects.exists()


def test_a_manual_entry_still_offers_the_button_and_becomes_the_recipients():
    """An address the customer suppressed by hand is asked, not told it is
    unsubscribed: the recipient's click makes the entry permanent."""
    target = make_mailing(clients=1).clients.get()
    services.suppression_add(owner=target.owner, emails=[target.email])
    assert b"Unsubscribe?" in HttpClient().get(_link(target)).content
    HttpClient().post(_link(target))
    entry = Suppression.objects.get()
    assert entry.reason == "unsubscribed" and not entry.removable


# Pages --------------------------------------------------------------------


ROLES = ["anonymous", "customer_a", "customer_b", "manager", "superuser"]


def _as(http, role_users, role):
    if role_users[role] is not None:
        http.force_login(role_users[role])
    return http


@pytest.mark.parametrize("role", ROLES)
def test_the_page_shows_only_ones_own_entries(client, role_users, role):
    """Every signed-in user has a list of their own; visitors log in."""
    a = role_users["customer_a"]
    services.suppression_add(owner=a, emails=["secret-of-a@example.net"])
    response = _as(client, role_users, role).get(reverse("mailing:suppression_list"))
    if role == "anonymous":
        assert response.status_code == 302
        return
    assert response.status_code == 200
    shown = b"secret-of-a@example.net" in response.content
    assert shown == (role == "customer_a")


@pytest.mark.parametrize("role", ROLES)
def test_only_the_owner_removes_an_entry(client, role_users, role):
    """Removing another customer's entry is a 404 and changes nothing."""
    a = role_users["customer_a"]
    services.suppression_add(owner=a, emails=["ann@example.net"])
    entry = Suppression.objects.get()
    url = reverse("mailing:suppression_remove", args=[entry.pk])
    response = _as(client, role_users, role).post(url)
    expected = {"anonymous": 302, "customer_a": 302}.get(role, 404)
    assert response.status_code == expected
    assert Suppression.objects.filter(pk=entry.pk).exists() == (role != "customer_a")


def test_a_recipient_made_entry_cannot_be_removed_from_the_page(client, owner):
    """No button for it, and a hand-made POST is refused with a message."""
    services.suppression_add(owner=owner, emails=["manual@example.net"])
    _unsubscribed(owner, "gone@example.net")
    page = client.get(reverse("mailing:suppression_list")).content.decode()
    assert page.count('action="/app/suppressed/') == 1
    manual = Suppression.objects.get(email="manual@example.net")
    assert f"/app/suppressed/{manual.pk}/remove/" in page

    entry = Suppression.objects.get(email="gone@example.net")
    url = reverse("mailing:suppression_remove", args=[entry.pk])
    response = client.post(url, follow=True)
    assert "cannot be removed" in response.content.decode()
    assert Suppression.objects.filter(pk=entry.pk).exists()


def test_adding_and_removing_on_the_page(client, owner):
    url = reverse("mailing:suppression_list")
    response = client.post(url, {"emails": "ann@example.net\nBob@Example.net, oops"})
    assert response.status_code == 200
    assert "oops" in response.content.decode()
    assert not Suppression.objects.exists()

    response = client.post(url, {"emails": "ann@example.net\nBob@Example.net"})
    assert response.status_code == 302
    assert sorted(Suppression.objects.values_list("email", flat=True)) == [
        "ann@example.net",
        "bob@example.net",
    ]
    response = client.get(url + "?q=bob")
    assert b"bob@example.net" in response.content
    assert b"ann@example.net" not in response.content

    bob = Suppression.objects.get(email="bob@example.net")
    response = client.post(
        reverse("mailing:suppression_remove", args=[bob.pk]),
        {"next": url + "?q=bob"},
    )
    assert response["Location"] == url + "?q=bob"
    assert list(Suppression.objects.values_list("email", flat=True)) == [
        "ann@example.net"
    ]
    # An offsite `next` is not followed.
    ann = Suppression.objects.get()
    response = client.post(
        reverse("mailing:suppression_remove", args=[ann.pk]),
        {"next": "https://evil.example.com/"},
    )
    assert response["Location"] == url


def test_the_nav_links_to_the_list(client, owner):
    page = client.get(reverse("mailing:dashboard")).content.decode()
    assert reverse("mailing:suppression_list") in page


def test_the_client_list_marks_suppressed_clients_in_one_query(client, owner):
    """The badge costs no query per row."""
    url = reverse("mailing:client_list")
    ClientFactory.create_batch(3, owner=owner)
    with CaptureQueriesContext(connection) as few:
        client.get(url)
    clients = ClientFactory.create_batch(20, owner=owner)
    services.suppression_add(owner=owner, emails=[c.email for c in clients[:10]])
    with CaptureQueriesContext(connection) as many:
        page = client.get(url).content.decode()
    assert len(many) == len(few)
    assert page.count("suppressed (added by hand)") == 10


def test_the_import_skips_suppressed_addresses_and_counts_them(owner):
    """Suppressed addresses are not imported (nor put on lists), but
    counted; they stay suppressed."""
    services.suppression_add(owner=owner, emails=["ann@example.net"])
    _unsubscribed(owner, "bob@example.net")
    text = "email,name\nAnn@example.net,Ann\nbob@example.net,Bob\ncid@example.net,Cid\n"
    job = import_csv(owner, text)
    assert (job.created, job.suppressed) == (1, 2)
    assert [c.email for c in Client.objects.filter(owner=owner)] == ["cid@example.net"]
    assert Suppression.objects.filter(owner=owner).count() == 2


def test_the_migration_links_backfilled_entries_to_their_clients():
    """Entries back-filled from Client.unsubscribed_at learn their client's
    id, so those clients' old links survive a later deletion."""
    migration = import_module("mailing.migrations.0003_h4_suppression_client")
    gone = ClientFactory(unsubscribed_at=timezone.now())
    stays = ClientFactory(owner=gone.owner)
    for client in (gone, stays):
        Suppression.objects.create(
            owner=gone.owner, email=client.email, reason="unsubscribed"
        )
    # Another owner's entry for the same address is not theirs to link.
    Suppression.objects.create(owner=UserFactory(), email=gone.email, reason="manual")
    migration.link_clients(apps, None)
    linked = {(s.owner_id, s.email): s.client_id for s in Suppression.objects.all()}
    assert linked == {
        (gone.owner_id, gone.email): gone.pk,
        (gone.owner_id, stays.email): stays.pk,
        (Suppression.objects.get(reason="manual").owner_id, gone.email): None,
    }
    link = _link(gone)
    gone.delete()
    assert b"You are unsubscribed" in HttpClient().get(link).content


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_an_unsubscribe_lasts_in_the_browser(page, screenshot):
    """The recipient unsubscribes; the customer deletes the client and
    imports the address again: the import skips it, and the Suppressed
    page says so, and the entry cannot be removed; what the
    customer adds by hand they can remove."""
    customer = UserFactory(email="casey@example.com")
    gone = ClientFactory(owner=customer, email="ada@example.net")
    page.goto(_link(gone))
    page.get_by_role("button", name="Unsubscribe").click()
    page.get_by_role("heading", name="You are unsubscribed").wait_for()
    link = _link(gone)
    services.client_delete(client=gone)

    log_in(page, customer.email)
    page.wait_for_url("**/app/")
    page.goto("/app/clients/import/")
    page.set_input_files(
        "input[name=file]",
        files=[
            {
                "name": "clients.csv",
                "mimeType": "text/csv",
                "buffer": b"email\nada@example.net\ngrace@example.net\n",
            }
        ],
    )
    page.locator("main form#import-upload button[type=submit]").click()
    page.locator("main form#import-mapping button[type=submit]").click()
    page.locator("#import-outcome").wait_for()
    outcome = page.locator("#import-outcome").inner_text()
    assert "Skipped: on your suppression list\n1" in outcome
    screenshot("1-import-outcome")
    page.goto("/app/clients/")
    assert page.get_by_role("row").filter(has_text="grace@example.net").count() == 1
    assert page.get_by_role("row").filter(has_text="ada@example.net").count() == 0
    screenshot("2-client-list")

    page.get_by_role("link", name="Suppressed").first.click()
    page.fill("textarea[name=emails]", "typo@example.net, Grace@example.net")
    page.get_by_role("button", name="Suppress").click()
    page.get_by_text("2 addresses suppressed.").wait_for()
    ada = page.get_by_role("row").filter(has_text="ada@example.net")
    assert ada.get_by_role("button", name="Remove").count() == 0
    screenshot("3-suppressed")
    typo = page.get_by_role("row").filter(has_text="typo@example.net")
    typo.get_by_role("button", name="Remove").click()
    page.get_by_text("typo@example.net removed from the suppression list.").wait_for()
    assert sorted(
        Suppression.objects.filter(owner=customer).values_list("email", "reason")
    ) == [("ada@example.net", "unsubscribed"), ("grace@example.net", "manual")]

    page.goto(link)
    page.get_by_role("heading", name="You are unsubscribed").wait_for()
