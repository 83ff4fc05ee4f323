"""Customer forms. They read input and present errors: the rules live in
the models (`clean()`, constraints, run by ModelForm) and in the services
behind the forms, which the forms ask where an error belongs beside the
others (the recipients, the upload size)."""

from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _

from audience.selectors import (
    custom_field_keys,
    field_schema,
    mailing_list_list,
    segment_list,
)
from deliverability.selectors import sender_list, senders_usable
from mailing import services
from mailing.addresses import MAX_LENGTH as MAX_EMAIL_LENGTH
from mailing.models import Client, Delivery, Mailing, Message, grouped
from mailing.widgets import ClientPicker


class ClientForm(forms.ModelForm):
    # A text input, not type="email": browsers refuse the UTF-8 local parts
    # that the address rule (mailing.addresses) accepts and the engine sends.
    email = forms.CharField(
        label=_("E-mail address"),
        max_length=MAX_EMAIL_LENGTH,
        widget=forms.TextInput(
            attrs={"inputmode": "email", "autocomplete": "email", "spellcheck": "false"}
        ),
    )

    class Meta:
        model = Client
        fields = ["email", "full_name", "comment"]
        widgets = {"comment": forms.Textarea(attrs={"rows": 3})}

    def __init__(self, *args, owner, **kwargs):
        super().__init__(*args, **kwargs)
        self.instance.owner = owner
        # One input per custom field of the owner (`cf_<key>`).
        self.schema = field_schema(owner=owner)
        self.schema.add_to_form(self, self.instance.attributes)

    def clean(self):
        """The custom field inputs become `attributes`: the client's values
        with these set or (empty) removed, values of deleted fields kept."""
        cleaned = super().clean()
        coerced = self.schema.clean_form(self)
        cleaned["attributes"] = coerced.apply(self.instance.attributes)
        return cleaned


class MessageForm(forms.ModelForm):
    class Meta:
        model = Message
        fields = ["subject", "body", "html_body"]
        widgets = {
            # A TextInput strips line breaks silently; a textarea shows the
            # customer the error instead of sending a changed subject.
            "subject": forms.Textarea(attrs={"rows": 1}),
            "body": forms.Textarea(attrs={"rows": 12}),
            "html_body": forms.Textarea(attrs={"rows": 6}),
        }
        help_texts = {
            "body": _(
                "Placeholders: {{ full_name }} and {{ email }}; with a fallback "
                'for an empty value: {{ full_name|default:"friend" }}.'
            ),
            "html_body": _(
                "Optional HTML alternative; the same placeholders work. Scripts, "
                "event handlers, forms and frames are removed when it is saved."
            ),
        }

    def __init__(self, *args, owner, **kwargs):
        super().__init__(*args, **kwargs)
        self.instance.owner = owner
        keys = custom_field_keys(owner_id=owner.pk)
        if keys:
            self.fields["body"].help_text = format_lazy(
                "{} {}",
                self.fields["body"].help_text,
                _("Your custom fields: %(fields)s.")
                % {"fields": ", ".join("{{ " + key + " }}" for key in keys)},
            )
        # Room to report a too-long body instead of truncating it in the
        # browser: the model's clean() names the limit.
        for name in ("body", "html_body"):
            self.fields[name].widget.attrs.pop("maxlength", None)


class DateTimeLocalInput(forms.DateTimeInput):
    input_type = "datetime-local"

    def __init__(self, **kwargs):
        super().__init__(format="%Y-%m-%dT%H:%M", **kwargs)


# Chosen one by one in the picker; more than this is what "all my clients"
# is for, and it bounds the size of the ownership check.
MAX_CHOSEN_CLIENTS = 5000


class ClientChoiceField(forms.ModelMultipleChoiceField):
    """The chosen client ids, checked against the owner's clients in one
    query, after refusing more of them than a person picks by hand."""

    def clean(self, value):
        if value and len(value) > MAX_CHOSEN_CLIENTS:
            raise ValidationError(
                _(
                    "Choose at most %(max)s clients one by one; for more, "
                    "use “all my clients”."
                )
                % {"max": grouped(MAX_CHOSEN_CLIENTS)}
            )
        return super().clean(value)


class MailingForm(forms.ModelForm):
    all_clients = forms.BooleanField(
        label=_("All my clients"),
        required=False,
        help_text=_("Send to every client in your address book."),
    )
    # Declared rather than generated from the model: a ModelForm would read
    # every client of the mailing as its initial value.
    clients = ClientChoiceField(
        queryset=Client.objects.none(),
        required=False,
        label=_("Clients"),
        widget=ClientPicker(),
        help_text=_("Search and pick clients one by one, or tick “all my clients”."),
    )
    lists = forms.ModelMultipleChoiceField(
        queryset=Client.objects.none(),
        required=False,
        label=_("Lists"),
        widget=forms.CheckboxSelectMultiple,
        help_text=_(
            "Their subscribed members receive it too; a client on several lists "
            "gets it once."
        ),
    )

    segment = forms.ModelChoiceField(
        queryset=Client.objects.none(),
        required=False,
        label=_("Segment"),
        empty_label=_("Every subscribed member"),
        help_text=_("Only the lists' members this segment selects receive it."),
    )

    field_order = [
        "name",
        "message",
        "sender",
        "lists",
        "segment",
        "all_clients",
        "clients",
        "start_at",
        "end_at",
    ]

    class Meta:
        model = Mailing
        fields = ["name", "message", "sender", "start_at", "end_at", "periodicity"]
        widgets = {
            "start_at": DateTimeLocalInput(),
            "end_at": DateTimeLocalInput(),
        }
        labels = {"start_at": _("Start"), "end_at": _("End")}
        help_texts = {
            "end_at": _("Nothing is sent at or after the end."),
            "name": _("Yours to tell mailings apart; the subject stands in if empty."),
        }

    def __init__(self, *args, owner, **kwargs):
        super().__init__(*args, **kwargs)
        self.instance.owner = owner
        # Only the owner's objects are choices: another user's id is refused
        # as "not one of the available choices".
        self.fields["message"].queryset = Message.objects.filter(owner=owner)
        self.fields["clients"].queryset = Client.objects.filter(owner=owner)
        self.fields["clients"].error_messages["invalid_choice"] = _(
            "A chosen client is not one of your clients."
        )
        self.fields["message"].error_messages["invalid_choice"] = _(
            "The chosen message is not one of your messages."
        )
        self.fields["lists"].queryset = mailing_list_list(owner=owner)
        self.fields["lists"].error_messages["invalid_choice"] = _(
            "A chosen list is not one of your lists."
        )
        if not self.fields["lists"].queryset.exists():
            del self.fields["lists"]
        elif self.instance.pk:
            self.initial["lists"] = list(
                self.instance.lists.values_list("pk", flat=True)
            )
        self.fields["segment"].queryset = segment_list(owner=owner)
        self.fields["segment"].error_messages["invalid_choice"] = _(
            "The chosen segment is not one of your segments."
        )
        if "lists" not in self.fields or not segment_list(owner=owner).exists():
            del self.fields["segment"]
        elif self.instance.pk:
            self.initial["segment"] = self.instance.segment_id
        self._sender_choices(owner)
        self.fields["start_at"].help_text = _(
            "In %(zone)s time; a start in the past or now sends the first run at once."
        ) % {"zone": timezone.get_current_timezone_name()}
        self.fields["start_at"].input_formats = ["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"]
        self.fields["end_at"].input_formats = ["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"]
        self._kept_clients = None
        if self.instance.pk:
            self._initial_clients(owner)

    def _sender_choices(self, owner) -> None:
        """The owner's senders on verified domains (and the one the mailing
        has, whatever its domain's state); none: the platform's domain."""
        field = self.fields["sender"]
        senders = senders_usable(owner=owner)
        if self.instance.sender_id:
            senders = senders | sender_list(owner=owner).filter(
                pk=self.instance.sender_id
            )
        field.queryset = senders.distinct()
        name = owner.full_name or owner.email
        field.empty_label = _("%(name)s via Mailsite (the platform's address)") % {
            "name": name
        }
        field.help_text = _(
            "Senders on your verified domains (under Senders); without one, the "
            "mailing goes from the platform's address with replies to yours."
        )

    def _initial_clients(self, owner) -> None:
        """The mailing's clients as the picker's initial choice; "all my
        clients" when that is what they are; and when they are too many to
        list, a note that choosing none keeps them."""
        through = Mailing.clients.through.objects.filter(mailing=self.instance)
        ids = list(
            through.values_list("client_id", flat=True)[: MAX_CHOSEN_CLIENTS + 1]
        )
        count = len(ids) if len(ids) <= MAX_CHOSEN_CLIENTS else through.count()
        if ids and count == Client.objects.filter(owner=owner).count():
            self.initial["all_clients"] = True
        elif len(ids) <= MAX_CHOSEN_CLIENTS:
            self.initial["clients"] = ids
        else:
            self._kept_clients = self.instance.clients.all()
            self.fields["clients"].help_text = _(
                "This mailing has %(count)s clients, too many to list here: "
                "pick none to keep them, or pick the new ones."
            ) % {"count": grouped(count)}

    def clean(self):
        cleaned = super().clean()
        everyone = cleaned.get("all_clients")
        if (
            not everyone
            and not cleaned.get("clients")
            and self._kept_clients is not None
            and "clients" not in self.errors
        ):
            cleaned["clients"] = self._kept_clients
        if everyone or "clients" not in self.errors:
            # The service's rule, asked here so that its error shows with
            # the others (the service asks again when it saves).
            try:
                services.mailing_recipients(
                    owner=self.instance.owner,
                    clients=cleaned.get("clients"),
                    all_clients=everyone,
                    lists=cleaned.get("lists") or (),
                    segment=cleaned.get("segment"),
                )
            except ValidationError as error:
                self.add_error(None, error)
        return cleaned

    def service_kwargs(self) -> dict:
        data = self.cleaned_data
        return {
            "name": data.get("name", ""),
            "lists": list(data.get("lists") or []),
            "segment": data.get("segment"),
            "message": data["message"],
            "clients": list(data.get("clients") or []),
            "all_clients": data.get("all_clients", False),
            "start_at": data["start_at"],
            "end_at": data["end_at"],
            "periodicity": data["periodicity"],
            "sender": data.get("sender"),
        }


class RecipientCountForm(forms.Form):
    """The mailing form's recipient choice, as its recipient count reads it
    (GET): only the owner's lists, segment and clients are valid."""

    lists = forms.ModelMultipleChoiceField(
        queryset=Client.objects.none(), required=False
    )
    segment = forms.ModelChoiceField(queryset=Client.objects.none(), required=False)
    clients = ClientChoiceField(queryset=Client.objects.none(), required=False)
    all_clients = forms.BooleanField(required=False)

    def __init__(self, *args, owner, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["lists"].queryset = mailing_list_list(owner=owner)
        self.fields["segment"].queryset = segment_list(owner=owner)
        self.fields["clients"].queryset = Client.objects.filter(owner=owner)


class DeliveryFilterForm(forms.Form):
    status = forms.ChoiceField(
        required=False,
        label=_("Status"),
        choices=[("", _("Any status")), *Delivery.Status.choices],
    )
    q = forms.CharField(required=False, label=_("Server reply contains"))
    run = forms.TypedChoiceField(
        required=False, coerce=int, empty_value=None, label=_("Run")
    )

    def __init__(self, *args, runs=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["run"].choices = [
            ("", _("Every run")),
            *(
                (
                    run.pk,
                    date_format(
                        timezone.localtime(run.scheduled_for),
                        "SHORT_DATETIME_FORMAT",
                    ),
                )
                for run in runs
            ),
        ]


class SuppressionAddForm(forms.Form):
    """Addresses the customer suppresses by hand (the service validates
    each one and adds all of them or none)."""

    emails = forms.CharField(
        label=_("Addresses"),
        # Room for the service's limit of addresses, not a silent cut.
        max_length=services.MAX_SUPPRESSION_ADD * 256,
        widget=forms.Textarea(attrs={"rows": 3, "placeholder": "ann@example.com"}),
        help_text=_(
            "One per line, or separated by commas. Nothing is ever sent to "
            "them, whichever client or import brings them back."
        ),
    )

    def clean_emails(self):
        # An empty list is the service's to refuse.
        return services.split_addresses(self.cleaned_data["emails"])


class MailingTestForm(forms.Form):
    """ "Send a test": up to five addresses, and optionally the client the
    message is rendered for (found by address among the owner's clients).
    The service validates the addresses and the limit."""

    addresses = forms.CharField(
        label=_("Send a test to"),
        max_length=services.MAX_TEST_ADDRESSES * 256,
        widget=forms.TextInput(attrs={"placeholder": "me@example.com"}),
        help_text=_("Up to five addresses, separated by commas."),
    )
    client_email = forms.CharField(
        label=_("Rendered for the client"),
        required=False,
        max_length=MAX_EMAIL_LENGTH,
        widget=forms.TextInput(attrs={"placeholder": "client@example.com"}),
        help_text=_(
            "The address of one of your clients; empty: the mailing's first "
            "client, or sample values."
        ),
    )

    def __init__(self, *args, owner, **kwargs):
        super().__init__(*args, **kwargs)
        self.owner = owner

    def clean_client_email(self):
        email = self.cleaned_data["client_email"].strip()
        if not email:
            return None
        client = Client.objects.filter(owner=self.owner, email__iexact=email).first()
        if client is None:
            raise ValidationError(_("None of your clients has this address."))
        return client
