"""Views in front of services: a service validates and refuses, the view
shows its errors on the form or as a message."""

from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError


def add_validation_error(form, error: ValidationError) -> None:
    """Show a service's ValidationError on `form`: a field's error by that
    field, the rest (and a field the form does not have) at the top."""
    if hasattr(error, "error_dict"):
        for name, errors in error.error_dict.items():
            form.add_error(name if name in form.fields else None, errors)
    else:
        form.add_error(None, error)


def save_form(request, form, save: Callable[[], Any]) -> Any:
    """On a valid POST of `form`, call `save()` (a service) and return what it
    returned, the saved object; its ValidationError lands on the form.

    None when nothing was saved: not a POST, an invalid form or a refusal.
    """
    if request.method != "POST" or not form.is_valid():
        return None
    try:
        return save()
    except ValidationError as error:
        add_validation_error(form, error)
        return None


def run_action(request, action: Callable[[], Any], done: str) -> bool:
    """Call `action()` (a service) and tell the user how it went: `done` as a
    success message, or the service's refusal (its ValidationError) as an
    error message. True when the action ran."""
    try:
        action()
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
        return False
    messages.success(request, done)
    return True
