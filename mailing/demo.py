"""Demo data for the customer customer@example.com: clients, messages and
mailings in every status, with runs and a delivery log of realistic SMTP
replies; and a Russian-speaking customer, demo-ru@example.com (Moscow time),
with Russian clients, a Russian message and a weekly mailing at 10:00 their
time. Idempotent: what exists already is left as it is."""

from datetime import datetime, time, timedelta

from allauth.account.models import EmailAddress
from django.contrib.auth import get_user_model
from django.utils import timezone

from mailing.figures import site_figures_invalidate
from mailing.models import (
    Client,
    Delivery,
    DeliveryAttempt,
    Mailing,
    Message,
    Run,
    Suppression,
)
from mailing.scheduling import next_run_at_for

CUSTOMER = "customer@example.com"
CLIENTS = [
    ("ada@example.net", "Ada Lovelace", "Met at the analytics meetup"),
    ("alan@example.net", "Alan Turing", ""),
    ("grace@example.net", "Grace Hopper", "Prefers plain text"),
    ("edsger@example.net", "Edsger Dijkstra", ""),
    ("barbara@example.net", "Barbara Liskov", "Newsletter since 2021"),
    ("donald@example.net", "Donald Knuth", ""),
    ("margaret@example.net", "Margaret Hamilton", "VIP"),
    ("ken@example.net", "Ken Thompson", ""),
    ("frances@example.net", "Frances Allen", ""),
    ("john@example.org", "John Backus", "Bounced once"),
    ("radia@example.org", "Radia Perlman", ""),
    ("tim@example.org", "Tim Berners-Lee", ""),
]
MESSAGES = [
    (
        "Our {{ full_name }} newsletter: what is new this month",
        "Hello {{ full_name }},\n\nHere is what changed this month.\n\n"
        "You receive this at {{ email }} because you asked for it.\n",
        "<h1>Hello {{ full_name }}</h1><p>Here is what changed this month.</p>",
    ),
    (
        "Spring sale: 20% off for you, {{ full_name }}",
        "Hi {{ full_name }},\n\nEverything is 20% off until Sunday.\n",
        "",
    ),
    (
        "Your weekly digest",
        "Hello {{ full_name }},\n\nThe five most read articles of the week.\n",
        "",
    ),
    # Customers write to their clients in their clients' language.
    (
        "{{ full_name }}, новости месяца",
        "Здравствуйте, {{ full_name }}!\n\nРассказываем, что изменилось за "
        "месяц.\n\nВы получили это письмо на {{ email }}, потому что "
        "подписались на рассылку.\n",
        "<h1>Здравствуйте, {{ full_name }}!</h1>"
        "<p>Рассказываем, что изменилось за месяц.</p>",
    ),
]
RUSSIAN_CUSTOMER = "demo-ru@example.com"
RUSSIAN_CLIENTS = [
    ("anna@example.ru", "Анна Ахматова", "Постоянный читатель"),
    ("boris@example.ru", "Борис Пастернак", ""),
    ("marina@example.ru", "Марина Цветаева", "Просила присылать только текст"),
]
RUSSIAN_MESSAGE = (
    "Еженедельный обзор для {{ full_name }}",
    "Здравствуйте, {{ full_name }}!\n\nПять самых читаемых статей недели — "
    "в этом письме.\n\nОтписаться можно по ссылке внизу письма.\n",
)
# What the engine classifies each demo reply as (deliverability.classify).
DEMO_BOUNCE_CLASSES = {"sent": "", "failed": "hard_bounce", "gave_up": "soft"}
REPLIES = {
    "sent": (250, "250 2.0.0 Ok: queued as {qid}"),
    "failed": (550, "550 5.1.1 <{email}>: Recipient address rejected: User unknown"),
    # Retried until the limit, then given up: the run is over.
    "gave_up": (451, "451 4.7.1 <{email}>: Greylisted, please try again later"),
}


def seed(*, stdout):
    _seed_customer(stdout=stdout)
    _seed_russian_customer(stdout=stdout)


def _seed_customer(*, stdout):
    User = get_user_model()
    owner, created = User.objects.get_or_create(
        email=CUSTOMER, defaults={"full_name": "Casey Customer"}
    )
    if created:
        owner.set_password("demo-customer-pass")
        owner.save()
        EmailAddress.objects.get_or_create(
            user=owner, email=CUSTOMER, defaults={"verified": True, "primary": True}
        )
    clients = []
    for email, name, comment in CLIENTS:
        client, _ = Client.objects.get_or_create(
            owner=owner, email=email, defaults={"full_name": name, "comment": comment}
        )
        clients.append(client)
    messages = []
    for subject, body, html_body in MESSAGES:
        message, _ = Message.objects.get_or_create(
            owner=owner,
            subject=subject,
            defaults={"body": body, "html_body": html_body},
        )
        messages.append(message)
    if Mailing.objects.filter(owner=owner).exists():
        stdout.write("Demo mailings: already there.")
        return
    now = timezone.now().replace(second=0, microsecond=0)
    day = timedelta(days=1)
    plans = [
        # (message, periodicity, start, end, status, runs: [(days ago, outcomes)])
        (
            0,
            "monthly",
            now - 60 * day,
            now + 300 * day,
            "running",
            [(59, 0.9), (29, 0.8)],
        ),
        (1, "once", now - 10 * day, now - 9 * day, "finished", [(10, 0.75)]),
        (2, "weekly", now + 2 * day, now + 90 * day, "created", []),
        (2, "daily", now - 3 * day, now + 30 * day, "running", [(2, 1.0), (1, 0.6)]),
    ]
    made = []
    for index, periodicity, start, end, status, runs in plans:
        mailing = Mailing.objects.create(
            owner=owner,
            message=messages[index],
            periodicity=periodicity,
            start_at=start,
            end_at=end,
            status=status,
        )
        mailing.clients.set(clients)
        for days_ago, share in runs:
            _run(mailing, clients, now - days_ago * day, share)
        mailing.next_run_at = (
            next_run_at_for(mailing, now=now) if status != "finished" else None
        )
        mailing.save(update_fields=["next_run_at"])
        made.append(mailing)
    # One paused by its owner, one disabled by a manager.
    made[3].is_paused = True
    made[3].save(update_fields=["is_paused"])
    disabled = Mailing.objects.create(
        owner=owner,
        message=messages[1],
        periodicity="weekly",
        start_at=now - 14 * day,
        end_at=now + 60 * day,
        status="running",
        is_active=False,
    )
    disabled.clients.set(clients[:4])
    _run(disabled, clients[:4], now - 14 * day, 0.5)
    disabled.next_run_at = next_run_at_for(disabled, now=now)
    disabled.save(update_fields=["next_run_at"])
    _bounce_later(made[1])
    site_figures_invalidate()
    stdout.write(f"Demo mailings: {len(made) + 1} for {CUSTOMER}.")


def _seed_russian_customer(*, stdout):
    """Clients, a message and a weekly Monday 10:00 (Moscow) mailing for the
    Russian-speaking demo user, if accounts.demo has created them."""
    owner = get_user_model().objects.filter(email=RUSSIAN_CUSTOMER).first()
    if owner is None:
        return
    clients = [
        Client.objects.get_or_create(
            owner=owner, email=email, defaults={"full_name": name, "comment": comment}
        )[0]
        for email, name, comment in RUSSIAN_CLIENTS
    ]
    subject, body = RUSSIAN_MESSAGE
    message, _ = Message.objects.get_or_create(
        owner=owner, subject=subject, defaults={"body": body}
    )
    if Mailing.objects.filter(owner=owner).exists():
        return
    today = timezone.localdate(timezone=owner.zone)
    monday = today + timedelta(days=7 - today.weekday())
    start = datetime.combine(monday, time(10), tzinfo=owner.zone)
    mailing = Mailing.objects.create(
        owner=owner,
        message=message,
        periodicity="weekly",
        start_at=start,
        end_at=start + timedelta(days=180),
    )
    mailing.clients.set(clients)
    mailing.next_run_at = next_run_at_for(mailing, now=timezone.now())
    mailing.save(update_fields=["next_run_at"])
    site_figures_invalidate()
    stdout.write(f"Demo mailing in Russian for {RUSSIAN_CUSTOMER}.")


def _bounce_later(mailing):
    """One sent message of `mailing` that bounced later (a DSN came back to
    its VERP address): the delivery bounced, the address suppressed."""
    delivery = (
        Delivery.objects.filter(run__mailing=mailing, status=Delivery.Status.SENT)
        .order_by("-pk")
        .first()
    )
    if delivery is None:
        return
    delivery.status = Delivery.Status.BOUNCED
    delivery.bounce_class = "hard_bounce"
    delivery.server_response = (
        f"5.1.1 550 5.1.1 <{delivery.email}>: Recipient address rejected: "
        "User unknown in virtual mailbox table"
    )
    delivery.save(update_fields=["status", "bounce_class", "server_response"])
    Run.objects.filter(pk=delivery.run_id).update(bounced_count=1)
    Suppression.objects.record(
        owner_id=mailing.owner_id,
        email=delivery.email,
        reason=Suppression.Reason.HARD_BOUNCE,
        source=f"bounce report, mailing #{mailing.pk}, delivery #{delivery.pk}",
        client_id=delivery.client_id,
    )


def _run(mailing, clients, when, share):
    """A finished run in which `share` of the clients got the message; the
    rest failed (refused, or temporarily refused until the retries ran out)."""
    run = Run.objects.create(
        mailing=mailing,
        scheduled_for=when,
        status=Run.Status.FINISHED,
        started_at=when,
        finished_at=when + timedelta(minutes=2),
    )
    cut = round(len(clients) * share)
    deliveries = []
    for n, client in enumerate(clients):
        if n < cut:
            outcome = "sent"
        elif n < len(clients) - 1:
            outcome = "failed"
        else:
            outcome = "gave_up"
        _code, text = REPLIES[outcome]
        deliveries.append(
            Delivery(
                run=run,
                client=client,
                email=client.email,
                status="sent" if outcome == "sent" else "failed",
                bounce_class=DEMO_BOUNCE_CLASSES[outcome],
                attempts=5 if outcome == "gave_up" else 1,
                last_attempt_at=when + timedelta(seconds=5 + n),
                server_response=text.format(
                    email=client.email, qid=f"{run.pk:04X}{n:04X}A1"
                ),
                message_id=f"<run{run.pk}.client{client.pk}@localhost>",
            )
        )
    Delivery.objects.bulk_create(deliveries)
    # The counters the engine keeps when it sends; the pages read them.
    sent = [d for d in deliveries if d.status == "sent"]
    Run.objects.filter(pk=run.pk).update(
        delivery_count=len(deliveries),
        sent_count=len(sent),
        failed_count=len(deliveries) - len(sent),
        last_sent_at=max((d.last_attempt_at for d in sent), default=None),
    )
    DeliveryAttempt.objects.bulk_create(
        DeliveryAttempt(
            delivery=delivery,
            number=delivery.attempts,
            attempted_at=delivery.last_attempt_at,
            outcome=delivery.status,
            reply_code=int(delivery.server_response[:3]),
            server_response=delivery.server_response,
        )
        for delivery in deliveries
    )
