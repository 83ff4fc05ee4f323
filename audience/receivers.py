"""Keeps the lists' member counts right when a client is deleted (by the
customer, or with their owner): the subscriptions go by cascade, which no
audience service sees."""

from django.db.models import F
from django.db.models.signals import pre_delete

from audience.models import COUNTED_STATUSES, MailingList, Subscription
from mailing.models import Client


def _client_deleted(sender, instance, **kwargs):
    for status, field in COUNTED_STATUSES.items():
        lists = Subscription.objects.filter(client_id=instance.pk, status=status)
        MailingList.objects.filter(pk__in=lists.values("mailing_list_id")).update(
            **{field: F(field) - 1}
        )


def connect_receivers() -> None:
    pre_delete.connect(
        _client_deleted, sender=Client, dispatch_uid="audience_client_deleted"
    )
