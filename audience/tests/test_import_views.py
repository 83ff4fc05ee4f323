"""The import pages (upload, mapping, progress, report) and the CSV
exports: each customer sees only their own, bad input is an error on the
page, exported cells are safe in a spreadsheet and import back."""

import csv
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client as HttpClient
from django.urls import reverse

from audience.models import ClientImport, CustomField
from audience.tests.factories import MailingListFactory, SubscriptionFactory
from audience.tests.helpers import import_csv
from mailing.models import Client
from mailing.tests.factories import ClientFactory, UserFactory

pytestmark = pytest.mark.django_db


def _upload(client, data, name="clients.csv"):
    return client.post(
        reverse("audience:client_import"),
        {"file": SimpleUploadedFile(name, data, "text/csv")},
    )


def _csv(response):
    content = b"".join(response.streaming_content).decode()
    return list(csv.reader(io.StringIO(content)))


def test_upload_map_start_and_see_the_outcome(
    client, owner, django_capture_on_commit_callbacks
):
    CustomField.objects.create(owner=owner, key="city", label="City")
    news = MailingListFactory(owner=owner, name="News")
    response = _upload(
        client, b"Email,Town,Whatever\nann@example.net,Oslo,x\nbad,Rome,y\n"
    )
    job = ClientImport.objects.get(owner=owner)
    assert response.status_code == 302 and response.url == reverse(
        "audience:client_import_mapping", args=[job.pk]
    )
    page = client.get(response.url)
    body = page.content.decode()
    assert "Town" in body and "ann@example.net" in body and "News" in body
    form = page.context["form"]
    assert [f.value() for f in form.column_fields()] == ["email", "", ""]
    with django_capture_on_commit_callbacks(execute=True):
        started = client.post(
            response.url,
            {
                "column_0": "email",
                "column_1": "field:city",
                "column_2": "",
                "lists": [news.pk],
                "status": "subscribed",
            },
        )
    assert started.status_code == 302 and started.url == job.get_absolute_url()
    detail = client.get(started.url).content.decode()
    assert "Clients added" in detail and 'id="import-report"' in detail
    progress = client.get(reverse("audience:client_import_progress", args=[job.pk]))
    data = progress.json()
    assert data["status"] == "done" and data["finished"] and data["percent"] == 100
    assert (data["created"], data["rejected"]) == (1, 1)
    assert data["report_url"] == reverse("audience:client_import_report", args=[job.pk])
    report = client.get(data["report_url"])
    assert report["Content-Disposition"].startswith("attachment")
    rows = list(csv.reader(io.StringIO(b"".join(report).decode())))
    assert rows[1] == ["3", "“bad” is not a valid e-mail address", "bad", "Rome", "y"]
    ann = Client.objects.get(owner=owner)
    assert ann.attributes == {"city": "Oslo"}
    assert ann.subscriptions.get().mailing_list == news
    # The mapping page of a started import leads to its progress.
    assert client.get(response.url).url == job.get_absolute_url()


def test_the_mapping_page_refuses_a_mapping_without_an_address(client, owner):
    response = _upload(client, b"Email,Name\nann@example.net,Ann\n")
    page = client.post(
        response.url, {"column_0": "", "column_1": "full_name", "status": "subscribed"}
    )
    assert page.status_code == 200
    assert "Map one column to the e-mail address." in page.content.decode()
    assert ClientImport.objects.get().status == "new"
    assert not Client.objects.exists()


def test_a_bad_upload_is_an_error_on_the_form(client, owner):
    response = _upload(client, "Zoë@example.net\n".encode("utf-16"))
    assert response.status_code == 200
    assert "UTF-8" in response.context["form"].errors["file"][0]
    response = _upload(client, b"email\n")
    assert "no clients" in response.context["form"].errors["file"][0]
    assert not ClientImport.objects.exists()


def test_another_customers_import_is_not_found(client, owner):
    job = import_csv(UserFactory(), "email\nx@example.net\nbad\n")
    assert job.report
    for name in (
        "client_import_detail",
        "client_import_mapping",
        "client_import_progress",
        "client_import_report",
    ):
        response = client.get(reverse("audience:" + name, args=[job.pk]))
        assert response.status_code == 404, name
    anonymous = HttpClient().get(
        reverse("audience:client_import_progress", args=[job.pk])
    )
    assert anonymous.status_code == 302


def test_the_upload_page_lists_recent_imports(client, owner):
    import_csv(owner, "email\nx@example.net\n")
    page = client.get(reverse("audience:client_import")).content.decode()
    assert 'id="import-list"' in page and "c.csv" in page


def test_the_list_export_has_subscribed_members_with_their_fields(client, owner):
    CustomField.objects.create(owner=owner, key="city", label="City")
    CustomField.objects.create(owner=owner, key="vip", label="VIP", type="boolean")
    news = MailingListFactory(owner=owner)
    ann = ClientFactory(
        owner=owner,
        email="ann@example.net",
        full_name="=HYPERLINK(1)",
        attributes={"city": "@Oslo", "vip": True},
    )
    bob = ClientFactory(owner=owner, email="bob@example.net")
    ClientFactory(owner=owner, email="not-on-it@example.net")
    SubscriptionFactory(client=ann, mailing_list=news, status="subscribed")
    SubscriptionFactory(client=bob, mailing_list=news, status="unconfirmed")
    response = client.get(reverse("audience:list_export", args=[news.pk]))
    assert response.streaming
    assert _csv(response) == [
        ["email", "full name", "comment", "city", "vip"],
        ["ann@example.net", "'=HYPERLINK(1)", "", "'@Oslo", "yes"],
    ]
    other = MailingListFactory()
    assert (
        client.get(reverse("audience:list_export", args=[other.pk])).status_code == 404
    )


def test_the_client_export_has_every_client_and_imports_back(client, owner):
    CustomField.objects.create(owner=owner, key="age", label="Age", type="number")
    ClientFactory(
        owner=owner,
        email="b@example.net",
        full_name="B, Jr.",
        comment="x",
        attributes={"age": 7},
    )
    ClientFactory(owner=owner, email="c@example.net", full_name="", attributes={})
    ClientFactory(email="someone-else@example.net")
    rows = _csv(client.get(reverse("mailing:client_export")))
    assert rows == [
        ["email", "full name", "comment", "age"],
        ["b@example.net", "B, Jr.", "x", "7"],
        ["c@example.net", "", "", ""],
    ]
    other = UserFactory()
    CustomField.objects.create(owner=other, key="age", label="Age", type="number")
    content = "\n".join(",".join(f'"{c}"' for c in row) for row in rows)
    job = import_csv(other, content)
    assert (job.status, job.created, job.rejected) == ("done", 2, 0)
    assert Client.objects.get(owner=other, email="b@example.net").attributes == {
        "age": 7
    }
