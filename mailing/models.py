from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.db.models import F, OuterRef, Q, Subquery, Sum, Value
from django.db.models.functions import Coalesce
from django.urls import reverse
from django.utils.formats import number_format
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from mailing.addresses import address_normalize

MAX_BODY_LENGTH = 200_000
SCHEDULE_YEARS = (2000, 2999)


class Client(models.Model):
    """A recipient in a customer's address book.

    The e-mail address is stored normalised (lower case, trimmed) and is
    unique per owner. `unsubscribed_at` is set when the recipient follows the
    unsubscribe link of one of the owner's mailings; later runs skip them.
    """

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="clients"
    )
    email = models.EmailField(_("e-mail address"))
    full_name = models.CharField(_("full name"), max_length=200, blank=True)
    comment = models.TextField(_("comment"), blank=True)
    # The values of the owner's custom fields (audience.CustomField), by key.
    attributes = models.JSONField(_("custom fields"), default=dict, blank=True)
    unsubscribed_at = models.DateTimeField(_("unsubscribed"), null=True, blank=True)
    created_at = models.DateTimeField(_("added"), auto_now_add=True)
    updated_at = models.DateTimeField(_("changed"), auto_now=True)

    class Meta:
        verbose_name = _("client")
        verbose_name_plural = _("clients")
        ordering = ["email"]
        constraints = [
            models.UniqueConstraint(
                fields=["owner", "email"], name="client_unique_owner_email"
            ),
        ]
        indexes = [
            models.Index(fields=["owner", "full_name"], name="client_owner_name_idx"),
            models.Index(fields=["email"], name="client_email_idx"),
            # The client list sorted by date added, either way.
            models.Index(
                fields=["owner", "created_at"], name="client_owner_created_idx"
            ),
        ]

    def __str__(self):
        if self.full_name:
            return f"{self.full_name} <{self.email}>"
        return self.email

    def save(self, *args, **kwargs):
        self.email = normalize_email(self.email)
        super().save(*args, **kwargs)

    def get_absolute_url(self):
        return reverse("mailing:client_detail", args=[self.pk])

    def clean(self):
        _refuse_null_characters(self, ["full_name", "comment"])

    def clean_fields(self, exclude=None):
        # The address rule (mailing.addresses) replaces EmailField's own
        # validator, which refuses the UTF-8 local parts the engine can send.
        # It also normalises before the uniqueness check sees the address,
        # so " Ann@Example.COM " and "ann@example.com" collide.
        exclude = set(exclude or ())
        errors = {}
        if "email" not in exclude:
            try:
                self.email = address_normalize(self.email)
            except ValidationError as error:
                errors["email"] = error.error_list
            exclude.add("email")
        try:
            super().clean_fields(exclude=exclude)
        except ValidationError as error:
            errors = error.update_error_dict(errors)
        if errors:
            raise ValidationError(errors)


class Message(models.Model):
    """The content of a mailing: a subject and a plain-text body.

    `html_body` is an optional HTML alternative, stored as the sanitiser
    left it (`html_removed` says what it took out). Both the subject and the
    bodies may hold placeholders such as `{{ full_name }}` and `{{ email }}`,
    rendered per client when a delivery is sent.
    """

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="messages"
    )
    subject = models.CharField(_("subject"), max_length=255)
    body = models.TextField(pgettext_lazy("message", "body"))
    html_body = models.TextField(_("HTML body"), blank=True)
    # What the sanitiser took out of the HTML part when it was last saved
    # (mailing.sanitize), shown with the preview.
    html_removed = models.TextField(
        _("removed from the HTML"), blank=True, editable=False
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("changed"), auto_now=True)

    class Meta:
        verbose_name = _("message")
        verbose_name_plural = _("messages")
        ordering = ["-created_at", "-pk"]
        indexes = [
            models.Index(fields=["owner", "-created_at"], name="message_owner_idx"),
        ]

    def __str__(self):
        return self.subject

    def get_absolute_url(self):
        return reverse("mailing:message_detail", args=[self.pk])

    def clean(self):
        _refuse_null_characters(self, ["subject", "body", "html_body"])
        errors = {}
        if "\n" in (self.subject or "") or "\r" in (self.subject or ""):
            errors["subject"] = SUBJECT_ONE_LINE
        for field in ("body", "html_body"):
            value = getattr(self, field) or ""
            if len(value) > MAX_BODY_LENGTH:
                errors[field] = body_too_long_error(len(value))
        if errors:
            raise ValidationError(errors)


class MailingStatus(models.TextChoices):
    """`Mailing.Status` (defined here so that the conditions below can name it)."""

    # Contexts: the Russian words agree with рассылка, a run with запуск.
    CREATED = "created", pgettext_lazy("mailing status", "Created")
    RUNNING = "running", pgettext_lazy("mailing status", "Running")
    FINISHED = "finished", pgettext_lazy("mailing status", "Finished")


class RunStatus(models.TextChoices):
    """`Run.Status`. A run is created running (the planner creates it when
    its deliveries are planned) and finishes when none is left open."""

    RUNNING = "running", _("Sending")
    FINISHED = "finished", pgettext_lazy("run status", "Finished")


class BounceClass(models.TextChoices):
    """What a permanent refusal or a bounce report means
    (`deliverability.classify`): the address is dead (hard), the failure was
    temporary (soft), the server refused the message itself (policy, not the
    recipient's fault), the recipient complained, or it could not be told."""

    HARD_BOUNCE = "hard_bounce", _("Hard bounce")
    SOFT = "soft", _("Soft bounce")
    POLICY = "policy", _("Policy or content rejection")
    COMPLAINT = "complaint", _("Complaint")
    OTHER = "other", _("Other failure")


class DeliveryStatus(models.TextChoices):
    """`Delivery.Status`."""

    PENDING = "pending", _("Pending")
    SENDING = "sending", _("Sending")
    SENT = "sent", _("Sent")
    DEFERRED = "deferred", _("Deferred")
    FAILED = "failed", _("Failed")
    # Later events of a sent message: a bounce report (DSN) or a complaint.
    BOUNCED = "bounced", _("Bounced")
    COMPLAINED = "complained", _("Complained")


# The rules of the domain, each written once. The QuerySet methods below and
# the partial indexes use these conditions; the planner, the dispatcher, the
# services, the figures and the admin ask the QuerySets.

# "May this mailing send?", as far as its own row says: enabled by the
# managers, not paused by its owner, not finished. The partial index of due
# mailings is built on it.
MAILING_MAY_SEND = Q(is_active=True, is_paused=False) & ~Q(
    status=MailingStatus.FINISHED
)
# ... and its owner is neither blocked nor paused by the reputation guard
# (a join: not part of the index).
MAILING_SENDABLE = MAILING_MAY_SEND & Q(
    owner__is_active=True, owner__sending_paused_at__isnull=True
)
# The home page's "active mailings": running and enabled by the managers
# (paused ones count: they are still running).
MAILING_ACTIVE = Q(status=MailingStatus.RUNNING, is_active=True)
# A run not yet finished.
RUN_OPEN = ~Q(status=RunStatus.FINISHED)
# A delivery still to be sent (waiting, deferred or being sent).
DELIVERY_OPEN = Q(
    status__in=[
        DeliveryStatus.PENDING,
        DeliveryStatus.DEFERRED,
        DeliveryStatus.SENDING,
    ]
)


def related(prefix: str, condition: Q) -> Q:
    """`condition` as seen from a model that reaches its model through
    `prefix`: `related("mailing", MAILING_SENDABLE)` filters runs."""
    return Q(
        *(
            related(prefix, child)
            if isinstance(child, Q)
            else (f"{prefix}__{child[0]}", child[1])
            for child in condition.children
        ),
        _connector=condition.connector,
        _negated=condition.negated,
    )


def run_sendable(now) -> Q:
    """A run whose deliveries may go out at `now`: running, not paused by
    the breaker, of a mailing that may send and has not ended."""
    return (
        Q(status=RunStatus.RUNNING)
        & (Q(paused_until__isnull=True) | Q(paused_until__lte=now))
        & related("mailing", MAILING_SENDABLE)
        & Q(mailing__end_at__gt=now)
    )


def delivery_claimable(now) -> Q:
    """A delivery that a dispatcher may take at `now`: waiting or deferred
    and due, or left `sending` by a crashed dispatcher whose lease ran out;
    of a run that may send."""
    due = Q(status__in=[DeliveryStatus.PENDING, DeliveryStatus.DEFERRED]) & (
        Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now)
    )
    abandoned = Q(status=DeliveryStatus.SENDING, lease_expires_at__lt=now)
    return (due | abandoned) & related("run", run_sendable(now))


class MailingQuerySet(models.QuerySet):
    def sendable(self):
        """Mailings that may send: enabled, not paused, not finished, and
        the owner not blocked."""
        return self.filter(MAILING_SENDABLE)

    def due(self, now):
        """Sendable mailings whose next occurrence has come by `now`."""
        return self.sendable().filter(next_run_at__lte=now)

    def with_stats(self):
        """Each mailing with `sent`, `failed`, `bounced`, `complained` and
        `last_sent_at`, from its
        runs' counters: subqueries per mailing row, no delivery read."""
        last_sent = (
            Run.objects.filter(mailing_id=OuterRef("pk"), last_sent_at__isnull=False)
            .order_by("-last_sent_at")
            .values("last_sent_at")[:1]
        )
        return self.annotate(
            sent=Coalesce(_run_sum("sent_count"), Value(0)),
            failed=Coalesce(_run_sum("failed_count"), Value(0)),
            bounced=Coalesce(_run_sum("bounced_count"), Value(0)),
            complained=Coalesce(_run_sum("complained_count"), Value(0)),
            last_sent_at=Subquery(last_sent),
        )


def _run_sum(field: str) -> Subquery:
    """The sum of one run counter over a mailing's runs, as a subquery."""
    runs = (
        Run.objects.filter(mailing_id=OuterRef("pk"))
        .order_by()
        .values("mailing_id")
        .annotate(total=Sum(field))
        .values("total")
    )
    return Subquery(runs, output_field=models.IntegerField())


class RunQuerySet(models.QuerySet):
    def open(self):
        """Runs not yet finished."""
        return self.filter(RUN_OPEN)


class DeliveryQuerySet(models.QuerySet):
    def open(self):
        """Deliveries still to be sent (DELIVERY_OPEN)."""
        return self.filter(DELIVERY_OPEN)

    def claimable(self, now):
        """Deliveries a dispatcher may take at `now` (delivery_claimable)."""
        return self.filter(delivery_claimable(now))


class Mailing(models.Model):
    """A message sent to chosen clients once or on a schedule.

    Occurrences fall between `start_at` and `end_at` at the given
    periodicity; `next_run_at` is the next one not yet planned (null when
    there is none left). `status` follows created -> running -> finished.
    `is_active` is a manager's switch and `is_paused` the owner's: either one
    off stops sending until it is turned back on.

    `held_reason` and `held_at` are set while the pre-flight check
    (mailing.engine.preflight) holds the mailing: its due run is not started,
    the clock checks again each minute and clears them (and starts the run)
    once every hard check passes.
    """

    class Periodicity(models.TextChoices):
        ONCE = "once", _("Once")
        DAILY = "daily", _("Daily")
        WEEKLY = "weekly", _("Weekly")
        MONTHLY = "monthly", _("Monthly")

    Status = MailingStatus

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="mailings",
        verbose_name=_("owner"),
    )
    message = models.ForeignKey(
        Message,
        on_delete=models.PROTECT,
        related_name="mailings",
        verbose_name=_("message"),
    )
    # The customer's own name for the mailing; the subject (with its
    # placeholders) stands in while it is empty.
    name = models.CharField(_("name"), max_length=200, blank=True)
    clients = models.ManyToManyField(
        Client, related_name="mailings", blank=True, verbose_name=_("clients")
    )
    # The lists' subscribed members are added to `clients` when a run is
    # planned (mailing.engine.planner), each client once.
    lists = models.ManyToManyField(
        "audience.MailingList",
        related_name="mailings",
        blank=True,
        verbose_name=_("lists"),
    )
    # Narrows the lists' members to those the segment selects.
    segment = models.ForeignKey(
        "audience.Segment",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="mailings",
        verbose_name=_("segment"),
    )
    start_at = models.DateTimeField(_("start"))
    end_at = models.DateTimeField(_("end"))
    periodicity = models.CharField(
        _("periodicity"),
        max_length=10,
        choices=Periodicity.choices,
        default=Periodicity.ONCE,
    )
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.CREATED
    )
    is_active = models.BooleanField(
        _("enabled"),
        default=True,
        help_text=_("A manager's switch: a disabled mailing never sends."),
    )
    is_paused = models.BooleanField(
        _("paused"), default=False, help_text=_("The owner's pause button.")
    )
    next_run_at = models.DateTimeField(_("next run"), null=True, blank=True)
    # Null: from the platform's domain, "<customer> via Mailsite". PROTECT,
    # not SET_NULL: deleting a sender must not quietly change who a
    # scheduled mailing is from (deliverability's services explain it).
    sender = models.ForeignKey(
        "deliverability.Sender",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="mailings",
        verbose_name=_("sender"),
    )
    held_reason = models.TextField(
        _("held by the pre-flight check"),
        blank=True,
        help_text=_("Why the pre-flight check holds this mailing; empty when not."),
    )
    held_at = models.DateTimeField(_("held since"), null=True, blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("changed"), auto_now=True)

    objects = MailingQuerySet.as_manager()

    class Meta:
        verbose_name = pgettext_lazy("model", "mailing")
        verbose_name_plural = pgettext_lazy("model", "mailings")
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(end_at__gt=F("start_at")),
                name="mailing_end_after_start",
            ),
        ]
        indexes = [
            models.Index(fields=["owner", "status"], name="mailing_owner_status_idx"),
            models.Index(
                fields=["next_run_at"],
                name="mailing_due_idx",
                condition=MAILING_MAY_SEND,
            ),
        ]
        permissions = [
            ("view_all_mailings", _("Can view every mailing and its delivery log")),
            ("disable_mailing", _("Can disable and re-enable mailings")),
        ]

    def __str__(self):
        return f"{self.title} ({self.get_periodicity_display().lower()})"

    def get_absolute_url(self):
        return reverse("mailing:mailing_detail", args=[self.pk])

    @property
    def title(self) -> str:
        """The mailing's name, or its message's subject when it has none."""
        return self.name or self.message.subject

    @property
    def is_held(self) -> bool:
        return self.held_at is not None

    def clean(self):
        errors = {
            name: error
            for name in ("start_at", "end_at")
            if (error := schedule_bounds_error(getattr(self, name)))
        }
        if errors:
            # Comparing dates out of range would overflow.
            raise ValidationError(errors)
        if self.start_at and self.end_at and self.end_at <= self.start_at:
            errors["end_at"] = _("The end must be after the start.")
        if self.message_id and self.owner_id and self.message.owner_id != self.owner_id:
            errors["message"] = _("This message belongs to another user.")
        if self.sender_id and self.owner_id and self.sender.owner_id != self.owner_id:
            errors["sender"] = _("This sender belongs to another user.")
        if errors:
            raise ValidationError(errors)


class Run(models.Model):
    """One occurrence of a mailing, unique per (mailing, scheduled_for).

    Its counts derive from its deliveries. `paused_until` is set by the
    circuit breaker when the mail server keeps failing: dispatchers leave the
    run alone until then.
    """

    Status = RunStatus

    mailing = models.ForeignKey(
        Mailing,
        on_delete=models.CASCADE,
        related_name="runs",
        verbose_name=pgettext_lazy("model", "mailing"),
    )
    scheduled_for = models.DateTimeField(_("scheduled for"))
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.RUNNING
    )
    started_at = models.DateTimeField(_("started"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)
    paused_until = models.DateTimeField(null=True, blank=True)
    # Counters kept by the planner and the engine's batched result writes, so
    # that no page counts a million deliveries to show a progress bar.
    # `deferred_count` counts deliveries attempted at least once and not yet
    # sent or failed; pending = delivery_count - sent - failed - deferred.
    delivery_count = models.PositiveIntegerField(default=0)
    sent_count = models.PositiveIntegerField(default=0)
    failed_count = models.PositiveIntegerField(default=0)
    deferred_count = models.PositiveIntegerField(default=0)
    # Of the sent ones, those that bounced later (a DSN, a provider's event)
    # or drew a complaint: they stay counted as sent as well.
    # (db_default: the planner's raw INSERTs name only the columns they set.)
    bounced_count = models.PositiveIntegerField(db_default=0)
    complained_count = models.PositiveIntegerField(db_default=0)
    last_sent_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = RunQuerySet.as_manager()

    class Meta:
        verbose_name = _("run")
        verbose_name_plural = _("runs")
        ordering = ["-scheduled_for", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["mailing", "scheduled_for"], name="run_unique_occurrence"
            ),
        ]
        indexes = [
            models.Index(
                fields=["status"],
                name="run_open_idx",
                condition=RUN_OPEN,
            ),
        ]

    def __str__(self):
        return f"{self.mailing} @ {self.scheduled_for:%Y-%m-%d %H:%M}"


class Delivery(models.Model):
    """The delivery log: one message to one client in one run.

    Status runs pending -> sending -> sent, or -> deferred (a temporary
    failure, retried at `next_attempt_at`) and finally sent or failed.
    `server_response` holds the mail server's last reply or the error text;
    every attempt is also kept as a `DeliveryAttempt`. A row in `sending`
    whose `lease_expires_at` has passed belongs to a crashed dispatcher and
    is claimed again.
    """

    Status = DeliveryStatus

    # No index of its own: the unique (run, client) and the indexes below
    # all begin with the run, and one index fewer is a million index
    # entries fewer to write when a run to a million clients is planned.
    # No foreign key in the database either: PostgreSQL checks one per
    # inserted row (a locking read of the same run row a million times,
    # a third of planning a run to a million clients). The planner creates
    # the run in the transaction that inserts its deliveries, so no one
    # else can delete it meanwhile, and deleting a run through Django
    # deletes its deliveries (on_delete is Django's, as for every foreign
    # key here). SQL that deletes runs must delete their deliveries first.
    run = models.ForeignKey(
        Run,
        on_delete=models.CASCADE,
        related_name="deliveries",
        verbose_name=_("run"),
        db_index=False,
        db_constraint=False,
    )
    # The database checks this one on every inserted row (about a quarter
    # of planning a run to a million clients) and it stays: a client
    # deleted while a run is being planned would otherwise leave a
    # delivery naming a client that no longer exists.
    client = models.ForeignKey(
        Client,
        on_delete=models.SET_NULL,
        null=True,
        related_name="deliveries",
        verbose_name=_("client"),
    )
    email = models.EmailField(_("e-mail address"))
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.PENDING
    )
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    last_attempt_at = models.DateTimeField(_("last attempt"), null=True, blank=True)
    next_attempt_at = models.DateTimeField(_("next attempt"), null=True, blank=True)
    server_response = models.TextField(_("server reply"), blank=True)
    # What a refusal or a bounce report came to (deliverability.classify):
    # hard_bounce, soft, policy, … ; blank while none came.
    bounce_class = models.CharField(
        _("bounce class"),
        max_length=20,
        choices=BounceClass.choices,
        blank=True,
        db_default="",
    )
    message_id = models.CharField("Message-ID", max_length=255, blank=True)
    lease_expires_at = models.DateTimeField(null=True, blank=True)
    claimed_by = models.CharField(max_length=100, blank=True)

    objects = DeliveryQuerySet.as_manager()

    class Meta:
        ordering = ["pk"]
        verbose_name = _("delivery")
        verbose_name_plural = _("deliveries")
        constraints = [
            models.UniqueConstraint(
                fields=["run", "client"], name="delivery_unique_run_client"
            ),
        ]
        indexes = [
            # Also the delivery log's order within a status filter: newest
            # run first, then by id, read straight from the index.
            models.Index(
                fields=["run", "status", "id"], name="delivery_run_status_idx"
            ),
            models.Index(fields=["run", "id"], name="delivery_run_log_idx"),
            models.Index(
                fields=["run", "next_attempt_at"],
                name="delivery_due_idx",
                condition=DELIVERY_OPEN,
            ),
            # Only attempted deliveries (every reader asks for a time window
            # of attempts): planning a run adds nothing to it.
            models.Index(
                fields=["status", "last_attempt_at"],
                name="delivery_status_time_idx",
                condition=Q(last_attempt_at__isnull=False),
            ),
        ]

    def __str__(self):
        return f"{self.email}: {self.get_status_display()}"


class DeliveryAttempt(models.Model):
    """One SMTP attempt of a delivery, with the server's reply or the error."""

    class Outcome(models.TextChoices):
        SENT = "sent", _("Sent")
        DEFERRED = "deferred", _("Deferred")
        FAILED = "failed", _("Failed")

    delivery = models.ForeignKey(
        Delivery, on_delete=models.CASCADE, related_name="attempt_log"
    )
    number = models.PositiveIntegerField(_("number"))
    attempted_at = models.DateTimeField(_("attempted"))
    outcome = models.CharField(_("outcome"), max_length=10, choices=Outcome.choices)
    reply_code = models.PositiveSmallIntegerField(
        _("reply code"), null=True, blank=True
    )
    server_response = models.TextField(_("server reply"), blank=True)

    class Meta:
        verbose_name = _("delivery attempt")
        verbose_name_plural = _("delivery attempts")
        ordering = ["delivery", "number"]

    def __str__(self):
        return f"#{self.number} {self.get_outcome_display()}: {self.server_response}"


class SuppressionQuerySet(models.QuerySet):
    def record(
        self, *, owner_id: int, email: str, reason: str, source: str, client_id=None
    ) -> "Suppression":
        """Suppress an address of one owner for `reason` (idempotent): the
        rule every writer follows (the unsubscribe pages, the bounce and
        complaint intake).

        An existing entry the customer could lift (added by hand, hard
        bounce) becomes the recipient's own when the recipient unsubscribes
        or complains, so the customer can no longer lift it; an entry the
        recipient made stays as it is. The entry remembers the client row it
        came from. Raises ValueError for a reason not in Suppression.Reason.
        """
        if reason not in Suppression.Reason.values:
            raise ValueError(f"Unknown suppression reason {reason!r}.")
        with transaction.atomic():
            entry, created = self.get_or_create(
                owner_id=owner_id,
                email=normalize_email(email),
                defaults={
                    "reason": reason,
                    "source": source[:255],
                    "client_id": client_id,
                },
            )
            if created:
                return entry
            entry = self.select_for_update().get(pk=entry.pk)
            changed = []
            if entry.removable and reason in Suppression.RECIPIENT_REASONS:
                entry.reason, entry.source = reason, source[:255]
                changed += ["reason", "source"]
            if client_id and entry.client_id is None:
                entry.client_id = client_id
                changed.append("client_id")
            if changed:
                entry.save(update_fields=changed)
            return entry


class Suppression(models.Model):
    """An address that one owner's mailings never send to again.

    Keyed by the normalised e-mail, not by a client row: deleting a client
    and adding or importing the address again does not lift it. `reason`
    says why; `source` says where it came from (an unsubscribe link, a
    bounce report, the customer by hand). Entries the recipient made
    (unsubscribed, complaint) cannot be removed by the customer.
    """

    class Reason(models.TextChoices):
        UNSUBSCRIBED = "unsubscribed", _("Unsubscribed")
        HARD_BOUNCE = "hard_bounce", _("Hard bounce")
        COMPLAINT = "complaint", _("Complaint")
        MANUAL = "manual", _("Added by hand")

    # The recipient's own acts: the customer cannot lift them.
    RECIPIENT_REASONS = frozenset({Reason.UNSUBSCRIBED, Reason.COMPLAINT})

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="suppressions"
    )
    email = models.EmailField(_("e-mail address"))
    reason = models.CharField(_("reason"), max_length=20, choices=Reason.choices)
    source = models.CharField(_("source"), max_length=255, blank=True)
    # The client row whose unsubscribe link made the entry. Not a foreign
    # key: the row may be deleted, and the link in old mail names its id, so
    # the link keeps answering "you are unsubscribed" after the deletion.
    client_id = models.BigIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(_("added"), auto_now_add=True)

    objects = SuppressionQuerySet.as_manager()

    class Meta:
        verbose_name = _("suppressed address")
        verbose_name_plural = _("suppression list")
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["owner", "email"], name="suppression_unique_owner_email"
            ),
        ]
        indexes = [
            # The list page: one owner's entries, newest first, at 100k+.
            models.Index(
                fields=["owner", "-created_at", "-id"], name="suppression_owner_new_idx"
            ),
            models.Index(
                fields=["owner", "client_id"],
                name="suppression_owner_client_idx",
                condition=Q(client_id__isnull=False),
            ),
        ]

    def __str__(self):
        return f"{self.email}: {self.get_reason_display()}"

    def save(self, *args, **kwargs):
        self.email = normalize_email(self.email)
        super().save(*args, **kwargs)

    @property
    def removable(self) -> bool:
        """Whether the customer may lift the entry (not the recipient's act)."""
        return self.reason not in self.RECIPIENT_REASONS

    @property
    def source_display(self) -> str:
        """The source in the reader's language. It is stored in English, as a
        record; the sources Mailsite writes itself are translated here, and
        any other text is shown as stored."""
        source, _sep, mailing_id = self.source.partition(_MAILING_SUFFIX)
        label = SUPPRESSION_SOURCES.get(source)
        if label is None:
            return self.source
        mailing_id, _sep, delivery_id = mailing_id.partition(_DELIVERY_SUFFIX)
        if delivery_id:
            return _("%(source)s, mailing #%(id)s, delivery #%(delivery)s") % {
                "source": label,
                "id": mailing_id,
                "delivery": delivery_id,
            }
        if mailing_id:
            return _("%(source)s, mailing #%(id)s") % {
                "source": label,
                "id": mailing_id,
            }
        return str(label)


# The sources Mailsite itself writes on suppression entries, and their labels.
_MAILING_SUFFIX = ", mailing #"
_DELIVERY_SUFFIX = ", delivery #"
SUPPRESSION_SOURCES = {
    "added by hand": _("added by hand"),
    "unsubscribe link": _("unsubscribe link"),
    "one-click unsubscribe": _("one-click unsubscribe"),
    "SMTP reply": _("SMTP reply"),
    "bounce report": _("bounce report"),
    "complaint report": _("complaint report"),
    "provider webhook": _("provider webhook"),
}


class ModerationEvent(models.Model):
    """A manager's action on a user or a mailing: who, what, when."""

    class Action(models.TextChoices):
        BLOCK_USER = "block_user", _("Blocked user")
        UNBLOCK_USER = "unblock_user", _("Unblocked user")
        DISABLE_MAILING = "disable_mailing", _("Disabled mailing")
        ENABLE_MAILING = "enable_mailing", _("Enabled mailing")
        PAUSE_SENDING = "pause_sending", _("Paused sending (reputation)")
        RESUME_SENDING = "resume_sending", _("Resumed sending")

    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        related_name="moderation_actions",
        verbose_name=_("who"),
    )
    action = models.CharField(_("action"), max_length=20, choices=Action.choices)
    target_user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="moderation_events",
        verbose_name=_("user"),
    )
    target_mailing = models.ForeignKey(
        Mailing,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="moderation_events",
        verbose_name=pgettext_lazy("model", "mailing"),
    )
    reason = models.TextField(_("reason"), blank=True)
    created_at = models.DateTimeField(_("when"), auto_now_add=True)

    class Meta:
        verbose_name = _("moderation event")
        verbose_name_plural = _("moderation log")
        ordering = ["-created_at", "-pk"]

    def __str__(self):
        target = self.target_user or self.target_mailing
        return _("%(actor)s %(action)s %(target)s") % {
            # No actor: the platform itself (the reputation guard).
            "actor": self.actor or "Mailsite",
            "action": self.get_action_display().lower(),
            "target": target,
        }


SUBJECT_ONE_LINE = _("The subject must be a single line (no line breaks).")


def grouped(number) -> str:
    """`number` with the active language's digit grouping ("200,000" in
    English, "200 000" in Russian), for messages built in Python."""
    return number_format(number, force_grouping=True)


def body_too_long_error(length: int) -> str:
    """The error for a body of `length` characters, over MAX_BODY_LENGTH."""
    return _("This is %(length)s characters long; the limit is %(limit)s.") % {
        "length": grouped(length),
        "limit": grouped(MAX_BODY_LENGTH),
    }


def schedule_bounds_error(moment) -> str | None:
    """Why `moment` cannot be a mailing's start or end, or None.

    Years outside SCHEDULE_YEARS are refused: the year 1 (a typo or a
    client's default) cannot even be converted to UTC.
    """
    if moment is None:
        return None
    first, last = SCHEDULE_YEARS
    if not first <= moment.year <= last:
        return _("Enter a date between the years %(first)d and %(last)d.") % {
            "first": first,
            "last": last,
        }
    return None


def _refuse_null_characters(instance, fields) -> None:
    # PostgreSQL cannot store U+0000 in text; the forms' CharFields refuse it
    # too, this guards the services.
    errors = {
        name: _("Null characters are not allowed.")
        for name in fields
        if "\x00" in (getattr(instance, name) or "")
    }
    if errors:
        raise ValidationError(errors)


def normalize_email(email: str) -> str:
    """The form in which an address is stored and compared: trimmed, lower,
    the domain in Unicode (mailing.addresses). An address that breaks the
    rule is only trimmed and lowered, so a lookup by it finds nothing."""
    try:
        return address_normalize(email)
    except ValidationError:
        return (email or "").strip().lower()


class MailingTestSend(models.Model):
    """One "Send a test" of a mailing: to whom, and what the server said.

    Kept apart from runs and deliveries, so that a test counts in no
    statistic and appears in no delivery log; the rows of the last hour
    are the customer's rate limit (mailing.services.test_sends).
    `outcome` stays empty until the task has sent it.
    """

    mailing = models.ForeignKey(
        Mailing,
        on_delete=models.CASCADE,
        related_name="test_sends",
        verbose_name=pgettext_lazy("model", "mailing"),
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="test_sends",
        verbose_name=_("owner"),
    )
    addresses = models.JSONField(_("addresses"), default=list)
    client = models.ForeignKey(
        Client,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("rendered for"),
    )
    created_at = models.DateTimeField(_("requested"), auto_now_add=True)
    finished_at = models.DateTimeField(_("sent"), null=True, blank=True)
    outcome = models.TextField(_("outcome"), blank=True)

    class Meta:
        verbose_name = _("test send")
        verbose_name_plural = _("test sends")
        ordering = ["-created_at", "-pk"]
        indexes = [
            models.Index(fields=["owner", "created_at"], name="test_send_owner_idx"),
        ]

    def __str__(self):
        return ", ".join(self.addresses)
