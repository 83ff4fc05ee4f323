"""The message builder signs from the canonical headers it prepared once
per run and each client's own: dkimpy verifies every variant of header it
writes (folded, encoded, UTF-8, with and without Reply-To or an HTML part),
and a change to a signed header or the body breaks the signature."""

import dkim
import pytest

from deliverability.headers import list_id
from deliverability.identity import Signing
from deliverability.keys import generate_rsa_key
from deliverability.tests.support import REQUIRED_SIGNED, signature_tags, signed_names
from mailing.engine.message import PreparedMessage, _fold_list_id

DOMAIN, SELECTOR = "news.example", "sel1"
DATE = "Tue, 01 Dec 2026 10:00:00 +0000"
BODY = "Dear {{ full_name }},\n\nThe news for {{ email }}.\n\n\n"


@pytest.fixture(scope="module")
def key():
    return generate_rsa_key()


def _dns(public_value):
    record = f"v=DKIM1; k=rsa; p={public_value}".encode()

    def dnsfunc(name, timeout=5):
        assert name == f"{SELECTOR}._domainkey.{DOMAIN}.".encode()
        return record

    return dnsfunc


def _prepared(pem, *, subject="News for {{ full_name }}", html=True, **fields):
    values = {
        "run_id": 7,
        "owner_id": 3,
        "envelope_from": "news@news.example",
        "from_header": "Example News <news@news.example>",
        "domain": DOMAIN,
        "subject": subject,
        "body": BODY,
        "html_body": "<p>Dear {{ full_name }}</p>" if html else "",
        "unsubscribe_prefix": "https://mailsite.test/m/unsubscribe/",
        "unsubscribe_suffix": "/",
        "footer_text": (
            "To stop receiving these messages: ",
            "\nTo choose the lists you are on: ",
            "",
        ),
        "footer_html": (
            '<p><a href="',
            '">Unsubscribe</a> <a href="',
            '">Choose your lists</a></p>',
        ),
        "reply_to_header": "desk@news.example",
        "list_id": "<mailing5.customer3.news.example>",
        "feedback_id": "mailing5:customer3:mailsite",
        "signing": Signing(DOMAIN, SELECTOR, pem) if pem else None,
        "bounce_domain": "bounces.example",
    }
    return PreparedMessage(**{**values, **fields})


def _build(prepared, *, name="Ada Lovelace", email="ada@example.net", client_id=11):
    return prepared.build(
        client_id=client_id, email=email, full_name=name, date_header=DATE
    )[1]


def _list_id(name):
    return _fold_list_id(list_id(mailing_id=5, owner_id=3, domain=DOMAIN, name=name))


CASES = {
    "plain": {},
    "text only": {"html": False},
    "no reply-to": {"reply_to_header": ""},
    "long folded subject": {"subject": "Weekly news of {{ full_name }} " * 12},
    "non-ASCII subject": {"subject": "Grüße aus Köln – {{ full_name }} " * 6},
    "encoded list name": {"list_id": _list_id("Nouvelles d'été " * 5)},
    "long list name": {"list_id": _list_id("Very long list name " * 6)},
    "non-ASCII sender": {
        "from_header": "=?utf-8?q?Z=C3=B6e_News?= <news@news.example>",
    },
}


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize(
    "name", ["Ada Lovelace", "Zoë O'Brien-Ünterberg " * 4, 'Dr. "Doc"  Person']
)
def test_every_kind_of_header_the_builder_writes_verifies(key, case, name):
    pem, public_value = key
    data = _build(_prepared(pem, **CASES[case]), name=name)
    assert dkim.verify(data, dnsfunc=_dns(public_value))
    tags = signature_tags(data.split(b"\r\n\r\n")[0].split(b":", 1)[1])
    assert signed_names(tags) >= REQUIRED_SIGNED
    # Signing puts a header in front and changes nothing else.
    unsigned = _build(_prepared(None, **CASES[case]), name=name)
    assert data.endswith(unsigned)
    assert data[: -len(unsigned)].startswith(b"DKIM-Signature: ")


def test_a_utf8_address_and_name_verify(key):
    pem, public_value = key
    data = _build(_prepared(pem), name="Jörg Straße", email="jörg@example.net")
    assert "jörg@example.net".encode() in data
    assert dkim.verify(data, dnsfunc=_dns(public_value))


def test_messages_of_one_run_verify_across_a_change_of_date(key):
    pem, public_value = key
    prepared = _prepared(pem)
    for n, date in enumerate([DATE, "Tue, 01 Dec 2026 10:00:01 +0000", DATE]):
        data = prepared.build(
            client_id=n + 1, email="ada@example.net", full_name="Ada", date_header=date
        )[1]
        assert f"Date: {date}".encode() in data
        assert dkim.verify(data, dnsfunc=_dns(public_value))


@pytest.mark.parametrize(
    ("old", "new"),
    [
        (
            b"List-Unsubscribe: <https://mailsite.test/",
            b"List-Unsubscribe: <https://evil.test/",
        ),
        (b"Subject: News for Ada", b"Subject: News for Eve"),
        (b"To: Ada Lovelace", b"To: Eve Lovelace"),
        (b"Feedback-ID: mailing5", b"Feedback-ID: mailing6"),
        (b"Dear Ada Lovelace", b"Dear Eve Lovelace"),
    ],
)
def test_tampering_breaks_the_signature(key, old, new):
    pem, public_value = key
    data = _build(_prepared(pem))
    assert old in data
    assert dkim.verify(data, dnsfunc=_dns(public_value))
    assert not dkim.verify(data.replace(old, new, 1), dnsfunc=_dns(public_value))


def test_an_added_reply_to_breaks_the_signature_of_a_message_without_one(key):
    pem, public_value = key
    data = _build(_prepared(pem, reply_to_header=""))
    assert b"Reply-To:" not in data
    forged = data.replace(b"\r\nTo: ", b"\r\nReply-To: eve@evil.test\r\nTo: ", 1)
    assert not dkim.verify(forged, dnsfunc=_dns(public_value))
