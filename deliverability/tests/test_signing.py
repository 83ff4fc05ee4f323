"""DKIM signatures, verified with dkimpy's own verifier against the key
published for the domain (real verification, no string matching)."""

import time

import dkim
import pytest

from deliverability.keys import generate_rsa_key
from deliverability.signing import SIGNED_HEADERS, SigningError, sign, signed
from deliverability.tests.support import (
    REQUIRED_SIGNED,
    signature_tags,
    signed_names,
)

DOMAIN, SELECTOR = "example.com", "ms202612"
UNSUBSCRIBE = "<https://mailsite.test/m/unsubscribe/abc/>"


@pytest.fixture(scope="module")
def key():
    return generate_rsa_key()


def message(*, body="Hello Ada,\r\nhere is the news.\r\n", unsubscribe=UNSUBSCRIBE):
    head = [
        "From: Example News <news@example.com>",
        "To: Ada Lovelace <ada@example.net>",
        "Subject: The news",
        "Date: Tue, 01 Dec 2026 10:00:00 +0000",
        "Message-ID: <run1.client2@example.com>",
        "MIME-Version: 1.0",
        "Content-Type: text/plain; charset=utf-8",
        f"List-Unsubscribe: {unsubscribe}",
        "List-Unsubscribe-Post: List-Unsubscribe=One-Click",
        "List-Id: <mailing1.customer2.example.com>",
        "Feedback-ID: mailing1:customer2:mailsite",
    ]
    return ("\r\n".join(head) + "\r\n\r\n" + body).encode()


def dns_with(public_value):
    record = f"v=DKIM1; k=rsa; p={public_value}".encode()

    def dnsfunc(name, timeout=5):
        assert name == f"{SELECTOR}._domainkey.{DOMAIN}.".encode()
        return record

    return dnsfunc


def test_a_signed_message_verifies_against_the_published_key(key):
    pem, public_value = key
    data = signed(message(), domain=DOMAIN, selector=SELECTOR, private_key_pem=pem)
    assert data.startswith(b"DKIM-Signature: ")
    assert dkim.verify(data, dnsfunc=dns_with(public_value))


def test_the_signature_covers_the_required_headers(key):
    pem, _ = key
    header = sign(message(), domain=DOMAIN, selector=SELECTOR, private_key_pem=pem)
    tags = signature_tags(header.split(b":", 1)[1])
    names = signed_names(tags)
    assert names >= REQUIRED_SIGNED
    assert len(names) == len(SIGNED_HEADERS)
    assert tags[b"d"] == DOMAIN.encode() and tags[b"s"] == SELECTOR.encode()
    assert tags[b"a"] == b"rsa-sha256"


def test_tampering_with_the_body_breaks_the_signature(key):
    pem, public_value = key
    data = signed(message(), domain=DOMAIN, selector=SELECTOR, private_key_pem=pem)
    tampered = data.replace(b"here is the news.", b"here is the NEWS.")
    assert tampered != data
    assert not dkim.verify(tampered, dnsfunc=dns_with(public_value))


def test_tampering_with_list_unsubscribe_breaks_the_signature(key):
    pem, public_value = key
    data = signed(message(), domain=DOMAIN, selector=SELECTOR, private_key_pem=pem)
    tampered = data.replace(b"/m/unsubscribe/abc/", b"/m/unsubscribe/xyz/")
    assert not dkim.verify(tampered, dnsfunc=dns_with(public_value))


def test_adding_a_reply_to_breaks_the_signature(key):
    """Absent headers are signed too: a relay cannot add one."""
    pem, public_value = key
    data = signed(message(), domain=DOMAIN, selector=SELECTOR, private_key_pem=pem)
    head, _, body = data.partition(b"\r\n\r\n")
    tampered = head + b"\r\nReply-To: evil@example.org\r\n\r\n" + body
    assert not dkim.verify(tampered, dnsfunc=dns_with(public_value))


def test_folded_headers_repeated_headers_and_trailing_blank_lines_verify(key):
    pem, public_value = key
    data = message(body="Hi\r\n\r\n\r\n").replace(
        b"Subject: The news", b"Subject: The   news,\r\n\t folded\t here "
    )
    data = data.replace(b"To: Ada", b"To: first@example.org\r\nTo: Ada")
    assert dkim.verify(
        signed(data, domain=DOMAIN, selector=SELECTOR, private_key_pem=pem),
        dnsfunc=dns_with(public_value),
    )


def test_a_message_without_a_body_verifies(key):
    pem, public_value = key
    data = message(body="")
    assert dkim.verify(
        signed(data, domain=DOMAIN, selector=SELECTOR, private_key_pem=pem),
        dnsfunc=dns_with(public_value),
    )


def test_bare_lf_line_ends_are_refused(key):
    pem, _ = key
    with pytest.raises(SigningError, match="CRLF"):
        sign(
            message().replace(b"\r\n", b"\n"),
            domain=DOMAIN,
            selector=SELECTOR,
            private_key_pem=pem,
        )


def test_another_key_does_not_verify(key):
    pem, _ = key
    _, other_public = generate_rsa_key()
    data = signed(message(), domain=DOMAIN, selector=SELECTOR, private_key_pem=pem)
    assert not dkim.verify(data, dnsfunc=dns_with(other_public))


def test_a_bad_key_or_a_message_without_from_is_a_clear_error(key):
    with pytest.raises(SigningError, match="not a PEM key"):
        sign(message(), domain=DOMAIN, selector=SELECTOR, private_key_pem="nope")
    pem, _ = key
    without_from = message().replace(b"From: Example News <news@example.com>\r\n", b"")
    with pytest.raises(SigningError):
        sign(without_from, domain=DOMAIN, selector=SELECTOR, private_key_pem=pem)


@pytest.mark.slow
def test_signing_speed_is_reported(key, capsys):
    """Not a timed test: prints signatures per second for a 10 KB message."""
    pem, public_value = key
    body = ("A line of the newsletter, long enough to be typical. " + "\r\n") * 190
    data = message(body=body)
    assert 10_000 <= len(data) <= 11_000
    count, started = 200, time.perf_counter()
    for _ in range(count):
        header = sign(data, domain=DOMAIN, selector=SELECTOR, private_key_pem=pem)
    rate = count / (time.perf_counter() - started)
    assert dkim.verify(header + data, dnsfunc=dns_with(public_value))
    with capsys.disabled():
        print(f"\nDKIM rsa-sha256 2048, {len(data)} bytes: {rate:.0f} signatures/s")
