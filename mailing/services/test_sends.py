""" "Send a test": a mailing's message to a few addresses of the customer's
choice, through the engine, without a run (mailing.engine.services.
mailing_send_test). The request only validates and queues; the task talks
SMTP and writes the server's replies on the `MailingTestSend` row, which the
mailing page shows.

Rate limit: at most `TEST_SENDS_PER_HOUR` test messages (addresses) per
customer in any hour, counted on the test-send rows themselves rather than
in the cache: exact across web processes and workers, and it survives a
cache flush.
"""

from datetime import datetime, timedelta

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from mailing import tasks
from mailing.addresses import address_normalize
from mailing.models import Client, Mailing, MailingTestSend
from mailing.services.suppression import split_addresses

MAX_TEST_ADDRESSES = 5
TEST_SENDS_PER_HOUR = 10


def _addresses(text_or_list) -> list[str]:
    if isinstance(text_or_list, str):
        candidates = split_addresses(text_or_list)
    else:
        candidates = list(dict.fromkeys(a.strip() for a in text_or_list if a.strip()))
    if not candidates:
        raise ValidationError(
            {"addresses": _("Enter at least one address to send the test to.")}
        )
    if len(candidates) > MAX_TEST_ADDRESSES:
        raise ValidationError(
            {
                "addresses": _("A test goes to at most %(limit)d addresses.")
                % {"limit": MAX_TEST_ADDRESSES}
            }
        )
    addresses = []
    for candidate in candidates:
        try:
            addresses.append(address_normalize(candidate))
        except ValidationError as error:
            raise ValidationError(
                {"addresses": f"{candidate}: {' '.join(error.messages)}"}
            ) from None
    return addresses


def sent_tests_count(*, owner, now: datetime) -> int:
    """How many test messages `owner` has sent in the hour before `now`."""
    rows = MailingTestSend.objects.filter(
        owner=owner, created_at__gt=now - timedelta(hours=1)
    )
    # A handful of rows at most: the limit keeps them few.
    return sum(len(addresses) for addresses in rows.values_list("addresses", flat=True))


@transaction.atomic
def mailing_test_send(
    *,
    mailing: Mailing,
    addresses,
    client: Client | None = None,
    now: datetime | None = None,
) -> MailingTestSend:
    """Queue a test of `mailing` to `addresses` (a pasted text or a list),
    rendered for `client` (one of the owner's; None: the mailing's first
    client, else sample values). Sent by a task after the commit.

    Raises ValidationError: no address, more than five, an invalid one, a
    client of another user, or the hourly limit reached.
    """
    now = now or timezone.now()
    chosen = _addresses(addresses)
    if client is not None and client.owner_id != mailing.owner_id:
        raise ValidationError({"client": _("This client belongs to another user.")})
    used = sent_tests_count(owner=mailing.owner, now=now)
    if used + len(chosen) > TEST_SENDS_PER_HOUR:
        left = max(TEST_SENDS_PER_HOUR - used, 0)
        raise ValidationError(
            ngettext(
                "You may send %(limit)d test messages an hour; %(left)d is left "
                "for now. Try again later.",
                "You may send %(limit)d test messages an hour; %(left)d are left "
                "for now. Try again later.",
                left,
            )
            % {"limit": TEST_SENDS_PER_HOUR, "left": left},
            code="rate_limited",
        )
    test_send = MailingTestSend.objects.create(
        mailing=mailing, owner_id=mailing.owner_id, addresses=chosen, client=client
    )
    pk = test_send.pk
    transaction.on_commit(lambda: tasks.send_test_message.enqueue(test_send_id=pk))
    return test_send
