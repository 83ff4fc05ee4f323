"""Wagtail's account page changes no e-mail address or password: allauth does."""

import pytest
from django.urls import reverse

from conftest import PASSWORD


@pytest.fixture
def editor_client(client, content_manager):
    client.force_login(
        content_manager, backend="django.contrib.auth.backends.ModelBackend"
    )
    return client


@pytest.mark.django_db
def test_the_cms_account_page_has_no_email_or_password_field(editor_client):
    """The page links to the site's own account pages instead."""
    response = editor_client.get("/cms/account/")
    assert response.status_code == 200
    page = response.content.decode()
    assert 'name="name_email-email"' not in page
    assert 'name="password-new_password1"' not in page
    assert f'href="{reverse("account_email")}"' in page
    assert f'href="{reverse("account_change_password")}"' in page


@pytest.mark.django_db
def test_posting_a_new_email_to_the_cms_account_page_changes_nothing(
    editor_client, content_manager
):
    """A forged form with an e-mail and a password changes neither."""
    response = editor_client.post(
        "/cms/account/",
        {
            "name_email-first_name": "Eddie",
            "name_email-last_name": "Tor",
            "name_email-email": "attacker@example.net",
            "password-old_password": PASSWORD,
            "password-new_password1": "a-new-password-9876",
            "password-new_password2": "a-new-password-9876",
            "locale-preferred_language": "en",
            "locale-current_time_zone": "",
            "theme-theme": "system",
            "theme-density": "default",
            "theme-contrast": "system",
            "theme-keyboard_shortcuts": "on",
        },
    )
    # The rest of the form was valid: the other settings were saved.
    assert response.status_code == 302
    content_manager.refresh_from_db()
    assert content_manager.email == "editor@example.com"
    assert content_manager.check_password(PASSWORD)
    assert list(content_manager.emailaddress_set.values_list("email", flat=True)) == [
        "editor@example.com"
    ]
