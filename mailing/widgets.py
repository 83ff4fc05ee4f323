"""The mailing form's client picker: a type-ahead search instead of a select
with every client as an option (a million options is 15 MB of HTML)."""

from django import forms
from django.urls import reverse
from django.utils.translation import gettext_lazy as _


class ClientPicker(forms.SelectMultiple):
    """A multiple select that holds only the chosen clients, and a search box
    (static/js/client_picker.js) that adds clients found through the JSON
    search endpoint. Without JavaScript the chosen clients can still be
    removed and "all my clients" still works."""

    template_name = "mailing/widgets/client_picker.html"

    class Media:
        js = [forms.Script("js/client_picker.js", defer=True)]

    def get_context(self, name, value, attrs):
        context = super().get_context(name, value, attrs)
        context["widget"]["search_url"] = reverse("mailing:client_search")
        context["widget"]["placeholder"] = _(
            "Type part of an address, a name or a comment"
        )
        return context

    def optgroups(self, name, value, attrs=None):
        # Options only for the chosen clients: the field's queryset is the
        # owner's whole address book and is never listed.
        chosen = [v for v in value if str(v).isdigit()]
        queryset = self.choices.queryset.filter(pk__in=chosen).order_by("email")
        options = [
            self.create_option(name, client.pk, str(client), True, index)
            for index, client in enumerate(queryset)
        ]
        return [(None, options, 0)]
