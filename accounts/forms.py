"""Forms of the accounts app: sign-up (with the browser's time zone) and the
profile page (language and time zone)."""

from allauth.account.forms import SignupForm as AllauthSignupForm
from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _

from accounts.models import time_zone_names, validate_time_zone


def _zone_choices():
    return [(name, name.replace("_", " ")) for name in time_zone_names()]


class LanguageSelect(forms.Select):
    """Each language names itself ("Русский" on an English page too), so
    each option says which language its text is in."""

    def create_option(self, name, value, *args, **kwargs):
        option = super().create_option(name, value, *args, **kwargs)
        if value:
            option["attrs"]["lang"] = value
        return option


class SignupForm(AllauthSignupForm):
    """allauth's sign-up form plus a hidden field that static/js/timezone.js
    fills with the browser's zone (Intl API). No JavaScript, or a zone this
    machine does not know, leaves the site's default."""

    time_zone = forms.CharField(
        required=False,
        max_length=64,
        widget=forms.HiddenInput(attrs={"data-browser-time-zone": ""}),
    )

    def clean_time_zone(self):
        value = self.cleaned_data.get("time_zone", "").strip()
        try:
            validate_time_zone(value)
        except forms.ValidationError:
            return settings.TIME_ZONE
        return value


class PreferencesForm(forms.Form):
    """The customer's language and time zone (the profile page)."""

    language = forms.ChoiceField(
        label=_("Language"),
        required=False,
        widget=LanguageSelect,
        help_text=_("Empty: the language your browser asks for."),
    )
    time_zone = forms.ChoiceField(
        label=_("Time zone"),
        choices=_zone_choices,
        # Zone names are identifiers (America/New_York), the same in every
        # language: browsers' page translators must leave them alone.
        widget=forms.Select(attrs={"translate": "no"}),
        help_text=_("Schedules are entered and shown in this zone."),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["language"].choices = [
            ("", _("As my browser asks")),
            *settings.LANGUAGES,
        ]
