"""CSV import: preview with every bad row named, duplicates reported and
never doubled, all or nothing, a size limit; and the export."""

import csv
import io

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from mailing import services
from mailing.models import Client
from mailing.tests.factories import ClientFactory, UserFactory

pytestmark = pytest.mark.django_db


def _upload(client, text, name="clients.csv"):
    data = text.encode() if isinstance(text, str) else text
    return client.post(
        reverse("mailing:client_import"), {"file": SimpleUploadedFile(name, data)}
    )


def test_good_file_with_header(client, owner):
    response = _upload(
        client,
        "Email,Full name,Comment\nann@example.net,Ann Lee,VIP\nBob@Example.net,Bob,\n",
    )
    preview = response.context["preview"]
    assert preview.header and preview.ok
    assert [r.email for r in preview.rows] == ["ann@example.net", "bob@example.net"]
    assert not Client.objects.exists()  # nothing before confirming
    response = client.post(reverse("mailing:client_import_confirm"))
    assert response.status_code == 302
    assert sorted(Client.objects.values_list("email", "full_name", "comment")) == [
        ("ann@example.net", "Ann Lee", "VIP"),
        ("bob@example.net", "Bob", ""),
    ]


def test_good_file_without_header_and_semicolons(client, owner):
    _upload(client, "ann@example.net;Ann\ncid@example.net;Cid;met at a fair\n")
    client.post(reverse("mailing:client_import_confirm"))
    assert Client.objects.filter(owner=owner).count() == 2
    assert Client.objects.get(email="cid@example.net").comment == "met at a fair"


def test_malformed_rows_are_named_and_nothing_is_imported(client, owner):
    text = (
        "email,full name\n"
        "good@example.net,Good\n"
        "not-an-address,Bad\n"
        ",Nobody\n"
        "x@example.net," + "n" * 201 + "\n"
    )
    response = _upload(client, text)
    preview = response.context["preview"]
    assert [line for line, _ in preview.errors] == [3, 4, 5]
    body = response.content.decode()
    assert "Row 3: “not-an-address” is not a valid e-mail address" in body
    assert "Row 4: the e-mail address is missing" in body
    assert "Row 5: the full name is longer than 200 characters" in body
    assert "Import 1 client" not in body
    # Confirming anyway (a crafted POST) imports nothing at all.
    response = client.post(reverse("mailing:client_import_confirm"), follow=True)
    assert "Nothing was imported" in response.content.decode()
    assert not Client.objects.exists()


def test_duplicates_reported_never_doubled(client, owner):
    ClientFactory(owner=owner, email="old@example.net")
    ClientFactory(email="new@example.net")  # another user's: no conflict
    response = _upload(
        client,
        "old@example.net,Old\nnew@example.net,New\nNEW@example.net,Again\n",
    )
    preview = response.context["preview"]
    assert preview.duplicates == [
        (1, "old@example.net is already one of your clients"),
        (3, "new@example.net repeats row 2"),
    ]
    client.post(reverse("mailing:client_import_confirm"))
    assert sorted(
        Client.objects.filter(owner=owner).values_list("email", flat=True)
    ) == [
        "new@example.net",
        "old@example.net",
    ]
    # Importing the same file twice adds nothing.
    _upload(client, "old@example.net\nnew@example.net\n")
    client.post(reverse("mailing:client_import_confirm"))
    assert Client.objects.filter(owner=owner).count() == 2


def test_oversized_file(client, owner):
    big = "a@example.net,A\n" * (services.MAX_IMPORT_BYTES // 16 + 10)
    response = _upload(client, big)
    errors = response.context["form"].errors["file"]
    assert "limit is 1,024 KiB" in errors[0]
    assert not Client.objects.exists()


def test_not_utf8_and_empty(client, owner):
    response = _upload(client, "ann@example.net,Zoë\n".encode("utf-16"))
    assert "UTF-8" in response.context["form"].errors["file"][0]
    response = _upload(client, "\n\n")
    assert "no clients" in response.context["form"].errors["file"][0]


def test_import_is_all_or_nothing_in_the_service(owner):
    with pytest.raises(ValidationError) as error:
        services.client_import(
            owner=owner, content=b"ok@example.net\nbroken\nok2@example.net\n"
        )
    assert error.value.messages == ["Row 2: “broken” is not a valid e-mail address."]
    assert not Client.objects.exists()


def test_confirm_without_upload(client, owner):
    response = client.post(reverse("mailing:client_import_confirm"), follow=True)
    assert "upload the file again" in response.content.decode()


def test_export_is_reimportable(client, owner):
    ClientFactory(owner=owner, email="b@example.net", full_name="B, Jr.", comment="x")
    ClientFactory(email="someone-else@example.net")
    response = client.get(reverse("mailing:client_export"))
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows == [["email", "full name", "comment"], ["b@example.net", "B, Jr.", "x"]]
    other = UserFactory()
    preview = services.client_import_preview(owner=other, content=response.content)
    assert preview.header and [r.full_name for r in preview.rows] == ["B, Jr."]
