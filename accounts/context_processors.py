from django.utils.functional import SimpleLazyObject

from accounts import roles


def roles_context(request):
    """Which parts of the site the navbar offers the current user."""
    user = getattr(request, "user", None)
    if user is None:
        return {}
    return {
        "user_is_manager": SimpleLazyObject(lambda: roles.is_manager(user)),
        "user_is_content_manager": SimpleLazyObject(
            lambda: roles.is_content_manager(user)
        ),
    }
