"""The pre-flight check: each rule failing and passing, the planner holding a
mailing with the reason and releasing it, "send now" refused with the
findings, the mailing page and the managers' filter."""

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from deliverability.keys import generate_rsa_key
from deliverability.models import SendingDomain
from deliverability.services import sender_create, sending_domain_create
from mailing import services
from mailing.engine.planner import plan_due_runs
from mailing.engine.preflight import mailing_preflight
from mailing.models import Client, Mailing, Run, Suppression
from mailing.tests.engine_support import make_mailing

pytestmark = pytest.mark.django_db

PRIVATE_PEM = generate_rsa_key()[0]


@pytest.fixture
def clean(settings):
    """Settings under which a plain mailing passes every check."""
    settings.DEFAULT_FROM_EMAIL = "Mailsite <noreply@mailsite.test>"
    settings.MAILING_DOMAIN = "mailsite.test"
    settings.DKIM_PRIVATE_KEY = PRIVATE_PEM
    settings.SITE_URL = "https://mailsite.test"
    settings.DEBUG = False
    settings.PREFLIGHT_STRICT = True
    return settings


def codes(mailing) -> dict[str, str]:
    return {finding.code: finding.severity for finding in mailing_preflight(mailing)}


def verified_sender(owner, domain="example.com"):
    sending_domain = sending_domain_create(owner=owner, domain=domain)
    SendingDomain.objects.filter(pk=sending_domain.pk).update(
        verified_at=timezone.now(), last_checked_at=timezone.now()
    )
    return sender_create(owner=owner, name="News", email=f"news@{domain}")


def test_a_plain_mailing_passes_every_check(clean):
    mailing = make_mailing(html_body="<p>Hello, see https://example.com/a</p>")
    assert mailing_preflight(mailing) == []


def test_platform_without_dkim_key_is_hard_in_production_soft_elsewhere(clean):
    mailing = make_mailing()
    clean.DKIM_PRIVATE_KEY = ""
    assert codes(mailing) == {"platform_unsigned": "hard"}
    clean.PREFLIGHT_STRICT = False
    assert codes(mailing) == {"platform_unsigned": "soft"}


def test_sender_on_an_unverified_domain_is_hard_with_the_dns_reason(clean):
    mailing = make_mailing()
    sender = verified_sender(mailing.owner)
    Mailing.objects.filter(pk=mailing.pk).update(sender=sender)
    mailing.refresh_from_db()
    assert codes(mailing) == {}
    SendingDomain.objects.filter(pk=sender.domain_id).update(
        verified_at=None,
        checks=[
            {
                "record": "dkim",
                "required": True,
                "ok": False,
                "reason": "No DKIM record at sel._domainkey.example.com.",
            }
        ],
    )
    mailing.refresh_from_db()
    [finding] = mailing_preflight(mailing)
    assert (finding.code, finding.severity) == ("sender_domain_unverified", "hard")
    assert "example.com is not verified" in finding.message
    assert "No DKIM record at sel._domainkey.example.com." in finding.message
    assert "Check now" in finding.what_to_do


def test_a_domain_never_checked_says_so(clean):
    mailing = make_mailing()
    sender = verified_sender(mailing.owner)
    SendingDomain.objects.filter(pk=sender.domain_id).update(
        verified_at=None, last_checked_at=None
    )
    Mailing.objects.filter(pk=mailing.pk).update(sender=sender)
    mailing.refresh_from_db()
    [finding] = mailing_preflight(mailing)
    assert "have not been checked yet" in finding.message


def test_unsubscribe_link_must_be_https_in_production(clean):
    mailing = make_mailing()
    clean.SITE_URL = "http://mailsite.test"
    assert codes(mailing) == {"unsubscribe_not_https": "hard"}
    clean.PREFLIGHT_STRICT = False
    assert codes(mailing) == {"unsubscribe_not_https": "soft"}
    clean.DEBUG = True
    assert codes(mailing) == {}


def test_a_text_part_is_required(clean):
    mailing = make_mailing(body="  \n", html_body="<p>Only HTML</p>")
    assert codes(mailing) == {"text_part_missing": "hard"}


def test_size_over_gmails_clipping_limit_warns(clean):
    assert codes(make_mailing(body="word " * 19_000)) == {}  # ~95 KB
    big = make_mailing(body="word " * 22_000)  # ~110 KB
    [finding] = mailing_preflight(big)
    assert (finding.code, finding.severity) == ("too_big", "soft")
    assert "102 KB" in finding.message


def test_subject_present_and_under_150_characters(clean):
    assert codes(make_mailing(subject="   ")) == {"subject_missing": "hard"}
    assert codes(make_mailing(subject="x" * 149)) == {}
    assert codes(make_mailing(subject="x" * 150)) == {"subject_too_long": "soft"}


@pytest.mark.parametrize(
    ("body", "html_body"),
    [
        ("Visit http://192.0.2.10/offer now", ""),
        ("Plain text", '<a href="https://[2001:db8::1]:8443/x">here</a>'),
        ("Plain text", "<img src='http://user@198.51.100.7/p.png'>"),
    ],
)
def test_a_link_to_a_raw_ip_is_hard(clean, body, html_body):
    mailing = make_mailing(body=body, html_body=html_body)
    [finding] = mailing_preflight(mailing)
    assert (finding.code, finding.severity) == ("raw_ip_link", "hard")


def test_links_to_names_that_look_numeric_pass(clean):
    body = "https://1.example.com/ and https://example.com/192.0.2.1 and 10.0.0.1"
    assert codes(make_mailing(body=body)) == {}


def test_recipients_must_exist(clean):
    mailing = make_mailing(clients=2)
    clients = list(Client.objects.filter(owner=mailing.owner))
    Client.objects.filter(pk=clients[0].pk).update(unsubscribed_at=timezone.now())
    assert codes(mailing) == {}
    Suppression.objects.create(
        owner=mailing.owner, email=clients[1].email, reason="manual"
    )
    assert codes(mailing) == {"no_recipients": "hard"}


def test_the_planner_holds_a_mailing_and_releases_it_when_fixed(clean):
    mailing = make_mailing(subject="")
    assert plan_due_runs() == []
    mailing.refresh_from_db()
    assert mailing.held_at is not None
    assert "The message has no subject." in mailing.held_reason
    assert not Run.objects.filter(mailing=mailing).exists()
    held_since = mailing.held_at

    # Still wrong a minute later: still held, since the first time.
    assert plan_due_runs(now=timezone.now() + timedelta(minutes=1)) == []
    mailing.refresh_from_db()
    assert mailing.held_at == held_since

    mailing.message.subject = "Fixed"
    mailing.message.save()
    [run] = plan_due_runs(now=timezone.now() + timedelta(minutes=2))
    run.refresh_from_db()
    assert (run.mailing_id, run.delivery_count) == (mailing.pk, 3)
    mailing.refresh_from_db()
    assert (mailing.held_at, mailing.held_reason) == (None, "")


def test_the_held_reason_is_in_the_owners_language(clean):
    mailing = make_mailing(subject="")
    mailing.owner.language = "ru"
    mailing.owner.save(update_fields=["language"])
    plan_due_runs()
    mailing.refresh_from_db()
    assert "У сообщения нет темы." in mailing.held_reason


def test_send_now_is_refused_with_the_findings(clean, queued_runs):
    mailing = make_mailing(body="See http://203.0.113.5/", subject="")
    with pytest.raises(ValidationError) as refused:
        services.mailing_send_now(mailing=mailing)
    text = " ".join(refused.value.messages)
    assert "The message has no subject." in text
    assert "links to an IP address: http://203.0.113.5/" in text
    assert "Link to a domain name instead" in text
    assert queued_runs == []


def test_send_now_passes_with_only_warnings(clean, queued_runs):
    clean.PREFLIGHT_STRICT = False
    clean.SITE_URL = "http://mailsite.test"
    mailing = make_mailing()
    services.mailing_send_now(mailing=mailing)


def test_the_send_now_button_shows_the_findings(client, clean, queued_runs):
    mailing = make_mailing(subject="")
    client.force_login(mailing.owner)
    response = client.post(
        reverse("mailing:mailing_send_now", args=[mailing.pk]), follow=True
    )
    assert "The message has no subject." in response.content.decode()
    assert queued_runs == []


def test_the_mailing_page_shows_findings_and_the_hold(client, clean):
    mailing = make_mailing(subject="x" * 160)
    client.force_login(mailing.owner)
    url = reverse("mailing:mailing_detail", args=[mailing.pk])
    page = client.get(url + "?check=1").content.decode()
    assert 'data-finding="subject_too_long"' in page
    assert "Checked just now." in page
    assert "data-held" not in page

    Mailing.objects.filter(pk=mailing.pk).update(
        held_at=timezone.now(), held_reason="The message has no subject. Fix it."
    )
    page = client.get(url).content.decode()
    assert "Held by the pre-flight check" in page
    assert "The message has no subject. Fix it." in page


def test_a_clean_mailing_page_says_it_passes(client, clean):
    mailing = make_mailing()
    client.force_login(mailing.owner)
    page = client.get(reverse("mailing:mailing_detail", args=[mailing.pk]))
    assert "data-preflight-ok" in page.content.decode()


def test_managers_filter_mailings_held_by_the_check(client, clean, role_users):
    held = make_mailing(subject="Held one")
    free = make_mailing(subject="Free one")
    Mailing.objects.filter(pk=held.pk).update(
        held_at=timezone.now(), held_reason="Because."
    )
    client.force_login(role_users["manager"])
    page = client.get("/cms/moderation/mailings/?held=true").content.decode()
    assert "Held one" in page
    assert "Free one" not in page
    page = client.get("/cms/moderation/mailings/?held=false").content.decode()
    assert "Free one" in page
    assert "Held one" not in page
    inspect = client.get(f"/cms/moderation/mailings/inspect/{held.pk}/")
    assert "Because." in inspect.content.decode()
    assert free.pk
