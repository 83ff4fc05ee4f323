"""Which language and time zone a visitor gets: a signed-in user's own
setting, then the `django_language` cookie (the switcher), then the browser's
Accept-Language, then English. No URL prefixes."""

import pytest
from django.conf import settings
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from accounts.models import User

RU = "ru,en;q=0.5"


def html_lang(response) -> str:
    return response.content.decode().split('<html lang="', 1)[1].split('"', 1)[0]


@pytest.mark.django_db
class TestResolutionOrder:
    def test_english_when_the_browser_asks_for_nothing_we_have(self, client):
        """English last: an unsupported browser language falls back to it."""
        response = client.get("/accounts/login/", HTTP_ACCEPT_LANGUAGE="de,fr;q=0.8")
        assert html_lang(response) == "en"
        assert "Sign up" in response.content.decode()

    def test_the_browser_language_is_used_without_a_prefix(self, client):
        """Accept-Language: ru gives the Russian page at the same URL."""
        response = client.get("/accounts/login/", HTTP_ACCEPT_LANGUAGE=RU)
        assert response.status_code == 200
        assert html_lang(response) == "ru"
        assert response["Content-Language"] == "ru"
        assert "Регистрация" in response.content.decode()

    def test_the_cookie_wins_over_the_browser(self, client):
        """The switcher's cookie beats Accept-Language."""
        client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
        response = client.get("/accounts/login/", HTTP_ACCEPT_LANGUAGE=RU)
        assert html_lang(response) == "en"

    def test_the_user_setting_wins_over_cookie_and_browser(self, client, customer):
        """A signed-in user with Russian saved sees Russian, whatever the
        cookie and the browser say; with no saved language, the cookie."""
        customer.language = "ru"
        customer.save()
        client.force_login(customer)
        client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
        response = client.get("/app/", HTTP_ACCEPT_LANGUAGE="en")
        assert html_lang(response) == "ru"
        assert "Рассылки" in response.content.decode()

        customer.language = ""
        customer.save()
        response = client.get("/app/", HTTP_ACCEPT_LANGUAGE=RU)
        assert html_lang(response) == "en"


@pytest.mark.django_db
class TestSwitcher:
    def test_the_switcher_sets_the_cookie_and_returns_to_the_page(self, client):
        """An anonymous visitor's choice lasts in the cookie; the page they
        were on comes back, now in Russian."""
        response = client.post(
            reverse("set_language"), {"language": "ru", "next": "/blog/"}
        )
        assert response.status_code == 302
        assert response["Location"] == "/blog/"
        assert response.cookies[settings.LANGUAGE_COOKIE_NAME].value == "ru"
        page = client.get("/accounts/login/")
        assert html_lang(page) == "ru"

    def test_anonymous_pages_carry_the_switcher_without_a_csrf_token(self, client):
        """The switcher is in the header and footer; anonymous pages stay the
        same for every visitor (no per-visitor token)."""
        body = client.get("/accounts/login/").content.decode()
        assert body.count("data-language-switcher") == 2
        assert body.count('action="/i18n/setlang/"') == 2
        assert "csrfmiddlewaretoken" not in body.split("<main", 1)[0]

    def test_a_signed_in_user_saves_the_choice_on_the_account(self, client, customer):
        """With the token the switcher carries for them, the choice is saved;
        it then wins in every browser."""
        client = type(client)(enforce_csrf_checks=True)
        client.force_login(customer)
        page = client.get("/app/")
        token = page.context["csrf_token"]
        client.post(
            reverse("set_language"),
            {"language": "ru", "next": "/app/", "csrfmiddlewaretoken": str(token)},
        )
        customer.refresh_from_db()
        assert customer.language == "ru"

    def test_a_forged_switch_does_not_touch_the_saved_language(self, client, customer):
        """Without a valid token only the cookie changes, never the account."""
        client = type(client)(enforce_csrf_checks=True)
        client.force_login(customer)
        response = client.post(reverse("set_language"), {"language": "ru"})
        assert response.status_code == 302
        customer.refresh_from_db()
        assert customer.language == ""

    def test_an_unknown_language_changes_nothing(self, client, customer):
        client.force_login(customer)
        client.post(reverse("set_language"), {"language": "xx"})
        customer.refresh_from_db()
        assert customer.language == ""
        assert html_lang(client.get("/app/")) == "en"


@pytest.mark.django_db
class TestProfile:
    url = "/accounts/profile/"

    def test_the_profile_page_needs_a_login(self, client):
        response = client.get(self.url)
        assert response.status_code == 302
        assert response["Location"].startswith("/accounts/login/")

    def test_saving_language_and_zone(self, client, customer):
        """The new language and zone apply at once, on the next page too."""
        client.force_login(customer)
        page = client.get(self.url)
        assert page.status_code == 200
        assert 'value="America/New_York"' in page.content.decode()
        response = client.post(
            self.url, {"language": "ru", "time_zone": "America/New_York"}, follow=True
        )
        customer.refresh_from_db()
        assert (customer.language, customer.time_zone) == ("ru", "America/New_York")
        body = response.content.decode()
        assert html_lang(response) == "ru"
        assert "Настройки сохранены." in body
        assert response.context["TIME_ZONE"] == "America/New_York"
        # The Wagtail admin, which keeps its own zone, shows the same one.
        assert customer.wagtail_userprofile.current_time_zone == "America/New_York"

    def test_a_bad_zone_is_refused_and_nothing_is_saved(self, client, customer):
        client.force_login(customer)
        response = client.post(
            self.url, {"language": "ru", "time_zone": "Mars/Olympus_Mons"}
        )
        assert response.status_code == 200
        assert response.context["form"].errors["time_zone"]
        customer.refresh_from_db()
        assert (customer.language, customer.time_zone) == ("", settings.TIME_ZONE)

    def test_an_offset_is_not_a_zone(self):
        """Only IANA names: an offset would not follow DST."""

        user = User(email="x@example.com", time_zone="+03:00")
        with pytest.raises(ValidationError) as error:
            user.full_clean(exclude=["password"])
        assert "time_zone" in error.value.message_dict

    def test_the_profile_link_is_in_the_menu(self, client, customer):
        client.force_login(customer)
        assert self.url in client.get("/app/").content.decode()


@pytest.mark.django_db
class TestSignup:
    password = "a-long-fresh-password-7"

    def sign_up(self, client, **extra):
        return client.post(
            reverse("account_signup"),
            {
                "email": "new@example.com",
                "password1": self.password,
                "password2": self.password,
                **extra,
            },
            HTTP_ACCEPT_LANGUAGE=extra.pop("accept", "en"),
        )

    def test_the_form_asks_the_browser_for_its_zone(self, client):
        """A hidden field that static/js/timezone.js fills."""
        body = client.get(reverse("account_signup")).content.decode()
        assert 'name="time_zone"' in body
        assert "data-browser-time-zone" in body
        assert "js/timezone.js" in body

    def test_the_browser_zone_is_stored(self, client):
        response = self.sign_up(client, time_zone="Asia/Vladivostok")
        assert response.status_code == 302
        assert User.objects.get().time_zone == "Asia/Vladivostok"

    def test_no_zone_or_a_bad_one_gives_the_site_zone(self, client):
        """Without JavaScript, or with a name this server does not know, the
        account still opens, in the default zone."""
        response = self.sign_up(client, time_zone="Nowhere/Special")
        assert response.status_code == 302
        assert User.objects.get().time_zone == settings.TIME_ZONE

    def test_a_russian_browser_signs_up_in_russian(self, client, mailoutbox):
        """The confirmation mail is Russian, and the account keeps Russian
        for later mail sent outside any request."""
        response = client.post(
            reverse("account_signup"),
            {
                "email": "new@example.com",
                "password1": self.password,
                "password2": self.password,
                "time_zone": "Europe/Moscow",
            },
            HTTP_ACCEPT_LANGUAGE=RU,
        )
        assert response.status_code == 302
        user = User.objects.get()
        assert (user.language, user.time_zone) == ("ru", "Europe/Moscow")
        mail = mailoutbox[0]
        assert mail.subject == "[Mailsite] Подтвердите адрес электронной почты"
        assert "Ссылка действует 3 дня." in mail.body
        assert "Здравствуйте! Пишет Mailsite." in mail.body


def test_the_request_zone_is_reset_after_each_request(client, db, make_user):
    """A user's zone never leaks into the next request of another visitor."""
    user = make_user("ny@example.com")
    user.time_zone = "America/New_York"
    user.save()
    client.force_login(user)
    assert client.get("/app/").context["TIME_ZONE"] == "America/New_York"
    assert timezone.get_current_timezone_name() == settings.TIME_ZONE
    client.logout()
    response = client.get("/accounts/login/")
    assert response.context["TIME_ZONE"] == settings.TIME_ZONE
