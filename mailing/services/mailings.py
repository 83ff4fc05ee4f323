"""Mailings: create and change them (planning the next occurrence), send
now, the owner's pause and the managers' switch."""

from datetime import datetime

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.models import User
from mailing import tasks
from mailing.counts import owner_counts_invalidate
from mailing.engine.preflight import Finding, mailing_preflight
from mailing.figures import site_figures_invalidate
from mailing.models import Client, Mailing, Message, ModerationEvent
from mailing.scheduling import next_run_at_for

NO_CLIENTS_YET = gettext_lazy("You have no clients yet; add some first.")
CHOOSE_CLIENTS = gettext_lazy(
    "Choose at least one client or list, or “all my clients”."
)


def mailing_recipients(
    *, owner: User, clients, all_clients: bool, lists=(), segment=None
) -> list[Client] | None:
    """The chosen clients, or None for all of the owner's (not read here:
    an address book may hold a million). With lists chosen, no client need
    be (the lists' members are read when a run is planned).

    Raises ValidationError on "clients": none chosen and no list, "all"
    with an empty address book, or a client of another user; on "lists": a
    list of another user; on "segment": a segment of another user, or one
    without a list to narrow. The mailing form asks it too, to show the
    error beside the other fields' errors.
    """
    if any(mailing_list.owner_id != owner.pk for mailing_list in lists or ()):
        raise ValidationError({"lists": _("A chosen list belongs to another user.")})
    if segment is not None and segment.owner_id != owner.pk:
        raise ValidationError(
            {"segment": _("The chosen segment belongs to another user.")}
        )
    if segment is not None and not lists:
        raise ValidationError(
            {
                "segment": _(
                    "A segment narrows the members of the chosen lists; "
                    "choose at least one list."
                )
            }
        )
    if all_clients:
        if not Client.objects.filter(owner=owner).exists():
            raise ValidationError({"clients": NO_CLIENTS_YET})
        return None
    chosen = list(clients or [])
    if not chosen and not lists:
        raise ValidationError({"clients": CHOOSE_CLIENTS})
    if any(client.owner_id != owner.pk for client in chosen):
        raise ValidationError(
            {"clients": _("A chosen client belongs to another user.")}
        )
    return chosen


def _is_due(mailing: Mailing, now: datetime) -> bool:
    return Mailing.objects.due(now).filter(pk=mailing.pk).exists()


def _enqueue_run(mailing: Mailing, *, send_now: bool = False) -> None:
    pk = mailing.pk
    transaction.on_commit(
        lambda: tasks.start_mailing_run.enqueue(mailing_id=pk, send_now=send_now)
    )


def _plan(mailing: Mailing, *, now: datetime) -> None:
    mailing.next_run_at = next_run_at_for(mailing, now=now)
    if mailing.next_run_at is not None and mailing.status == Mailing.Status.FINISHED:
        # Extended past its old end: it has occurrences left again.
        has_runs = mailing.pk and mailing.runs.exists()
        mailing.status = Mailing.Status.RUNNING if has_runs else Mailing.Status.CREATED


def _set_all_clients(mailing: Mailing) -> None:
    """Every client of the owner becomes a recipient, in one INSERT ...
    SELECT rather than a million objects through Python; the caches that
    the m2m signals would have dropped are dropped here."""
    through = Mailing.clients.through
    through.objects.filter(mailing=mailing).delete()
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {through._meta.db_table} (mailing_id, client_id) "
            f"SELECT %s, id FROM {Client._meta.db_table} WHERE owner_id = %s",
            [mailing.pk, mailing.owner_id],
        )
    site_figures_invalidate()
    owner_counts_invalidate(mailing.owner_id)


def _save_and_plan(
    mailing: Mailing, *, clients, all_clients, now, lists=(), segment=None
) -> Mailing:
    """Validate, plan the next occurrence, save with its clients and queue a
    run on commit when one is due now."""
    mailing.full_clean(exclude=["next_run_at"])
    if mailing.end_at <= now:
        raise ValidationError(
            {
                "end_at": _(
                    "The whole window is in the past, so nothing would be sent; "
                    "choose an end in the future."
                )
            }
        )
    lists = list(lists or ())
    chosen = mailing_recipients(
        owner=mailing.owner,
        clients=clients,
        all_clients=all_clients,
        lists=lists,
        segment=segment,
    )
    mailing.segment = segment
    _plan(mailing, now=now)
    mailing.save()
    if chosen is None:
        _set_all_clients(mailing)
    else:
        mailing.clients.set(chosen)
    mailing.lists.set(lists)
    if _is_due(mailing, now):
        _enqueue_run(mailing)
    return mailing


_UNCHANGED = object()


def _choose_sender(mailing: Mailing, sender) -> None:
    """A newly chosen sender must be on a verified domain; the one a mailing
    already has may stay while its domain is re-verified (until then its
    mail goes from the platform's domain)."""
    if sender is _UNCHANGED:
        return
    # The stored one: a ModelForm has already put the new one on `mailing`.
    stored = Mailing.objects.filter(pk=mailing.pk).values_list("sender_id", flat=True)
    previous = stored.first() if mailing.pk else None
    changed = (sender.pk if sender else None) != previous
    if changed and sender is not None and not sender.is_usable:
        raise ValidationError(
            {"sender": _("This sender's domain is not verified; choose another.")}
        )
    mailing.sender = sender


@transaction.atomic
def mailing_create(
    *,
    owner: User,
    message: Message,
    start_at: datetime,
    end_at: datetime,
    periodicity: str = Mailing.Periodicity.ONCE,
    clients=(),
    all_clients: bool = False,
    lists=(),
    segment=None,
    name: str = "",
    sender=None,
    now: datetime | None = None,
) -> Mailing:
    """Create a mailing and plan its first occurrence.

    When the window already holds now, its first run is queued on commit.
    The recipients are `clients` (or all the owner's) and the subscribed
    members of `lists` that `segment` (optional) selects. Raises
    ValidationError: end before start, a window wholly in the past, no
    clients nor lists, a segment without a list, a message, client, list,
    segment or sender of another user, a sender on a domain that is not
    verified.
    """
    now = now or timezone.now()
    mailing = Mailing(
        owner=owner,
        message=message,
        start_at=start_at,
        end_at=end_at,
        periodicity=periodicity,
        name=name,
    )
    _choose_sender(mailing, sender)
    return _save_and_plan(
        mailing,
        clients=clients,
        all_clients=all_clients,
        lists=lists,
        segment=segment,
        now=now,
    )


@transaction.atomic
def mailing_update(
    *,
    mailing: Mailing,
    message: Message,
    start_at: datetime,
    end_at: datetime,
    periodicity: str,
    clients=(),
    all_clients: bool = False,
    lists=(),
    segment=None,
    name: str = "",
    sender=_UNCHANGED,
    now: datetime | None = None,
) -> Mailing:
    """Change a mailing and plan its next occurrence again (runs already
    made stay). Queues a run when one is now due. Raises ValidationError."""
    now = now or timezone.now()
    _choose_sender(mailing, sender)
    mailing.message, mailing.periodicity = message, periodicity
    mailing.start_at, mailing.end_at = start_at, end_at
    mailing.name = name
    return _save_and_plan(
        mailing,
        clients=clients,
        all_clients=all_clients,
        lists=lists,
        segment=segment,
        now=now,
    )


@transaction.atomic
def mailing_delete(*, mailing: Mailing) -> None:
    """Delete a mailing with its runs and delivery log."""
    mailing.delete()


def _refuse_if_disabled(mailing: Mailing) -> None:
    """Refuse (ValidationError) a mailing a manager has switched off."""
    if not mailing.is_active:
        raise ValidationError(
            _("A manager has disabled this mailing; it cannot send until re-enabled.")
        )


def mailing_check(*, mailing: Mailing) -> list[Finding]:
    """The pre-flight check's findings for `mailing` (hard ones first);
    the planner runs the same check before every run. Sends nothing."""
    return mailing_preflight(mailing)


@transaction.atomic
def mailing_send_now(*, mailing: Mailing) -> None:
    """Queue a run now, even if no occurrence is due (the task sends it).

    Raises ValidationError when the mailing is disabled, paused or finished,
    or when the pre-flight check finds a hard failure (one message per
    finding, each saying what to do).
    """
    _refuse_if_disabled(mailing)
    if mailing.is_paused:
        raise ValidationError(_("The mailing is paused; resume it first."))
    if timezone.now() >= mailing.end_at:
        raise ValidationError(_("The mailing has ended; change its end to send again."))
    hard = [finding for finding in mailing_check(mailing=mailing) if finding.is_hard]
    if hard:
        raise ValidationError(
            [
                ValidationError(
                    f"{finding.message} {finding.what_to_do}", code=finding.code
                )
                for finding in hard
            ]
        )
    _enqueue_run(mailing, send_now=True)


@transaction.atomic
def mailing_pause(*, mailing: Mailing) -> Mailing:
    """The owner's pause: no new run starts and open runs stop sending."""
    mailing.is_paused = True
    mailing.save(update_fields=["is_paused", "updated_at"])
    return mailing


@transaction.atomic
def mailing_resume(*, mailing: Mailing, now: datetime | None = None) -> Mailing:
    """Clear the pause; queue a run when an occurrence is due."""
    now = now or timezone.now()
    mailing.is_paused = False
    mailing.save(update_fields=["is_paused", "updated_at"])
    if _is_due(mailing, now):
        _enqueue_run(mailing)
    return mailing


# The managers' switch -------------------------------------------------------


def require_permission(actor: User, perm: str) -> None:
    """Raise PermissionDenied unless `actor` holds `perm`."""
    if not actor.has_perm(perm):
        raise PermissionDenied(f"{actor} lacks {perm}.")


def _switch(mailing: Mailing, *, actor: User, reason: str, active: bool) -> None:
    """A manager's switch of `mailing`, on or off, and its ModerationEvent."""
    require_permission(actor, "mailing.disable_mailing")
    mailing.is_active = active
    mailing.save(update_fields=["is_active", "updated_at"])
    Action = ModerationEvent.Action
    ModerationEvent.objects.create(
        actor=actor,
        action=Action.ENABLE_MAILING if active else Action.DISABLE_MAILING,
        target_mailing=mailing,
        target_user=mailing.owner,
        reason=reason,
    )


@transaction.atomic
def mailing_disable(*, actor: User, mailing: Mailing, reason: str = "") -> Mailing:
    """A manager switches a mailing off: it sends nothing until re-enabled.
    Recorded as a ModerationEvent. Raises PermissionDenied."""
    _switch(mailing, actor=actor, reason=reason, active=False)
    return mailing


@transaction.atomic
def mailing_enable(
    *, actor: User, mailing: Mailing, reason: str = "", now: datetime | None = None
) -> Mailing:
    """Switch a disabled mailing back on; queue its run if one is due.
    Recorded as a ModerationEvent. Raises PermissionDenied."""
    _switch(mailing, actor=actor, reason=reason, active=True)
    now = now or timezone.now()
    if _is_due(mailing, now):
        _enqueue_run(mailing)
    return mailing
