"""Forms of the audience pages. They read input and present errors; the
rules live in the models and in audience.services."""

from django import forms
from django.utils.translation import gettext_lazy as _

from audience.models import MailingList
from mailing.addresses import MAX_LENGTH as MAX_EMAIL_LENGTH


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
