"""One address rule everywhere: what the forms and the import accept, the
engine delivers (IDNA domains always, UTF-8 local parts with SMTPUTF8), and
what they refuse, they refuse at input with a message."""

import csv
import io
import re

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.urls import reverse
from django.utils import translation

from audience.tests.helpers import import_csv
from mailing import services
from mailing.addresses import (
    InvalidAddress,
    address_normalize,
    wire_address,
)
from mailing.models import Client, Delivery, Suppression
from mailing.tests.engine_support import make_mailing

pytestmark = pytest.mark.django_db

ACCEPTED = {
    " Ann@Example.COM ": "ann@example.com",
    "ann@Bücher.example": "ann@bücher.example",
    # The IDNA spelling of the same domain is the same address.
    "ann@xn--bcher-kva.example": "ann@bücher.example",
    "José@example.com": "josé@example.com",
    "用户@例子.广告": "用户@例子.广告",
}
REFUSED = [
    "not-an-address",
    "ann@localhost",
    "ann@[127.0.0.1]",
    '"quoted local"@example.com',
    "a..b@example.com",
    "ann@exa mple.com",
    "ann@-example.com",
    "x" * 250 + "@example.com",
]


@pytest.mark.parametrize(("given", "stored"), ACCEPTED.items())
def test_accepted_addresses_are_stored_normalised(given, stored):
    assert address_normalize(given) == stored


@pytest.mark.parametrize("given", REFUSED)
def test_refused_addresses_say_why(given):
    with pytest.raises(ValidationError) as error:
        address_normalize(given)
    assert "valid email address" in error.value.messages[0]


@pytest.mark.parametrize("given", REFUSED)
def test_a_russian_reader_is_told_why_in_russian(given):
    """The reason is in Russian, or left out: never a sentence half in
    English."""
    with translation.override("ru"):
        with pytest.raises(ValidationError) as error:
            address_normalize(given)
        message = error.value.messages[0]
    assert message.startswith("Введите правильный адрес"), message
    latin = re.findall(r"[A-Za-z]{2,}", message)
    assert set(latin) <= {"e", "mail", "IP"}, message


def test_an_english_reader_gets_the_reason_in_plain_words():
    with pytest.raises(ValidationError) as error:
        address_normalize("ann@localhost")
    assert error.value.messages == [
        "Enter a valid email address: the domain after the @ sign has no period."
    ]


def test_wire_form_encodes_the_domain_and_flags_utf8_local_parts():
    assert wire_address("ann@example.com") == ("ann@example.com", False)
    assert wire_address("ann@bücher.example") == ("ann@xn--bcher-kva.example", False)
    assert wire_address("josé@bücher.example") == ("josé@xn--bcher-kva.example", True)
    with pytest.raises(InvalidAddress):
        wire_address("no address")


@pytest.mark.parametrize(("given", "stored"), ACCEPTED.items())
def test_the_client_form_accepts_what_the_rule_accepts(client, owner, given, stored):
    response = client.post(reverse("mailing:client_create"), {"email": given})
    assert response.status_code == 302
    assert Client.objects.get(owner=owner).email == stored


@pytest.mark.parametrize("given", REFUSED)
def test_the_client_form_refuses_what_the_rule_refuses(client, owner, given):
    response = client.post(reverse("mailing:client_create"), {"email": given})
    assert response.status_code == 200
    error = " ".join(response.context["form"].errors["email"])
    assert "valid email address" in error or "at most 254 characters" in error
    assert not Client.objects.exists()


def test_the_client_form_does_not_use_a_browser_email_input(client, owner):
    """Browsers refuse UTF-8 local parts in type=email, which we accept."""
    page = client.get(reverse("mailing:client_create")).content.decode()
    assert 'type="email"' not in page
    assert 'inputmode="email"' in page


def test_two_spellings_of_an_idn_address_are_one_client(owner):
    services.client_create(owner=owner, email="ann@bücher.example")
    with pytest.raises(ValidationError, match="already have a client"):
        services.client_create(owner=owner, email="ANN@xn--bcher-kva.example")
    assert Client.objects.count() == 1


def test_suppressions_compare_the_same_normalised_form(owner):
    entry = Suppression.objects.create(
        owner=owner, email="Ann@XN--BCHER-KVA.example", reason="manual"
    )
    assert entry.email == "ann@bücher.example"


def test_the_import_uses_the_same_rule(owner):
    job = import_csv(
        owner,
        "email,full name\n"
        "ann@xn--bcher-kva.example,Ann\n"
        "josé@example.com,José\n"
        "ann@localhost,Local\n",
    )
    assert sorted(
        Client.objects.filter(owner=owner).values_list("email", flat=True)
    ) == [
        "ann@bücher.example",
        "josé@example.com",
    ]
    with job.report.open("rb") as report:
        rows = list(csv.reader(io.StringIO(report.read().decode())))
    assert rows[1][:2] == ["4", "“ann@localhost” is not a valid e-mail address"]


def test_the_model_refuses_an_address_the_rule_refuses(owner):
    with pytest.raises(ValidationError) as error:
        services.client_create(owner=owner, email="ann@localhost")
    assert "email" in error.value.message_dict
    assert not Client.objects.exists()


# Sending ------------------------------------------------------------------


def _mailing_to(address, **options):
    mailing = make_mailing(clients=0, **options)
    client = Client.objects.create(
        owner=mailing.owner, email=address, full_name="Zoë Ünicode"
    )
    mailing.clients.set([client])
    return mailing


def test_an_idn_domain_goes_out_idna_encoded(smtp_sink):
    smtp_sink.smtputf8 = False  # not needed for an ASCII local part
    _mailing_to("ann@bücher.example")
    call_command("send_mailings")
    delivery = Delivery.objects.get()
    assert delivery.status == Delivery.Status.SENT, delivery.server_response
    [mail] = smtp_sink.messages
    assert mail.rcpt_tos == ["ann@xn--bcher-kva.example"]
    assert mail.data.isascii()
    assert mail.message["To"].addresses[0].addr_spec == "ann@xn--bcher-kva.example"
    assert mail.message["To"].addresses[0].display_name == "Zoë Ünicode"


def test_a_utf8_local_part_goes_out_with_smtputf8(smtp_sink):
    _mailing_to("josé@bücher.example")
    call_command("send_mailings")
    delivery = Delivery.objects.get()
    assert delivery.status == Delivery.Status.SENT, delivery.server_response
    [mail] = smtp_sink.messages
    assert mail.rcpt_tos == ["josé@xn--bcher-kva.example"]
    assert b"To: " in mail.data
    assert "josé@xn--bcher-kva.example".encode() in mail.data


def test_without_smtputf8_a_utf8_local_part_is_deferred_with_a_reason(smtp_sink):
    smtp_sink.smtputf8 = False
    _mailing_to("josé@example.com")
    call_command("send_mailings")
    delivery = Delivery.objects.get()
    assert delivery.status == Delivery.Status.DEFERRED
    assert "SMTPUTF8" in delivery.server_response
    assert "does not offer it" in delivery.server_response
    assert not smtp_sink.messages


def test_without_pipelining_smtputf8_still_works(smtp_sink):
    smtp_sink.pipelining = False
    _mailing_to("josé@example.com")
    call_command("send_mailings")
    assert Delivery.objects.get().status == Delivery.Status.SENT
    assert smtp_sink.messages[0].rcpt_tos == ["josé@example.com"]


def test_an_address_that_breaks_the_rule_fails_without_reaching_the_server(
    smtp_sink,
):
    mailing = _mailing_to("ok@example.com")
    # Written around the services (an old row): the engine still refuses it.
    Client.objects.filter(owner=mailing.owner).update(email="bad address@example.com")
    call_command("send_mailings")
    delivery = Delivery.objects.get()
    assert delivery.status == Delivery.Status.FAILED
    assert "Not a deliverable address" in delivery.server_response
    assert not smtp_sink.messages
