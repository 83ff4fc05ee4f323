"""Text from a CSV cell into the JSON value of a custom field, by the one
rule the client form and the sign-up form use (audience.custom_fields)."""

from audience.custom_fields import FieldSchema, rule_of


def coerce_attributes(fields, raw: dict[str, str]) -> tuple[dict, list[str]]:
    """The JSON values of `raw` ({field key: cell text}) for the custom
    `fields` (CustomField rows or a FieldSchema) they belong to, and the
    reasons of the cells that are not valid. Empty cells are left out (the
    stored value stays)."""
    schema = fields if isinstance(fields, FieldSchema) else _schema(fields)
    coerced = schema.coerce(raw)
    values = {key: value for key, value in coerced.values.items() if value is not None}
    errors = [
        f"{coerced.labels.get(key, key)}: {message}"
        for key, message in coerced.errors.items()
    ]
    return values, errors


def _schema(fields) -> FieldSchema:
    return FieldSchema(rule_of(field) for field in fields)
