"""Customer pages at scale: statistics come from the run counters (no page
view reads the delivery table to count), the mailing form's client picker
lists no clients, the client search is index-backed on PostgreSQL, long
lists count only up to a cap, and the debug error page runs no queryset."""

import re
import sys
from datetime import timedelta

import pytest
from django.core.paginator import Paginator
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from django.views.debug import ExceptionReporter

from audience.tests.helpers import import_csv
from mailing import forms, paging, selectors, services
from mailing.models import Client, Mailing, Run
from mailing.tests.factories import (
    ClientFactory,
    DeliveryFactory,
    MailingFactory,
    MessageFactory,
    RunFactory,
    UserFactory,
)
from mailing.tests.test_validation import _errors, _local, _mailing_data
from mailsite.debug import UnevaluatedQuerySetFilter

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("queued_runs")]


def _counted_mailing(owner):
    """A mailing whose runs carry counters and have no delivery rows: what a
    page shows can only come from the counters."""
    mailing = MailingFactory(owner=owner, clients=3)
    now = timezone.now()
    RunFactory(
        mailing=mailing,
        scheduled_for=now - timedelta(days=60),
        delivery_count=1000,
        sent_count=900,
        failed_count=100,
        last_sent_at=now - timedelta(days=59),
    )
    RunFactory(
        mailing=mailing,
        scheduled_for=now - timedelta(hours=1),
        status=Run.Status.RUNNING,
        delivery_count=500,
        sent_count=200,
        failed_count=20,
        deferred_count=30,
        last_sent_at=now - timedelta(minutes=1),
    )
    return mailing


def test_statistics_come_from_the_run_counters(client, owner):
    """Dashboard, mailing list, mailing page and progress JSON show the sums
    of the run counters; the 30-day figures count runs started in the last
    30 days."""
    mailing = _counted_mailing(owner)
    dashboard = client.get(reverse("mailing:dashboard"))
    figures, stats = dashboard.context["figures"], dashboard.context["stats"]
    assert (figures["sent_30d"], figures["failed_30d"]) == (200, 20)
    assert (stats["sent"], stats["failed"]) == (1100, 120)
    assert "runs started in the last 30 days" in dashboard.content.decode()
    row = client.get(reverse("mailing:mailing_list")).context["page_obj"][0]
    assert (row.sent, row.failed, row.client_count) == (1100, 120, 3)
    assert row.last_sent_at > timezone.now() - timedelta(minutes=2)
    page = client.get(reverse("mailing:mailing_detail", args=[mailing.pk]))
    runs = page.context["runs"]
    assert [(r.total, r.sent, r.failed, r.deferred, r.pending) for r in runs] == [
        (500, 200, 20, 30, 250),
        (1000, 900, 100, 0, 0),
    ]
    progress = client.get(reverse("mailing:mailing_progress", args=[mailing.pk]))
    assert progress.json() | {"next_run_at": None} == {
        "status": mailing.status,
        "next_run_at": None,
        "running": True,
        "total": 500,
        "done": 220,
        "percent": 44,
        "pending": 250,
        "sent": 200,
        "failed": 20,
        "deferred": 30,
    }


def test_managers_user_list_sums_the_counters(owner):
    _counted_mailing(owner)
    user = selectors.users_with_stats().get(pk=owner.pk)
    assert (user.sent, user.failed) == (1100, 120)
    assert user.last_sent_at > timezone.now() - timedelta(minutes=2)
    nobody = selectors.users_with_stats().get(pk=UserFactory().pk)
    assert (nobody.sent, nobody.failed, nobody.last_sent_at) == (0, 0, None)


@pytest.mark.parametrize(
    "name", ["mailing:dashboard", "mailing:mailing_list", "mailing:mailing_progress"]
)
def test_statistics_pages_never_read_the_delivery_log(client, owner, name):
    """The pages that show statistics read no delivery row at all."""
    mailing = _counted_mailing(owner)
    DeliveryFactory(run=mailing.runs.first())
    args = [mailing.pk] if name == "mailing:mailing_progress" else []
    with CaptureQueriesContext(connection) as queries:
        assert client.get(reverse(name, args=args)).status_code == 200
    assert not [q for q in queries if "mailing_delivery" in q["sql"]]


def test_mailing_page_reads_only_a_page_of_the_log(client, owner):
    """The mailing page reads deliveries only for the log, with a LIMIT and
    without counting them."""
    mailing = _counted_mailing(owner)
    DeliveryFactory(run=mailing.runs.first())
    with CaptureQueriesContext(connection) as queries:
        client.get(reverse("mailing:mailing_detail", args=[mailing.pk]))
    reads = [q["sql"] for q in queries if "mailing_delivery" in q["sql"]]
    assert len(reads) == 1
    assert "LIMIT 51" in reads[0] and "COUNT(" not in reads[0].upper()


# The client picker ------------------------------------------------------------


def test_client_search_json_is_scoped_and_short(client, owner):
    """The picker's search finds the owner's clients by address, name or
    comment, at most 20, never another user's."""
    for n in range(25):
        ClientFactory(owner=owner, email=f"ann{n}@example.org", full_name="Ann")
    ClientFactory(owner=owner, email="bob@example.org", comment="met at the fair")
    ClientFactory(owner=UserFactory(), email="ann-other@example.org")
    url = reverse("mailing:client_search")
    results = client.get(url, {"q": "ANN"}).json()["results"]
    assert len(results) == 20
    assert all(
        r["email"].startswith("ann") and r["email"] != "ann-other@example.org"
        for r in results
    )
    assert results[0]["label"] == "Ann <ann0@example.org>"
    assert [r["email"] for r in client.get(url, {"q": "fair"}).json()["results"]] == [
        "bob@example.org"
    ]
    assert client.get(url, {"q": "ann-other"}).json()["results"] == []


def test_search_needs_a_login(client):
    response = client.get(reverse("mailing:client_search"), {"q": "a"})
    assert response.status_code == 302


def test_new_mailing_form_lists_no_clients(client, owner):
    """The form holds a picker, not an option per client, and its script is
    a static file (no inline script)."""
    MessageFactory(owner=owner)
    ClientFactory.create_batch(30, owner=owner)
    html = client.get(reverse("mailing:mailing_create")).content.decode()
    picker = html[html.index("data-client-picker") :]
    select = picker[: picker.index("</select>")]
    assert "<option" not in select
    assert 'data-search-url="/app/clients/search.json"' in html
    assert re.search(r'<script src="/static/js/client_picker\.js" defer', html)
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html)


def test_chosen_clients_are_submitted_as_ids_and_checked(client, owner):
    """Ids of the owner's clients make the mailing; another user's id or a
    value that is no id is refused and nothing is written."""
    message = MessageFactory(owner=owner)
    mine = ClientFactory.create_batch(3, owner=owner)
    theirs = ClientFactory()
    url = reverse("mailing:mailing_create")
    response = client.post(url, _mailing_data(message, [mine[0], theirs]))
    assert "not one of your clients" in _errors(response, "clients")
    response = client.post(url, {**_mailing_data(message, []), "clients": ["x"]})
    assert _errors(response, "clients")
    assert not Mailing.objects.exists()
    response = client.post(url, _mailing_data(message, mine[:2]))
    assert response.status_code == 302
    assert set(Mailing.objects.get().clients.all()) == set(mine[:2])


def test_too_many_chosen_clients(client, owner, monkeypatch):
    monkeypatch.setattr(forms, "MAX_CHOSEN_CLIENTS", 2)
    message = MessageFactory(owner=owner)
    mine = ClientFactory.create_batch(3, owner=owner)
    response = client.post(
        reverse("mailing:mailing_create"), _mailing_data(message, mine)
    )
    assert "at most 2 clients" in _errors(response, "clients")
    assert not Mailing.objects.exists()


def test_edit_form_shows_the_chosen_clients_or_all(client, owner, monkeypatch):
    """Editing shows the mailing's clients as chosen options, "all my
    clients" when they are all of them, and when they are too many to list,
    keeps them if none is picked."""
    clients = ClientFactory.create_batch(4, owner=owner)
    some = MailingFactory(owner=owner, clients=clients[:2])
    form = client.get(reverse("mailing:mailing_update", args=[some.pk])).context["form"]
    assert sorted(form.initial["clients"]) == sorted(c.pk for c in clients[:2])
    assert not form.initial.get("all_clients")
    html = str(form["clients"])
    assert html.count("<option") == 2 and html.count("selected") == 2
    every = MailingFactory(owner=owner, clients=clients)
    form = client.get(reverse("mailing:mailing_update", args=[every.pk])).context[
        "form"
    ]
    assert form.initial["all_clients"] is True
    monkeypatch.setattr(forms, "MAX_CHOSEN_CLIENTS", 2)
    many = MailingFactory(owner=owner, clients=clients[:3])
    url = reverse("mailing:mailing_update", args=[many.pk])
    form = client.get(url).context["form"]
    assert "3 clients, too many to list" in str(form.fields["clients"].help_text)
    response = client.post(
        url,
        {
            "message": many.message.pk,
            "start_at": _local(many.start_at),
            "end_at": _local(many.end_at),
            "periodicity": many.periodicity,
        },
    )
    assert response.status_code == 302
    assert set(many.clients.all()) == set(clients[:3])


# Lists that count only up to a cap ---------------------------------------------


def test_client_list_counts_up_to_a_cap(client, owner, monkeypatch):
    """Past the cap the list says "N+" and offers no further pages."""
    monkeypatch.setattr(paging, "COUNT_CAP", 5)
    ClientFactory.create_batch(8, owner=owner)
    response = client.get(reverse("mailing:client_list"))
    assert response.context["page_obj"].paginator.is_capped
    assert re.search(r"data-client-count>\s*5\+", response.content.decode())
    monkeypatch.setattr(paging, "COUNT_CAP", 10)
    response = client.get(reverse("mailing:client_list"))
    assert not response.context["page_obj"].paginator.is_capped
    assert response.context["page_obj"].paginator.count == 8


@pytest.mark.skipif(
    connection.vendor != "postgresql", reason="trigram indexes are PostgreSQL's"
)
def test_client_search_can_use_the_trigram_indexes(owner):
    """The indexes match the SQL Django writes for icontains, so the planner
    can answer a search of each column from them (asked not to scan the
    table, nor to walk a b-tree for the model's ordering)."""
    ClientFactory.create_batch(5, owner=owner)
    for column in ("email", "full_name", "comment"):
        query = Client.objects.filter(**{f"{column}__icontains": "exam"}).query
        sql, params = query.sql_with_params()
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL enable_seqscan = off")
            cursor.execute("SET LOCAL enable_indexscan = off")
            cursor.execute("EXPLAIN " + sql, params)
            plan = "\n".join(row[0] for row in cursor.fetchall())
        assert f"client_{column}_trgm_idx" in plan, plan


# The debug error page ---------------------------------------------------------


def test_debug_error_page_does_not_run_querysets(rf, owner, settings):
    """The technical 500 page shows a failed view's querysets and paginator
    as SQL, without running them."""
    settings.DEBUG = True
    ClientFactory.create_batch(3, owner=owner)

    def failing_view():
        clients = owner.clients.filter(email__icontains="example")  # noqa: F841
        paginator = Paginator(owner.clients.all(), 2)  # noqa: F841
        context = {"mailings": Mailing.objects.all(), "n": 1}  # noqa: F841
        raise RuntimeError("slow page")

    try:
        failing_view()
    except RuntimeError:
        exc_info = sys.exc_info()
    request = rf.get("/app/")
    request.user = owner
    reporter = ExceptionReporter(request, *exc_info)
    assert isinstance(reporter.filter, UnevaluatedQuerySetFilter)
    with CaptureQueriesContext(connection) as queries:
        html = reporter.get_traceback_html()
    assert not [q for q in queries if "mailing_" in q["sql"]], queries.captured_queries
    assert "QuerySet of Client, not evaluated" in html
    assert "QuerySet of Mailing, not evaluated" in html


def test_cached_client_counts_follow_every_change(client, owner):
    """The dashboard's client count and a mailing's client count are cached,
    and adding, importing or deleting a client, or changing a mailing's
    clients, shows at once."""

    def figures():
        dashboard = client.get(reverse("mailing:dashboard"))
        return dashboard.context["figures"]["clients"], [
            m.client_count for m in dashboard.context["recent_mailings"]
        ]

    mailing = MailingFactory(owner=owner, clients=2)
    assert figures() == (2, [2])
    extra = services.client_create(owner=owner, email="new@example.org")
    assert figures() == (3, [2])
    import_csv(owner, b"a@example.org\nb@example.org\n")
    assert figures() == (5, [2])
    mailing.clients.add(extra)
    assert figures() == (5, [3])
    services.client_delete(client=extra)
    assert figures() == (4, [2])


def test_all_my_clients_are_recipients_without_reading_them(client, owner):
    """ "All my clients" makes every one of the owner's clients (and no one
    else's) a recipient in one statement, and the cached counts follow."""
    message = MessageFactory(owner=owner)
    mine = ClientFactory.create_batch(4, owner=owner)
    ClientFactory()
    assert client.get(reverse("mailing:dashboard")).status_code == 200
    with CaptureQueriesContext(connection) as queries:
        response = client.post(
            reverse("mailing:mailing_create"),
            _mailing_data(message, [], all_clients="on"),
        )
    assert response.status_code == 302
    mailing = Mailing.objects.get()
    assert set(mailing.clients.all()) == set(mine)
    assert not [
        q
        for q in queries
        if 'FROM "mailing_client"' in q["sql"]
        and "INSERT" not in q["sql"]
        and "EXISTS" not in q["sql"].upper()
        and "LIMIT 1" not in q["sql"]
    ]
    recent = client.get(reverse("mailing:dashboard")).context["recent_mailings"]
    assert recent[0].client_count == 4
    url = reverse("mailing:mailing_update", args=[mailing.pk])
    data = _mailing_data(message, [], all_clients="on")
    ClientFactory(owner=owner)
    assert client.post(url, data).status_code == 302
    assert mailing.clients.count() == 5
