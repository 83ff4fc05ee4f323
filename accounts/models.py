import functools
from zoneinfo import ZoneInfo, available_timezones

from django.conf import settings
from django.contrib.auth.models import AbstractUser, UserManager
from django.core.exceptions import ValidationError
from django.db import models
from django.urls import reverse
from django.utils.translation import gettext_lazy as _


class EmailUserManager(UserManager):
    """Creates users keyed by e-mail address; there is no username."""

    use_in_migrations = True

    def _create_user(self, email, password, **extra_fields):
        if not email:
            raise ValueError("An e-mail address is required.")
        email = self.normalize_email(email).lower()
        user = self.model(email=email, **extra_fields)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_user(self, email=None, password=None, **extra_fields):
        extra_fields.setdefault("is_staff", False)
        extra_fields.setdefault("is_superuser", False)
        return self._create_user(email, password, **extra_fields)

    def create_superuser(self, email=None, password=None, **extra_fields):
        extra_fields.setdefault("is_staff", True)
        extra_fields.setdefault("is_superuser", True)
        if extra_fields.get("is_staff") is not True:
            raise ValueError("Superuser must have is_staff=True.")
        if extra_fields.get("is_superuser") is not True:
            raise ValueError("Superuser must have is_superuser=True.")
        return self._create_user(email, password, **extra_fields)


def default_time_zone() -> str:
    """New users start in the site's zone (the `TIME_ZONE` setting)."""
    return settings.TIME_ZONE


def language_choices():
    return list(settings.LANGUAGES)


@functools.cache
def time_zone_names() -> tuple[str, ...]:
    """The IANA zone names this machine's zone database knows, sorted."""
    return tuple(sorted(available_timezones()))


def validate_time_zone(value: str) -> None:
    """Accept only IANA zone names (``Europe/Moscow``), not offsets."""
    if value not in time_zone_names():
        raise ValidationError(
            _("“%(value)s” is not a known time zone."),
            code="invalid_time_zone",
            params={"value": value},
        )


class User(AbstractUser):
    """A person who logs in with an e-mail address.

    Customers own clients, messages and mailings. `is_active` false means the
    user is blocked by a manager: they cannot log in and their mailings stop.
    `sending_paused_at` set means the reputation guard stopped their sending.
    Roles are the `Managers` and `Content managers` groups. `language` (blank:
    follow the browser) and `time_zone` (an IANA name) are the user's own
    choices; the site shows pages and schedules in them.
    """

    username = None
    first_name = None
    last_name = None
    email = models.EmailField(_("e-mail address"), unique=True)
    full_name = models.CharField(_("full name"), max_length=150, blank=True)
    blocked_at = models.DateTimeField(_("blocked"), null=True, blank=True)
    # The reputation guard (deliverability.reputation) pauses all of a
    # customer's sending when their bounce or complaint rate goes too high;
    # a manager lifts it. The reason is shown to the customer.
    sending_paused_at = models.DateTimeField(_("sending paused"), null=True, blank=True)
    sending_paused_reason = models.TextField(_("why sending is paused"), blank=True)
    language = models.CharField(
        _("language"),
        max_length=10,
        blank=True,
        choices=language_choices,
        help_text=_("Empty: the language your browser asks for."),
    )
    time_zone = models.CharField(
        _("time zone"),
        max_length=64,
        default=default_time_zone,
        validators=[validate_time_zone],
        help_text=_("Schedules are entered and shown in this zone."),
    )

    objects = EmailUserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS = []

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")
        ordering = ["email"]
        permissions = [
            ("block_user", _("Can block and unblock users")),
        ]

    def __str__(self):
        return self.email

    def get_full_name(self):
        return self.full_name or self.email

    def get_short_name(self):
        return self.full_name or self.email

    @property
    def zone(self) -> ZoneInfo:
        """The user's time zone; the site's if the stored name went stale."""
        try:
            return ZoneInfo(self.time_zone)
        except (ValueError, KeyError):
            return ZoneInfo(settings.TIME_ZONE)

    def get_absolute_url(self):
        return reverse("mailing:dashboard")
