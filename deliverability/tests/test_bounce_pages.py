"""What people see of bounces and complaints: the counts and the bounce
class on the mailing page, the paused customer's banner, the managers'
report and their Resume sending action."""

import pytest
from django.utils import timezone

from mailing.models import Delivery, Run
from mailing.tests.counters import run_counters_recompute_for_tests
from mailing.tests.factories import DeliveryFactory, MailingFactory, RunFactory

pytestmark = pytest.mark.django_db


def test_the_mailing_page_shows_bounced_and_complained(client, role_users):
    owner = role_users["customer_a"]
    mailing = MailingFactory(owner=owner)
    run = RunFactory(mailing=mailing)
    DeliveryFactory(run=run, status=Delivery.Status.SENT)
    DeliveryFactory(
        run=run,
        status=Delivery.Status.BOUNCED,
        bounce_class="hard_bounce",
        server_response="5.1.1 User unknown",
    )
    DeliveryFactory(
        run=run, status=Delivery.Status.COMPLAINED, bounce_class="complaint"
    )
    DeliveryFactory(
        run=run,
        status=Delivery.Status.FAILED,
        bounce_class="policy",
        server_response="550 5.7.1 Rejected as spam",
    )
    run_counters_recompute_for_tests(run)
    run.refresh_from_db()
    assert (run.sent_count, run.bounced_count, run.complained_count) == (3, 1, 1)

    client.force_login(owner)
    page = client.get(mailing.get_absolute_url()).content.decode()
    assert 'id="bounced-complained"' in page
    assert "1</span> · <span" in page
    assert 'data-bounce-class="hard_bounce">Hard bounce<' in page
    assert 'data-bounce-class="policy">Policy or content rejection<' in page
    assert "sending-paused" not in page


def test_a_paused_customer_is_told_why_and_what_to_do(client, role_users):
    owner = role_users["customer_a"]
    owner.sending_paused_at = timezone.now()
    owner.sending_paused_reason = "20 of 300 deliveries were hard bounces."
    owner.save()
    client.force_login(owner)
    page = client.get("/app/mailings/").content.decode()
    assert 'id="sending-paused"' in page
    assert "20 of 300 deliveries were hard bounces." in page
    client.cookies["django_language"] = "ru"
    page = client.get("/app/mailings/").content.decode()
    assert "Отправка ваших рассылок приостановлена" in page


def test_managers_see_the_rates_and_resume_a_paused_customer(client, role_users):
    owner = role_users["customer_a"]
    run = RunFactory(mailing=MailingFactory(owner=owner))
    DeliveryFactory(run=run, status=Delivery.Status.FAILED, bounce_class="hard_bounce")
    DeliveryFactory(run=run)
    owner.sending_paused_at = timezone.now()
    owner.save()

    client.force_login(role_users["customer_b"])
    assert client.get("/cms/reputation/").status_code in (302, 403)
    client.force_login(role_users["manager"])
    page = client.get("/cms/reputation/").content.decode()
    assert owner.email in page
    assert "50 %" in page

    url = f"/cms/moderation/resume_sending/{owner.pk}/"
    assert client.get(url).status_code == 200
    client.post(url, {"reason": "List cleaned"})
    owner.refresh_from_db()
    assert owner.sending_paused_at is None
    assert Run.objects.filter(mailing__owner=owner).exists()
