"""Property tests: Hypothesis drives the client, message and mailing forms
and the CSV import with arbitrary text, dates and numbers. Whatever it
sends, the answer is never a 500, and either one object is saved or there
is an error and nothing was written."""

import csv
import io
from datetime import datetime

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st

from audience.models import ClientImport
from audience.tests.helpers import import_csv
from mailing.models import Client, Mailing, Message
from mailing.tests.factories import ClientFactory, MessageFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("queued_runs")]

# Each example is a real request against PostgreSQL: few examples, no
# deadline, no example database left in the working tree. The fixtures
# (one logged-in customer) are shared by the examples on purpose: counts
# are compared before and after each one.
FAST = settings(
    max_examples=50,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

# Text as a browser can send it (any Unicode but surrogates), biased towards
# the characters that have broken things: NUL, line breaks, quotes, markup,
# spreadsheet formula starts, placeholders.
_SPECIAL = st.sampled_from(
    ["\x00", "\r\n", "\n", '"', "'", ",", ";", "\t", "<script>", "=", "@", "{{"]
)
texts = st.lists(st.one_of(st.text(max_size=40), _SPECIAL), max_size=8).map("".join)
addresses = st.one_of(
    texts,
    st.emails().map(str),
    st.builds(
        "{}@{}".format,
        st.text(min_size=1, max_size=20),
        st.sampled_from(["example.com", "bücher.example", "xn--bcher-kva.example"]),
    ),
)
moments = st.one_of(
    st.datetimes(min_value=datetime(1, 1, 1), max_value=datetime(9999, 12, 31)),
    # Near now, where most windows are valid.
    st.datetimes(min_value=datetime(2026, 1, 1), max_value=datetime(2030, 12, 31)),
)


def _datetime_field(moment: datetime) -> str:
    return f"{moment.year:04d}-{moment:%m-%dT%H:%M}"


dates = st.one_of(moments.map(_datetime_field), texts)
ids = st.one_of(
    st.integers(min_value=-(2**70), max_value=2**70).map(str), texts, st.just("")
)


def _counts():
    return (Client.objects.count(), Message.objects.count(), Mailing.objects.count())


@FAST
@given(email=addresses, full_name=texts, comment=texts)
def test_client_form(client, owner, email, full_name, comment):
    before = Client.objects.count()
    response = client.post(
        reverse("mailing:client_create"),
        {"email": email, "full_name": full_name, "comment": comment},
    )
    assert response.status_code in (200, 302)
    event("saved" if response.status_code == 302 else "refused")
    if response.status_code == 302:
        assert Client.objects.count() == before + 1
        saved = Client.objects.latest("pk")
        assert saved.email == saved.email.strip().lower()
    else:
        assert response.context["form"].errors
        assert Client.objects.count() == before


@FAST
@given(subject=texts, body=texts, html_body=st.one_of(texts, st.text()))
def test_message_form(client, owner, subject, body, html_body):
    before = Message.objects.count()
    response = client.post(
        reverse("mailing:message_create"),
        {"subject": subject, "body": body, "html_body": html_body},
    )
    assert response.status_code in (200, 302)
    event("saved" if response.status_code == 302 else "refused")
    if response.status_code == 302:
        assert Message.objects.count() == before + 1
        saved = Message.objects.latest("pk")
        assert "<script" not in saved.html_body.lower()
        # The preview of whatever was saved renders too.
        assert client.get(saved.get_absolute_url()).status_code == 200
    else:
        assert response.context["form"].errors
        assert Message.objects.count() == before


@FAST
@given(
    start_at=dates,
    end_at=dates,
    periodicity=st.one_of(
        st.sampled_from(["once", "daily", "weekly", "monthly"]), texts
    ),
    message=ids,
    clients=st.lists(ids, max_size=3),
    all_clients=st.sampled_from(["", "on", "yes", "\x00"]),
    use_mine=st.booleans(),
)
# Edges too narrow to be found by chance: the first hour of the year 1 has no
# UTC equivalent in Europe/Berlin, the last minute of 9999 none after it.
@example("0001-01-01T00:00", "2030-01-01T00:00", "once", "", [], "", True)
@example("2026-06-01T00:00", "9999-12-31T23:59", "monthly", "", [], "", True)
def test_mailing_form(
    client,
    owner,
    start_at,
    end_at,
    periodicity,
    message,
    clients,
    all_clients,
    use_mine,
):
    if use_mine:
        # Valid ids half of the time, so dates and periods get exercised.
        message = str(MessageFactory(owner=owner).pk)
        clients = [str(ClientFactory(owner=owner).pk)]
    before = _counts()
    response = client.post(
        reverse("mailing:mailing_create"),
        {
            "start_at": start_at,
            "end_at": end_at,
            "periodicity": periodicity,
            "message": message,
            "clients": clients,
            "all_clients": all_clients,
        },
    )
    assert response.status_code in (200, 302)
    event("saved" if response.status_code == 302 else "refused")
    clients_now, messages_now, mailings_now = _counts()
    assert (clients_now, messages_now) == before[:2]
    if response.status_code == 302:
        assert mailings_now == before[2] + 1
        mailing = Mailing.objects.latest("pk")
        assert mailing.end_at > mailing.start_at
        assert mailing.clients.exists()
        assert client.get(mailing.get_absolute_url()).status_code == 200
    else:
        assert response.context["form"].errors
        assert mailings_now == before[2]


def _csv(rows, delimiter):
    out = io.StringIO()
    csv.writer(out, delimiter=delimiter).writerows(rows)
    return out.getvalue()


csv_rows = st.lists(
    st.one_of(
        st.lists(st.one_of(texts, addresses), max_size=4),
        # Mostly well-formed rows: an address, a name, a comment.
        st.tuples(st.emails().map(str), texts, texts).map(list),
    ),
    max_size=6,
)
csv_files = st.one_of(
    st.binary(max_size=300),
    texts.map(lambda text: text.encode("utf-8")),
    st.builds(_csv, csv_rows, st.sampled_from([",", ";", "\t"])).map(str.encode),
)


@FAST
@given(content=csv_files)
def test_csv_import(owner, content):
    """An import refuses a bad file writing nothing, or runs it and counts
    every row it read."""
    before = Client.objects.count()
    try:
        job = import_csv(owner, content)
    except ValidationError as error:
        event("refused")
        assert error.messages
        assert Client.objects.count() == before
        return
    event(job.status)
    if job.status == "failed":
        assert job.error and Client.objects.count() == before
    else:
        assert job.processed == job.total
        assert job.created + job.updated + job.rejected <= job.total
        assert Client.objects.count() == before + job.created


@settings(FAST, max_examples=25)
@given(content=csv_files)
def test_csv_import_pages(client, owner, content):
    """The upload, the mapping and the progress pages never answer 500."""
    before = Client.objects.count()
    response = client.post(
        reverse("audience:client_import"),
        {"file": SimpleUploadedFile("clients.csv", content, "text/csv")},
    )
    assert response.status_code in (200, 302)
    assert Client.objects.count() == before
    if response.status_code == 302:
        mapping = client.get(response.url)
        assert mapping.status_code == 200
        data = {
            field.html_name: field.value() or ""
            for field in mapping.context["form"].column_fields()
        }
        started = client.post(response.url, {**data, "status": "subscribed"})
        assert started.status_code in (200, 302)
        job = ClientImport.objects.latest("pk")
        assert client.get(job.get_absolute_url()).status_code in (200, 302)
        assert client.get(
            reverse("audience:client_import_progress", args=[job.pk])
        ).json()["status"] in ("new", "queued")
