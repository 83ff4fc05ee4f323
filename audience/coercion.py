"""Text from a CSV cell into the JSON value of a custom field.

A minimal rule per field type, behind one function (`coerce_attributes`)
so that the shared coercion of custom field values can take its place.
"""

import datetime
import re

from django.utils.translation import gettext as _

from audience.models import CustomField

_TRUE = {"1", "true", "yes", "y", "да", "x"}
_FALSE = {"0", "false", "no", "n", "нет"}
_NUMBER = re.compile(r"^[+-]?(\d+([.,]\d*)?|[.,]\d+)$")


def _number(text: str):
    if not _NUMBER.match(text):
        raise ValueError
    text = text.replace(",", ".")
    if "." in text:
        return float(text)
    return int(text)


def _date(text: str) -> str:
    return datetime.date.fromisoformat(text).isoformat()


def _boolean(text: str) -> bool:
    lowered = text.lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise ValueError


def _coerce(field: CustomField, text: str):
    kind = field.type
    if kind == CustomField.Type.NUMBER:
        return _number(text)
    if kind == CustomField.Type.DATE:
        return _date(text)
    if kind == CustomField.Type.BOOLEAN:
        return _boolean(text)
    if kind == CustomField.Type.CHOICE and text not in field.choices:
        raise ValueError
    return text


def _error(field: CustomField, text: str) -> str:
    expected = {
        CustomField.Type.NUMBER: _("a number"),
        CustomField.Type.DATE: _("a date (YYYY-MM-DD)"),
        CustomField.Type.BOOLEAN: _("yes or no"),
        CustomField.Type.CHOICE: _("one of its choices"),
    }.get(field.type, "")
    return _("“%(value)s” is not valid for %(field)s: expected %(expected)s") % {
        "value": text[:100],
        "field": field.label,
        "expected": expected,
    }


def coerce_attributes(fields, raw: dict[str, str]) -> tuple[dict, list[str]]:
    """The JSON values of `raw` ({field key: cell text}) for the custom
    `fields` they belong to, and the reasons of the cells that are not
    valid. Empty cells are left out (the stored value stays)."""
    by_key = {field.key: field for field in fields}
    values, errors = {}, []
    for key, text in raw.items():
        field = by_key.get(key)
        text = text.strip()
        if field is None or not text:
            continue
        try:
            values[key] = _coerce(field, text)
        except ValueError:
            errors.append(_error(field, text))
    return values, errors
