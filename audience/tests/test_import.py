"""Client import at scale: the stored upload, the mapping, the background
run (upsert by address, suppressed skipped, rejected rows reported, lists
and their counts) and the file-level refusals that write nothing."""

import csv
import io

import pytest
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile

from audience import imports
from audience.models import ClientImport, CustomField, ImportMapping, Subscription
from audience.tests.factories import MailingListFactory, SubscriptionFactory
from mailing.models import Client, Suppression
from mailing.tests.factories import ClientFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def run_import(django_capture_on_commit_callbacks):
    """Upload a text, start it with `columns` (or the guessed mapping) and
    return the job after its run (the task runs at once in tests)."""

    def run(owner, text, *, columns=None, list_ids=(), status="subscribed"):
        data = text.encode() if isinstance(text, str) else text
        job = imports.client_import_create(owner=owner, file=ContentFile(data, "c.csv"))
        with django_capture_on_commit_callbacks(execute=True):
            imports.client_import_start(
                client_import=job,
                columns=job.mapping["columns"] if columns is None else columns,
                list_ids=list_ids,
                subscription_status=status,
            )
        job.refresh_from_db()
        return job

    return run


def report_rows(job):
    with job.report.open("rb") as file:
        return list(csv.reader(io.StringIO(file.read().decode())))


def test_the_run_adds_and_updates_by_address(run_import):
    owner = UserFactory()
    ClientFactory(
        owner=owner,
        email="ann@example.net",
        full_name="Old",
        comment="keep me",
        attributes={"city": "Oslo", "plan": "gold"},
    )
    CustomField.objects.create(owner=owner, key="city", label="City")
    CustomField.objects.create(owner=owner, key="age", label="Age", type="number")
    other = ClientFactory(email="bob@example.net", full_name="Another owner's")
    job = run_import(
        owner,
        "Email,Name,City,Age\n"
        "ANN@example.net,Ann Lee,Bergen,41\n"
        "bob@example.net,Bob,,7\n"
        "bob@example.net,Bobby,Rome,\n",
    )
    assert job.status == "done", job.error
    assert (job.total, job.processed, job.created, job.updated) == (3, 3, 1, 1)
    ann = Client.objects.get(owner=owner, email="ann@example.net")
    assert (ann.full_name, ann.comment) == ("Ann Lee", "keep me")
    # Keys not in the file are kept; those in it replaced.
    assert ann.attributes == {"city": "Bergen", "plan": "gold", "age": 41}
    bob = Client.objects.get(owner=owner, email="bob@example.net")
    # The later row of a repeated address wins; its empty cells keep the
    # earlier row's values.
    assert bob.full_name == "Bobby" and bob.attributes == {"city": "Rome", "age": 7}
    other.refresh_from_db()
    assert other.full_name == "Another owner's"
    assert not job.report


def test_suppressed_addresses_are_skipped_and_counted(
    run_import,
):
    owner = UserFactory()
    Suppression.objects.create(owner=owner, email="gone@example.net", reason="manual")
    job = run_import(owner, "email\ngone@example.net\nnew@example.net\n")
    assert (job.created, job.suppressed) == (1, 1)
    assert list(Client.objects.filter(owner=owner).values_list("email", flat=True)) == [
        "new@example.net"
    ]


def test_rejected_rows_are_reported_with_their_cells(
    run_import,
):
    owner = UserFactory()
    CustomField.objects.create(owner=owner, key="age", label="Age", type="number")
    job = run_import(
        owner,
        "email,full name,age\n"
        "good@example.net,Good,3\n"
        "not-an-address,=cmd(),1\n"
        ",Nobody,\n"
        "x@example.net," + "n" * 201 + ",\n"
        "y@example.net,Y,many\n"
        "z@example.net,Z\x00,\n",
    )
    assert job.status == "done"
    assert (job.created, job.rejected) == (1, 5)
    rows = report_rows(job)
    assert rows[0] == ["row", "reason", "cells"]
    assert [row[:2] for row in rows[1:]] == [
        ["3", "“not-an-address” is not a valid e-mail address"],
        ["4", "the e-mail address is missing"],
        ["5", "the full name is longer than 200 characters"],
        ["6", "Age: Enter a number, such as 42 or 3.5."],
        ["7", "it contains a null character"],
    ]
    # The original cells follow, neutralised for spreadsheets.
    assert rows[1][2:] == ["not-an-address", "'=cmd()", "1"]


def test_lists_get_subscriptions_with_the_chosen_status(
    run_import,
):
    owner = UserFactory()
    news, offers = MailingListFactory(owner=owner), MailingListFactory(owner=owner)
    left = ClientFactory(owner=owner, email="left@example.net")
    SubscriptionFactory(client=left, mailing_list=news, status="unsubscribed")
    job = run_import(
        owner,
        "email\na@example.net\nb@example.net\nleft@example.net\n",
        list_ids=[news.pk, offers.pk],
        status="unconfirmed",
    )
    assert job.status == "done"
    subs = Subscription.objects.filter(source="import")
    assert subs.count() == 5
    assert set(subs.values_list("status", flat=True)) == {"unconfirmed"}
    # Who left a list is not put back by an import.
    assert left.subscriptions.get(mailing_list=news).status == "unsubscribed"
    news.refresh_from_db()
    offers.refresh_from_db()
    assert (news.unconfirmed_count, offers.unconfirmed_count) == (2, 3)
    assert (news.subscribed_count, offers.subscribed_count) == (0, 0)
    # Importing again adds no subscription and changes no count.
    run_import(owner, "email\na@example.net\n", list_ids=[offers.pk])
    offers.refresh_from_db()
    assert offers.unconfirmed_count == 3 and offers.subscribed_count == 0


def test_chunks_update_the_progress(monkeypatch, run_import):
    monkeypatch.setattr("audience.importer.CHUNK_ROWS", 2)
    owner = UserFactory()
    news = MailingListFactory(owner=owner)
    lines = "".join(f"c{i}@example.net\n" for i in range(7))
    job = run_import(owner, lines, list_ids=[news.pk])
    assert (job.total, job.processed, job.created) == (7, 7, 7)
    news.refresh_from_db()
    assert news.subscribed_count == 7 == news.subscriptions.count()


def test_the_mapping_is_remembered(run_import):
    owner = UserFactory()
    CustomField.objects.create(owner=owner, key="city", label="City")
    run_import(
        owner,
        "Adresse,Town,Notes\na@example.net,Oslo,x\n",
        columns=["email", "field:city", ""],
    )
    assert ImportMapping.objects.get(owner=owner).columns == {
        "adresse": "email",
        "town": "field:city",
        "notes": "",
    }
    job = imports.client_import_create(
        owner=owner,
        file=ContentFile(b"Notes,ADRESSE,town,name\nx,b@example.net,Rome,B\n"),
    )
    assert job.mapping["columns"] == ["", "email", "field:city", "full_name"]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("Zoë@example.net\n".encode("utf-16"), "not UTF-8"),
        (b"email\n", "no clients"),
        (b"\n\n", "no clients"),
        (
            b'a@example.com,"' + b"x" * (128 * 1024 + 1) + b'"\n',
            "Row 1 (line 1): a field is longer than 128 KiB",
        ),
    ],
)
def test_a_bad_file_is_refused_at_upload(content, message):
    owner = UserFactory()
    with pytest.raises(ValidationError) as error:
        imports.client_import_create(owner=owner, file=ContentFile(content, "c.csv"))
    assert message in " ".join(error.value.messages)
    assert not ClientImport.objects.exists()


@pytest.mark.parametrize(
    ("tail", "message"),
    [
        (b"b@example.net,\xff\xfe\n", "not UTF-8"),
        (
            b'b@example.com,"' + b"x" * (128 * 1024 + 1) + b'"\n',
            "Row 2002 (line 2002): a field is longer than 128 KiB",
        ),
    ],
)
def test_a_bad_file_found_late_fails_and_writes_nothing(tail, message, run_import):
    """A problem past the rows read at upload fails the whole run before
    anything is written."""
    owner = UserFactory()
    content = b"email,name\n" + b"".join(
        b"c%d@example.net,C\n" % i for i in range(2000)
    )
    job = run_import(owner, content + tail)
    assert job.status == "failed"
    assert message in job.error
    assert not Client.objects.exists()


def test_the_mapping_needs_an_address_column():
    owner = UserFactory()
    job = imports.client_import_create(
        owner=owner, file=ContentFile(b"email,name\na@example.net,A\n")
    )
    for columns, message in [
        (["", "full_name"], "Map one column to the e-mail address."),
        (["email", "email"], "Each field can take one column only."),
        (["email", "field:nope"], "There is no field “nope”."),
    ]:
        with pytest.raises(ValidationError) as error:
            imports.client_import_start(client_import=job, columns=columns)
        assert error.value.messages == [message]
    someone_elses = MailingListFactory()
    with pytest.raises(ValidationError):
        imports.client_import_start(
            client_import=job, columns=["email", ""], list_ids=[someone_elses.pk]
        )
    job.refresh_from_db()
    assert job.status == "new" and not Client.objects.exists()


def test_a_script_runs_an_import_with_the_guessed_mapping():
    """What the benchmark does: create, then run in this process."""
    owner = UserFactory()
    job = imports.client_import_create(
        owner=owner, file=ContentFile(b"e-mail,full name\na@example.net,A\n")
    )
    job = imports.client_import_run(job.pk)
    assert (job.status, job.created) == ("done", 1)
    # Run twice: the second call leaves the finished job alone.
    assert imports.client_import_run(job.pk).created == 1
    assert Client.objects.get().full_name == "A"


@pytest.mark.django_db(transaction=True)
def test_the_writer_thread_commits_each_chunk(monkeypatch):
    """Outside a transaction (a worker, a script) a writer thread upserts
    while the next chunk is read; its failure fails the job."""
    monkeypatch.setattr("audience.importer.CHUNK_ROWS", 3)
    owner = UserFactory()
    news = MailingListFactory(owner=owner)
    Suppression.objects.create(owner=owner, email="c4@example.net", reason="manual")
    # Addresses repeat across chunks that two writers upsert at once.
    lines = "email\n" + "".join(f"c{i % 10}@example.net\n" for i in range(40))
    lines += "bad\n"
    job = imports.client_import_create(owner=owner, file=ContentFile(lines.encode()))
    job.list_ids = [news.pk]
    job.save()
    job = imports.client_import_run(job.pk)
    assert job.status == "done"
    counts = (job.total, job.processed, job.created, job.suppressed, job.rejected)
    assert counts == (41, 41, 9, 4, 1)
    assert job.updated == 27
    job.refresh_from_db()
    assert (job.processed, job.created, job.updated) == (41, 9, 27)
    news.refresh_from_db()
    assert news.subscribed_count == 9 == news.subscriptions.count()

    def broken(*args, **kwargs):
        raise RuntimeError("the database went away")

    monkeypatch.setattr("audience.importer._upsert_postgresql", broken)
    job = imports.client_import_create(owner=owner, file=ContentFile(lines.encode()))
    with pytest.raises(RuntimeError):
        imports.client_import_run(job.pk)
    job.refresh_from_db()
    assert job.status == "failed" and "unexpected error" in job.error
