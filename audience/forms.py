"""Forms of the audience pages. They read input and present errors; the
rules live in the models and in audience.services."""

from django import forms
from django.conf import settings
from django.utils.functional import lazy
from django.utils.translation import gettext_lazy as _

from audience.custom_fields import FORM_PREFIX, FieldSchema
from audience.importer import FIELD_PREFIX
from audience.models import CustomField, MailingList, Subscription
from audience.segments import KIND_LABELS, OP_LABELS
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
            "form_fields",
            "welcome_message",
        ]
        widgets = {
            "description": forms.Textarea(attrs={"rows": 2}),
            "form_fields": forms.CheckboxSelectMultiple,
            "welcome_message": forms.Textarea(attrs={"rows": 3}),
        }

    def __init__(self, *args, fields, **kwargs):
        """`fields`: the owner's custom fields, offered for the form."""
        super().__init__(*args, **kwargs)
        self.fields["form_fields"].queryset = fields
        if not fields:
            del self.fields["form_fields"]


class CustomFieldForm(forms.ModelForm):
    """A custom field; choices one per line. The type is fixed once the
    field exists (the service refuses a change; the input is disabled)."""

    choices = forms.CharField(
        label=_("Choices"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_("For a choice field: one choice per line."),
    )

    class Meta:
        model = CustomField
        fields = ["label", "key", "type", "choices", "position"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["position"].help_text = _(
            "Fields are shown in this order; empty: after the others."
        )
        self.fields["position"].required = False
        if self.instance.pk:
            self.fields["type"].disabled = True
            self.fields["type"].help_text = _(
                "The type cannot change once the field exists."
            )
            self.initial["choices"] = "\n".join(self.instance.choices or [])

    def clean_position(self):
        position = self.cleaned_data.get("position")
        if position is None and self.instance.pk:
            return self.instance.position
        return position

    def clean_choices(self):
        lines = self.cleaned_data.get("choices") or ""
        return [line.strip() for line in lines.splitlines() if line.strip()]


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

    def __init__(
        self,
        *args,
        ask_full_name: bool = True,
        schema: FieldSchema | None = None,
        **kwargs,
    ):
        """`schema`: the custom fields the list's form asks."""
        super().__init__(*args, **kwargs)
        if not ask_full_name:
            del self.fields["full_name"]
        self.schema = schema or FieldSchema(())
        self.schema.add_to_form(self)
        # The honeypot stays last.
        self.fields["website"] = self.fields.pop("website")
        self.attributes = None

    def clean(self):
        cleaned = super().clean()
        self.attributes = self.schema.clean_form(self)
        return cleaned

    def custom_inputs(self):
        """The bound inputs of the custom fields, in order."""
        return [self[name] for name in self.fields if name.startswith(FORM_PREFIX)]

    @property
    def is_bot(self) -> bool:
        return bool(self.data.get("website"))


# Segments --------------------------------------------------------------------

KIND_CHOICES = [("", _("(no rule)")), *KIND_LABELS.items()]
OP_CHOICES = list(OP_LABELS.items())
_SELECT = forms.Select(attrs={"class": "form-select form-select-sm"})

# Blank rows offered below the rules, for a browser without JavaScript.
EMPTY_RULE_ROWS = 3


class SegmentForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=200)
    match = forms.ChoiceField(
        label=_("Clients must match"),
        choices=[("all", _("all of the rules")), ("any", _("any of the rules"))],
        initial="all",
    )


class SegmentRuleForm(forms.Form):
    """One rule row: what it looks at, which field or list, the comparison
    and the value. audience.segments checks that they fit together."""

    kind = forms.ChoiceField(
        label=_("Rule"), choices=KIND_CHOICES, required=False, widget=_SELECT
    )
    key = forms.ChoiceField(label=_("Field"), required=False, widget=_SELECT)
    list = forms.ChoiceField(label=_("List"), required=False, widget=_SELECT)
    op = forms.ChoiceField(
        label=_("Comparison"), choices=OP_CHOICES, required=False, widget=_SELECT
    )
    value = forms.CharField(
        label=_("Value"),
        max_length=200,
        required=False,
        widget=forms.TextInput(attrs={"class": "form-control form-control-sm"}),
    )

    def __init__(self, *args, fields=(), lists=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["key"].choices = [("", "—")] + [
            (field.key, field.label) for field in fields
        ]
        self.fields["list"].choices = [("", "—")] + [
            (str(mailing_list.pk), mailing_list.name) for mailing_list in lists
        ]

    def rule(self) -> dict | None:
        """The rule as segment conditions hold it; None for a blank row."""
        data = self.cleaned_data
        kind = data.get("kind")
        if not kind:
            return None
        rule = {"kind": kind, "op": data.get("op")}
        if kind == "field":
            rule["key"] = data.get("key")
        if kind == "list":
            rule["list"] = data.get("list")
        else:
            rule["value"] = data.get("value", "")
        return rule


SegmentRuleFormSet = forms.formset_factory(
    SegmentRuleForm, extra=EMPTY_RULE_ROWS, max_num=20, validate_max=True
)


def segment_rule_initial(conditions: dict) -> list[dict]:
    """The rule rows of stored conditions."""
    rows = []
    for rule in (conditions or {}).get("rules", []):
        if isinstance(rule, dict):
            value = rule.get("value")
            if isinstance(value, bool):
                value = "yes" if value else "no"
            rows.append(
                {
                    "kind": rule.get("kind"),
                    "key": rule.get("key", ""),
                    "list": str(rule.get("list", "")),
                    "op": rule.get("op"),
                    "value": "" if value is None else value,
                }
            )
    return rows


def segment_conditions(form: SegmentForm, formset) -> dict:
    """The conditions the form and its rule rows describe (checked by the
    service)."""
    rules = [row.rule() for row in formset.forms if row.is_valid()]
    return {
        "match": form.cleaned_data.get("match", "all"),
        "rules": [rule for rule in rules if rule],
    }


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
