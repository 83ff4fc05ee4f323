"""A customer's address book: add, change and delete clients."""

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext_lazy

from accounts.models import User
from mailing.models import Client

CLIENT_EXISTS = gettext_lazy("You already have a client with this address.")


@transaction.atomic
def client_create(
    *,
    owner: User,
    email: str,
    full_name: str = "",
    comment: str = "",
    attributes: dict | None = None,
):
    """Add a client to `owner`'s address book; raises ValidationError for an
    invalid address or one the owner already has. `attributes`: custom field
    values, typed as audience's coercion (`FieldSchema.coerce`) gives them."""
    client = Client(
        owner=owner,
        email=email,
        full_name=full_name,
        comment=comment,
        attributes=attributes or {},
    )
    _client_validate(client)
    client.save()
    return client


@transaction.atomic
def client_update(
    *,
    client: Client,
    email: str,
    full_name: str,
    comment: str,
    attributes: dict | None = None,
):
    """Change a client's address, name, comment and (unless None) custom
    field values (all of them: typed, as for client_create); raises
    ValidationError."""
    client.email, client.full_name, client.comment = email, full_name, comment
    if attributes is not None:
        client.attributes = attributes
    _client_validate(client)
    client.save()
    return client


@transaction.atomic
def client_delete(*, client: Client) -> None:
    """Remove a client; past deliveries keep the address they were sent to."""
    client.delete()


def _client_validate(client: Client) -> None:
    client.full_clean(exclude=["owner"], validate_unique=False)
    taken = Client.objects.filter(owner_id=client.owner_id, email=client.email)
    if client.pk:
        taken = taken.exclude(pk=client.pk)
    if taken.exists():
        raise ValidationError({"email": CLIENT_EXISTS})
