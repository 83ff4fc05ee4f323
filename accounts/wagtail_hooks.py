"""The Wagtail account page sends staff to the site's own account pages."""

from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from wagtail import hooks


@hooks.register("register_account_menu_item")
def change_email_address(request):
    return {
        "url": reverse("account_email"),
        "label": _("Change e-mail address"),
        "help_text": _("A new address is used once you confirm it from its inbox."),
    }


@hooks.register("register_account_menu_item")
def change_password(request):
    return {
        "url": reverse("account_change_password"),
        "label": _("Change password"),
        "help_text": _("You are told by e-mail when your password changes."),
    }
