"""The demo customer's audience: two lists with members (two sign-ups on
the newsletter still waiting for their confirmation), a working sign-up
form on each, a segment, and a weekly mailing to the two lists.

Run by `manage.py seed_demo` after the mailing demo (which makes the
customer, their clients and messages). Idempotent: a list, segment or
mailing that exists is kept, and a member already on a list stays as they
are.

The waiting sign-ups go through the form's own service, so their
confirmation mails are real ones: under `make run` the worker sends them
to the development mail sink (var/mail/), where their links can be
followed like any visitor's.
"""

from datetime import timedelta

from django.contrib.auth import get_user_model
from django.utils import timezone

from audience.models import MailingList, Segment, Subscription
from audience.services import (
    mailing_list_create,
    subscription_add,
    subscription_signup,
)
from mailing.models import Client, Mailing, Message
from mailing.scheduling import next_run_at_for

CUSTOMER = "customer@example.com"
DEMO_LISTS = [
    ("Newsletter", "News from us, once a month.", True),
    ("Product updates", "A short note when something changes.", False),
]
# Clients 7 and 8 signed up on the newsletter's form and have not confirmed.
WAITING = slice(6, 8)
SEGMENT = "Newsletter readers who joined this month"
MAILING = "Weekly letter to both lists"


def seed(*, stdout):
    owner = get_user_model().objects.filter(email=CUSTOMER).first()
    if owner is None:
        return
    clients = list(Client.objects.filter(owner=owner).order_by("pk")[:8])
    now = timezone.now()
    lists = []
    for index, (name, description, double_opt_in) in enumerate(DEMO_LISTS):
        mailing_list = MailingList.objects.filter(owner=owner, name=name).first()
        if mailing_list is None:
            mailing_list = mailing_list_create(
                owner=owner,
                name=name,
                description=description,
                double_opt_in=double_opt_in,
            )
        # Every one of the first six on the first list, every other one on
        # the second.
        for client in clients[:6][index :: index + 1]:
            if not _is_member(mailing_list, client):
                subscription_add(mailing_list=mailing_list, client=client, now=now)
        lists.append(mailing_list)
        stdout.write(
            f"List {name!r} of {CUSTOMER}: sign-up form at "
            f"{mailing_list.get_form_url()}"
        )
    newsletter = lists[0]
    for number, client in enumerate(clients[WAITING], start=10):
        if not _is_member(newsletter, client):
            subscription_signup(
                mailing_list=newsletter,
                email=client.email,
                ip=f"192.0.2.{number}",
                now=now,
            )
    _seed_segment(owner, newsletter)
    _seed_mailing(owner, lists, now=now, stdout=stdout)


def _is_member(mailing_list, client) -> bool:
    return Subscription.objects.filter(
        mailing_list=mailing_list, client=client
    ).exists()


def _seed_segment(owner, newsletter):
    """The newsletter's subscribers added in the last 30 days (the
    conditions as audience.models.Segment describes them)."""
    Segment.objects.get_or_create(
        owner=owner,
        name=SEGMENT,
        defaults={
            "conditions": {
                "match": "all",
                "rules": [
                    {"kind": "list", "op": "in", "list": newsletter.pk},
                    {"kind": "added", "op": "within_days", "value": 30},
                ],
            }
        },
    )


def _seed_mailing(owner, lists, *, now, stdout):
    """A weekly mailing to the two lists (no client picked by hand),
    starting in a week: its page shows the recipients counted once each."""
    if Mailing.objects.filter(owner=owner, name=MAILING).exists():
        return
    message = Message.objects.filter(owner=owner).order_by("pk").first()
    if message is None:
        return
    start = now.replace(second=0, microsecond=0) + timedelta(days=7)
    mailing = Mailing.objects.create(
        owner=owner,
        name=MAILING,
        message=message,
        periodicity=Mailing.Periodicity.WEEKLY,
        start_at=start,
        end_at=start + timedelta(days=180),
    )
    mailing.lists.set(lists)
    mailing.next_run_at = next_run_at_for(mailing, now=now)
    mailing.save(update_fields=["next_run_at"])
    stdout.write(f"Mailing {MAILING!r} of {CUSTOMER}: to the lists.")
