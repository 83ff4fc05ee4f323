"""Long headers are folded to RFC 5322's limits (78 characters a line) and
read back unchanged."""

import email
import email.policy
from datetime import UTC, datetime
from email.header import decode_header, make_header

import pytest

from mailing.engine.message import PreparedMessage, _header, _mailbox, date_header
from mailing.models import Client
from mailing.tests.engine_support import make_mailing

SUBJECTS = [
    "Short and plain",
    "Weekly news " * 30,
    "x" * 2000,
    "Grüße aus Köln – " * 20,
    "a" * 100 + " Grüße " + "b" * 300,
    "Ends with a space-free tail " + "y" * 90,
]


def _unfold(raw: bytes) -> email.message.EmailMessage:
    return email.message_from_bytes(raw, policy=email.policy.default)


def _lines(raw: bytes) -> list[bytes]:
    head = raw.split(b"\r\n\r\n", 1)[0]
    return head.split(b"\r\n")


@pytest.mark.parametrize("subject", SUBJECTS)
def test_subject_lines_stay_within_78_characters(subject):
    folded = "Subject: " + _header("Subject", subject)
    assert all(len(line) <= 78 for line in folded.split("\n")), folded
    parsed = _unfold(folded.replace("\n", "\r\n").encode() + b"\r\n\r\n")
    assert parsed["Subject"] == " ".join(subject.split())


def _display_name(value: str) -> str:
    # The standard library's address parser puts a space between adjacent
    # encoded words of a phrase, which RFC 2047 (6.2) says to join; decode
    # the phrase the RFC's way.
    phrase = value.replace("\n", "").rpartition("<")[0].strip()
    return str(make_header(decode_header(phrase)))


@pytest.mark.parametrize(
    "name",
    [
        "Ann",
        "Zoë <O'Brien>",
        'Dr. A. "Doc" Person, PhD',
        "Ünïcødé " * 25,
        "Plain words " * 20,
        "N" * 150,
    ],
)
def test_to_header_keeps_its_display_name(name):
    value = _mailbox("To", name, "ann@example.com")
    raw = f"To: {value}\r\n\r\n".replace("\n", "\r\n").replace("\r\r", "\r")
    [address] = _unfold(raw.encode())["To"].addresses
    assert address.addr_spec == "ann@example.com"
    if name.isascii():
        assert address.display_name == " ".join(name.split())
    else:
        assert _display_name(value) == " ".join(name.split())
    lines = f"To: {value}".split("\n")
    # Only a single word longer than a line may pass 78 (never 998).
    assert all(
        len(line) <= 78 or len(line.removeprefix("To:").split()) == 1 for line in lines
    )


@pytest.mark.django_db
def test_a_long_personalised_subject_is_folded_on_the_wire():
    mailing = make_mailing(clients=1, subject="{{ full_name }} " * 12 + "– news")
    client = mailing.clients.get()
    long_name = "Maximilian Alexander von und zu Ünterberg-Östergaard"
    Client.objects.filter(pk=client.pk).update(full_name=long_name)
    run = mailing.runs.create(scheduled_for=mailing.start_at)
    prepared = PreparedMessage.for_run(run)
    _, raw = prepared.build(
        client_id=client.pk,
        email=client.email,
        full_name=long_name,
        date_header=date_header(datetime(2030, 1, 1, tzinfo=UTC)),
    )
    # The unsubscribe URL cannot be split; every other line is folded.
    long_lines = [line for line in _lines(raw) if len(line) > 78]
    assert [line.split(b":")[0] for line in long_lines] in ([], [b"List-Unsubscribe"])
    assert all(len(line) <= 998 for line in _lines(raw))
    parsed = _unfold(raw)
    assert parsed["Subject"] == (long_name + " ") * 12 + "– news"
    to = raw.decode().split("\r\nTo: ", 1)[1].split("\r\nSubject:", 1)[0]
    assert _display_name(to.replace("\r", "")) == long_name
    assert parsed["To"].addresses[0].addr_spec == client.email
