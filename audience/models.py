"""Lists and subscriptions: who asked for which of a customer's mailings."""

import secrets

from django.conf import settings
from django.core.files.storage import storages
from django.db import models
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from mailing.models import Client


def new_public_id() -> str:
    """An unguessable id for a list's public sign-up form URL."""
    return secrets.token_urlsafe(12)


class MailingList(models.Model):
    """A named list of a customer's clients, with a public sign-up form.

    Members join through `Subscription`. `subscribed_count` and
    `unconfirmed_count` are kept by the services in the same transaction as
    the subscriptions they count, so that no page counts a million rows.
    With `double_opt_in`, a sign-up on the form waits for the confirmation
    link before it is mailed; `welcome_message` (optional) is mailed to a
    new subscriber and shown on the page the confirmation link opens.
    `form_fields` are the owner's custom fields the form asks for.
    """

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="mailing_lists",
        verbose_name=_("owner"),
    )
    name = models.CharField(_("name"), max_length=200)
    description = models.TextField(
        _("description"),
        blank=True,
        help_text=_("Shown on the sign-up form."),
    )
    double_opt_in = models.BooleanField(
        _("double opt-in"),
        default=True,
        help_text=_(
            "Sign-ups on the form get a confirmation link and are mailed only "
            "once they follow it."
        ),
    )
    public_id = models.CharField(
        _("public id"), max_length=32, unique=True, default=new_public_id
    )
    ask_full_name = models.BooleanField(
        _("ask for the full name"), default=True, help_text=_("On the sign-up form.")
    )
    form_fields = models.ManyToManyField(
        "audience.CustomField",
        blank=True,
        related_name="sign_up_lists",
        verbose_name=_("fields on the sign-up form"),
        help_text=_("Your custom fields that the sign-up form asks for."),
    )
    welcome_message = models.TextField(
        _("welcome message"),
        blank=True,
        help_text=_(
            "Optional: mailed to a new subscriber once they have confirmed, "
            "and shown on the confirmation page."
        ),
    )
    subscribed_count = models.PositiveIntegerField(_("subscribed"), default=0)
    unconfirmed_count = models.PositiveIntegerField(_("unconfirmed"), default=0)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("changed"), auto_now=True)

    class Meta:
        verbose_name = _("list")
        verbose_name_plural = _("lists")
        ordering = ["name", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["owner", "name"], name="mailinglist_unique_owner_name"
            ),
        ]

    def __str__(self):
        return self.name

    def get_absolute_url(self):
        return reverse("audience:list_detail", args=[self.pk])

    def get_form_url(self):
        """The hosted sign-up form."""
        return reverse("audience_public:subscribe", args=[self.public_id])


class Subscription(models.Model):
    """A client's membership of one list, with the record of consent.

    Only `subscribed` members are mailed. `consent_at` and `consent_ip` say
    when and from where the client asked (a form sign-up), `confirmed_at`
    when they followed the confirmation link; `source` says how the row came
    to be.
    """

    class Status(models.TextChoices):
        UNCONFIRMED = "unconfirmed", _("Unconfirmed")
        SUBSCRIBED = "subscribed", _("Subscribed")
        UNSUBSCRIBED = "unsubscribed", _("Unsubscribed")

    class Source(models.TextChoices):
        FORM = "form", _("Sign-up form")
        IMPORT = "import", _("Import")
        API = "api", _("API")
        MANUAL = "manual", _("Added by hand")

    client = models.ForeignKey(
        Client,
        on_delete=models.CASCADE,
        related_name="subscriptions",
        verbose_name=_("client"),
    )
    mailing_list = models.ForeignKey(
        MailingList,
        on_delete=models.CASCADE,
        related_name="subscriptions",
        verbose_name=_("list"),
    )
    status = models.CharField(
        _("status"), max_length=12, choices=Status.choices, default=Status.UNCONFIRMED
    )
    source = models.CharField(
        _("source"), max_length=10, choices=Source.choices, default=Source.MANUAL
    )
    consent_at = models.DateTimeField(_("consent given"), null=True, blank=True)
    consent_ip = models.GenericIPAddressField(_("consent IP"), null=True, blank=True)
    confirmed_at = models.DateTimeField(_("confirmed"), null=True, blank=True)
    created_at = models.DateTimeField(_("added"), auto_now_add=True)
    updated_at = models.DateTimeField(_("changed"), auto_now=True)

    class Meta:
        verbose_name = _("subscription")
        verbose_name_plural = _("subscriptions")
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["client", "mailing_list"],
                name="subscription_unique_client_list",
            ),
        ]
        indexes = [
            # The planner's read: a list's subscribed members; and the
            # members page, newest first.
            models.Index(
                fields=["mailing_list", "status", "client"],
                name="subscription_list_status_idx",
            ),
            models.Index(
                fields=["mailing_list", "-created_at", "-id"],
                name="subscription_list_new_idx",
            ),
        ]

    def __str__(self):
        return f"{self.client_id} in {self.mailing_list_id}: {self.status}"


# The subscription statuses a list counts, and the counter of each.
COUNTED_STATUSES = {
    Subscription.Status.SUBSCRIBED: "subscribed_count",
    Subscription.Status.UNCONFIRMED: "unconfirmed_count",
}


class CustomField(models.Model):
    """A field of a customer's own in their address book (a client's city,
    plan, birthday…).

    Values live in `Client.attributes` under `key`, stored as JSON text,
    number, ISO date, boolean or one of `choices`; `key` is also the
    message placeholder (`{{ city }}`). Removing a field leaves the stored
    values alone; they are simply no longer shown.
    """

    class Type(models.TextChoices):
        TEXT = "text", _("Text")
        NUMBER = "number", _("Number")
        DATE = "date", _("Date")
        BOOLEAN = "boolean", _("Yes/no")
        CHOICE = "choice", _("Choice")

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="custom_fields",
        verbose_name=_("owner"),
    )
    key = models.CharField(
        _("key"),
        max_length=40,
        help_text=_(
            "Lower-case letters, digits and underscores; the placeholder "
            "in messages is {{ key }}."
        ),
    )
    label = models.CharField(_("label"), max_length=100)
    type = models.CharField(
        _("type"), max_length=10, choices=Type.choices, default=Type.TEXT
    )
    choices = models.JSONField(_("choices"), default=list, blank=True)
    position = models.PositiveIntegerField(_("position"), default=0)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("custom field")
        verbose_name_plural = _("custom fields")
        ordering = ["position", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["owner", "key"], name="customfield_unique_owner_key"
            ),
        ]

    def __str__(self):
        return self.label


class Segment(models.Model):
    """A saved selection of a customer's clients.

    `conditions` is JSON: `{"match": "all" | "any", "rules": [...]}`, each
    rule a condition over a custom field, list membership, the date the
    client was added or their delivery history (see audience.segments).
    A mailing may narrow its lists by one segment (`Mailing.segment`).
    """

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="segments",
        verbose_name=_("owner"),
    )
    name = models.CharField(_("name"), max_length=200)
    conditions = models.JSONField(_("conditions"), default=dict, blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("changed"), auto_now=True)

    class Meta:
        verbose_name = _("segment")
        verbose_name_plural = _("segments")
        ordering = ["name", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["owner", "name"], name="segment_unique_owner_name"
            ),
        ]

    def __str__(self):
        return self.name

    def get_absolute_url(self):
        return reverse("audience:segment_detail", args=[self.pk])


def import_storage():
    """Where uploaded import files and their reports are kept: the
    `imports` storage (never served as media; downloads go through a view
    that checks the owner)."""
    return storages["imports"]


class ClientImport(models.Model):
    """One CSV import of clients: the stored upload, the column mapping the
    customer chose, and the progress and outcome of the background task
    that runs it (`audience.importer.client_import_run`).

    Statuses run new (uploaded, not mapped yet) → queued → running → done
    or failed. `error` says why a file failed as a whole (nothing was
    written then); rows refused one by one are listed in `report`.
    """

    class Status(models.TextChoices):
        NEW = "new", _("Waiting for the column mapping")
        QUEUED = "queued", _("Queued")
        RUNNING = "running", _("Importing")
        DONE = "done", _("Done")
        FAILED = "failed", _("Failed")

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="client_imports",
        verbose_name=_("owner"),
    )
    file = models.FileField(
        _("file"), upload_to="imports/%Y/%m/", storage=import_storage
    )
    file_name = models.CharField(_("file name"), max_length=255, blank=True)
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.NEW
    )
    # {"delimiter": ",", "header": true, "columns": ["email", "full_name",
    # "field:city", "", ...]}: one target per column of the file, "" ignored.
    mapping = models.JSONField(_("column mapping"), default=dict, blank=True)
    list_ids = models.JSONField(_("lists"), default=list, blank=True)
    subscription_status = models.CharField(
        _("subscription status"),
        max_length=12,
        choices=Subscription.Status.choices,
        default=Subscription.Status.SUBSCRIBED,
    )
    total = models.PositiveIntegerField(_("rows"), default=0)
    processed = models.PositiveIntegerField(_("rows read"), default=0)
    created = models.PositiveIntegerField(_("clients added"), default=0)
    updated = models.PositiveIntegerField(_("clients updated"), default=0)
    suppressed = models.PositiveIntegerField(_("suppressed"), default=0)
    rejected = models.PositiveIntegerField(_("rows rejected"), default=0)
    error = models.TextField(_("error"), blank=True)
    report = models.FileField(
        _("report"),
        upload_to="imports/reports/%Y/%m/",
        storage=import_storage,
        blank=True,
    )
    created_at = models.DateTimeField(_("uploaded"), auto_now_add=True)
    started_at = models.DateTimeField(_("started"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)

    class Meta:
        verbose_name = _("client import")
        verbose_name_plural = _("client imports")
        ordering = ["-created_at", "-pk"]
        indexes = [
            models.Index(
                fields=["owner", "-created_at"], name="clientimport_owner_idx"
            ),
        ]

    def __str__(self):
        return self.file_name or str(self.pk)

    def get_absolute_url(self):
        return reverse("audience:client_import_detail", args=[self.pk])

    @property
    def percent(self) -> int:
        if self.status == self.Status.DONE:
            return 100
        if not self.total:
            return 0
        return min(100, self.processed * 100 // self.total)

    @property
    def finished(self) -> bool:
        return self.status in (self.Status.DONE, self.Status.FAILED)


class ImportMapping(models.Model):
    """The column mapping a customer chose last time, by lower-cased header
    name ({"e-mail": "email", "town": "field:city", "notes": ""}), offered
    again on their next import."""

    owner = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="import_mapping",
        verbose_name=_("owner"),
    )
    columns = models.JSONField(_("columns"), default=dict, blank=True)
    updated_at = models.DateTimeField(_("changed"), auto_now=True)

    class Meta:
        verbose_name = _("import mapping")
        verbose_name_plural = _("import mappings")

    def __str__(self):
        return str(self.owner_id)
