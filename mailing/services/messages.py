"""Messages: the subject and bodies that mailings send."""

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from accounts.models import User
from mailing.models import Message
from mailing.sanitize import sanitize_html


@transaction.atomic
def message_create(
    *, owner: User, subject: str, body: str, html_body: str = ""
) -> Message:
    """Save a new message; raises ValidationError (subject on several lines,
    body over MAX_BODY_LENGTH). The HTML part is stored sanitised
    (mailing.sanitize) and `html_removed` says what was taken out."""
    message = Message(owner=owner, subject=subject, body=body, html_body=html_body)
    _message_save(message)
    return message


@transaction.atomic
def message_update(
    *, message: Message, subject: str, body: str, html_body: str = ""
) -> Message:
    """Change a message; later runs send the new text. Raises ValidationError."""
    message.subject, message.body, message.html_body = subject, body, html_body
    _message_save(message)
    return message


def _message_save(message: Message) -> None:
    # The limits apply to what the customer wrote; the sanitiser only
    # shortens it.
    message.full_clean()
    clean = sanitize_html(message.html_body)
    message.html_body, message.html_removed = clean.html, clean.removed_text
    message.save()


@transaction.atomic
def message_delete(*, message: Message) -> None:
    """Delete a message; refused (ValidationError) while a mailing uses it."""
    if message.mailings.exists():
        raise ValidationError(
            _("This message is used by a mailing; delete the mailing first.")
        )
    message.delete()
