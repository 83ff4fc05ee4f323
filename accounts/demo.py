"""Demo users, one per role, with known passwords (development only)."""

from allauth.account.models import EmailAddress
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group

from accounts import roles

# (e-mail, password, full name, group or None, superuser?)
DEMO_USERS = [
    ("customer@example.com", "demo-customer-pass", "Casey Customer", None, False),
    (
        "manager@example.com",
        "demo-manager-pass",
        "Morgan Manager",
        roles.MANAGERS,
        False,
    ),
    (
        "editor@example.com",
        "demo-editor-pass",
        "Erin Editor",
        roles.CONTENT_MANAGERS,
        False,
    ),
    ("admin@example.com", "demo-admin-pass", "Ada Admin", None, True),
    ("demo-ru@example.com", "demo-ru-pass", "Дарья Демидова", None, False),
]
# Language and time zone of demo users who do not follow their browser.
DEMO_PREFERENCES = {"demo-ru@example.com": ("ru", "Europe/Moscow")}

_ROLE_LABELS = {
    None: "customer",
    roles.MANAGERS: "manager",
    roles.CONTENT_MANAGERS: "content manager",
}


def seed(*, stdout):
    """Create or repair the demo users and print how to log in as each.

    Idempotent: an existing demo user gets its password, role and verified
    primary address back, so a changed demo password is reset too.
    """
    User = get_user_model()
    for email, password, full_name, group_name, superuser in DEMO_USERS:
        user, _ = User.objects.get_or_create(email=email)
        user.full_name = user.full_name or full_name
        user.is_active = True
        user.blocked_at = None
        user.is_superuser = user.is_staff = superuser
        user.set_password(password)
        if email in DEMO_PREFERENCES:
            user.language, user.time_zone = DEMO_PREFERENCES[email]
        user.save()
        if group_name:
            user.groups.add(Group.objects.get(name=group_name))
        EmailAddress.objects.update_or_create(
            user=user,
            email=email,
            defaults={"verified": True, "primary": True},
        )
    stdout.write(f"Demo users: {len(DEMO_USERS)} ready.")


def print_accounts(*, stdout):
    """Print how to log in as each demo user."""
    stdout.write("Demo accounts (sign in at /accounts/login/):")
    for email, password, _name, group_name, superuser in DEMO_USERS:
        label = "superuser" if superuser else _ROLE_LABELS[group_name]
        if email in DEMO_PREFERENCES:
            label += f" ({DEMO_PREFERENCES[email][0]})"
        stdout.write(f"  {label:<16} {email:<24} {password}")
