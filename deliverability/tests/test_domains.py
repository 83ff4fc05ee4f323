"""Sending domains: creation, the records to publish, and their DNS check
against a real DNS server on loopback."""

from datetime import timedelta

import pytest
from django.core import mail
from django.core.exceptions import ValidationError
from django.utils import timezone

from deliverability.keys import decrypt_private_key, public_key_value
from deliverability.models import SendingDomain
from deliverability.services import (
    sending_domain_create,
    sending_domain_verify,
    sending_domains_recheck,
)
from mailing.tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def owner():
    return UserFactory(email="owner@example.com", full_name="Olga Owner")


def records_by_type(domain):
    return {(rtype, name): value for rtype, name, value in domain.dns_records()}


def check(domain, record):
    return next(c for c in domain.checks if c["record"] == record)


def test_a_new_domain_gets_an_encrypted_rsa_key_and_the_records_to_publish(
    owner, platform
):
    domain = sending_domain_create(owner=owner, domain=" Example.COM. ")
    assert domain.domain == "example.com"
    assert domain.dkim_selector == f"ms{timezone.now():%Y%m}"
    assert domain.verified_at is None
    pem = decrypt_private_key(domain.dkim_private_key_encrypted)
    assert "BEGIN PRIVATE KEY" in pem
    assert "PRIVATE" not in domain.dkim_private_key_encrypted
    assert public_key_value(pem) == domain.dkim_public_key
    records = records_by_type(domain)
    assert records[("TXT", f"{domain.dkim_selector}._domainkey.example.com")] == (
        f"v=DKIM1; k=rsa; p={domain.dkim_public_key}"
    )
    assert records[("TXT", "example.com")] == ("v=spf1 include:_spf.mailsite.test ~all")
    assert records[("TXT", "_dmarc.example.com")].startswith("v=DMARC1; p=none;")
    assert records[("CNAME", "bounces.example.com")] == "bounces.mailsite.test"


def test_an_internationalised_domain_is_stored_in_its_idna_form(owner, platform):
    domain = sending_domain_create(owner=owner, domain="пример.рф")
    assert domain.domain == "xn--e1afmkfd.xn--p1ai"
    assert domain.display_name == "пример.рф"


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("", "Enter a domain name"),
        ("192.0.2.1", "IP address"),
        ("[2001:db8::1]", "IP address"),
        ("localhost", "not a valid domain"),
        ("bad_name.example", "not a valid domain"),
        ("-x.example.com", "not a valid domain"),
        ("a" * 64 + ".example.com", "not a valid domain"),
        ("someone@example.com", "not an e-mail address"),
        ("https://example.com/", "not a URL"),
        ("mailsite.test", "belongs to the platform"),
        ("news.mailsite.test", "belongs to the platform"),
    ],
)
def test_bad_domains_are_refused_with_a_reason(owner, platform, value, message):
    with pytest.raises(ValidationError) as error:
        sending_domain_create(owner=owner, domain=value)
    assert message in " ".join(error.value.messages)


def test_a_domain_is_unique_per_owner_but_another_owner_may_add_it(owner, platform):
    first = sending_domain_create(owner=owner, domain="example.com")
    with pytest.raises(ValidationError, match="already added"):
        sending_domain_create(owner=owner, domain="EXAMPLE.com")
    other = sending_domain_create(owner=UserFactory(), domain="example.com")
    # Their keys must not sit at the same DNS name.
    assert other.dkim_selector != first.dkim_selector
    assert other.dkim_public_key != first.dkim_public_key


def test_published_records_verify_the_domain(owner, platform, dns_zone):
    domain = sending_domain_create(owner=owner, domain="example.com")
    dns_zone.publish_all(domain.dns_records())
    assert sending_domain_verify(sending_domain=domain) is True
    domain.refresh_from_db()
    assert domain.verified_at is not None
    assert domain.last_checked_at is not None
    assert [c["record"] for c in domain.checks] == [
        "dkim",
        "spf",
        "dmarc",
        "return_path",
    ]
    assert all(c["ok"] for c in domain.checks), domain.checks
    # The customer's DMARC record is theirs now: no longer listed to publish.
    assert ("TXT", "_dmarc.example.com") not in records_by_type(domain)


def test_a_wrong_dkim_key_is_not_verified_and_says_so(owner, platform, dns_zone):
    domain = sending_domain_create(owner=owner, domain="example.com")
    dns_zone.publish_all(domain.dns_records())
    other = sending_domain_create(owner=owner, domain="example.org")
    dns_zone.replace(
        "TXT", domain.dkim_record_name, f"v=DKIM1; k=rsa; p={other.dkim_public_key}"
    )
    assert sending_domain_verify(sending_domain=domain) is False
    reason = check(domain, "dkim")["reason"]
    assert reason == (
        f"The DKIM record at {domain.dkim_selector}._domainkey.example.com has a "
        "different key; publish the value below."
    )
    assert domain.verified_at is None


def test_a_missing_spf_include_is_not_verified(owner, platform, dns_zone):
    domain = sending_domain_create(owner=owner, domain="example.com")
    dns_zone.publish_all(domain.dns_records())
    dns_zone.replace("TXT", "example.com", "v=spf1 include:_spf.google.com -all")
    assert sending_domain_verify(sending_domain=domain) is False
    spf = check(domain, "spf")
    assert not spf["ok"]
    assert "does not include _spf.mailsite.test" in spf["reason"]
    assert spf["found"] == "v=spf1 include:_spf.google.com -all"


def test_two_spf_records_are_not_verified(owner, platform, dns_zone):
    domain = sending_domain_create(owner=owner, domain="example.com")
    dns_zone.publish_all(domain.dns_records())
    dns_zone.publish("TXT", "example.com", "v=spf1 -all")
    assert sending_domain_verify(sending_domain=domain) is False
    assert "There are 2 SPF records" in check(domain, "spf")["reason"]


def test_dmarc_reject_without_an_aligned_dkim_pass_is_not_verified(
    owner, platform, dns_zone
):
    """A DKIM key in testing mode counts as unsigned mail, so nothing aligns
    with the From domain and p=reject would have the mail refused."""
    domain = sending_domain_create(owner=owner, domain="example.com")
    dns_zone.publish_all(domain.dns_records())
    dns_zone.replace("TXT", domain.dkim_record_name, domain.dkim_record_value + "; t=y")
    dns_zone.replace("TXT", "_dmarc.example.com", "v=DMARC1; p=reject; adkim=s")
    assert sending_domain_verify(sending_domain=domain) is False
    assert "testing mode (t=y)" in check(domain, "dkim")["reason"]
    dmarc = check(domain, "dmarc")
    assert not dmarc["ok"]
    assert (
        "asks receivers to reject mail that is not aligned (p=reject)"
        in (dmarc["reason"])
    )


def test_dmarc_reject_with_dkim_aligned_is_fine(owner, platform, dns_zone):
    domain = sending_domain_create(owner=owner, domain="example.com")
    dns_zone.publish_all(domain.dns_records())
    dns_zone.replace("TXT", "_dmarc.example.com", "v=DMARC1; p=reject; aspf=s")
    assert sending_domain_verify(sending_domain=domain) is True


def test_a_subdomain_may_rely_on_the_parent_domains_dmarc(owner, platform, dns_zone):
    domain = sending_domain_create(owner=owner, domain="news.example.com")
    for rtype, name, value in domain.dns_records():
        if not name.startswith("_dmarc."):
            dns_zone.replace(rtype, name, value)
    dns_zone.replace("TXT", "_dmarc.example.com", "v=DMARC1; p=quarantine")
    assert sending_domain_verify(sending_domain=domain) is True
    assert "_dmarc.example.com" in check(domain, "dmarc")["reason"]
    assert check(domain, "dmarc")["name"] == "_dmarc.example.com"


def test_no_dmarc_record_is_not_verified(owner, platform, dns_zone):
    domain = sending_domain_create(owner=owner, domain="example.com")
    dns_zone.publish_all(domain.dns_records())
    dns_zone.remove("TXT", "_dmarc.example.com")
    assert sending_domain_verify(sending_domain=domain) is False
    assert (
        "There is no DMARC record at _dmarc.example.com"
        in (check(domain, "dmarc")["reason"])
    )


def test_the_return_path_cname_is_optional(owner, platform, dns_zone):
    domain = sending_domain_create(owner=owner, domain="example.com")
    dns_zone.publish_all(domain.dns_records())
    dns_zone.remove("CNAME", "bounces.example.com")
    assert sending_domain_verify(sending_domain=domain) is True
    return_path = check(domain, "return_path")
    assert not return_path["ok"] and not return_path["required"]
    assert return_path["reason"].startswith("Optional: no CNAME at bounces.")


def test_nothing_published_says_what_is_missing(owner, platform, dns_zone):
    domain = sending_domain_create(owner=owner, domain="example.com")
    assert sending_domain_verify(sending_domain=domain) is False
    assert check(domain, "dkim")["reason"] == (
        f"There is no DKIM record at {domain.dkim_record_name}; publish the TXT "
        "record below."
    )
    assert check(domain, "spf")["reason"].startswith("There is no SPF record at")


def test_a_dns_timeout_is_a_clear_reason(owner, platform, dns_zone):
    domain = sending_domain_create(owner=owner, domain="example.com")
    dns_zone.silent = True
    assert sending_domain_verify(sending_domain=domain) is False
    assert check(domain, "dkim")["reason"] == (
        f"The DNS lookup of {domain.dkim_record_name} timed out; try again later."
    )


def test_the_daily_recheck_unverifies_a_domain_whose_records_went_away(
    owner, platform, dns_zone
):
    domain = sending_domain_create(owner=owner, domain="example.com")
    dns_zone.publish_all(domain.dns_records())
    sending_domain_verify(sending_domain=domain)
    dns_zone.remove("TXT", domain.dkim_record_name)
    # Checked less than a day ago: not due yet.
    assert sending_domains_recheck()["checked"] == 0
    counts = sending_domains_recheck(now=timezone.now() + timedelta(days=1))
    assert counts == {"checked": 1, "verified": 0, "lost": 1}
    domain.refresh_from_db()
    assert domain.verified_at is None
    assert "There is no DKIM record" in domain.lost_reason
    [notice] = mail.outbox
    assert notice.to == ["owner@example.com"]
    assert notice.from_email == "Mailsite <noreply@mailsite.test>"
    assert "example.com" in notice.subject
    assert "There is no DKIM record" in notice.body
    # Published again: the next check verifies it and the notice goes.
    dns_zone.publish_all(domain.dns_records())
    assert sending_domain_verify(sending_domain=domain) is True
    domain.refresh_from_db()
    assert domain.lost_reason == ""


def test_a_recheck_that_only_times_out_keeps_the_verification(
    owner, platform, dns_zone
):
    domain = sending_domain_create(owner=owner, domain="example.com")
    dns_zone.publish_all(domain.dns_records())
    sending_domain_verify(sending_domain=domain)
    dns_zone.silent = True
    counts = sending_domains_recheck(now=timezone.now() + timedelta(days=1))
    assert counts == {"checked": 1, "verified": 1, "lost": 0}
    assert SendingDomain.objects.get().verified_at is not None
    assert mail.outbox == []
