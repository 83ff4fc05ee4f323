"""Every CSV we write is safe in a spreadsheet: cells that a spreadsheet
would read as a formula are neutralised (OWASP), and they import back."""

import csv
import io

import pytest
from django.urls import reverse

from audience.tests.helpers import import_csv
from mailing.csvfiles import SafeCSVWriter, csv_safe_cell, csv_unescape_cell
from mailing.models import Client
from mailing.tests.factories import ClientFactory, UserFactory

DANGEROUS = [
    '=HYPERLINK("https://evil.example","click")',
    "+1+2",
    "-2+3",
    "@SUM(A1:A2)",
    "\t=1",
    "\r=1",
]


@pytest.mark.parametrize("value", DANGEROUS)
def test_formula_cells_are_prefixed_and_unescaped_back(value):
    safe = csv_safe_cell(value)
    assert safe == "'" + value
    assert csv_unescape_cell(safe) == value


@pytest.mark.parametrize("value", ["Ann", "ann@example.com", "", "a=b", "'quoted"])
def test_ordinary_cells_are_unchanged(value):
    assert csv_safe_cell(value) == value
    assert csv_unescape_cell(value) == value


def test_the_writer_neutralises_every_cell():
    out = io.StringIO()
    SafeCSVWriter(out).writerow(["=1", None, 3, "ok"])
    assert out.getvalue() == "'=1,,3,ok\r\n"


@pytest.mark.django_db
def test_the_client_export_is_formula_safe_and_imports_back(client):
    owner = UserFactory()
    client.force_login(owner)
    ClientFactory(
        owner=owner,
        email="-dash@example.com",
        full_name='=HYPERLINK("https://evil.example","x")',
        comment="@mention\n+plus",
    )
    response = client.get(reverse("mailing:client_export"))
    content = b"".join(response.streaming_content)
    rows = list(csv.reader(io.StringIO(content.decode())))
    assert rows[1] == [
        "'-dash@example.com",
        '\'=HYPERLINK("https://evil.example","x")',
        "'@mention\n+plus",
    ]
    for row in rows[1:]:
        for cell in row:
            assert not cell.startswith(("=", "+", "-", "@", "\t", "\r"))
    # The exported file is a valid import: the quote is dropped again.
    other = UserFactory()
    import_csv(other, content)
    imported = Client.objects.get(owner=other)
    assert imported.email == "-dash@example.com"
    assert imported.full_name == '=HYPERLINK("https://evil.example","x")'
