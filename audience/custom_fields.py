"""A customer's custom fields as rules: which keys are allowed, how raw
input (a form, a CSV cell) becomes a typed value in `Client.attributes`,
and how a stored value is shown and edited.

`FieldSchema` holds an owner's field definitions, read once
(`audience.selectors.field_schema`); `coerce` then costs no query, so an
import calls it for every row. Values as stored (see CustomField): text ->
str, number -> int or float, date -> "YYYY-MM-DD", yes/no -> true/false,
choice -> one of the field's choices.
"""

import datetime
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from django import forms
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from audience.models import CustomField
from mailing.rendering import RESERVED_NAMES

KEY_PATTERN = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
MAX_TEXT_LENGTH = 1000
# The prefix of a custom field's input on a form (`cf_city`).
FORM_PREFIX = "cf_"

_NUMBER = re.compile(r"^[+-]?\d{1,18}(\.\d{1,12})?$")
_YES = {"yes", "y", "true", "1", "on", "да", "д"}
_NO = {"no", "n", "false", "0", "off", "нет", "н"}
YES_NO_CHOICES = [
    ("", "—"),
    ("yes", gettext_lazy("Yes")),
    ("no", gettext_lazy("No")),
]


def key_errors(key: str) -> list[str]:
    """What is wrong with `key` as a custom field key (empty: nothing)."""
    if not KEY_PATTERN.match(key or ""):
        return [
            _(
                "Use 1 to 40 lower-case Latin letters, digits and underscores, "
                "starting with a letter."
            )
        ]
    if key in RESERVED_NAMES:
        return [
            _("%(key)s is a built-in placeholder; choose another key.") % {"key": key}
        ]
    return []


class InvalidValue(ValueError):
    """A raw value that does not fit its field; the message says why."""


def _number(raw: str):
    text = raw.replace(" ", "").replace("\u00a0", "").replace(",", ".")
    if not _NUMBER.match(text):
        raise InvalidValue(_("Enter a number, such as 42 or 3.5."))
    if "." not in text:
        return int(text)
    return float(text)


def _date(raw: str) -> str:
    try:
        return datetime.date.fromisoformat(raw).isoformat()
    except ValueError:
        raise InvalidValue(_("Enter a date as YYYY-MM-DD.")) from None


def _boolean(raw: str) -> bool:
    word = raw.lower()
    if word in _YES or word == _("yes").lower():
        return True
    if word in _NO or word == _("no").lower():
        return False
    raise InvalidValue(_("Enter yes or no."))


def _text(raw: str) -> str:
    if len(raw) > MAX_TEXT_LENGTH:
        raise InvalidValue(
            _("Enter at most %(count)s characters.") % {"count": MAX_TEXT_LENGTH}
        )
    return raw


@dataclass(frozen=True)
class FieldRule:
    """One field definition, as coercion needs it."""

    key: str
    label: str
    type: str
    choices: tuple[str, ...] = ()

    def coerce(self, raw: str):
        """The typed value of `raw` (stripped; "" gives None: no value).
        Raises InvalidValue."""
        raw = raw.strip()
        if not raw:
            return None
        if self.type == CustomField.Type.NUMBER:
            return _number(raw)
        if self.type == CustomField.Type.DATE:
            return _date(raw)
        if self.type == CustomField.Type.BOOLEAN:
            return _boolean(raw)
        if self.type == CustomField.Type.CHOICE:
            for choice in self.choices:
                if choice.casefold() == raw.casefold():
                    return choice
            raise InvalidValue(
                _("Choose one of: %(choices)s.") % {"choices": ", ".join(self.choices)}
            )
        return _text(raw)

    def as_input(self, value) -> str:
        """A stored value as a form input shows it."""
        if value is None:
            return ""
        if isinstance(value, bool):
            return "yes" if value else "no"
        return str(value)

    def display(self, value) -> str:
        """A stored value as a person reads it (dates in the locale's short
        format, yes/no translated)."""
        if isinstance(value, bool):
            return _("Yes") if value else _("No")
        if self.type == CustomField.Type.DATE and isinstance(value, str):
            try:
                return date_format(
                    datetime.date.fromisoformat(value), "SHORT_DATE_FORMAT"
                )
            except ValueError:
                return value
        return str(value)

    def form_field(self) -> forms.Field:
        """The input of this field on a form (never required: empty removes
        the value)."""
        kind = CustomField.Type
        if self.type == kind.BOOLEAN:
            return forms.ChoiceField(
                label=self.label, required=False, choices=YES_NO_CHOICES
            )
        if self.type == kind.CHOICE:
            return forms.ChoiceField(
                label=self.label,
                required=False,
                choices=[("", "—"), *((c, c) for c in self.choices)],
            )
        widget = {
            kind.NUMBER: forms.NumberInput(attrs={"step": "any"}),
            kind.DATE: forms.DateInput(attrs={"type": "date"}),
        }.get(self.type, forms.TextInput())
        return forms.CharField(
            label=self.label, required=False, strip=True, widget=widget
        )


@dataclass
class Coerced:
    """The result of coercing one set of raw values: `values` maps each key
    given to its typed value (None: remove the value), `errors` each key
    that failed to its message."""

    values: dict = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    labels: dict[str, str] = field(default_factory=dict, repr=False)

    @property
    def ok(self) -> bool:
        return not self.errors

    def error_text(self) -> str:
        """Every error on one line, each after its field's label."""
        return " ".join(
            f"{self.labels.get(key, key)}: {message}"
            for key, message in self.errors.items()
        )

    def apply(self, attributes: Mapping | None) -> dict:
        """`attributes` with these values set and the empty ones removed
        (a new dict; values of other keys are kept)."""
        result = dict(attributes or {})
        for key, value in self.values.items():
            if value is None:
                result.pop(key, None)
            else:
                result[key] = value
        return result

    def fill(self, attributes: Mapping | None) -> dict:
        """`attributes` with these values set only where none is stored yet
        (a sign-up must not overwrite what the customer knows)."""
        result = dict(attributes or {})
        for key, value in self.values.items():
            if value is not None and result.get(key) in (None, ""):
                result[key] = value
        return result


class FieldSchema:
    """An owner's custom fields, in their order (loaded once)."""

    def __init__(self, rules: Iterable[FieldRule]):
        self.rules = tuple(rules)
        self._by_key = {rule.key: rule for rule in self.rules}

    def __bool__(self) -> bool:
        return bool(self.rules)

    def __iter__(self):
        return iter(self.rules)

    def get(self, key: str) -> FieldRule | None:
        return self._by_key.get(key)

    def only(self, keys: Iterable[str]) -> "FieldSchema":
        """The fields among `keys`, in the schema's order."""
        wanted = set(keys)
        return FieldSchema(rule for rule in self.rules if rule.key in wanted)

    def coerce(self, raw: Mapping[str, str]) -> Coerced:
        """Typed values of the raw strings in `raw` (keys of this owner's
        fields; other keys are ignored). An empty string means "no value".
        No query: call it for every row of an import."""
        result = Coerced()
        for key, text in raw.items():
            rule = self._by_key.get(key)
            if rule is None:
                continue
            try:
                result.values[key] = rule.coerce("" if text is None else str(text))
            except InvalidValue as error:
                result.errors[key] = str(error)
                result.labels[key] = rule.label
        return result

    def display(self, attributes: Mapping | None) -> list[tuple[str, str]]:
        """(label, shown value) of each field with a value, in order."""
        attributes = attributes or {}
        return [
            (rule.label, rule.display(attributes[rule.key]))
            for rule in self.rules
            if attributes.get(rule.key) not in (None, "")
        ]

    # Forms ---------------------------------------------------------------

    def add_to_form(self, form: forms.BaseForm, attributes: Mapping | None = None):
        """Add one input per field to `form` (named `cf_<key>`), showing
        `attributes`' values."""
        attributes = attributes or {}
        for rule in self.rules:
            name = FORM_PREFIX + rule.key
            form.fields[name] = rule.form_field()
            if rule.key in attributes:
                form.initial.setdefault(name, rule.as_input(attributes[rule.key]))

    def clean_form(self, form: forms.BaseForm) -> Coerced:
        """Coerce the form's custom field inputs (taking them out of
        `cleaned_data`); each error goes on its input."""
        raw = {}
        for rule in self.rules:
            name = FORM_PREFIX + rule.key
            if name in form.cleaned_data:
                raw[rule.key] = form.cleaned_data.pop(name)
        coerced = self.coerce(raw)
        for key, message in coerced.errors.items():
            form.add_error(FORM_PREFIX + key, message)
        return coerced


def rule_of(custom_field: CustomField) -> FieldRule:
    return FieldRule(
        key=custom_field.key,
        label=custom_field.label,
        type=custom_field.type,
        choices=tuple(custom_field.choices or ()),
    )
