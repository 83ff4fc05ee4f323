"""The roles of Mailsite, as groups; the data migration creates them."""

MANAGERS = "Managers"
CONTENT_MANAGERS = "Content managers"


def is_manager(user) -> bool:
    return user.is_authenticated and (
        user.is_superuser or user.groups.filter(name=MANAGERS).exists()
    )


def is_content_manager(user) -> bool:
    return user.is_authenticated and (
        user.is_superuser or user.groups.filter(name=CONTENT_MANAGERS).exists()
    )
