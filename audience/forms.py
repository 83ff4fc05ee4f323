"""Forms of the audience pages. They read input and present errors; the
rules live in the models and in audience.services."""

from django import forms
from django.conf import settings
from django.utils.functional import lazy
from django.utils.translation import gettext_lazy as _

from audience.importer import FIELD_PREFIX
from audience.models import MailingList, Subscription
from mailing.addresses import MAX_LENGTH as MAX_EMAIL_LENGTH
from mailing.models import grouped


class MailingListForm(forms.ModelForm):
    class Meta:
        model = MailingList
        fields = [
            "name",
            "description",
            "double_opt_in",
            "ask_full_name",
            "welcome_message",
        ]
        widgets = {
            "description": forms.Textarea(attrs={"rows": 2}),
            "welcome_message": forms.Textarea(attrs={"rows": 3}),
        }


class SubscriptionAddForm(forms.Form):
    """The client page's "add to a list": one of the owner's lists."""

    mailing_list = forms.ModelChoiceField(
        queryset=MailingList.objects.none(), label=_("List")
    )

    def __init__(self, *args, lists, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["mailing_list"].queryset = lists


class SignUpForm(forms.Form):
    """The public sign-up form. `website` is the honeypot: hidden from
    people by CSS and labelled for screen readers as "leave empty"; a bot
    that fills every field gives itself away."""

    # A text input, not type="email": the address rule accepts UTF-8 local
    # parts that browsers refuse (as on the client form).
    email = forms.CharField(
        label=_("E-mail address"),
        max_length=MAX_EMAIL_LENGTH,
        widget=forms.TextInput(attrs={"inputmode": "email", "autocomplete": "email"}),
    )
    full_name = forms.CharField(label=_("Full name"), max_length=200, required=False)
    website = forms.CharField(
        label=_("Leave this field empty"),
        required=False,
        widget=forms.TextInput(attrs={"autocomplete": "off", "tabindex": "-1"}),
    )

    def __init__(self, *args, ask_full_name: bool = True, **kwargs):
        super().__init__(*args, **kwargs)
        if not ask_full_name:
            del self.fields["full_name"]

    @property
    def is_bot(self) -> bool:
        return bool(self.data.get("website"))


class ClientImportForm(forms.Form):
    """The upload of a CSV file of clients."""

    file = forms.FileField(
        label=_("CSV file"),
        help_text=lazy(
            lambda: (
                _(
                    "UTF-8 text, one client a row; a header row is optional. "
                    "You choose what each column is on the next page. "
                    "At most %(mib)s MiB."
                )
                % {"mib": grouped(settings.IMPORT_MAX_MB)}
            ),
            str,
        )(),
    )

    @classmethod
    def refused(cls, reason: str) -> "ClientImportForm":
        """A form showing `reason` on the file field, for an upload that was
        refused before its content was read."""
        form = cls(data={}, files={})
        form.full_clean()
        form.errors["file"] = form.error_class([reason])
        return form


IMPORT_STATUS_CHOICES = [
    (Subscription.Status.SUBSCRIBED, _("Subscribed (they gave their consent)")),
    (Subscription.Status.UNCONFIRMED, _("Unconfirmed (not mailed until they confirm)")),
]


class ClientImportMappingForm(forms.Form):
    """What each column of an uploaded file is, and the lists its clients
    join. One `column_<n>` choice per column of the file."""

    lists = forms.ModelMultipleChoiceField(
        queryset=MailingList.objects.none(),
        label=_("Add them to these lists"),
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    status = forms.ChoiceField(
        label=_("As"),
        choices=IMPORT_STATUS_CHOICES,
        initial=Subscription.Status.SUBSCRIBED,
        widget=forms.RadioSelect,
        # Not shown when the customer has no lists.
        required=False,
    )

    def __init__(self, *args, names, columns, fields, lists, **kwargs):
        super().__init__(*args, **kwargs)
        choices = [
            ("", _("Ignore")),
            ("email", _("E-mail address")),
            ("full_name", _("Full name")),
            ("comment", _("Comment")),
        ]
        if fields:
            choices.append(
                (
                    _("Custom fields"),
                    [(FIELD_PREFIX + f.key, f.label) for f in fields],
                )
            )
        self.names = names
        for index, name in enumerate(names):
            self.fields[f"column_{index}"] = forms.ChoiceField(
                label=name,
                choices=choices,
                required=False,
                initial=columns[index] if index < len(columns) else "",
                widget=forms.Select(attrs={"class": "form-select form-select-sm"}),
            )
        self.fields["lists"].queryset = lists

    def clean_status(self):
        return self.cleaned_data["status"] or Subscription.Status.SUBSCRIBED

    def column_fields(self):
        """The bound column choices, in the file's order."""
        return [self[f"column_{index}"] for index in range(len(self.names))]

    def columns(self) -> list[str]:
        return [
            self.cleaned_data.get(f"column_{index}", "")
            for index in range(len(self.names))
        ]
