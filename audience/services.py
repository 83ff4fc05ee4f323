"""Writes of lists and subscriptions.

Every service takes keyword-only arguments and runs in a transaction. The
member counts on `MailingList` change in the same transaction as the
subscriptions they count (`_recount`), so list pages read two integers
instead of counting members. Mail (the confirmation of a sign-up) is queued
with `transaction.on_commit` and sent by a task: no request talks to SMTP.
"""

from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from audience import tasks
from audience.confirmation import confirmation_subscription
from audience.custom_fields import Coerced, key_errors
from audience.models import (
    COUNTED_STATUSES,
    CustomField,
    MailingList,
    Segment,
    Subscription,
)
from audience.segments import conditions_validate
from mailing.addresses import address_normalize
from mailing.models import Client, Mailing, Suppression
from mailing.services.suppression import unsubscribe as suppression_unsubscribe
from mailing.unsubscribe import UnsubscribeTarget


def _recount(list_id: int, *, old: str | None, new: str | None) -> None:
    """Move one member between the kept counts of a list (old -> new
    status; None for a row created or deleted)."""
    if old == new:
        return
    changes = {}
    if old in COUNTED_STATUSES:
        changes[COUNTED_STATUSES[old]] = F(COUNTED_STATUSES[old]) - 1
    if new in COUNTED_STATUSES:
        changes[COUNTED_STATUSES[new]] = F(COUNTED_STATUSES[new]) + 1
    if changes:
        MailingList.objects.filter(pk=list_id).update(**changes)


def _welcome(subscription: Subscription) -> None:
    """Queue the list's welcome message for a new subscriber (on commit),
    when the list has one."""
    if subscription.mailing_list.welcome_message:
        pk = subscription.pk
        transaction.on_commit(
            lambda: tasks.send_subscription_welcome.enqueue(subscription_id=pk)
        )


def _set_status(subscription: Subscription, status: str, **fields) -> Subscription:
    old = subscription.status
    subscription.status = status
    for name, value in fields.items():
        setattr(subscription, name, value)
    subscription.save(update_fields=["status", "updated_at", *fields])
    _recount(subscription.mailing_list_id, old=old, new=status)
    return subscription


# Lists -----------------------------------------------------------------------


def _save_list(mailing_list: MailingList) -> MailingList:
    mailing_list.full_clean(exclude=["public_id", "owner"])
    try:
        with transaction.atomic():
            mailing_list.save()
    except IntegrityError as error:
        raise ValidationError(
            {"name": _("You already have a list with this name.")}
        ) from error
    return mailing_list


def _set_form_fields(mailing_list: MailingList, form_fields) -> None:
    if form_fields is None:
        return
    form_fields = list(form_fields)
    if any(field.owner_id != mailing_list.owner_id for field in form_fields):
        raise ValidationError({"form_fields": _("Choose your own fields.")})
    mailing_list.form_fields.set(form_fields)


@transaction.atomic
def mailing_list_create(*, owner, name: str, form_fields=None, **fields) -> MailingList:
    """Create a list of `owner` (its public form id is drawn here).

    `fields`: description, double_opt_in, ask_full_name, welcome_message;
    `form_fields`: the owner's custom fields its sign-up form asks.
    Raises ValidationError: an empty name, or one the owner already uses;
    a custom field of another owner.
    """
    mailing_list = _save_list(MailingList(owner=owner, name=name, **fields))
    _set_form_fields(mailing_list, form_fields)
    return mailing_list


@transaction.atomic
def mailing_list_update(
    *, mailing_list: MailingList, form_fields=None, **fields
) -> MailingList:
    """Change a list's name and form settings (`form_fields`: None leaves
    them). Raises ValidationError as mailing_list_create does."""
    for name, value in fields.items():
        setattr(mailing_list, name, value)
    _save_list(mailing_list)
    _set_form_fields(mailing_list, form_fields)
    return mailing_list


@transaction.atomic
def mailing_list_delete(*, mailing_list: MailingList) -> None:
    """Delete a list with its subscriptions (the clients stay; mailings
    that targeted it keep their other recipients)."""
    mailing_list.delete()


# Custom fields ---------------------------------------------------------------


def _clean_choices(custom_field: CustomField) -> None:
    choices = []
    for choice in custom_field.choices or []:
        choice = " ".join(str(choice).split())
        if choice and choice not in choices:
            choices.append(choice[:100])
    custom_field.choices = choices
    if custom_field.type != CustomField.Type.CHOICE:
        custom_field.choices = []
    elif not choices:
        raise ValidationError({"choices": _("Give at least one choice.")})


def _save_custom_field(custom_field: CustomField) -> CustomField:
    custom_field.label = " ".join((custom_field.label or "").split())
    errors = {}
    if problems := key_errors(custom_field.key):
        errors["key"] = problems
    try:
        custom_field.full_clean(exclude=["owner", "key", "choices"])
    except ValidationError as error:
        errors.update(error.message_dict)
    if errors:
        raise ValidationError(errors)
    _clean_choices(custom_field)
    try:
        with transaction.atomic():
            custom_field.save()
    except IntegrityError as error:
        raise ValidationError(
            {"key": _("You already have a field with this key.")}
        ) from error
    return custom_field


@transaction.atomic
def custom_field_create(
    *,
    owner,
    key: str,
    label: str,
    type: str = CustomField.Type.TEXT,
    choices=(),
    position: int | None = None,
) -> CustomField:
    """Add a custom field to `owner`'s address book; `key` becomes the
    placeholder `{{ key }}`. Without a `position` it goes last.

    Raises ValidationError: a key that breaks the key rule
    (audience.custom_fields.key_errors), is a built-in placeholder or is
    taken; an empty label; a choice field without choices.
    """
    if position is None:
        last = CustomField.objects.filter(owner=owner).order_by("-position").first()
        position = last.position + 1 if last else 0
    return _save_custom_field(
        CustomField(
            owner=owner,
            key=(key or "").strip(),
            label=label,
            type=type,
            choices=list(choices or []),
            position=position,
        )
    )


@transaction.atomic
def custom_field_update(
    *, custom_field: CustomField, type: str | None = None, **fields
) -> CustomField:
    """Change a field's key, label, choices or position.

    The type cannot change: clients may hold values of the old type (an
    import or a form may have written them at any time), and converting
    them silently would lose data. Raises ValidationError for a new type and
    as custom_field_create does. A renamed key leaves stored values under
    the old key (rename is for fixing a fresh field's typo).
    """
    if type is not None and type != custom_field.type:
        raise ValidationError(
            {
                "type": _(
                    "The type of a field cannot change once it exists: clients "
                    "may already have values of this type. Add a new field instead."
                )
            }
        )
    for name, value in fields.items():
        setattr(custom_field, name, value)
    custom_field.key = (custom_field.key or "").strip()
    return _save_custom_field(custom_field)


@transaction.atomic
def custom_field_delete(*, custom_field: CustomField) -> None:
    """Delete a field definition (and take it off every sign-up form). The
    values clients hold stay in their attributes, no longer shown; adding
    the field again shows them again."""
    custom_field.delete()


# Segments --------------------------------------------------------------------


def _save_segment(segment: Segment, conditions) -> Segment:
    errors = {}
    try:
        segment.conditions = conditions_validate(conditions, owner=segment.owner)
    except ValidationError as error:
        errors["conditions"] = error.messages
    try:
        segment.full_clean(exclude=["owner", "conditions"])
    except ValidationError as error:
        errors.update(error.message_dict)
    if errors:
        raise ValidationError(errors)
    try:
        with transaction.atomic():
            segment.save()
    except IntegrityError as error:
        raise ValidationError(
            {"name": _("You already have a segment with this name.")}
        ) from error
    return segment


@transaction.atomic
def segment_create(*, owner, name: str, conditions: dict) -> Segment:
    """Save a segment of `owner` with its conditions checked against the
    owner's fields and lists (audience.segments), values in stored types.

    Raises ValidationError: an empty or taken name ("name"), a faulty rule
    ("conditions", one message per rule)."""
    return _save_segment(Segment(owner=owner, name=name), conditions)


@transaction.atomic
def segment_update(*, segment: Segment, name: str, conditions: dict) -> Segment:
    """Change a segment's name and conditions. Raises ValidationError as
    segment_create does; mailings narrowed by it use the new conditions
    from their next run."""
    segment.name = name
    return _save_segment(segment, conditions)


@transaction.atomic
def segment_delete(*, segment: Segment) -> None:
    """Delete a segment that no unfinished mailing uses.

    Raises ValidationError while one does: deleting it would quietly widen
    that mailing to all its lists' members (finished mailings keep their
    runs and lose only the reference)."""
    using = segment.mailings.exclude(status=Mailing.Status.FINISHED)
    names = [mailing.title for mailing in using.select_related("message")[:3]]
    if names:
        raise ValidationError(
            _("Mailings still narrowed by this segment: %(names)s.")
            % {"names": ", ".join(names)}
        )
    segment.delete()


# Members by hand -------------------------------------------------------------


@transaction.atomic
def subscription_add(
    *, mailing_list: MailingList, client: Client, now=None
) -> Subscription:
    """The customer adds one of their clients to a list by hand: subscribed
    at once, source `manual` (the customer vouches for the consent).

    Raises ValidationError for a client or list of another owner, and for a
    client who left the list themselves (only they can rejoin, on the form).
    """
    if client.owner_id != mailing_list.owner_id:
        raise ValidationError(_("This client belongs to another user."))
    now = now or timezone.now()
    subscription, created = Subscription.objects.select_for_update().get_or_create(
        client=client,
        mailing_list=mailing_list,
        defaults={
            "status": Subscription.Status.SUBSCRIBED,
            "source": Subscription.Source.MANUAL,
            "consent_at": now,
            "confirmed_at": now,
        },
    )
    if created:
        _recount(mailing_list.pk, old=None, new=subscription.status)
        return subscription
    if subscription.status == Subscription.Status.UNSUBSCRIBED:
        raise ValidationError(
            _("%(email)s left this list; only they can join it again.")
            % {"email": client.email}
        )
    if subscription.status == Subscription.Status.UNCONFIRMED:
        _set_status(subscription, Subscription.Status.SUBSCRIBED, confirmed_at=now)
    return subscription


@transaction.atomic
def subscription_remove(*, subscription: Subscription) -> None:
    """The customer takes a client off a list. A member who left by
    themselves keeps their row (it remembers that they left)."""
    if subscription.status == Subscription.Status.UNSUBSCRIBED:
        return
    subscription.delete()
    _recount(subscription.mailing_list_id, old=subscription.status, new=None)


# The public form -------------------------------------------------------------


@dataclass
class SignUp:
    """What a sign-up on the form did: `subscription` is None when nothing
    was written (a suppressed address); `confirmation_sent` whether a
    confirmation mail was queued."""

    subscription: Subscription | None
    confirmation_sent: bool


def _signup_client(
    mailing_list: MailingList, email: str, full_name: str, attributes: Coerced | None
) -> Client:
    client, created = Client.objects.get_or_create(
        owner_id=mailing_list.owner_id,
        email=email,
        defaults={
            "full_name": full_name,
            "attributes": attributes.apply({}) if attributes else {},
        },
    )
    if created:
        return client
    changed = []
    if full_name and not client.full_name:
        client.full_name = full_name
        changed.append("full_name")
    if attributes:
        filled = attributes.fill(client.attributes)
        if filled != client.attributes:
            client.attributes = filled
            changed.append("attributes")
    if changed:
        client.save(update_fields=[*changed, "updated_at"])
    return client


@transaction.atomic
def subscription_signup(
    *,
    mailing_list: MailingList,
    email: str,
    full_name: str = "",
    attributes: Coerced | None = None,
    ip=None,
    now=None,
) -> SignUp:
    """A visitor signs up on a list's public form.

    Records the consent (time, IP, source `form`) on an unconfirmed
    subscription and queues the confirmation mail; with double opt-in off,
    subscribes at once. An address on the owner's suppression list gets
    nothing, and a member already subscribed stays as they are: the page
    the visitor sees is the same either way, so the form tells no one who
    is on a list. `attributes`: the form's custom field values, already
    coerced (a form with an invalid one is not sent here); they fill the
    client's empty fields only, as the name does: a stranger's sign-up must
    not overwrite what the customer knows. Raises ValidationError for an
    invalid address.
    """
    email = address_normalize(email)
    now = now or timezone.now()
    if Suppression.objects.filter(owner_id=mailing_list.owner_id, email=email).exists():
        return SignUp(None, False)
    if attributes is not None and not attributes.ok:
        raise ValidationError(attributes.error_text())
    client = _signup_client(mailing_list, email, full_name.strip()[:200], attributes)
    subscription, created = Subscription.objects.select_for_update().get_or_create(
        client=client,
        mailing_list=mailing_list,
        defaults={"status": Subscription.Status.UNCONFIRMED},
    )
    if created:
        _recount(mailing_list.pk, old=None, new=subscription.status)
    elif subscription.status == Subscription.Status.SUBSCRIBED:
        return SignUp(subscription, False)
    consent = {
        "source": Subscription.Source.FORM,
        "consent_at": now,
        "consent_ip": ip,
    }
    if not mailing_list.double_opt_in:
        _set_status(
            subscription, Subscription.Status.SUBSCRIBED, confirmed_at=now, **consent
        )
        _welcome(subscription)
        return SignUp(subscription, False)
    _set_status(subscription, Subscription.Status.UNCONFIRMED, **consent)
    pk = subscription.pk
    transaction.on_commit(
        lambda: tasks.send_subscription_confirmation.enqueue(subscription_id=pk)
    )
    return SignUp(subscription, True)


class ConfirmationInvalid(Exception):
    """A confirmation link that is forged, expired or superseded."""


@transaction.atomic
def subscription_confirm(*, token: str, now=None) -> Subscription:
    """Follow a confirmation link: the subscription becomes `subscribed`
    with `confirmed_at`, and the list's welcome message (if any) is queued
    (idempotent: a second click changes nothing).

    Raises ConfirmationInvalid for a forged or expired link, one for a
    subscription that is gone, left, or signed up again since.
    """
    found = confirmation_subscription(token)
    if found is None:
        raise ConfirmationInvalid
    subscription = Subscription.objects.select_for_update().get(pk=found.pk)
    if subscription.status == Subscription.Status.SUBSCRIBED:
        return subscription
    if subscription.status != Subscription.Status.UNCONFIRMED:
        raise ConfirmationInvalid
    _set_status(
        subscription,
        Subscription.Status.SUBSCRIBED,
        confirmed_at=now or timezone.now(),
    )
    _welcome(subscription)
    return subscription


# The preference centre -------------------------------------------------------


@transaction.atomic
def subscription_leave(*, subscription: Subscription) -> Subscription:
    """The recipient leaves one list (idempotent). They stay a client and
    keep any other list."""
    if subscription.status == Subscription.Status.UNSUBSCRIBED:
        return subscription
    return _set_status(subscription, Subscription.Status.UNSUBSCRIBED)


@transaction.atomic
def preferences_leave_all(*, target: UnsubscribeTarget) -> None:
    """The recipient leaves every list of the owner and every mailing: each
    subscription of the address becomes `unsubscribed`, and the address
    goes on the owner's suppression list through mailing's unsubscribe
    service (the same entry the unsubscribe link writes)."""
    subscriptions = Subscription.objects.select_for_update().filter(
        mailing_list__owner_id=target.owner_id, client__email=target.email
    )
    for subscription in subscriptions.exclude(status=Subscription.Status.UNSUBSCRIBED):
        _set_status(subscription, Subscription.Status.UNSUBSCRIBED)
    suppression_unsubscribe(target=target)
