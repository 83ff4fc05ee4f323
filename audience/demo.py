"""Two lists for the demo customer, with members and a working sign-up form.

Run by `manage.py seed_demo` after the mailing demo (which makes the
customer and their clients). Idempotent: a list that exists is kept, and a
member already on it stays as they are.
"""

from django.contrib.auth import get_user_model
from django.utils import timezone

from audience.models import MailingList, Subscription
from audience.services import mailing_list_create, subscription_add
from mailing.models import Client

CUSTOMER = "customer@example.com"
DEMO_LISTS = [
    ("Newsletter", "News from us, once a month.", True),
    ("Product updates", "A short note when something changes.", False),
]


def seed(*, stdout):
    owner = get_user_model().objects.filter(email=CUSTOMER).first()
    if owner is None:
        return
    clients = list(Client.objects.filter(owner=owner).order_by("pk")[:6])
    now = timezone.now()
    for index, (name, description, double_opt_in) in enumerate(DEMO_LISTS):
        mailing_list = MailingList.objects.filter(owner=owner, name=name).first()
        if mailing_list is None:
            mailing_list = mailing_list_create(
                owner=owner,
                name=name,
                description=description,
                double_opt_in=double_opt_in,
            )
        # Every client on the first list, every other one on the second.
        for client in clients[index :: index + 1]:
            if not Subscription.objects.filter(
                mailing_list=mailing_list, client=client
            ).exists():
                subscription_add(mailing_list=mailing_list, client=client, now=now)
        stdout.write(
            f"List {name!r} of {CUSTOMER}: sign-up form at "
            f"{mailing_list.get_form_url()}"
        )
