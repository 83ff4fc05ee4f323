"""Forms of the audience pages. They read input and present errors; the
rules live in the models and in audience.services."""

from django import forms
from django.utils.translation import gettext_lazy as _

from audience.custom_fields import FORM_PREFIX, FieldSchema
from audience.models import CustomField, MailingList
from mailing.addresses import MAX_LENGTH as MAX_EMAIL_LENGTH


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
