from django import forms
from django.utils.translation import gettext_lazy as _


class SendingDomainForm(forms.Form):
    domain = forms.CharField(
        label=_("Domain"),
        max_length=253,
        help_text=_(
            "The domain of the addresses your mailings come from, such as example.com."
        ),
    )


class SenderForm(forms.Form):
    name = forms.CharField(
        label=_("Name"),
        max_length=150,
        help_text=_("What recipients see as the sender, such as “Example News”."),
    )
    email = forms.EmailField(
        label=_("E-mail address"),
        help_text=_("An address on one of your verified domains."),
    )
    reply_to = forms.EmailField(
        label=_("Reply-To"),
        required=False,
        help_text=_("Where replies go, when not to the address above."),
    )
